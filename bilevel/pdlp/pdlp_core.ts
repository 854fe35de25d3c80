/**
 * The engine of the matrix-free LP solver: restarted primal-dual hybrid gradient (PDHG) as in PDLP
 * (Applegate et al., NeurIPS 2021) with cuPDLP's KKT-error restarts (Lu and Yang 2023), for any LP
 *
 *     min cᵀx  s.t.  rowLower ≤ Kx ≤ rowUpper,  colLower ≤ x ≤ colUpper
 *
 * where K is known only through x ↦ Kx and y ↦ Kᵀy (bounds may be ±Infinity; equal row bounds are
 * equalities). bilevel/pdlp/pdlp.ts specialises it to LP (11). Every outcome is a value, never a throw.
 *
 * Saddle point used (PDLP's sign convention): min_{x∈X} max_y cᵀx − yᵀKx + p(y), with
 * p(y) = Σ_i (y_i > 0 ? y_i·l_i : y_i·u_i) the support term of the row interval [l_i, u_i]. The dual
 * objective is p(y) + min_{x∈X} (c − Kᵀy)ᵀx, a lower bound on the optimum for any y when every variable
 * is boxed (otherwise reduced costs of the wrong sign on an unbounded side count as dual residual).
 *
 * Modules: this one (input checks, dispatch), pdlp_types.ts (the types), pdlp_state.ts (preconditioned problem, iterate, shared
 * steps), pdlp_adaptive.ts and pdlp_halpern.ts (the two schemes), pdlp_measures.ts (residuals, objectives,
 * certificates), pdlp_ruiz.ts (ℓ2 Ruiz equilibration from probes).
 */
import type { PointStats } from "./pdlp_measures.ts";
import { runAdaptive } from "./pdlp_adaptive.ts";
import { runHalpern } from "./pdlp_halpern.ts";
import { CountedOperators, PdhgState } from "./pdlp_state.ts";

export type { PointStats };

export type { DiagonalScaling, OperatorLp, PdlpCoreOptions, PdlpCoreResult, PdlpCoreStatus, PdlpProgress } from "./pdlp_types.ts";
import type { OperatorLp, PdlpCoreOptions, PdlpCoreResult, PdlpCoreStatus } from "./pdlp_types.ts";

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
