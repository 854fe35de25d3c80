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
}

/** The part of the highs package's persistent-model API used here (its bundled types describe the module, not the loader). */
interface HighsModel {
  options: { set(o: Record<string, unknown>): unknown };
  readModel(src: { format: "lp"; data: string }): unknown;
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
 * HiGHS's limits on what its LP reader keeps (HiGHS 1.15, measured in tests/lp_exact_test.ts): a cost or
 * bound of magnitude ≥ 1e20 is infinite; a matrix coefficient of magnitude ≥ 1e15 makes the model
 * unreadable; one at or below `small_matrix_value` is dropped (default 1e-9; the lowest it accepts is 1e-12,
 * and it must be set before the model is read, which `highs.solve` does not do).
 */
export const HIGHS_LIMITS = { infinite: 1e20, largeMatrix: 1e15, smallMatrix: 1e-12 } as const;

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
function scale2(x: number, e: number): number {
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
 * Writes LP (11) as CPLEX LP text: minimise ∇λF·dλ + ∇wF·dw subject to -ε ≤ (H_wλ dλ + H_ww dw)_j ≤ ε
 * for each block row j, -1 ≤ dλ ≤ 1 (dλ_k ≥ 0 where λ_k = 0; or the box dLambdaLower … dLambdaUpper), and
 * |dw| ≤ δ when a box is set.
 * HiGHS's LP reader has no ranged rows, so each row gets a slack: expr_j − s_j = 0 with −ε ≤ s_j ≤ ε. This
 * is the same LP as two inequalities per row; HiGHS solves it 1.2-2.2× faster (bench/hvp_lp.ts).
 *
 * Exactness: every number is written in its shortest round-trip form (formatLpNumber). Each row is
 * multiplied by a power of two 2^e_j (exact in float64), chosen so that its largest coefficient lies in
 * (1/2, 1], and its slack bound becomes 2^e_j·ε: the same LP, but HiGHS's absolute matrix limits (entries
 * ≤ 1e-9 dropped by default, ≥ 1e15 refused) now act relative to each row's scale, so an H_ww of
 * magnitude 1e-10 is solved as written. The objective is scaled the same way (a power of two, undone
 * exactly on the objective value), because HiGHS's optimality tolerance is absolute too. Throws
 * LpCoefficientError naming the entry for NaN, ±∞, or a cost or bound of magnitude ≥ 1e20 (HiGHS's
 * infinity).
 */
export function buildLp(p: DirectionLp): LpText {
  const inf = HIGHS_LIMITS.infinite;
  if (!(p.epsilon > 0) || p.epsilon >= inf) throw new LpCoefficientError("ε", p.epsilon, `must be in (0, ${inf})`);
  if (p.delta !== undefined && !(p.delta > 0 && p.delta < inf)) throw new LpCoefficientError("δ", p.delta, `must be in (0, ${inf})`);
  const { line, objectiveScale } = objectiveLine(p);
  const rows = constraintRows(p);
  const lines = ["Minimize", line, "Subject To", ...rows.lines, "Bounds", ...rows.slackBounds, ...variableBounds(p), "End"];
  return { text: lines.join("\n") + "\n", rowScale: rows.rowScale, objectiveScale, dropped: rows.dropped };
}

/** `+ c` or `- |c|` in shortest round-trip form (formatLpNumber); `where` names the entry in an error. */
function signed(x: number, where: string): string {
  return x < 0 ? `- ${formatLpNumber(-x, where)}` : `+ ${formatLpNumber(x, where)}`;
}

/**
 * The objective line, scaled by 2^objectiveScale so that its largest cost lies in (1/2, 1]: HiGHS's dual
 * feasibility tolerance (1e-7) is absolute, and unscaled costs of 1e-8 would all look optimal.
 */
function objectiveLine(p: DirectionLp): { line: string; objectiveScale: number } {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const inf = HIGHS_LIMITS.infinite;
  const obj: string[] = [];
  let bigCost = 0;
  for (const [g, name] of [[p.gradLambdaF, "∇λF"], [p.gradF, "∇wF"]] as const) {
    g.forEach((c, i) => {
      if (!Number.isFinite(c)) throw new LpCoefficientError(`${name}[${i}]`, c);
      if (Math.abs(c) >= inf) throw new LpCoefficientError(`${name}[${i}]`, c, `is at or beyond HiGHS's infinity ${inf}`);
      bigCost = Math.max(bigCost, Math.abs(c));
    });
  }
  const objectiveScale = bigCost === 0 ? 0 : -Math.ceil(Math.log2(bigCost));
  for (let k = 0; k < n; k++) {
    if (p.gradLambdaF[k] !== 0) obj.push(`${signed(scale2(p.gradLambdaF[k], objectiveScale), `∇λF[${k}]`)} l${k}`);
  }
  for (let j = 0; j < m; j++) if (p.gradF[j] !== 0) obj.push(`${signed(scale2(p.gradF[j], objectiveScale), `∇wF[${j}]`)} w${j}`);
  // An objective needs at least one term; 0 l0 is valid when everything vanishes.
  return { line: " obj:" + (obj.length ? " " + obj.join(" ") : " 0 l0"), objectiveScale };
}

/** The rows r_j (each scaled by its power of two, with its slack) and the slacks' bounds; empty rows are left out. */
function constraintRows(p: DirectionLp): { lines: string[]; slackBounds: string[]; rowScale: Int32Array; dropped: number } {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const lines: string[] = [];
  const rowScale = new Int32Array(m);
  const slackBounds: string[] = [];
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
    const terms: string[] = [];
    const term = (c: number, name: string, where: string) => {
      const v = scale2(c, e);
      if (Math.abs(v) >= HIGHS_LIMITS.largeMatrix) {
        throw new LpCoefficientError(where, c, `is too large for HiGHS's matrix even after row scaling`);
      }
      if (Math.abs(v) <= HIGHS_LIMITS.smallMatrix) dropped++;
      terms.push(`${signed(v, where)} ${name}`);
    };
    for (let k = 0; k < n; k++) {
      const c = p.hWL[j * n + k];
      if (c !== 0) term(c, `l${k}`, `H_wλ[${j},${k}]`);
    }
    for (let i = 0; i < m; i++) {
      const c = p.hWW[j * m + i];
      if (c !== 0) term(c, `w${i}`, `H_ww[${j},${i}]`);
    }
    lines.push(` r${j}: ${terms.join(" ")} - s${j} = 0`);
    const eps = scale2(p.epsilon, e);
    slackBounds.push(` ${formatLpNumber(-eps)} <= s${j} <= ${formatLpNumber(eps)}`);
  }
  return { lines, slackBounds, rowScale, dropped };
}

/** Bounds of dλ (the given box, else [−1, 1] with 0 below where λ_k = 0) and of dw (|dw| ≤ δ, or free). */
function variableBounds(p: DirectionLp): string[] {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const inf = HIGHS_LIMITS.infinite;
  const lines: string[] = [];
  for (let k = 0; k < n; k++) {
    const lo = p.dLambdaLower?.[k] ?? (p.lambdas[k] <= 0 ? 0 : -1);
    const hi = p.dLambdaUpper?.[k] ?? 1;
    for (const [v, where] of [[lo, `dλ lower bound [${k}]`], [hi, `dλ upper bound [${k}]`]] as const) {
      if (Math.abs(v) >= inf) throw new LpCoefficientError(where, v, `is at or beyond HiGHS's infinity ${inf}`);
    }
    lines.push(` ${formatLpNumber(lo, `dλ lower bound [${k}]`)} <= l${k} <= ${formatLpNumber(hi, `dλ upper bound [${k}]`)}`);
  }
  for (let j = 0; j < m; j++) {
    lines.push(p.delta === undefined ? ` w${j} free` : ` ${formatLpNumber(-p.delta)} <= w${j} <= ${formatLpNumber(p.delta)}`);
  }
  return lines;
}

/** The CPLEX LP text of LP (11) (see buildLp). Throws LpCoefficientError for a coefficient it cannot carry. */
export function buildLpText(p: DirectionLp): string {
  return buildLp(p).text;
}

/**
 * Solves LP (11) with HiGHS (WebAssembly). Every outcome is a value, never a throw: optimal (with the
 * direction), infeasible, unbounded, time limit, or error with a message (the solver's, or which
 * coefficient the text cannot carry: NaN, ±∞, beyond HiGHS's range). Uses a persistent HiGHS model so that
 * `small_matrix_value` is lowered to HiGHS's minimum before the text is read (`highs.solve` reads first).
 */
export async function solveDirectionLp(p: DirectionLp, opts: { timeLimitS?: number } = {}): Promise<LpSolution> {
  const t0 = performance.now();
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const done = (s: Omit<LpSolution, "seconds" | "boxActive"> & { boxActive?: number }): LpSolution => ({
    boxActive: 0,
    ...s,
    seconds: (performance.now() - t0) / 1000,
  });
  let lp: LpText;
  try {
    lp = buildLp(p);
  } catch (e) {
    if (e instanceof LpCoefficientError) return done({ status: "error", solverStatus: "not written", message: e.message });
    throw e;
  }
  let status: number, codes: Record<string, number>, objective: number, cols: Record<string, number>;
  try {
    const solver = await highs();
    codes = solver.constants.modelStatus;
    const model = solver.createModel();
    try {
      model.options.set({
        output_flag: false,
        time_limit: opts.timeLimitS ?? 120,
        presolve: "on",
        small_matrix_value: HIGHS_LIMITS.smallMatrix,
      });
      model.readModel({ format: "lp", data: lp.text });
      model.run();
      status = model.getModelStatus();
      objective = scale2(model.getObjectiveValue(), -lp.objectiveScale);
      const x = model.getSolution().colValue;
      cols = {};
      for (let i = 0; i < model.getDimensions().numCols; i++) cols[model.getColName(i)] = x[i];
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
  const dLambda = Float64Array.from({ length: n }, (_, k) => cols[`l${k}`] ?? 0);
  const dw = Float64Array.from({ length: m }, (_, j) => cols[`w${j}`] ?? 0);
  const boxActive = p.delta === undefined
    ? 0
    : dw.reduce((a, v) => a + (Math.abs(Math.abs(v) - p.delta!) <= 1e-9 * Math.max(1, p.delta!) ? 1 : 0), 0);
  return done({ status: "optimal", solverStatus, dLambda, dw, objective, boxActive, dropped: lp.dropped });
}
