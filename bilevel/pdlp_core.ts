/**
 * The engine of the matrix-free LP solver: restarted primal-dual hybrid gradient (PDHG) as in PDLP
 * (Applegate et al., NeurIPS 2021) with cuPDLP's KKT-error restarts (Lu and Yang 2023), for any LP
 *
 *     min cᵀx  s.t.  rowLower ≤ Kx ≤ rowUpper,  colLower ≤ x ≤ colUpper
 *
 * where K is known only through x ↦ Kx and y ↦ Kᵀy (bounds may be ±Infinity; equal row bounds are
 * equalities). bilevel/pdlp.ts specialises it to LP (11). Every outcome is a value, never a throw.
 *
 * Saddle point used (PDLP's sign convention): min_{x∈X} max_y cᵀx − yᵀKx + p(y), with
 * p(y) = Σ_i (y_i > 0 ? y_i·l_i : y_i·u_i) the support term of the row interval [l_i, u_i]. The dual
 * objective is p(y) + min_{x∈X} (c − Kᵀy)ᵀx, a lower bound on the optimum for any y when every variable
 * is boxed (otherwise reduced costs of the wrong sign on an unbounded side count as dual residual).
 *
 * Modules: this one (types, input checks, dispatch), pdlp_state.ts (preconditioned problem, iterate, shared
 * steps), pdlp_adaptive.ts and pdlp_halpern.ts (the two schemes), pdlp_measures.ts (residuals, objectives,
 * certificates), pdlp_ruiz.ts (ℓ2 Ruiz equilibration from probes).
 */
import type { PointStats } from "./pdlp_measures.ts";
import { runAdaptive } from "./pdlp_adaptive.ts";
import { runHalpern } from "./pdlp_halpern.ts";
import { CountedOperators, PdhgState } from "./pdlp_state.ts";

export type { PointStats };

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

/**
 * Solves an operator LP by restarted, preconditioned PDHG with PDLP's adaptive step size and primal weight
 * (or, with `scheme: "halpern"`, restarted reflected Halpern PDHG). Each iteration costs one Kx and one Kᵀy
 * (Kx of the previous iterate is kept, so the extrapolated point 2x' − x needs no product); a rejected step
 * costs one Kx more.
 */
export function solveOperatorLp(lp: OperatorLp, opts: PdlpCoreOptions = {}): PdlpCoreResult {
  const t0 = performance.now();
  const ops = new CountedOperators(lp);
  const empty = (status: PdlpCoreStatus, message: string) => emptyResult(ops, { status, message, t0 });
  const bad = inputProblem(lp);
  if (bad) return empty(bad.status, bad.message);
  try {
    const state = new PdhgState(ops, opts, t0);
    return opts.scheme === "halpern" ? runHalpern(state) : runAdaptive(state);
  } catch (e) {
    return empty("error", `operator failed: ${(e as Error).message}`);
  }
}

/** The outcome of a run that could not start or failed: zero points, NaN measures, the products spent so far. */
function emptyResult(ops: CountedOperators, a: { status: PdlpCoreStatus; message: string; t0: number }): PdlpCoreResult {
  return {
    status: a.status,
    x: new Float64Array(ops.nCols),
    y: new Float64Array(ops.nRows),
    kx: new Float64Array(ops.nRows),
    kty: new Float64Array(ops.nCols),
    primalObjective: NaN,
    dualObjective: NaN,
    primalResidual: NaN,
    relPrimalResidual: NaN,
    dualResidual: NaN,
    relDualResidual: NaN,
    relGap: NaN,
    bestDualBound: -Infinity,
    repairScale: 1,
    iterations: 0,
    matvecs: ops.matvecs,
    restarts: 0,
    seconds: (performance.now() - a.t0) / 1000,
    message: a.message,
  };
}

/** Input checks: a bad input is an "error" (or, for crossed bounds, "primal-infeasible") value, not a throw. */
function inputProblem(lp: OperatorLp): { status: PdlpCoreStatus; message: string } | undefined {
  const nCols = lp.c.length, nRows = lp.rowLower.length;
  const lengths = [["c", lp.c, nCols], ["rowUpper", lp.rowUpper, nRows], ["colLower", lp.colLower, nCols], [
    "colUpper",
    lp.colUpper,
    nCols,
  ]] as const;
  for (const [name, v, len] of lengths) {
    if (v.length !== len) return { status: "error", message: `${name} has length ${v.length}, expected ${len}` };
  }
  for (let j = 0; j < nCols; j++) {
    if (!(lp.colLower[j] <= lp.colUpper[j]) || Number.isNaN(lp.c[j])) {
      if (lp.colLower[j] > lp.colUpper[j]) return { status: "primal-infeasible", message: `variable ${j} has lower bound > upper bound` };
      return { status: "error", message: `variable ${j}: NaN in c or bounds` };
    }
  }
  for (let i = 0; i < nRows; i++) {
    if (lp.rowLower[i] > lp.rowUpper[i]) return { status: "primal-infeasible", message: `row ${i} has lower bound > upper bound` };
    if (Number.isNaN(lp.rowLower[i]) || Number.isNaN(lp.rowUpper[i])) return { status: "error", message: `row ${i}: NaN bound` };
  }
  return undefined;
}
