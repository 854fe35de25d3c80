import { assert, assertClose, assertEquals } from "../../assert.ts";
import { type OperatorLp, type PdlpCoreResult, solveOperatorLp } from "../../../bilevel/pdlp/pdlp_core.ts";
import type { PdlpProgress } from "../../../bilevel/pdlp/pdlp_types.ts";
import { denseLp, randomBoxedLp } from "../../fixtures/dense_lp.ts";

/** The outcome's measures are those of the point it returns (current or average, whichever it picked). */
function consistent(lp: OperatorLp, res: PdlpCoreResult) {
  assertClose(res.primalObjective, res.x.reduce((a, v, j) => a + v * lp.c[j], 0), 1e-9 * (1 + Math.abs(res.primalObjective)));
  const kx = lp.apply(res.x), kty = lp.applyT(res.y);
  for (let i = 0; i < kx.length; i++) assertClose(res.kx[i], kx[i], 1e-9 * (1 + Math.abs(kx[i])), "Kx of the returned x");
  for (let j = 0; j < kty.length; j++) assertClose(res.kty[j], kty[j], 1e-9 * (1 + Math.abs(kty[j])), "Kᵀy of the returned y");
}

Deno.test("adaptive: reaches the brute-force optimum of random boxed LPs, in l2 and l∞ termination", () => {
  for (let t = 0; t < 24; t++) {
    const [r, c] = [[2, 2], [4, 2], [3, 3], [5, 3], [8, 4], [6, 5]][t % 6];
    const { lp, optimum } = randomBoxedLp(3000 + t, r, c);
    const res = solveOperatorLp(lp, { tolerance: 1e-8, maxIterations: 200_000, seed: t, norm: t % 2 ? "linf" : "l2" });
    assertEquals(res.status, "optimal", `case ${t}: ${res.message ?? ""}`);
    assertClose(res.primalObjective, optimum, 1e-5 * (1 + Math.abs(optimum)), `case ${t}`);
    assert(res.dualObjective <= res.primalObjective + 1e-5 * (1 + Math.abs(optimum)), "gap closed from below");
    consistent(lp, res);
  }
});

Deno.test("adaptive: progress is monotone in iterations and products, steps positive and finite, reports every evalEvery", () => {
  for (let t = 0; t < 6; t++) {
    const { lp } = randomBoxedLp(4000 + t, 6, 4);
    const reports: PdlpProgress[] = [];
    const res = solveOperatorLp(lp, { evalEvery: 8, maxIterations: 4000, tolerance: 1e-9, onProgress: (p) => reports.push(p) });
    assert(reports.length > 0);
    for (const [k, p] of reports.entries()) {
      assert(p.stepSize > 0 && Number.isFinite(p.stepSize), `step ${p.stepSize}`);
      assert(p.primalWeight > 0 && Number.isFinite(p.primalWeight));
      assert(p.iterations % 8 === 0 || k === reports.length - 1);
      if (k > 0) {
        assert(p.iterations > reports[k - 1].iterations && p.matvecs > reports[k - 1].matvecs);
        assert(p.restarts >= reports[k - 1].restarts);
      }
      // one Kx and one Kᵀy per iteration at least (rejected steps cost one Kx more)
      assert(p.matvecs >= 2 * p.iterations, `${p.matvecs} products for ${p.iterations} iterations`);
    }
    assertEquals(reports[reports.length - 1].iterations, res.iterations);
    assert(res.matvecs >= reports[reports.length - 1].matvecs);
    consistent(lp, res);
  }
});

Deno.test("adaptive: the iteration limit is honoured exactly; a zero objective is optimal at once", () => {
  const { lp } = randomBoxedLp(8, 5, 4);
  const res = solveOperatorLp(lp, { maxIterations: 23, evalEvery: 5, tolerance: 1e-14, absoluteTolerance: 0 });
  assertEquals(res.status, "iteration-limit");
  assertEquals(res.iterations, 23);
  consistent(lp, res);
  // min 0 over a feasible set containing the projection of 0: optimal at the first check
  const A = Float64Array.of(1, 1);
  const zero = denseLp(A, 1, 2, {
    c: Float64Array.of(0, 0),
    rowLower: Float64Array.of(-1),
    rowUpper: Float64Array.of(1),
    colLower: Float64Array.of(-1, -1),
    colUpper: Float64Array.of(1, 1),
  });
  const z = solveOperatorLp(zero, { evalEvery: 4 });
  assertEquals(z.status, "optimal");
  assertEquals(z.iterations, 4);
  assertEquals(z.primalObjective, 0);
});
