import { assert, assertClose, assertEquals } from "../../assert.ts";
import { solveOperatorLp } from "../../../bilevel/pdlp/pdlp_core.ts";
import type { PdlpProgress } from "../../../bilevel/pdlp/pdlp_types.ts";
import { denseLp, mtv, mv, randomBoxedLp } from "../../fixtures/dense_lp.ts";
import { Rng } from "../../../data/rng.ts";

/** ||A||₂ by a long power iteration on the dense matrix. */
function opNorm(A: Float64Array, r: number, c: number): number {
  let v = Float64Array.from({ length: c }, (_, j) => 1 + j / 7);
  let est = 0;
  for (let it = 0; it < 3000; it++) {
    const w = mtv(A, r, c, mv(A, r, c, v));
    const n = Math.hypot(...w);
    if (n === 0) return 0;
    est = Math.sqrt(n / Math.hypot(...v));
    v = w.map((x) => x / n);
  }
  return est;
}

Deno.test("halpern: reaches the brute-force optimum of random boxed LPs, with and without reflection", () => {
  for (let t = 0; t < 18; t++) {
    const [r, c] = [[2, 2], [4, 2], [3, 3], [5, 3]][t % 4];
    const { lp, optimum } = randomBoxedLp(1000 + t, r, c);
    const reflection = [0, 0.5, 1][t % 3];
    const res = solveOperatorLp(lp, { scheme: "halpern", reflection, tolerance: 1e-8, maxIterations: 200_000, seed: t });
    assertEquals(res.status, "optimal", `case ${t}: ${res.message ?? ""}`);
    assertClose(res.primalObjective, optimum, 1e-5 * (1 + Math.abs(optimum)), `case ${t} (ρ = ${reflection})`);
  }
});

Deno.test("halpern: the constant step stays below 1/||K̃|| and never grows; reports come every evalEvery iterations", () => {
  const rng = new Rng(3);
  for (let t = 0; t < 8; t++) {
    const r = 3 + rng.int(4), c = 2 + rng.int(4);
    const { A, lp } = randomBoxedLp(2000 + t, r, c);
    const reports: PdlpProgress[] = [];
    const res = solveOperatorLp(lp, {
      scheme: "halpern",
      ruizIterations: 0, // K̃ = K
      evalEvery: 16,
      maxIterations: 5000,
      tolerance: 1e-9,
      onProgress: (p) => reports.push(p),
    });
    const norm = opNorm(A, r, c);
    assert(reports.length > 0);
    for (const [k, p] of reports.entries()) {
      assert(p.stepSize * norm <= 1 + 1e-9, `case ${t}: η·||K|| = ${p.stepSize * norm}`);
      assert(p.stepSize > 0);
      if (k > 0) assert(p.stepSize <= reports[k - 1].stepSize, "η only shrinks");
      assert(p.iterations % 16 === 0 || k === reports.length - 1, `report at ${p.iterations}`);
    }
    assertEquals(reports[reports.length - 1].iterations, res.iterations);
    assert(res.iterations <= 5000);
  }
});

Deno.test("halpern: the iteration limit is honoured exactly and reported as such", () => {
  const { lp } = randomBoxedLp(7, 5, 4);
  const res = solveOperatorLp(lp, { scheme: "halpern", maxIterations: 37, evalEvery: 10, tolerance: 1e-14, absoluteTolerance: 0 });
  assertEquals(res.status, "iteration-limit");
  assertEquals(res.iterations, 37);
  assert(Number.isFinite(res.primalObjective));
});

Deno.test("halpern: with feasibleOrigin and trackEvery, the best primal is feasible and its objective its own", () => {
  const rng = new Rng(12);
  for (let t = 0; t < 6; t++) {
    const r = 4, c = 3;
    const A = Float64Array.from({ length: r * c }, () => rng.normal());
    const rest = {
      c: Float64Array.from({ length: c }, () => rng.normal()),
      rowLower: Float64Array.from({ length: r }, () => -0.2 - rng.next()),
      rowUpper: Float64Array.from({ length: r }, () => 0.2 + rng.next()),
      colLower: Float64Array.from({ length: c }, () => -1),
      colUpper: Float64Array.from({ length: c }, () => 1),
    };
    const lp = denseLp(A, r, c, rest);
    const res = solveOperatorLp(lp, { scheme: "halpern", feasibleOrigin: true, trackEvery: 5, evalEvery: 64, maxIterations: 3000 });
    const b = res.bestPrimal!;
    assert(b, `case ${t}: a best primal`);
    const kx = mv(A, r, c, b.x);
    for (let i = 0; i < r; i++) assert(kx[i] >= rest.rowLower[i] - 1e-9 && kx[i] <= rest.rowUpper[i] + 1e-9, `row ${i}`);
    assertClose(b.objective, b.x.reduce((a, v, j) => a + v * rest.c[j], 0), 1e-12);
    assert(b.objective <= res.primalObjective + 1e-12, "the best seen is no worse than the point returned (itself tracked)");
    assert(res.repairScale >= 0 && res.repairScale <= 1);
  }
});
