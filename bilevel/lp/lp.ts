import highsLoader from "highs";

/** The data of LP (11) restricted to a block B of weights (the others held fixed). */
export interface DirectionLp {
  /** ∇_w F on the block (length m). */
  gradF: Float64Array;
  /** ∇_λ F (length n); zero when F = L_val. */
  gradLambdaF: Float64Array;
  /** H_wλ on the block, row-major m × n. */
  hWL: Float64Array;
  /** H_ww on the block, row-major m × m. */
  hWW: Float64Array;
  /** Current λ: a λ_k already at 0 may not decrease (dλ_k ≥ 0), so that λ stays ≥ 0 along the direction. */
  lambdas: number[];
  /** Box on dλ, per coordinate (default −1 … 1, and 0 … 1 where λ_k = 0); overrides the rule above. */
  dLambdaLower?: number[];
  dLambdaUpper?: number[];
  /** Relaxation of the optimality condition, |H_wλ dλ + H_ww dw| ≤ ε. */
  epsilon: number;
  /** Trust-region box on dw, |dw_j| ≤ δ; undefined means unbounded (the LP may then be unbounded). */
  delta?: number;
}

/** The solver's outcome, for every status HiGHS can report. */
export interface LpSolution {
  status: "optimal" | "infeasible" | "unbounded" | "time-limit" | "error";
  /** HiGHS's own status text. */
  solverStatus: string;
  dLambda?: Float64Array;
  dw?: Float64Array;
  objective?: number;
  /** How many dw entries sit on the trust-region box (|dw_j| = δ): when > 0 the box binds. */
  boxActive: number;
  seconds: number;
  message?: string;
  /** Matrix coefficients HiGHS holds as 0 (below 1e-12 of their row's largest; see buildLp). */
  dropped?: number;
  /** Which solver answered: HiGHS, or the certified dense dual simplex (lp_block.ts) with its pivots. */
  solver?: "highs" | "dense-simplex";
  pivots?: number;
  /** Why the dense simplex handed the LP to HiGHS, when it did. */
  fallback?: string;
}

/** What HiGHS's passModel takes (the highs package's ModelData, with the matrix in CSR). */
export interface HighsModelData {
  numCols: number;
  numRows: number;
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  matrix: { format: "csr"; numRows: number; numCols: number; starts: Int32Array; indices: Int32Array; values: Float64Array };
}

/** The part of the highs package's persistent-model API used here (its bundled types describe the module, not the loader). */
export interface HighsModel {
  options: { set(o: Record<string, unknown>): unknown };
  readModel(src: { format: "lp"; data: string }): unknown;
  passModel(model: HighsModelData): unknown;
  run(): unknown;
  getModelStatus(): number;
  getObjectiveValue(): number;
  getSolution(): { colValue: Float64Array };
  getDimensions(): { numCols: number };
  getColName(i: number): string;
  getLp(format: "csr" | "csc"): {
    colCost: Float64Array;
    colLower: Float64Array;
    colUpper: Float64Array;
    rowLower: Float64Array;
    rowUpper: Float64Array;
    matrix: { starts: Int32Array; indices: Int32Array; values: Float64Array };
  };
  dispose(): void;
}
interface Highs {
  createModel(): HighsModel;
  constants: { modelStatus: Record<string, number> };
}
let highsInstance: Promise<Highs> | undefined;

async function highs(): Promise<Highs> {
  highsInstance ??= (highsLoader as unknown as () => Promise<Highs>)();
  return await highsInstance;
}

/**
 * Starts loading HiGHS (about 90 ms: its WebAssembly compiled, the module instantiated) without waiting, so
 * that a caller about to train can overlap it with the training; the first solve then finds it ready. A
 * failed load is forgotten, and the solve that needs it reports it.
 */
export function preloadLpSolver(): void {
  highs().catch(() => (highsInstance = undefined));
}

/**
 * HiGHS's limits on what its LP reader keeps (HiGHS 1.15, measured in tests/bilevel/lp/lp_exact_test.ts): a cost or
 * bound of magnitude ≥ 1e20 is infinite; a matrix coefficient of magnitude ≥ 1e15 makes the model
 * unreadable; one at or below `small_matrix_value` is dropped (default 1e-9; the lowest it accepts is 1e-12,
 * and it must be set before the model is read, which `highs.solve` does not do).
 */
export const HIGHS_LIMITS = { infinite: 1e20, largeMatrix: 1e15, smallMatrix: 1e-12 } as const;

/**
 * HiGHS's options for LP (11), set before the model is passed (small_matrix_value applies as it is read).
 * Presolve off: the rows are dense, presolve finds nothing to remove and cost 1.2-2× the solve on output
 * blocks of 160-200 weights. Devex dual edge weights: 20-30% faster than the default (steepest edge) on
 * the output blocks of a 40-model study (m = 50-200), the same optimum (scratch measurement, 2026-12-01).
 */
export const HIGHS_SETTINGS = (timeLimitS: number) => ({
  output_flag: false,
  time_limit: timeLimitS,
  presolve: "off",
  simplex_dual_edge_weight_strategy: 1,
  small_matrix_value: HIGHS_LIMITS.smallMatrix,
});

/** A coefficient the LP text cannot carry (NaN, ±∞, or outside HiGHS's finite range), named by where it sits. */
export class LpCoefficientError extends Error {
  constructor(readonly where: string, readonly value: number, why = "is not finite") {
    super(`LP coefficient ${where} = ${value} ${why}`);
    this.name = "LpCoefficientError";
  }
}

/**
 * The shortest decimal that parses back to exactly x (ECMAScript's Number-to-String), e.g. "0.1",
 * "1.2345678901234568e-10", "5e-324", "1.5e+21"; HiGHS's LP reader accepts all of these forms. −0 keeps its
 * sign so that the text round-trips bit for bit. The old toPrecision(17) + trailing-zero regex also ate
 * exponent digits ("…e-10" became "…e-1").
 */
export function formatLpNumber(x: number, where = "value"): string {
  if (!Number.isFinite(x)) throw new LpCoefficientError(where, x);
  return Object.is(x, -0) ? "-0" : String(x);
}

/** x·2^e, exact whenever the result is a normal float64 (split so that 2^e itself never overflows). */
export function scale2(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/**
 * LP (11) as HiGHS receives it: columns [dλ_0 … dλ_{n−1}, dw_0 … dw_{m−1}]; one ranged row per non-empty
 * block row j, −2^e_j·ε ≤ 2^e_j·(H_wλ dλ + H_ww dw)_j ≤ 2^e_j·ε, in compressed sparse rows; costs
 * 2^objectiveScale·∇F. Every number is the float64 of LP (11) times a power of two (exact).
 */
export interface ScaledLp {
  /** Number of λ columns (n) and of dw columns (m). */
  n: number;
  m: number;
  /** Costs over [dλ, dw], times 2^objectiveScale. */
  cost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  /** For each kept row: the block row it is, and its bound 2^e_j·ε. */
  rowOf: Int32Array;
  rowBound: Float64Array;
  /** The kept rows' coefficients (CSR over the columns above; zeros left out). */
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Row j's power-of-two scale: kept row r_j is 2^rowScale[j] times row j of LP (11) (0 for rows left out). */
  rowScale: Int32Array;
  /** The objective here is 2^objectiveScale times that of LP (11). */
  objectiveScale: number;
  /** Matrix coefficients (after row scaling) at or below HIGHS_LIMITS.smallMatrix, which HiGHS holds as 0. */
  dropped: number;
}

/** The LP text and what the writer did to fit HiGHS's matrix range. */
export interface LpText {
  text: string;
  /** Row j's power-of-two scale: row r_j of the text is 2^rowScale[j] times row j of LP (11) (0 for rows left out). */
  rowScale: Int32Array;
  /** The objective of the text is 2^objectiveScale times that of LP (11). */
  objectiveScale: number;
  /** Matrix coefficients (after row scaling) at or below HIGHS_LIMITS.smallMatrix, which HiGHS holds as 0. */
  dropped: number;
}

/**
 * Scales LP (11) for HiGHS: minimise ∇λF·dλ + ∇wF·dw subject to -ε ≤ (H_wλ dλ + H_ww dw)_j ≤ ε for each
 * block row j, -1 ≤ dλ ≤ 1 (dλ_k ≥ 0 where λ_k = 0; or the box dLambdaLower … dLambdaUpper), and |dw| ≤ δ
 * when a box is set (free otherwise).
 *
 * Exactness: each row is multiplied by a power of two 2^e_j (exact in float64), chosen so that its largest
 * coefficient lies in (1/2, 1], and its bound becomes 2^e_j·ε: the same LP, but HiGHS's absolute matrix
 * limits (entries ≤ 1e-9 dropped by default, ≥ 1e15 refused) now act relative to each row's scale, so an
 * H_ww of magnitude 1e-10 is solved as written. The objective is scaled the same way (a power of two,
 * undone exactly on the objective value), because HiGHS's optimality tolerance is absolute too. Throws
 * LpCoefficientError naming the entry for NaN, ±∞, or a cost or bound of magnitude ≥ 1e20 (HiGHS's
 * infinity). Rows that are entirely zero are left out (they hold for any direction).
 */
export function scaleLp(p: DirectionLp): ScaledLp {
  const inf = HIGHS_LIMITS.infinite;
  if (!(p.epsilon > 0) || p.epsilon >= inf) throw new LpCoefficientError("ε", p.epsilon, `must be in (0, ${inf})`);
  if (p.delta !== undefined && !(p.delta > 0 && p.delta < inf)) throw new LpCoefficientError("δ", p.delta, `must be in (0, ${inf})`);
  const { cost, objectiveScale } = scaledCosts(p);
  return { n: p.gradLambdaF.length, m: p.gradF.length, cost, objectiveScale, ...columnBounds(p), ...scaledRows(p) };
}

/** The costs over [dλ, dw] times 2^objectiveScale, so that the largest lies in (1/2, 1]: HiGHS's dual
 * feasibility tolerance (1e-7) is absolute, and unscaled costs of 1e-8 would all look optimal. */
function scaledCosts(p: DirectionLp): { cost: Float64Array; objectiveScale: number } {
  const inf = HIGHS_LIMITS.infinite;
  let bigCost = 0;
  for (const [g, name] of [[p.gradLambdaF, "∇λF"], [p.gradF, "∇wF"]] as const) {
    g.forEach((c, i) => {
      if (!Number.isFinite(c)) throw new LpCoefficientError(`${name}[${i}]`, c);
      if (Math.abs(c) >= inf) throw new LpCoefficientError(`${name}[${i}]`, c, `is at or beyond HiGHS's infinity ${inf}`);
      bigCost = Math.max(bigCost, Math.abs(c));
    });
  }
  const objectiveScale = bigCost === 0 ? 0 : -Math.ceil(Math.log2(bigCost));
  const cost = new Float64Array(p.gradLambdaF.length + p.gradF.length);
  p.gradLambdaF.forEach((c, k) => (cost[k] = scale2(c, objectiveScale)));
  p.gradF.forEach((c, j) => (cost[p.gradLambdaF.length + j] = scale2(c, objectiveScale)));
  return { cost, objectiveScale };
}

/** The block rows, each scaled by its power of two, in CSR; empty rows are left out. */
function scaledRows(p: DirectionLp): Pick<ScaledLp, "rowOf" | "rowBound" | "starts" | "indices" | "values" | "rowScale" | "dropped"> {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const rowScale = new Int32Array(m);
  const rowOf: number[] = [], rowBound: number[] = [], starts = [0], indices: number[] = [], values: number[] = [];
  let dropped = 0;
  for (let j = 0; j < m; j++) {
    let big = 0;
    for (let k = 0; k < n; k++) {
      const c = p.hWL[j * n + k];
      if (!Number.isFinite(c)) throw new LpCoefficientError(`H_wλ[${j},${k}]`, c);
      big = Math.max(big, Math.abs(c));
    }
    for (let i = 0; i < m; i++) {
      const c = p.hWW[j * m + i];
      if (!Number.isFinite(c)) throw new LpCoefficientError(`H_ww[${j},${i}]`, c);
      big = Math.max(big, Math.abs(c));
    }
    if (big === 0) continue;
    // 2^e·big in (1/2, 1]; e is capped so that the scaled ε stays a normal float64 below 2^60 (exact and
    // far from HiGHS's infinity). Only a row below ~1e-18·ε or above ~1e300·ε meets the cap.
    const e0 = -Math.ceil(Math.log2(big));
    const eHi = 60 - Math.ceil(Math.log2(p.epsilon));
    const eLo = -1000 - Math.floor(Math.log2(p.epsilon));
    const e = Math.max(eLo, Math.min(eHi, e0));
    rowScale[j] = e;
    const term = (c: number, col: number, where: string) => {
      if (c === 0) return;
      const v = scale2(c, e);
      if (Math.abs(v) >= HIGHS_LIMITS.largeMatrix) {
        throw new LpCoefficientError(where, c, `is too large for HiGHS's matrix even after row scaling`);
      }
      if (Math.abs(v) <= HIGHS_LIMITS.smallMatrix) dropped++;
      indices.push(col);
      values.push(v);
    };
    for (let k = 0; k < n; k++) term(p.hWL[j * n + k], k, `H_wλ[${j},${k}]`);
    for (let i = 0; i < m; i++) term(p.hWW[j * m + i], n + i, `H_ww[${j},${i}]`);
    rowOf.push(j);
    rowBound.push(scale2(p.epsilon, e));
    starts.push(indices.length);
  }
  return {
    rowOf: Int32Array.from(rowOf),
    rowBound: Float64Array.from(rowBound),
    starts: Int32Array.from(starts),
    indices: Int32Array.from(indices),
    values: Float64Array.from(values),
    rowScale,
    dropped,
  };
}

/** Bounds of dλ (the given box, else [−1, 1] with 0 below where λ_k = 0) and of dw (|dw| ≤ δ, or free). */
function columnBounds(p: DirectionLp): { colLower: Float64Array; colUpper: Float64Array } {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const inf = HIGHS_LIMITS.infinite;
  const colLower = new Float64Array(n + m), colUpper = new Float64Array(n + m);
  for (let k = 0; k < n; k++) {
    const lo = p.dLambdaLower?.[k] ?? (p.lambdas[k] <= 0 ? 0 : -1);
    const hi = p.dLambdaUpper?.[k] ?? 1;
    for (const [v, where] of [[lo, `dλ lower bound [${k}]`], [hi, `dλ upper bound [${k}]`]] as const) {
      if (!Number.isFinite(v)) throw new LpCoefficientError(where, v);
      if (Math.abs(v) >= inf) throw new LpCoefficientError(where, v, `is at or beyond HiGHS's infinity ${inf}`);
    }
    colLower[k] = lo;
    colUpper[k] = hi;
  }
  colLower.fill(p.delta === undefined ? -Infinity : -p.delta, n);
  colUpper.fill(p.delta === undefined ? Infinity : p.delta, n);
  return { colLower, colUpper };
}

/** Column names of the text: l0 … for dλ, w0 … for dw. */
function columnName(s: ScaledLp, col: number): string {
  return col < s.n ? `l${col}` : `w${col - s.n}`;
}

/** `+ c` or `- |c|` in shortest round-trip form (formatLpNumber); `where` names the entry in an error. */
function signed(x: number, where: string): string {
  return x < 0 ? `- ${formatLpNumber(-x, where)}` : `+ ${formatLpNumber(x, where)}`;
}

/**
 * Writes LP (11) as CPLEX LP text (for inspection, or another solver; the solve passes the numbers of
 * scaleLp to HiGHS directly). HiGHS's LP reader has no ranged rows, so each row gets a slack:
 * expr_j − s_j = 0 with −2^e_j·ε ≤ s_j ≤ 2^e_j·ε. Every number is written in its shortest round-trip form
 * (formatLpNumber), so HiGHS's reader gets the same float64 values as scaleLp's. Throws
 * LpCoefficientError like scaleLp.
 */
export function buildLp(p: DirectionLp): LpText {
  const s = scaleLp(p);
  const obj: string[] = [];
  s.cost.forEach((c, col) => {
    if (c !== 0) obj.push(`${signed(c, "cost")} ${columnName(s, col)}`);
  });
  // An objective needs at least one term; 0 l0 is valid when everything vanishes.
  const lines = ["Minimize", " obj:" + (obj.length ? " " + obj.join(" ") : " 0 l0"), "Subject To"];
  const slackBounds: string[] = [];
  s.rowOf.forEach((j, r) => {
    const terms: string[] = [];
    for (let q = s.starts[r]; q < s.starts[r + 1]; q++) terms.push(`${signed(s.values[q], "matrix")} ${columnName(s, s.indices[q])}`);
    lines.push(` r${j}: ${terms.join(" ")} - s${j} = 0`);
    slackBounds.push(` ${formatLpNumber(-s.rowBound[r])} <= s${j} <= ${formatLpNumber(s.rowBound[r])}`);
  });
  lines.push("Bounds", ...slackBounds);
  for (let col = 0; col < s.n + s.m; col++) {
    const [lo, hi] = [s.colLower[col], s.colUpper[col]];
    lines.push(
      lo === -Infinity && hi === Infinity
        ? ` ${columnName(s, col)} free`
        : ` ${formatLpNumber(lo)} <= ${columnName(s, col)} <= ${formatLpNumber(hi)}`,
    );
  }
  lines.push("End");
  return { text: lines.join("\n") + "\n", rowScale: s.rowScale, objectiveScale: s.objectiveScale, dropped: s.dropped };
}

/** The model HiGHS's persistent API takes (passModel): scaleLp's numbers as they are, rows ranged. */
export function highsModelData(s: ScaledLp): HighsModelData {
  const rows = s.rowOf.length, cols = s.n + s.m;
  return {
    numCols: cols,
    numRows: rows,
    colCost: s.cost,
    colLower: s.colLower,
    colUpper: s.colUpper,
    rowLower: s.rowBound.map((b) => -b),
    rowUpper: s.rowBound,
    matrix: { format: "csr", numRows: rows, numCols: cols, starts: s.starts, indices: s.indices, values: s.values },
  };
}

/** The CPLEX LP text of LP (11) (see buildLp). Throws LpCoefficientError for a coefficient it cannot carry. */
export function buildLpText(p: DirectionLp): string {
  return buildLp(p).text;
}

/**
 * Solves LP (11) with HiGHS (WebAssembly). Every outcome is a value, never a throw: optimal (with the
 * direction), infeasible, unbounded, time limit, or error with a message (the solver's, or which
 * coefficient HiGHS cannot hold: NaN, ±∞, beyond its range). The numbers of scaleLp go to a persistent
 * HiGHS model as float64 arrays (passModel; no text to write and parse: 2-3× faster than the LP text on
 * output blocks), after `small_matrix_value` is lowered to HiGHS's minimum.
 *
 * @example
 * ```ts
 * // a block of one weight and one λ: H_ww = [2], H_wλ = [1], |dw| ≤ 1
 * const sol = await solveDirectionLp({
 *   gradF: Float64Array.of(1), gradLambdaF: Float64Array.of(0), hWL: Float64Array.of(1), hWW: Float64Array.of(2),
 *   lambdas: [0.01], epsilon: 1e-3, delta: 1,
 * });
 * if (sol.status === "optimal") console.log(sol.dLambda, sol.dw);
 * ```
 */
export async function solveDirectionLp(
  p: DirectionLp,
  opts: { timeLimitS?: number; /** scaleLp(p), when the caller has already made it. */ scaled?: ScaledLp } = {},
): Promise<LpSolution> {
  const t0 = performance.now();
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const done = (s: Omit<LpSolution, "seconds" | "boxActive"> & { boxActive?: number }): LpSolution => ({
    boxActive: 0,
    ...s,
    seconds: (performance.now() - t0) / 1000,
  });
  let lp: ScaledLp;
  try {
    lp = opts.scaled ?? scaleLp(p);
  } catch (e) {
    if (e instanceof LpCoefficientError) return done({ status: "error", solverStatus: "not written", message: e.message });
    throw e;
  }
  let status: number, codes: Record<string, number>, objective: number, x: Float64Array;
  try {
    const solver = await highs();
    codes = solver.constants.modelStatus;
    const model = solver.createModel();
    try {
      model.options.set(HIGHS_SETTINGS(opts.timeLimitS ?? 120));
      model.passModel(highsModelData(lp));
      model.run();
      status = model.getModelStatus();
      objective = scale2(model.getObjectiveValue(), -lp.objectiveScale);
      x = Float64Array.from(model.getSolution().colValue);
    } finally {
      model.dispose();
    }
  } catch (e) {
    highsInstance = undefined; // a trapped WebAssembly instance is not reused
    return done({ status: "error", solverStatus: "exception", message: (e as Error).message, dropped: lp.dropped });
  }
  const solverStatus = Object.keys(codes).find((k) => codes[k] === status) ?? `status ${status}`;
  if (status !== codes.optimal) {
    const kind = status === codes.infeasible
      ? "infeasible"
      : status === codes.unbounded || status === codes.unboundedOrInfeasible
      ? "unbounded"
      : status === codes.timeLimit
      ? "time-limit"
      : "error";
    return done({ status: kind, solverStatus, dropped: lp.dropped });
  }
  const dLambda = x.slice(0, n);
  const dw = x.slice(n, n + m);
  return done({
    status: "optimal",
    solverStatus,
    dLambda,
    dw,
    objective,
    boxActive: countBoxActive(dw, p.delta),
    dropped: lp.dropped,
    solver: "highs",
  });
}

/** How many dw entries sit on the trust-region box |dw_j| = δ (0 without a box). */
export function countBoxActive(dw: Float64Array, delta: number | undefined): number {
  if (delta === undefined) return 0;
  return dw.reduce((a, v) => a + (Math.abs(Math.abs(v) - delta) <= 1e-9 * Math.max(1, delta) ? 1 : 0), 0);
}
