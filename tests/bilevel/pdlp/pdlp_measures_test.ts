import { assert, assertClose, assertEquals } from "../../assert.ts";
import { boundNorm, farkasDual, type LpData, pointStats, primalRay, recessionOk, vecNorm } from "../../../bilevel/pdlp/pdlp_measures.ts";
import { mtv, mv, rowBoundsAround } from "../../fixtures/dense_lp.ts";
import { Rng } from "../../../data/rng.ts";

/** A random LP with every variable boxed and rows around a point x0 of the box, and its matrix. */
function boxedLp(rng: Rng, r: number, c: number) {
  const A = Float64Array.from({ length: r * c }, () => rng.normal());
  const cl = Float64Array.from({ length: c }, () => -rng.uniform(0, 2)), cu = Float64Array.from({ length: c }, () => rng.uniform(0, 2));
  const x0 = Float64Array.from({ length: c }, (_, j) => rng.uniform(cl[j], cu[j]));
  const { lower: rl, upper: ru } = rowBoundsAround(rng, mv(A, r, c, x0));
  const d: LpData = { c: Float64Array.from({ length: c }, () => rng.normal()), rl, ru, cl, cu };
  return { A, d, x0 };
}

Deno.test("pointStats: weak duality for every y whose dual residual is 0, at every feasible x (500 random LPs)", () => {
  const rng = new Rng(21);
  for (let t = 0; t < 500; t++) {
    const r = 1 + rng.int(5), c = 1 + rng.int(5);
    const { A, d, x0 } = boxedLp(rng, r, c);
    // y of the sign every row can price: y_i > 0 needs a finite lower bound, y_i < 0 a finite upper one
    const y = Float64Array.from({ length: r }, (_, i) => {
      const v = rng.normal();
      return (v > 0 && d.rl[i] === -Infinity) || (v < 0 && d.ru[i] === Infinity) ? 0 : v;
    });
    const s = pointStats(d, { x: x0, y, kx: mv(A, r, c, x0), kty: mtv(A, r, c, y) }, "l2");
    assertEquals(s.primalResidual, 0, "x0 is feasible");
    assertEquals(s.dualResidual, 0, "every variable is boxed and y prices every row");
    assert(s.dualObjective <= s.primalObjective + 1e-9, `case ${t}: dual ${s.dualObjective} > primal ${s.primalObjective}`);
    // the dual objective by its definition: p(y) + min over the box of (c − Kᵀy)ᵀx, at a vertex of the box
    const kty = mtv(A, r, c, y);
    let ref = 0;
    for (let i = 0; i < r; i++) ref += y[i] > 0 ? y[i] * d.rl[i] : y[i] < 0 ? y[i] * d.ru[i] : 0;
    for (let j = 0; j < c; j++) ref += Math.min((d.c[j] - kty[j]) * d.cl[j], (d.c[j] - kty[j]) * d.cu[j]);
    assertClose(s.dualObjective, ref, 1e-9);
  }
});

Deno.test("pointStats: residuals in l2 and l∞, and reduced costs towards an infinite bound count as dual residual", () => {
  const d: LpData = {
    c: Float64Array.of(1, -2),
    rl: Float64Array.of(0, -Infinity, 1),
    ru: Float64Array.of(1, 2, Infinity),
    cl: Float64Array.of(0, -Infinity),
    cu: Float64Array.of(Infinity, 5),
  };
  // kx violates row 0 by 3 (above 1) and row 2 by 4 (below 1): l2 5, l∞ 4
  const p = { x: Float64Array.of(1, 1), y: Float64Array.of(0, 3, -0.5), kx: Float64Array.of(4, 0, -3), kty: Float64Array.of(0, 0) };
  const l2 = pointStats(d, p, "l2"), li = pointStats(d, p, "linf");
  assertEquals([l2.primalResidual, li.primalResidual, li.primalResidual2], [5, 4, 5]);
  assertEquals(l2.primalObjective, -1);
  // y1 = 3 > 0 on a row without a lower bound; y2 = −0.5 < 0 on a row without an upper bound;
  // reduced cost of x1 = 1 > 0 priced at cl = 0; of x2 = −2 < 0 priced at cu = 5
  assertEquals(l2.dualObjective, -10);
  assertClose(l2.dualResidual, Math.hypot(3, 0.5), 1e-15);
  assertEquals(li.dualResidual, 3);
  // with reduced cost pushing x2 down to −∞: dual residual
  const q = pointStats(d, { ...p, y: Float64Array.of(0, 0, 0), kty: Float64Array.of(0, -4) }, "linf");
  assertEquals(q.dualResidual, 2);
});

Deno.test("norms: infinite bounds are ignored, l2 and l∞ by their definitions", () => {
  assertEquals(boundNorm(Float64Array.of(-3, -Infinity, 0), Float64Array.of(Infinity, 4, 0), "l2"), 5);
  assertEquals(boundNorm(Float64Array.of(-3, -Infinity, 0), Float64Array.of(Infinity, 4, 0), "linf"), 4);
  assertEquals(boundNorm(Float64Array.of(-Infinity), Float64Array.of(Infinity), "l2"), 0);
  assertEquals(boundNorm(new Float64Array(0), new Float64Array(0), "linf"), 0);
  assertEquals(vecNorm(Float64Array.of(3, -4), "l2"), 5);
  assertEquals(vecNorm(Float64Array.of(3, -4), "linf"), 4);
});

Deno.test("farkas: never certifies a feasible LP, whatever the ray (2000 random rays); certifies a textbook infeasible one", () => {
  const rng = new Rng(4);
  for (let t = 0; t < 2000; t++) {
    const r = 1 + rng.int(4), c = 1 + rng.int(4);
    const { A, d } = boxedLp(rng, r, c);
    if (t % 2) { for (let j = 0; j < c; j++) if (rng.next() < 0.3) d.cu[j] = Infinity; }
    const y = Float64Array.from({ length: r }, () => rng.normal() * 10 ** (3 * rng.next()));
    assert(!farkasDual(d, y, mtv(A, r, c, y), 1e-6), `case ${t}: a feasible LP certified infeasible`);
  }
  // x1 ≥ 1 and x1 ≤ 0 (two rows), x free
  const d: LpData = {
    c: Float64Array.of(0),
    rl: Float64Array.of(1, -Infinity),
    ru: Float64Array.of(Infinity, 0),
    cl: Float64Array.of(-Infinity),
    cu: Float64Array.of(Infinity),
  };
  const A = Float64Array.of(1, 1);
  const y = Float64Array.of(1, -1);
  assert(farkasDual(d, y, mtv(A, 2, 1, y), 1e-6));
  assert(!farkasDual(d, Float64Array.of(1, -0.5), mtv(A, 2, 1, Float64Array.of(1, -0.5)), 1e-6), "Kᵀy ≠ 0 on a free variable");
  assert(!farkasDual(d, Float64Array.of(0, 0), Float64Array.of(0), 1e-6), "the zero ray proves nothing");
});

Deno.test("primal rays: only unbounded directions of descent; a bounded LP has none", () => {
  const d: LpData = {
    c: Float64Array.of(-1, 0, 1),
    rl: Float64Array.of(-Infinity),
    ru: Float64Array.of(1),
    cl: Float64Array.of(0, 0, -1),
    cu: Float64Array.of(Infinity, Infinity, 1),
  };
  assertEquals([...primalRay(d, Float64Array.of(1, 1, 5))!], [1, 1, 0], "the boxed x3 is dropped");
  assertEquals(primalRay(d, Float64Array.of(-1, 0, 0)), undefined, "x1 is bounded below");
  assertEquals(primalRay(d, Float64Array.of(0, 1, 0)), undefined, "no descent: cᵀd = 0");
  // row x1 − x2 ≤ 1: K(1, 1, 0) = 0 stays in the cone; K(1, 0, 0) = 1 > 0 leaves it
  assert(recessionOk(d, Float64Array.of(1, 1, 0), Float64Array.of(0), 1e-9));
  assert(!recessionOk(d, Float64Array.of(1, 0, 0), Float64Array.of(1), 1e-9));
  assert(!recessionOk(d, Float64Array.of(0, 1, 0), Float64Array.of(-1), 1e-9), "not a descent direction");
  const rng = new Rng(9);
  for (let t = 0; t < 200; t++) {
    const { d: b } = boxedLp(rng, 2, 3);
    assertEquals(primalRay(b, Float64Array.from({ length: 3 }, () => rng.normal())), undefined);
  }
});
