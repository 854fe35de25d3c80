// The dense dual simplex and LP (11)'s block route through it, against HiGHS on the same numbers: random
// boxed LPs from several starting bases (degenerate ones included), LP (11) with the δ box binding on many
// weights, singular and hostile inputs, and a certificate that a wrong start cannot fool.
import highsLoader from "highs";
import { assert, assertClose, assertEquals, assertMatch } from "../../assert.ts";
import { Rng } from "../../../data/rng.ts";
import { type BoxedLp, denseDualSimplex } from "../../../bilevel/lp/dense_simplex.ts";
import { choleskyInverse, solveBlockLp } from "../../../bilevel/lp/lp_block.ts";
import { type DirectionLp, HIGHS_SETTINGS, type HighsModel, solveDirectionLp } from "../../../bilevel/lp/lp.ts";
import { useBackend } from "../../../nn/backend.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../../../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../../../nn/train.ts";
import { objectiveGradient } from "../../../bilevel/hessian/hvp.ts";
import { outputLayerHessian } from "../../../bilevel/hessian/output_hessian.ts";

const highs =
  await (highsLoader as unknown as () => Promise<{ createModel(): HighsModel; constants: { modelStatus: Record<string, number> } }>)();

/** HiGHS's optimum of the boxed LP (undefined when it is not optimal). */
function highsOptimum(lp: BoxedLp): number | undefined {
  const starts = Int32Array.from({ length: lp.numRows + 1 }, (_, r) => r * lp.numCols);
  const model = highs.createModel();
  try {
    model.options.set(HIGHS_SETTINGS(60));
    model.passModel({
      numCols: lp.numCols,
      numRows: lp.numRows,
      colCost: lp.cost,
      colLower: lp.colLower,
      colUpper: lp.colUpper,
      rowLower: lp.rowLower,
      rowUpper: lp.rowUpper,
      matrix: {
        format: "csr",
        numRows: lp.numRows,
        numCols: lp.numCols,
        starts,
        indices: Int32Array.from({ length: lp.numRows * lp.numCols }, (_, k) => k % lp.numCols),
        values: lp.matrix,
      },
    });
    model.run();
    return model.getModelStatus() === highs.constants.modelStatus.optimal ? model.getObjectiveValue() : undefined;
  } finally {
    model.dispose();
  }
}

/** A random boxed LP; `degenerate` draws small integers (ties in every ratio test) and zero costs. */
function randomLp(rng: Rng, m: number, n: number, degenerate: boolean): BoxedLp {
  const draw = () => (degenerate ? rng.int(5) - 2 : rng.normal());
  const lo = Float64Array.from({ length: n }, () => -1 - rng.int(3));
  const rowHalf = Float64Array.from({ length: m }, () => (degenerate ? 1 : 0.1 + rng.next()));
  return {
    numCols: n,
    numRows: m,
    cost: Float64Array.from({ length: n }, () => (degenerate && rng.int(3) === 0 ? 0 : draw())),
    colLower: lo,
    colUpper: lo.map(() => 1 + rng.int(3)),
    rowLower: rowHalf.map((h) => -h),
    rowUpper: rowHalf,
    matrix: Float64Array.from({ length: m * n }, draw),
  };
}

function checkFeasible(lp: BoxedLp, x: Float64Array, tol: number): void {
  for (let j = 0; j < lp.numCols; j++) assert(x[j] >= lp.colLower[j] - tol && x[j] <= lp.colUpper[j] + tol, `column ${j} outside its box`);
  for (let i = 0; i < lp.numRows; i++) {
    let r = 0;
    for (let j = 0; j < lp.numCols; j++) r += lp.matrix[i * lp.numCols + j] * x[j];
    assert(r >= lp.rowLower[i] - tol && r <= lp.rowUpper[i] + tol, `row ${i} outside its bounds`);
  }
}

Deno.test("dense dual simplex: the optimum of 120 random boxed LPs equals HiGHS's, from the slack basis and from mixed bases, degenerate ones included; bound flips taken", () => {
  const rng = new Rng(17);
  let solved = 0, flipped = 0;
  for (let trial = 0; trial < 120; trial++) {
    const m = 1 + rng.int(25), n = 1 + rng.int(30);
    const lp = randomLp(rng, m, n, trial % 3 === 0);
    const expected = highsOptimum(lp);
    assert(expected !== undefined, "every variable and row is boxed and x = 0 is feasible: HiGHS finds an optimum");
    // slack basis (every row's activity basic), or some structural columns swapped in
    const basis = Int32Array.from({ length: m }, (_, i) => n + i);
    if (trial % 2 === 1) { for (let i = 0; i < Math.min(m, n); i += 2) basis[i] = i; }
    const r = denseDualSimplex(lp, { basis });
    if (r.status === "singular") continue; // a swapped-in column can make the start singular: reported, never answered
    assertEquals(r.status, "optimal", `trial ${trial}: ${r.status !== "optimal" ? r.reason : ""}`);
    if (r.status !== "optimal") continue;
    solved++;
    if (r.boundFlips > 0) flipped++;
    assertClose(r.objective, expected, 1e-7 * Math.max(1, Math.abs(expected)), `trial ${trial} (m=${m}, n=${n}) objective`);
    checkFeasible(lp, r.x, 1e-9);
    assert(r.objective - r.lowerBound <= 1e-8 * Math.max(1, Math.abs(r.objective)), "the certified gap is closed");
  }
  assert(solved >= 100, `${solved} of 120 solved`);
  assert(flipped >= 10, `bound flips in ${flipped} of ${solved}: the test must exercise the long-step ratio test`);
});

Deno.test("dense dual simplex: a primal infeasible LP is called infeasible, never optimal", () => {
  // x1 + x2 in [5, 6] with x in [0, 1]²
  const lp: BoxedLp = {
    numCols: 2,
    numRows: 1,
    cost: Float64Array.of(1, 1),
    colLower: Float64Array.of(0, 0),
    colUpper: Float64Array.of(1, 1),
    rowLower: Float64Array.of(5),
    rowUpper: Float64Array.of(6),
    matrix: Float64Array.of(1, 1),
  };
  const r = denseDualSimplex(lp, { basis: Int32Array.of(2) });
  assertEquals(r.status, "infeasible");
});

Deno.test("dense dual simplex: a wrong B⁻¹ handed in cannot produce a wrong optimum (the certificate or a fresh inversion catches it)", () => {
  const rng = new Rng(23);
  for (let trial = 0; trial < 20; trial++) {
    const m = 3 + rng.int(10), n = m + rng.int(5);
    const lp = randomLp(rng, m, n, false);
    const expected = highsOptimum(lp)!;
    const basis = Int32Array.from({ length: m }, (_, i) => n + i);
    // the slack basis's true inverse is −I; hand in a perturbed one
    const inverse = new Float64Array(m * m);
    for (let i = 0; i < m; i++) inverse[i * m + i] = -1 + 0.3 * rng.normal();
    const r = denseDualSimplex(lp, { basis, inverse });
    if (r.status !== "optimal") {
      assertMatch(r.status, /uncertified|infeasible|iteration-limit|singular/);
      continue;
    }
    assertClose(r.objective, expected, 1e-7 * Math.max(1, Math.abs(expected)), `trial ${trial}`);
    checkFeasible(lp, r.x, 1e-9);
  }
});

/** LP (11) on a block: H = QᵀQ + ridge (positive definite), scaled like an output block's (1e-3 … 1). */
function blockLp(rng: Rng, m: number, a: { n: number; delta: number; ridge: number }): DirectionLp {
  const q = Float64Array.from({ length: m * m }, () => rng.normal() * 0.05);
  const hWW = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = i === j ? a.ridge : 0;
      for (let k = 0; k < m; k++) s += q[k * m + i] * q[k * m + j];
      hWW[i * m + j] = hWW[j * m + i] = s;
    }
  }
  return {
    gradF: Float64Array.from({ length: m }, () => rng.normal() * 1e-2),
    gradLambdaF: new Float64Array(a.n),
    hWL: Float64Array.from({ length: m * a.n }, () => rng.normal() * 1e-3),
    hWW,
    lambdas: new Array(a.n).fill(1e-3),
    dLambdaLower: new Array(a.n).fill(-1),
    dLambdaUpper: new Array(a.n).fill(1),
    epsilon: 1e-3,
    delta: a.delta,
  };
}

Deno.test("LP (11) on a block: the dense simplex from the closed-form basis answers what HiGHS answers, with and without the δ box binding", async () => {
  const rng = new Rng(29);
  let binding = 0, pivoted = 0;
  for (let trial = 0; trial < 24; trial++) {
    const m = 10 + rng.int(60);
    // small ridges and small δ make the box bind on many weights
    const p = blockLp(rng, m, { n: 1 + rng.int(3), delta: [10, 0.5, 0.05][trial % 3], ridge: [1e-2, 1e-4, 1e-5][trial % 3] });
    const ref = await solveDirectionLp(p);
    const fast = await solveBlockLp(p);
    assertEquals(ref.status, "optimal");
    assertEquals(fast.status, "optimal");
    assertEquals(fast.solver, "dense-simplex", `trial ${trial}: ${fast.fallback ?? ""}`);
    assertClose(fast.objective!, ref.objective!, 1e-7 * Math.abs(ref.objective!), `trial ${trial} (m=${m}) objective`);
    assertEquals(fast.boxActive, ref.boxActive, `trial ${trial}: weights on the box`);
    if (fast.boxActive > 0) binding++;
    if (fast.pivots! > 0) pivoted++;
    // the direction keeps LP (11)'s rows: |H_wλ dλ + H_ww dw| ≤ ε, |dw| ≤ δ
    const n = p.gradLambdaF.length;
    for (let j = 0; j < m; j++) {
      let r = 0;
      for (let k = 0; k < n; k++) r += p.hWL[j * n + k] * fast.dLambda![k];
      for (let i = 0; i < m; i++) r += p.hWW[j * m + i] * fast.dw![i];
      assert(Math.abs(r) <= p.epsilon * (1 + 1e-9), `row ${j}: ${r}`);
      assert(Math.abs(fast.dw![j]) <= p.delta! * (1 + 1e-12));
    }
  }
  assert(
    binding >= 8 && pivoted >= 8,
    `the box bound in ${binding} and pivots were needed in ${pivoted} of 24: the test must exercise the iterations`,
  );
});

Deno.test("LP (11) on a block: a singular H_ww (every bias of an output block) starts from row activities in its dependent columns' places; far from definite, no δ box, or a NaN go to HiGHS's route and say why", async () => {
  const rng = new Rng(31);
  for (let trial = 0; trial < 6; trial++) {
    const m = 12 + rng.int(20);
    const p = blockLp(rng, m, { n: 1, delta: [1, 0.05][trial % 2], ridge: 1e-3 });
    // a null direction as the biases' common shift has: column and row m−1 minus those of m−2 (H v = 0 for v = e_{m−2} + e_{m−1})
    for (let i = 0; i < m; i++) {
      p.hWW[i * m + m - 1] = -p.hWW[i * m + m - 2];
      p.hWW[(m - 1) * m + i] = -p.hWW[(m - 2) * m + i];
    }
    p.hWW[(m - 1) * m + m - 1] = p.hWW[(m - 2) * m + m - 2];
    p.hWL[m - 1] = -p.hWL[m - 2];
    assertEquals(choleskyInverse(p.hWW, m), undefined, "H_ww is singular");
    const ref = await solveDirectionLp(p);
    const fast = await solveBlockLp(p);
    assertEquals(fast.solver, "dense-simplex", fast.fallback ?? "");
    assertClose(fast.objective!, ref.objective!, 1e-7 * Math.abs(ref.objective!), `trial ${trial}: the optimum HiGHS finds`);
  }
  // rank one: 7 of 8 columns dependent
  const rankOne = blockLp(rng, 8, { n: 1, delta: 1, ridge: 0 });
  const v = Float64Array.from({ length: 8 }, () => 0.5 + rng.next());
  rankOne.hWW = Float64Array.from({ length: 64 }, (_, k) => v[Math.floor(k / 8)] * v[k % 8]);
  const far = await solveBlockLp(rankOne);
  assertEquals(far.solver, "highs");
  assertMatch(far.fallback!, /far from positive definite/);
  const unboxed = await solveBlockLp({ ...blockLp(rng, 8, { n: 1, delta: 1, ridge: 1e-2 }), delta: undefined });
  assertEquals(unboxed.solver, "highs");
  assertMatch(unboxed.fallback!, /no δ box/);
  const bad = blockLp(rng, 8, { n: 1, delta: 1, ridge: 1e-2 });
  bad.hWW[9] = NaN;
  const nan = await solveBlockLp(bad);
  assertEquals(nan.status, "error");
  assertMatch(nan.message!, /H_ww\[1,1\] = NaN/);
});

Deno.test("choleskyInverse: H·H⁻¹ = I on positive definite matrices; undefined on indefinite and singular ones", () => {
  const rng = new Rng(37);
  for (const m of [1, 5, 40]) {
    const p = blockLp(rng, m, { n: 1, delta: 1, ridge: 1e-3 });
    const inv = choleskyInverse(p.hWW, m)!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += p.hWW[i * m + k] * inv[k * m + j];
        assertClose(s, i === j ? 1 : 0, 1e-8, `(H H⁻¹)[${i},${j}], m=${m}`);
      }
    }
  }
  assertEquals(choleskyInverse(Float64Array.of(1, 2, 2, 1), 2), undefined);
  assertEquals(choleskyInverse(Float64Array.of(1, 1, 1, 1), 2), undefined);
});

Deno.test("LP (11) on trained models' output blocks (every bias in, so H_ww singular; and a 60-weight subset of a model without a hidden layer): the dense simplex's optimum is HiGHS's", async () => {
  await useBackend("cpu");
  const rng = new Rng(41);
  const mk = (k: number) =>
    toTensorPart({ x: new Uint8Array(k * 30).map(() => rng.int(256)), y: new Uint8Array(k).map(() => rng.int(4)) }, 4);
  const train = mk(240), val = mk(120);
  try {
    for (const [hidden, lambda, delta] of [[[9], 1e-3, 1], [[9], 1e-5, 0.05], [[], 1e-4, 0.2]] as const) {
      const spec = { input: 30, hidden: [...hidden], classes: 4 };
      const sizes = layerSizes(spec);
      const t = trainMlp({
        init: initWeights(spec, new Rng(1)),
        shapes: mlpShapes(sizes),
        train,
        objective: { groups: sizes.slice(1).map(() => 0), lambdas: [lambda] },
        training: TrainOptions.parse({ epochs: 8, batchSize: 32, learningRate: 0.02 }),
        rng: new Rng(3),
      });
      const model = { sizes, weights: t.weights, groups: sizes.slice(1).map(() => 0), lambdas: [lambda] };
      const gradF = objectiveGradient(model, val, false);
      const h = sizes.at(-2)!, C = 4, outStart = gradF.length - (h + 1) * C;
      // with a hidden layer the whole output block; without, the 60 output weights of largest |∇F| (as HLS picks)
      const local = hidden.length
        ? Array.from({ length: (h + 1) * C }, (_, i) => i)
        : Array.from({ length: (h + 1) * C }, (_, i) => i).sort((a, b) => Math.abs(gradF[outStart + b]) - Math.abs(gradF[outStart + a]))
          .slice(0, 60).sort((a, b) => a - b);
      const full = outputLayerHessian(model, train, lambda);
      const dim = (h + 1) * C, m = local.length;
      const hWW = Float64Array.from({ length: m * m }, (_, k) => full[local[Math.floor(k / m)] * dim + local[k % m]]);
      const hWL = Float64Array.from(local, (q) => (q < h * C ? 2 * t.weights.at(-2)![q] * lambda * Math.LN10 : 0));
      const p: DirectionLp = {
        gradF: Float64Array.from(local, (q) => gradF[outStart + q]),
        gradLambdaF: new Float64Array(1),
        hWL,
        hWW,
        lambdas: [lambda],
        dLambdaLower: [-1],
        dLambdaUpper: [1],
        epsilon: 1e-3,
        delta,
      };
      const ref = await solveDirectionLp(p);
      const fast = await solveBlockLp(p);
      assertEquals(fast.solver, "dense-simplex", fast.fallback ?? "");
      assertClose(fast.objective!, ref.objective!, 1e-7 * Math.abs(ref.objective!), `hidden ${hidden}, λ ${lambda}, δ ${delta}`);
    }
  } finally {
    disposePart(train);
    disposePart(val);
  }
});
