import { assert, assertClose, assertEquals } from "../../assert.ts";
import { tf, tidyRead, useBackend } from "../../../nn/backend.ts";
import { outputLayerOnly, outputLineMetrics } from "../../../bilevel/hls/line_metrics.ts";
import { Rng } from "../../../data/rng.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { MlpDerivatives } from "../../../bilevel/hessian/hvp.ts";
import { outputLayerHessian, outputLayerHessianSubset } from "../../../bilevel/hessian/output_hessian.ts";
import { solveDirectionLp } from "../../../bilevel/lp/lp.ts";
import { closedFormDirection, conjugateGradient } from "../../../bilevel/lp/closed_form.ts";
import { HlsOptions, hyperLocalSearch } from "../../../bilevel/hls/hls.ts";
import { initWeights, layerSizes, mlpShapes } from "../../../nn/mlp.ts";
import { evaluate, trainMlp, TrainOptions } from "../../../nn/train.ts";

await useBackend("cpu");

function spd(m: number, rng: Rng): Float64Array {
  // A Aᵀ + m·I: symmetric positive definite
  const A = Float64Array.from({ length: m * m }, () => rng.normal());
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = i === j ? m : 0;
      for (let k = 0; k < m; k++) s += A[i * m + k] * A[j * m + k];
      H[i * m + j] = s;
    }
  }
  return H;
}
const matvec = (H: Float64Array, v: Float64Array) => {
  const m = v.length;
  return Float64Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < m; j++) s += H[i * m + j] * v[j];
    return s;
  });
};

Deno.test("closed form equals HiGHS's optimum on positive definite LPs (objective and direction)", async () => {
  const rng = new Rng(5);
  for (const [m, n] of [[8, 1], [20, 2], [40, 3]]) {
    const H = spd(m, rng);
    const hWL = Float64Array.from({ length: m * n }, () => rng.normal());
    const gradF = Float64Array.from({ length: m }, () => rng.normal());
    const lambdas = new Array(n).fill(0.1);
    const eps = 1e-2;
    const lp = await solveDirectionLp({ gradF, gradLambdaF: new Float64Array(n), hWL, hWW: H, lambdas, epsilon: eps });
    assertEquals(lp.status, "optimal");
    const cf = closedFormDirection({
      hvp: (v) => matvec(H, v),
      gradF,
      gradLambdaF: new Float64Array(n),
      hWLtimes: (dl) => Float64Array.from({ length: m }, (_, j) => hWL.subarray(j * n, j * n + n).reduce((a, h, k) => a + h * dl[k], 0)),
      hLWtimes: (u) => Float64Array.from({ length: n }, (_, k) => u.reduce((a, uj, j) => a + hWL[j * n + k] * uj, 0)),
      lambdas,
      epsilon: eps,
      cgTol: 1e-12,
    });
    assert(cf.ok, !cf.ok ? cf.reason : "");
    assertClose(cf.objective, lp.objective!, 1e-6 * Math.max(1, Math.abs(lp.objective!)), `objective m=${m}`);
    for (let k = 0; k < n; k++) assertClose(cf.dLambda[k], lp.dLambda![k], 1e-6, `dλ_${k}`);
    for (let j = 0; j < m; j++) assertClose(cf.dw[j], lp.dw![j], 1e-6, `dw_${j}`);
  }
});

Deno.test("LP statuses: unbounded without a box on a singular H; the box makes it optimal and is reported", async () => {
  const base = {
    gradF: Float64Array.of(1, -1),
    gradLambdaF: Float64Array.of(0),
    hWL: Float64Array.of(1, 0),
    lambdas: [0.1],
    epsilon: 0.01,
  };
  const singular = Float64Array.of(2, 0, 0, 0);
  assertEquals((await solveDirectionLp({ ...base, hWW: singular })).status, "unbounded");
  const boxed = await solveDirectionLp({ ...base, hWW: singular, delta: 0.5 });
  assertEquals(boxed.status, "optimal");
  assert(boxed.boxActive >= 1);
  // a λ at 0 may not decrease
  const zero = await solveDirectionLp({ ...base, hWW: Float64Array.of(2, 0, 0, 1), lambdas: [0] });
  assert(zero.dLambda![0] >= 0);
});

Deno.test("closed form refuses an indefinite H instead of answering wrongly", () => {
  const H = Float64Array.of(1, 0, 0, -1);
  const r = closedFormDirection({
    hvp: (v) => matvec(H, v),
    gradF: Float64Array.of(1, 1),
    gradLambdaF: new Float64Array(1),
    hWLtimes: () => new Float64Array(2),
    hLWtimes: () => new Float64Array(1),
    lambdas: [1],
    epsilon: 0.1,
  });
  assert(!r.ok && /not positive definite/.test(r.reason));
  const cg = conjugateGradient((v) => matvec(Float64Array.of(4, 1, 1, 3), v), Float64Array.of(1, 2), 1e-12);
  assertClose(cg.x[0], 1 / 11, 1e-10);
  assertClose(cg.x[1], 7 / 11, 1e-10);
});

Deno.test("the closed-form output-layer Hessian equals HVP columns", () => {
  const rng = new Rng(9);
  const sizes = [7, 6, 5, 4];
  const n = 30;
  const part = toTensorPart({ x: new Uint8Array(n * 7).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(4)) }, 4);
  const w = initWeights({ input: 7, hidden: [6, 5], classes: 4 }, rng).map((a) => a.map((v) => v + 0.1 * rng.normal()));
  const lam = 0.07;
  const d = new MlpDerivatives({ weights: w, sizes, groups: [0, 0, 1], lambdas: [0, lam] }, part);
  const H = outputLayerHessian({ weights: w, sizes }, part, lam);
  const dim = 5 * 4 + 4; // last hidden width 5, 4 classes
  const start = w.slice(0, 4).reduce((a, x) => a + x.length, 0);
  const total = w.reduce((a, x) => a + x.length, 0);
  for (let c = 0; c < dim; c++) {
    const e = new Float32Array(total);
    e[start + c] = 1;
    const col = d.hvp(e);
    for (let r = 0; r < dim; r++) assertClose(H[r * dim + c], col[start + r], 2e-5, `H[${r},${c}]`);
  }
  // the subset form agrees with the full block on chosen rows/columns (weights and biases)
  const pick = [0, 3, 7, 19, 20, 23];
  const S = outputLayerHessianSubset({ weights: w, sizes }, part, lam, pick);
  for (let r = 0; r < pick.length; r++) {
    for (let c = 0; c < pick.length; c++) assertClose(S[r * pick.length + c], H[pick[r] * dim + pick[c]], 1e-6, `S[${r},${c}]`);
  }
  d.dispose();
  disposePart(part);
});

Deno.test("hyper local search never worsens validation loss, keeps λ ≥ 0, and says which path it took", async () => {
  const rng = new Rng(2);
  const n = 300;
  const mk = (k: number) =>
    toTensorPart({ x: new Uint8Array(k * 20).map(() => rng.int(256)), y: new Uint8Array(k).map(() => rng.int(3)) }, 3);
  const train = mk(n), val = mk(150);
  const spec = { input: 20, hidden: [8], classes: 3 };
  const sizes = layerSizes(spec);
  const shapes = mlpShapes(sizes);
  const t = trainMlp({
    init: initWeights(spec, new Rng(1)),
    shapes,
    train,
    objective: { groups: [0, 0], lambdas: [0.001] },
    training: TrainOptions.parse({ epochs: 5, batchSize: 32, learningRate: 0.01 }),
    rng: new Rng(3),
  });
  for (
    const o of [{ block: "output" }, { block: "all" }, { block: "topk", k: 30 }, { solver: "auto", block: "output" }, {
      block: "output",
      maxLpWeights: 20,
      k: 10,
    }]
  ) {
    const r = await hyperLocalSearch({ sizes, weights: t.weights, groups: [0, 0], lambdas: [0.001] }, { train, val }, HlsOptions.parse(o));
    assert(r.best.val.loss <= r.before.val.loss, JSON.stringify(o));
    assert(r.lambdas.every((l) => l >= 0));
    assert(r.path !== "none" || r.notes.length > 0, "an unchanged model says why");
    assertEquals(r.line[0].t, 0);
    if ((o as { maxLpWeights?: number }).maxLpWeights) {
      assertEquals(r.blockSize, 10);
      assert(r.notes.some((n) => /output layer too large/.test(n)), r.notes.join("; "));
    }
  }
  disposePart(train);
  disposePart(val);
});

Deno.test("line search along an output-layer direction: the affine-logits shortcut (and one t alone) equals a forward pass per t; tidyRead", async () => {
  await useBackend("wasm");
  const rng = new Rng(11);
  const part = toTensorPart({ x: new Uint8Array(90 * 7).map(() => rng.int(256)), y: new Uint8Array(90).map(() => rng.int(4)) }, 4);
  for (const hidden of [[6, 5], []]) {
    const sizes = layerSizes({ input: 7, hidden, classes: 4 });
    const w = initWeights({ input: 7, hidden, classes: 4 }, rng);
    const total = w.reduce((a, x) => a + x.length, 0);
    const outStart = total - w.at(-1)!.length - w.at(-2)!.length;
    const dw = Float64Array.from({ length: total }, (_, j) => (j >= outStart ? rng.normal() : 0));
    assert(outputLayerOnly(sizes, dw));
    if (hidden.length) {
      assert(!outputLayerOnly(sizes, dw.map((v, j) => (j === 0 ? 1 : v))), "a first-layer entry is outside the output layer");
    }
    const ts = [0, 0.01, 0.3, 2];
    const fast = outputLineMetrics({ sizes, weights: w, dw }, ts, part, 40);
    ts.forEach((t, i) => {
      let o = 0;
      const params = w.map((x, k) => {
        const r = tf.tensor(Float32Array.from(x, (v, j) => v + t * dw[o + j]), mlpShapes(sizes)[k]);
        o += x.length;
        return r;
      });
      const ref = evaluate(params, part);
      tf.dispose(params);
      assertClose(fast[i].loss, ref.loss, 1e-5 * Math.max(1, ref.loss), `t = ${t} loss`);
      assertClose(fast[i].acc, ref.acc, 1e-12, `t = ${t} accuracy`);
      // one t alone takes the other route (the output layer at t formed first): the same model, scored alike
      const [one] = outputLineMetrics({ sizes, weights: w, dw }, [t], part, 40);
      assertClose(one.loss, ref.loss, 1e-6 * Math.max(1, ref.loss), `t = ${t} alone: loss`);
      assertClose(one.acc, ref.acc, 1e-12, `t = ${t} alone: accuracy`);
    });
  }
  // tidyRead reads results without disposing a returned input tensor
  const before = tf.memory().numTensors;
  const { x } = tidyRead(() => ({ x: part.x }));
  assertEquals(x.length, 90 * 7);
  assert(!part.x.isDisposed);
  assertEquals(tf.memory().numTensors, before);
  disposePart(part);
});
