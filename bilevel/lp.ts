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
}

/** The part of the highs package's API used here (its bundled types describe the module, not the loader). */
interface Highs {
  solve(
    lp: string,
    options?: Record<string, unknown>,
  ): { Status: string; ObjectiveValue: number; Columns: Record<string, { Primal: number }> };
}
let highsInstance: Promise<Highs> | undefined;

async function highs(): Promise<Highs> {
  highsInstance ??= (highsLoader as unknown as () => Promise<Highs>)();
  return await highsInstance;
}

function num(x: number): string {
  // CPLEX LP text wants plain decimal or exponent notation; keep full float64 precision.
  return x.toPrecision(17).replace(/\.?0+(e|$)/, "$1");
}

/**
 * Writes LP (11) as CPLEX LP text: minimise ∇λF·dλ + ∇wF·dw subject to -ε ≤ (H_wλ dλ + H_ww dw)_j ≤ ε
 * for each block row j, -1 ≤ dλ ≤ 1 (dλ_k ≥ 0 where λ_k = 0), and |dw| ≤ δ when a box is set.
 * HiGHS's LP reader has no ranged rows, so each row gets a slack: expr_j − s_j = 0 with −ε ≤ s_j ≤ ε. This
 * is the same LP as two inequalities per row, in half the text, and HiGHS solves it faster: 0.04 vs 0.10 s
 * at m = 100, 3.2 vs 4.8 s at m = 600, 24 vs 28 s at m = 1000, same objectives (bench/hvp_lp.ts).
 */
export function buildLpText(p: DirectionLp): string {
  const m = p.gradF.length;
  const n = p.gradLambdaF.length;
  const lines: string[] = ["Minimize", " obj:"];
  const obj: string[] = [];
  for (let k = 0; k < n; k++) if (p.gradLambdaF[k] !== 0) obj.push(`${signed(p.gradLambdaF[k])} l${k}`);
  for (let j = 0; j < m; j++) if (p.gradF[j] !== 0) obj.push(`${signed(p.gradF[j])} w${j}`);
  // An objective needs at least one term; 0 l0 is valid when everything vanishes.
  lines[1] += obj.length ? " " + obj.join(" ") : " 0 l0";
  lines.push("Subject To");
  const slacks: number[] = [];
  for (let j = 0; j < m; j++) {
    const terms: string[] = [];
    for (let k = 0; k < n; k++) {
      const c = p.hWL[j * n + k];
      if (c !== 0) terms.push(`${signed(c)} l${k}`);
    }
    for (let i = 0; i < m; i++) {
      const c = p.hWW[j * m + i];
      if (c !== 0) terms.push(`${signed(c)} w${i}`);
    }
    if (!terms.length) continue;
    lines.push(` r${j}: ${terms.join(" ")} - s${j} = 0`);
    slacks.push(j);
  }
  lines.push("Bounds");
  for (const j of slacks) lines.push(` ${num(-p.epsilon)} <= s${j} <= ${num(p.epsilon)}`);
  for (let k = 0; k < n; k++) lines.push(` ${p.lambdas[k] <= 0 ? 0 : -1} <= l${k} <= 1`);
  for (let j = 0; j < m; j++) lines.push(p.delta === undefined ? ` w${j} free` : ` ${num(-p.delta)} <= w${j} <= ${num(p.delta)}`);
  lines.push("End");
  return lines.join("\n") + "\n";
}

function signed(x: number): string {
  return x < 0 ? `- ${num(-x)}` : `+ ${num(x)}`;
}

/**
 * Solves LP (11) with HiGHS (WebAssembly). Every outcome is a value, never a throw: optimal (with the
 * direction), infeasible, unbounded, time limit, or error with the solver's message.
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
  let result;
  try {
    const solver = await highs();
    result = solver.solve(buildLpText(p), { time_limit: opts.timeLimitS ?? 120, output_flag: false, presolve: "on" });
  } catch (e) {
    highsInstance = undefined; // a trapped WebAssembly instance is not reused
    return done({ status: "error", solverStatus: "exception", message: (e as Error).message });
  }
  const st = String(result.Status);
  if (st !== "Optimal") {
    const status = /infeasible/i.test(st) && !/unbounded/i.test(st)
      ? "infeasible"
      : /unbounded/i.test(st)
      ? "unbounded"
      : /time limit/i.test(st)
      ? "time-limit"
      : "error";
    return done({ status, solverStatus: st });
  }
  const cols = result.Columns as Record<string, { Primal: number }>;
  const dLambda = Float64Array.from({ length: n }, (_, k) => cols[`l${k}`]?.Primal ?? 0);
  const dw = Float64Array.from({ length: m }, (_, j) => cols[`w${j}`]?.Primal ?? 0);
  const boxActive = p.delta === undefined
    ? 0
    : dw.reduce((a, v) => a + (Math.abs(Math.abs(v) - p.delta!) <= 1e-9 * Math.max(1, p.delta!) ? 1 : 0), 0);
  return done({ status: "optimal", solverStatus: st, dLambda, dw, objective: result.ObjectiveValue, boxActive });
}
