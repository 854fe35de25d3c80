// The PDLP engine's types: the operator LP, its preconditioner, options, progress and result. They live apart from
// pdlp_core.ts so that the schemes and the state (which return and read them) import no module that imports them back.

/** An LP given by operators. All arrays float64; infinite bounds are ±Infinity. */
export interface OperatorLp {
  /** Objective c (length = number of variables). */
  c: Float64Array;
  /** x ↦ Kx (length = number of rows). */
  apply: (x: Float64Array) => Float64Array;
  /** y ↦ Kᵀy (length = number of variables). */
  applyT: (y: Float64Array) => Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
}

/** Diagonal preconditioner: the solver iterates on diag(row)·K·diag(col). */
export interface DiagonalScaling {
  row: Float64Array;
  col: Float64Array;
  /** Estimated ℓ2 norms of the scaled rows, if known: their maximum sets the first step size. */
  scaledRowNorms?: Float64Array;
}

/** Progress figures, reported at every evaluation (every `evalEvery` iterations). */
export interface PdlpProgress {
  iterations: number;
  matvecs: number;
  seconds: number;
  restarts: number;
  relPrimalResidual: number;
  relDualResidual: number;
  relGap: number;
  primalObjective: number;
  dualObjective: number;
  /** Current primal weight ω and step size η (scaled problem). */
  primalWeight: number;
  stepSize: number;
}

/** Options of the PDHG engine. */
export interface PdlpCoreOptions {
  /** ε_rel of the termination test (default 1e-4). */
  tolerance?: number;
  /** ε_abs of the termination test (default = tolerance, as PDLP). */
  absoluteTolerance?: number;
  /** Norm of the residuals in the termination test: PDLP's l2 (default) or l_inf (row by row). */
  norm?: "l2" | "linf";
  timeLimitS?: number;
  maxIterations?: number;
  /** Evaluate termination, restarts and infeasibility every this many iterations (PDLP: 64). */
  evalEvery?: number;
  /**
   * Declares that 0 is feasible and every row and variable box contains 0 (true of LP (11)): points are then
   * scaled towards 0 until feasible before they are tested and returned (`repairScale` says by how much).
   */
  feasibleOrigin?: boolean;
  /** Halpern scheme: also record the best points (bestPrimal, bestDual) every this many iterations (no products). */
  trackEvery?: number;
  /** PDHG variant: PDLP's adaptive steps with averaging (default), or restarted reflected Halpern PDHG. */
  scheme?: "adaptive" | "halpern";
  /** Halpern reflection ρ in [0, 1] (default 1) and power-iteration rounds for ||K̃|| (default 12). */
  reflection?: number;
  powerIterations?: number;
  /** Relative tolerance of the infeasibility certificates (default 1e-6). */
  infeasibleTolerance?: number;
  /** A given diagonal preconditioner; without one, ℓ2 Ruiz equilibration from random probes is used. */
  scaling?: DiagonalScaling;
  /** Ruiz rounds and probes per round when no scaling is given (defaults 4 and 8; 0 rounds = none). */
  ruizIterations?: number;
  ruizProbes?: number;
  seed?: number;
  onProgress?: (p: PdlpProgress) => void;
}

/** How the engine stopped. */
export type PdlpCoreStatus =
  | "optimal"
  | "primal-infeasible"
  | "dual-infeasible"
  | "time-limit"
  | "iteration-limit"
  | "error";

/** The engine's outcome, in the original (unscaled) space. */
export interface PdlpCoreResult {
  status: PdlpCoreStatus;
  x: Float64Array;
  y: Float64Array;
  /** Kx and Kᵀy of the returned iterate (linear bookkeeping, no extra products). */
  kx: Float64Array;
  kty: Float64Array;
  primalObjective: number;
  dualObjective: number;
  /** ||viol(Kx)|| in the chosen norm, and relative to 1 + ||bounds||. */
  primalResidual: number;
  relPrimalResidual: number;
  dualResidual: number;
  relDualResidual: number;
  /** PDLP's |cᵀx − dual| / (1 + |cᵀx| + |dual|). */
  relGap: number;
  /** The best (largest) dual objective seen with zero dual residual: a certified lower bound, or −∞. */
  bestDualBound: number;
  /** With feasibleOrigin: the feasible point of lowest objective seen at any evaluation. */
  bestPrimal?: { x: Float64Array; kx: Float64Array; objective: number };
  /** The dual point of highest priced dual objective seen at any evaluation (zero dual residual only). */
  bestDual?: { y: Float64Array; kty: Float64Array; objective: number };
  /** With feasibleOrigin: the factor the returned x was scaled by to satisfy every row (1: it already did). */
  repairScale: number;
  /** For infeasibility: the certificate (a dual ray y, or a primal ray x). */
  ray?: Float64Array;
  iterations: number;
  matvecs: number;
  restarts: number;
  seconds: number;
  message?: string;
}
