/**
 * LP (11) at any model size, matrix-free (issue 19): restarted, preconditioned PDHG (PDLP) over
 * Hessian-vector products. The constraint matrix is K = [H_wλ H_ww]; Kx = H_wλ dλ + H_ww dw and
 * Kᵀy = [H_λw y; H_ww y] (H_ww is symmetric), so each iteration costs two HVPs and H is never formed.
 * The engine (pdlp_core.ts) is generic over any operator LP; this module adds LP (11)'s operators, its
 * normalisation (rows ÷ ε, objective ÷ max |coefficient|), its symmetric scaling and its certificate.
 *
 *     min  ∇λF·dλ + ∇wF·dw
 *     s.t. −ε ≤ (H_wλ dλ + H_ww dw)_j ≤ ε,   lo ≤ dλ ≤ hi,   −δ ≤ dw ≤ δ
 *
 * The answer always comes with a certificate: the returned direction is feasible (a near-feasible iterate is
 * scaled towards 0, which is feasible, until every row holds: see `repair`), and a dual bound from the
 * dual iterate (one fresh Kᵀy) bounds the optimum from below, so objective − dualBound ≥ objective − optimum.
 */
import { type PdlpCoreOptions, type PdlpCoreResult, type PdlpProgress, solveOperatorLp } from "./pdlp_core.ts";
import { symmetricRuiz } from "./pdlp_scaling.ts";

/** LP (11) given by operators (see the module comment). */
export interface MatrixFreeLp {
  /** ∇_λ F (length n). */
  gradLambdaF: Float64Array;
  /** ∇_w F (length m). */
  gradF: Float64Array;
  /** v ↦ H_ww v (m → m); H_ww must be symmetric. */
  hvp: (v: Float64Array) => Float64Array;
  /** dλ ↦ H_wλ dλ (n → m). */
  hWLtimes: (dl: Float64Array) => Float64Array;
  /** u ↦ H_λw u (m → n), the transpose. */
  hLWtimes: (u: Float64Array) => Float64Array;
  /** Box on dλ (default [−1, 1]; lower 0 where λ_k = 0 so that λ stays ≥ 0). Must contain 0. */
  lambdaLower: Float64Array;
  lambdaUpper: Float64Array;
  /** Row relaxation ε > 0. */
  epsilon: number;
  /** Trust-region box |dw_j| ≤ δ (Infinity: none, and the LP may be unbounded). */
  delta: number;
}

/** Options of solvePdlp. */
export interface PdlpOptions {
  /** Relative tolerance on row violation (× ε), dual residual and duality gap (default 1e-4). */
  tolerance?: number;
  /** Absolute floor of the gap test, in units of the largest |objective coefficient| (default tolerance·1e-3). */
  absoluteTolerance?: number;
  timeLimitS?: number;
  maxIterations?: number;
  /** Rounds of symmetric ℓ2 Ruiz equilibration (default 3) and Hutchinson probes per round (default 6): one HVP per probe. */
  ruizIterations?: number;
  probes?: number;
  seed?: number;
  /** PDHG variant (pdlp_core.ts): "halpern" (restarted reflected Halpern, default) or "adaptive" (PDLP's adaptive steps). */
  scheme?: "adaptive" | "halpern";
  /** Iterations between termination/restart checks (default 64, as PDLP). */
  evalEvery?: number;
  onProgress?: (p: PdlpProgress & { hvps: number }) => void;
}

/** Outcome of solvePdlp: always a value. dLambda/dw are present unless status is "error" or "infeasible". */
export interface PdlpResult {
  status: "optimal" | "infeasible" | "unbounded" | "time-limit" | "iteration-limit" | "error";
  dLambda?: Float64Array;
  dw?: Float64Array;
  /** Objective of the returned (feasible) direction: an upper bound on the optimum. */
  objective: number;
  /** Dual objective of the returned dual iterate, with a fresh Kᵀy: a lower bound on the optimum. */
  dualBound: number;
  /** (objective − dualBound) / max(|objective|, |dualBound|): the certified relative distance to optimal. */
  relativeGap: number;
  /** Largest row violation of the returned direction by a fresh product, max_j (|Kx|_j − ε)⁺ / ε, before its last rescaling (float32 HVP noise only). */
  primalResidual: number;
  /** PDLP's dual residual (relative): 0 whenever dw is boxed, since every reduced cost is then priced. */
  dualResidual: number;
  /** PDLP's |p − d| / (1 + |p| + |d|) on the normalised problem (rows ÷ ε, objective ÷ max|coefficient|). */
  pdlpRelativeGap: number;
  /** Factor θ ≤ 1 the iterate was scaled by to make every row hold (1: it already did). */
  repairScale: number;
  iterations: number;
  restarts: number;
  hvps: number;
  seconds: number;
  /** How many dw entries sit on the box (|dw_j| = δ). */
  boxActive: number;
  message?: string;
}

/**
 * Solves LP (11) matrix-free. Preconditioning: symmetric ℓ2 Ruiz from Hutchinson probes (pdlp_scaling.ts).
 * Iteration (default): restarted reflected Halpern PDHG at a constant step 0.95/||K̃|| (power iteration,
 * safeguarded by PDLP's local step test), restarts on the fixed-point residual with cuPDLP's factors and PDLP's
 * primal-weight update; `scheme: "adaptive"` runs PDLP's adaptive steps with averaging and KKT restarts instead.
 * Termination, every 64 iterations: the iterate is scaled towards 0 until every row holds (0 is feasible),
 * then its gap to the dual objective must be ≤ tol·(|p| + |d|) (+ a small absolute floor). Cost: two HVPs
 * per iteration, plus `ruizIterations × probes` for the scaling and 2 × 12 for the power iteration.
 *
 * @example
 * ```ts
 * // H_ww only through products: here the HVPs of an MlpDerivatives on one block (bilevel/hls/hls_direction.ts)
 * const r = solvePdlp({
 *   gradLambdaF, gradF, hvp: (v) => blockHvp(v), hWLtimes: (dl) => hWL(dl), hLWtimes: (u) => hLW(u),
 *   lambdaLower: Float64Array.of(-1), lambdaUpper: Float64Array.of(1), epsilon: 1e-3, delta: 0.5,
 * }, { tolerance: 1e-4 });
 * if (r.status === "optimal") console.log(r.dLambda, r.relativeGap);
 * ```
 */
export function solvePdlp(lp: MatrixFreeLp, opts: PdlpOptions = {}): PdlpResult {
  const t0 = performance.now();
  const m = lp.gradF.length;
  const count = { hvps: 0 };
  const fail = (status: "error" | "infeasible", message: string) => failed({ status, message, hvps: count.hvps, t0 });
  const bad = inputProblem(lp);
  if (bad) return fail(bad.status, bad.message);
  const hvp = (v: Float64Array) => {
    count.hvps++;
    const r = lp.hvp(v);
    if (r.length !== m) throw new Error(`hvp returned ${r.length} entries, expected ${m}`);
    return r;
  };
  const op = normalised(lp, hvp);
  if (!op) return fail("error", "objective has a non-finite entry");
  const eps = lp.epsilon;
  let scaling;
  try {
    scaling = symmetricRuiz({ n: op.n, m, hvp: (v) => hvp(v).map((x) => x / eps), hWLtimes: (dl) => lp.hWLtimes(dl).map((x) => x / eps) }, {
      iterations: opts.ruizIterations ?? 3,
      probes: opts.probes ?? 6,
      seed: opts.seed ?? 1,
    });
  } catch (e) {
    return fail("error", `preconditioning failed: ${(e as Error).message}`);
  }
  const tol = opts.tolerance ?? 1e-4;
  const coreOpts: PdlpCoreOptions = {
    tolerance: tol,
    absoluteTolerance: opts.absoluteTolerance ?? tol * 1e-3,
    norm: "linf",
    feasibleOrigin: true,
    timeLimitS: opts.timeLimitS === undefined ? undefined : Math.max(0, opts.timeLimitS - (performance.now() - t0) / 1000),
    maxIterations: opts.maxIterations,
    evalEvery: opts.evalEvery,
    scheme: opts.scheme ?? "halpern",
    trackEvery: 4, // cheap next to two HVPs; matters when a time limit allows only a few evaluations
    scaling,
    onProgress: opts.onProgress && ((p) => opts.onProgress!({ ...p, hvps: count.hvps })),
  };
  const r = solveOperatorLp({ ...op.data, apply: op.apply, applyT: op.applyT }, coreOpts);
  if (r.status === "error") return { ...fail("error", r.message ?? "solver error"), iterations: r.iterations };
  if (r.status === "primal-infeasible") {
    return { ...fail("infeasible", r.message ?? "Farkas certificate found"), iterations: r.iterations };
  }
  const status = r.status === "dual-infeasible" ? "unbounded" : r.status;
  try {
    return certified(lp, op, r, { status, count, t0 });
  } catch (e) {
    return { ...fail("error", `certificate failed: ${(e as Error).message}`), iterations: r.iterations };
  }
}

/** The outcome of a solve that failed or found LP (11) infeasible: NaN measures, the HVPs spent so far. */
function failed(a: { status: "error" | "infeasible"; message: string; hvps: number; t0: number }): PdlpResult {
  return {
    status: a.status,
    objective: NaN,
    dualBound: NaN,
    relativeGap: NaN,
    primalResidual: NaN,
    dualResidual: NaN,
    pdlpRelativeGap: NaN,
    repairScale: NaN,
    iterations: 0,
    restarts: 0,
    hvps: a.hvps,
    seconds: (performance.now() - a.t0) / 1000,
    boxActive: 0,
    message: a.message,
  };
}

/** Input checks: ε and δ positive, every dλ box ordered and containing 0. */
function inputProblem(lp: MatrixFreeLp): { status: "error" | "infeasible"; message: string } | undefined {
  const n = lp.gradLambdaF.length;
  if (!(lp.epsilon > 0)) return { status: "error", message: `ε must be > 0, got ${lp.epsilon}` };
  if (!(lp.delta > 0)) return { status: "error", message: `δ must be > 0, got ${lp.delta}` };
  if (lp.lambdaLower.length !== n || lp.lambdaUpper.length !== n) return { status: "error", message: "λ bounds must have length n" };
  for (let k = 0; k < n; k++) {
    if (lp.lambdaLower[k] > lp.lambdaUpper[k]) return { status: "infeasible", message: `dλ_${k}: lower bound above upper bound` };
    if (!(lp.lambdaLower[k] <= 0 && lp.lambdaUpper[k] >= 0)) return { status: "error", message: `dλ_${k}'s box must contain 0` };
  }
  return undefined;
}

/** LP (11) normalised for the engine: its data, operators, and the objective's scale. */
interface NormalisedLp {
  n: number;
  m: number;
  cScale: number;
  data: { c: Float64Array; rowLower: Float64Array; rowUpper: Float64Array; colLower: Float64Array; colUpper: Float64Array };
  apply: (x: Float64Array) => Float64Array;
  applyT: (y: Float64Array) => Float64Array;
}

/**
 * Rows ÷ ε (bounds ±1), objective ÷ its largest coefficient, so that the tolerances are relative; columns
 * [dλ; dw]. Undefined when the objective has a non-finite entry.
 */
function normalised(lp: MatrixFreeLp, hvp: (v: Float64Array) => Float64Array): NormalisedLp | undefined {
  const n = lp.gradLambdaF.length, m = lp.gradF.length;
  const eps = lp.epsilon;
  let cScale = 0;
  for (const v of [...lp.gradLambdaF, ...lp.gradF]) cScale = Math.max(cScale, Math.abs(v));
  if (!(cScale > 0) || !Number.isFinite(cScale)) cScale = Number.isFinite(cScale) ? 1 : NaN;
  if (Number.isNaN(cScale)) return undefined;
  const c = new Float64Array(n + m);
  for (let k = 0; k < n; k++) c[k] = lp.gradLambdaF[k] / cScale;
  for (let j = 0; j < m; j++) c[n + j] = lp.gradF[j] / cScale;
  const apply = (x: Float64Array) => {
    const r = hvp(x.subarray(n));
    if (n > 0) {
      const h = lp.hWLtimes(x.slice(0, n));
      for (let j = 0; j < m; j++) r[j] += h[j];
    }
    for (let j = 0; j < m; j++) r[j] /= eps;
    return r;
  };
  const applyT = (y: Float64Array) => {
    const out = new Float64Array(n + m);
    if (n > 0) out.set(lp.hLWtimes(y), 0);
    out.set(hvp(y), n);
    for (let j = 0; j < n + m; j++) out[j] /= eps;
    return out;
  };
  const colLower = new Float64Array(n + m).fill(-lp.delta), colUpper = new Float64Array(n + m).fill(lp.delta);
  colLower.set(lp.lambdaLower, 0);
  colUpper.set(lp.lambdaUpper, 0);
  const rowLower = new Float64Array(m).fill(-1), rowUpper = new Float64Array(m).fill(1);
  return { n, m, cScale, data: { c, rowLower, rowUpper, colLower, colUpper }, apply, applyT };
}

/**
 * The certificate from fresh products (the iteration's Kx, Kᵀy are running linear combinations of float32
 * HVPs), for the best feasible point and the best dual point of the run (each evaluation's point is one):
 * the direction scaled into feasibility, its objective, and the dual bound. `count` and `t0`: the HVPs and the
 * start of the whole solve, for the cost figures.
 */
function certified(
  lp: MatrixFreeLp,
  op: NormalisedLp,
  r: PdlpCoreResult,
  a: { status: PdlpResult["status"]; count: { hvps: number }; t0: number },
): PdlpResult {
  const { n, m, cScale } = op;
  const { c, colLower, colUpper } = op.data;
  const xBest = r.bestPrimal && r.bestPrimal.objective < r.primalObjective ? r.bestPrimal.x : r.x;
  const yBest = r.bestDual && r.bestDual.objective > r.dualObjective ? r.bestDual.y : r.y;
  const kx = op.apply(xBest);
  let viol = 0;
  for (let j = 0; j < m; j++) viol = Math.max(viol, Math.abs(kx[j]));
  const theta = viol > 1 ? 1 / viol : 1; // ≈ 1: the engine already scaled its answer into feasibility
  const x = xBest.map((v) => v * theta);
  let p = 0;
  for (let j = 0; j < n + m; j++) p += c[j] * x[j];
  const kty = op.applyT(yBest);
  let d = 0, dres = 0;
  for (let j = 0; j < m; j++) d += -Math.abs(yBest[j]); // p(y) with rows [−1, 1]
  for (let j = 0; j < n + m; j++) {
    const rc = c[j] - kty[j];
    const b = rc > 0 ? colLower[j] : colUpper[j];
    if (Number.isFinite(b)) d += rc * b;
    else if (rc !== 0) dres = Math.max(dres, Math.abs(rc));
  }
  const objective = p * cScale;
  const dualBound = dres > 0 ? -Infinity : d * cScale;
  const denom = Math.max(Math.abs(objective), Math.abs(dualBound));
  const dw = x.slice(n);
  const boxActive = Number.isFinite(lp.delta) ? dw.reduce((a, v) => a + (Math.abs(v) >= lp.delta * (1 - 1e-9) ? 1 : 0), 0) : 0;
  return {
    status: a.status,
    dLambda: x.slice(0, n),
    dw,
    objective,
    dualBound,
    relativeGap: denom > 0 ? (objective - dualBound) / denom : 0,
    primalResidual: Math.max(0, viol - 1),
    dualResidual: r.relDualResidual,
    pdlpRelativeGap: r.relGap,
    repairScale: theta * r.repairScale,
    iterations: r.iterations,
    restarts: r.restarts,
    hvps: a.count.hvps,
    seconds: (performance.now() - a.t0) / 1000,
    boxActive,
    message: r.message,
  };
}
