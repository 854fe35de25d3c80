import { assert, assertClose, assertEquals, assertThrows } from "../../assert.ts";
import { copyPoint, CountedOperators, PdhgState, restartDue } from "../../../bilevel/pdlp/pdlp_state.ts";
import { solveOperatorLp } from "../../../bilevel/pdlp/pdlp_core.ts";
import { mtv, mv, randomBoxedLp } from "../../fixtures/dense_lp.ts";
import { Rng } from "../../../data/rng.ts";

const due = (candidate: number, atLastRestart: number, previous: number, since = 0, iterations = 100) =>
  restartDue({ candidate, atLastRestart, previous, since, iterations });

Deno.test("restartDue: cuPDLP's three conditions at their boundaries", () => {
  assert(due(0.2, 1, 0.1), "sufficient fall: ≤ 0.2 of the last restart's");
  assert(!due(0.2000001, 1, 0.3), "just above 0.2, and still falling (below the previous): no");
  assert(due(0.8, 1, 0.5), "necessary fall (≤ 0.8) and no longer falling (above the previous)");
  assert(!due(0.8, 1, 0.8), "equal to the previous is not 'above' it");
  assert(!due(0.8000001, 1, 0.5), "above 0.8: no");
  assert(due(5, 1, 5, 36, 100), "a long epoch: since ≥ 0.36 · iterations");
  assert(!due(5, 1, 5, 35, 100));
  assert(!due(NaN, 1, 0.5, 0, 100), "a NaN measure restarts on nothing but a long epoch");
  assert(due(0, Infinity, Infinity), "the first measure against an infinite one");
});

Deno.test("copyPoint: the copy shares no array with the point", () => {
  const p = { x: Float64Array.of(1), y: Float64Array.of(2), kx: Float64Array.of(3), kty: Float64Array.of(4) };
  const q = copyPoint(p);
  q.x[0] = 9, q.y[0] = 9, q.kx[0] = 9, q.kty[0] = 9;
  assertEquals([p.x[0], p.y[0], p.kx[0], p.kty[0]], [1, 2, 3, 4]);
});

Deno.test("counted operators: every product counted; a product of the wrong length is refused", () => {
  const { lp } = randomBoxedLp(1, 3, 2);
  const ops = new CountedOperators(lp);
  ops.apply(new Float64Array(2));
  ops.applyT(new Float64Array(3));
  assertEquals([ops.matvecs, ops.nRows, ops.nCols], [2, 3, 2]);
  const bad = new CountedOperators({ ...lp, apply: () => new Float64Array(2) });
  assertThrows(() => bad.apply(new Float64Array(2)), Error, /apply returned 2 entries, expected 3/);
});

/** A state over a random LP with a given random positive scaling. */
function state(seed: number, r: number, c: number, opts: Record<string, unknown> = {}) {
  const { A, lp } = randomBoxedLp(seed, r, c);
  const rng = new Rng(seed + 100);
  const scaling = {
    row: Float64Array.from({ length: r }, () => 10 ** (2 * rng.next() - 1)),
    col: Float64Array.from({ length: c }, () => 10 ** (2 * rng.next() - 1)),
  };
  return { A, lp, scaling, s: new PdhgState(new CountedOperators(lp), { scaling, ...opts }, performance.now()) };
}

Deno.test("state: K̃ = D_r K D_c, and unscale maps a scaled point and its products back to the original's", () => {
  const rng = new Rng(2);
  for (let t = 0; t < 50; t++) {
    const r = 1 + rng.int(5), c = 1 + rng.int(5);
    const { A, scaling, s } = state(t, r, c);
    const xs = Float64Array.from({ length: c }, () => rng.normal()), ys = Float64Array.from({ length: r }, () => rng.normal());
    const u = s.unscale({ x: xs, y: ys, kx: s.Kt(xs), kty: s.KTt(ys) });
    const kx = mv(A, r, c, u.x), kty = mtv(A, r, c, u.y);
    for (let i = 0; i < r; i++) assertClose(u.kx[i], kx[i], 1e-9 * (1 + Math.abs(kx[i])));
    for (let j = 0; j < c; j++) assertClose(u.kty[j], kty[j], 1e-9 * (1 + Math.abs(kty[j])));
    // the scaled objective and bounds describe the same problem: c̃ᵀx̃ = cᵀx, and x̃ in the scaled box ⇔ x in the box
    assertClose(s.S.c.reduce((a, v, j) => a + v * xs[j], 0), s.orig.c.reduce((a, v, j) => a + v * u.x[j], 0), 1e-9);
    for (let j = 0; j < c; j++) {
      assertClose(s.S.cl[j] * scaling.col[j], s.orig.cl[j], 1e-12);
      assert(s.x[j] >= s.S.cl[j] && s.x[j] <= s.S.cu[j], "the start is in the box");
    }
  }
});

Deno.test("state: the solution of the scaled problem, mapped back, is the original's optimum (brute force), whatever the scaling", () => {
  for (let t = 0; t < 6; t++) {
    const { lp, scaling } = state(t, 3, 2);
    const { optimum } = randomBoxedLp(t, 3, 2);
    for (const sc of [scaling, undefined]) {
      const res = solveOperatorLp(lp, { scaling: sc, tolerance: 1e-8, maxIterations: 100_000 });
      assertEquals(res.status, "optimal", res.message);
      assertClose(res.primalObjective, optimum, 1e-5 * (1 + Math.abs(optimum)), `case ${t}`);
      const kx = lp.apply(res.x);
      for (let i = 0; i < kx.length; i++) assert(kx[i] >= lp.rowLower[i] - 1e-5 && kx[i] <= lp.rowUpper[i] + 1e-5, "x feasible");
      for (let j = 0; j < res.x.length; j++) assert(res.x[j] >= lp.colLower[j] - 1e-12 && res.x[j] <= lp.colUpper[j] + 1e-12);
    }
  }
});

Deno.test("state: repair scales x towards 0 until every row holds, only with feasibleOrigin", () => {
  // rows: −1 ≤ x1 + x2 ≤ 1, x1 − x2 ≤ 0.5; 0 is feasible
  const A = Float64Array.of(1, 1, 1, -1);
  const lp = {
    c: Float64Array.of(1, 1),
    apply: (x: Float64Array) => mv(A, 2, 2, x),
    applyT: (y: Float64Array) => mtv(A, 2, 2, y),
    rowLower: Float64Array.of(-1, -Infinity),
    rowUpper: Float64Array.of(1, 0.5),
    colLower: Float64Array.of(-5, -5),
    colUpper: Float64Array.of(5, 5),
  };
  const s = new PdhgState(new CountedOperators(lp), { feasibleOrigin: true, ruizIterations: 0 }, 0);
  const rng = new Rng(6);
  for (let t = 0; t < 200; t++) {
    const x = Float64Array.from({ length: 2 }, () => rng.uniform(-5, 5));
    const p = s.toFeasible({ x: x.slice(), y: new Float64Array(2), kx: mv(A, 2, 2, x), kty: new Float64Array(2) });
    assert(p.theta >= 0 && p.theta <= 1);
    for (let i = 0; i < 2; i++) assert(p.kx[i] >= lp.rowLower[i] - 1e-12 && p.kx[i] <= lp.rowUpper[i] + 1e-12, `row ${i}`);
    assertEquals([...p.kx].map((v) => +v.toFixed(9)), [...mv(A, 2, 2, p.x)].map((v) => +v.toFixed(9)), "Kx scaled with x");
    const kx = mv(A, 2, 2, x);
    const wasFeasible = kx[0] >= -1 && kx[0] <= 1 && kx[1] <= 0.5;
    assertEquals(p.theta === 1, wasFeasible, "a feasible point is left alone, an infeasible one scaled");
    if (!wasFeasible) {
      assert(kx.some((_, i) => Math.abs(p.kx[i] - (p.kx[i] > 0 ? lp.rowUpper[i] : lp.rowLower[i])) < 1e-9), "on a row's bound");
    }
  }
  const plain = new PdhgState(new CountedOperators(lp), { ruizIterations: 0 }, 0);
  const far = { x: Float64Array.of(5, 5), y: new Float64Array(2), kx: Float64Array.of(10, 0), kty: new Float64Array(2) };
  assertEquals(plain.toFeasible(far).theta, 1);
  assertEquals([...far.x], [5, 5]);
});

Deno.test("state: power iteration approaches ||K̃||₂ from below; the primal weight update is the smoothed geometric mean", () => {
  const { A, s } = state(3, 6, 4, {});
  // ||K̃||₂ by many rounds on the dense scaled matrix
  const r = 6, c = 4;
  const Kt = Float64Array.from(A, (v, k) => s.sc.row[Math.floor(k / c)] * v * s.sc.col[k % c]);
  let v = Float64Array.from({ length: c }, (_, j) => 1 + j);
  let norm = 0;
  for (let it = 0; it < 2000; it++) {
    const w = mtv(Kt, r, c, mv(Kt, r, c, v));
    const n = Math.hypot(...w);
    norm = Math.sqrt(n / Math.hypot(...v));
    v = w.map((x) => x / n);
  }
  const p12 = s.powerNorm(12), p100 = s.powerNorm(100);
  assert(p12 <= norm * (1 + 1e-9) && p100 <= norm * (1 + 1e-9), `${p12}, ${p100} vs ${norm}`);
  assertClose(p100, norm, 1e-3 * norm);
  s.omega = 4;
  s.updatePrimalWeight(Float64Array.of(1, 0, 0, 0), Float64Array.of(0, 0, 0, 0, 0, 9), { x: new Float64Array(4), y: new Float64Array(6) });
  assertClose(s.omega, Math.sqrt(9 * 4), 1e-12, "exp(½ log(Δy/Δx) + ½ log ω)");
  s.updatePrimalWeight(new Float64Array(4), Float64Array.of(1, 0, 0, 0, 0, 0), { x: new Float64Array(4), y: new Float64Array(6) });
  assertEquals(s.omega, 6, "no primal movement: ω kept");
});

Deno.test("state: termination is PDLP's relative test; stopReason at the iteration limit exactly", () => {
  const { s } = state(4, 3, 3, { tolerance: 1e-3, absoluteTolerance: 1e-6, maxIterations: 10 });
  const st = (p: number, d: number, po: number, dobj: number) => ({
    primalResidual: p,
    dualResidual: d,
    primalObjective: po,
    dualObjective: dobj,
    primalResidual2: p,
    dualResidual2: d,
  });
  const pBound = 1e-6 + 1e-3 * s.qNorm, dBound = 1e-6 + 1e-3 * s.cNorm;
  assert(s.converged(st(pBound, dBound, 1, 1)));
  assert(!s.converged(st(pBound * 1.01, 0, 1, 1)));
  assert(!s.converged(st(0, dBound * 1.01, 1, 1)));
  // gap bound 1e-6 + 1e-3 · (|p| + |d|): 1.998011 for a gap of 1.99, 1.998001 for a gap of 2
  assert(s.converged(st(0, 0, 1000, 1000 - 1.99)), "gap inside its bound");
  assert(!s.converged(st(0, 0, 1000, 998)), "gap just outside");
  assert(!s.converged(st(NaN, 0, 1, 1)), "NaN never converges");
  s.iterations = 9;
  assertEquals(s.stopReason(), undefined);
  s.iterations = 10;
  assertEquals(s.stopReason(), "iteration-limit");
});
