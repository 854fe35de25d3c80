import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { tf, useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, weightGroups } from "../../nn/mlp.ts";
import { evaluate, trainMlp, TrainOptions } from "../../nn/train.ts";
import { decodeModel, encodeModel } from "../../nn/weights_codec.ts";
import { matMulFast } from "../../nn/fast_matmul.ts";

function toyData(seed: number, n: number) {
  const rng = new Rng(seed);
  const x = new Uint8Array(n * 16).map(() => rng.int(256));
  const y = new Uint8Array(n).map((_, i) => (x[i * 16] + x[i * 16 + 1] > 255 ? 1 : 0));
  return toTensorPart({ x, y }, 2);
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`${backend}: same seed gives bit-identical weights; another seed differs; no tensor leaks`, async () => {
    await useBackend(backend);
    const part = toyData(1, 200);
    const spec = { input: 16, hidden: [8, 0, 6], classes: 2 };
    const sizes = layerSizes(spec);
    assertEquals(sizes, [16, 8, 6, 2]);
    const shapes = mlpShapes(sizes);
    const { groups } = weightGroups(spec, "2HP");
    const run = (seed: number, optimizer: "adam" | "sgd") =>
      trainMlp({
        init: initWeights(spec, new Rng(seed)),
        shapes,
        train: part,
        objective: { groups, lambdas: [0.01, 0.001] },
        training: TrainOptions.parse({
          optimizer,
          momentum: 0.9,
          epochs: 3,
          batchSize: 32,
          learningRate: 0.01,
          weightDecay: 1e-4,
          lrStep: { step: 1, gamma: 0.7 },
        }),
        rng: new Rng(seed + 100),
        evalParts: { train: part },
      });
    const before = tf.memory().numTensors;
    for (const opt of ["adam", "sgd"] as const) {
      const a = run(1, opt), b = run(1, opt), c = run(2, opt);
      assertEquals(a.weights.map((w) => [...w]), b.weights.map((w) => [...w]));
      assert(a.weights[0].some((v, i) => v !== c.weights[0][i]));
      a.history.forEach((h, i) => assert(Math.abs(h.learningRate - 0.01 * 0.7 ** i) < 1e-12, `step schedule epoch ${i + 1}`));
      assert(a.history[2].train!.loss < a.history[0].train!.loss + 0.05, "training makes progress");
    }
    assertEquals(tf.memory().numTensors, before, "tensor count stable across training runs");
    disposePart(part);
  });
}

Deno.test("matMulFast: value and gradients equal tf.matMul's", async () => {
  await useBackend("cpu");
  const a = tf.randomNormal([5, 4], 0, 1, "float32", 1) as tf.Tensor2D, b = tf.randomNormal([4, 3], 0, 1, "float32", 2) as tf.Tensor2D;
  const f1 = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.sum(tf.square(tf.matMul(x, y)));
  const f2 = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.sum(tf.square(matMulFast(x, y)));
  const g1 = tf.grads(f1 as never)([a, b]), g2 = tf.grads(f2 as never)([a, b]);
  for (let i = 0; i < 2; i++) {
    const d = tf.max(tf.abs(tf.sub(g1[i], g2[i]))).dataSync()[0];
    assert(d < 1e-5, `gradient ${i} differs by ${d}`);
  }
});

Deno.test("weights codec round trip; a truncated weights file is an error", () => {
  const spec = { input: 3, hidden: [2], classes: 2 };
  const w = initWeights(spec, new Rng(4));
  const files = encodeModel({ spec, meta: { lambdas: [0.1] }, weights: w });
  const back = decodeModel(files["model.json"], files["weights.f32"]);
  assertEquals(back.weights.map((x) => [...x]), w.map((x) => [...x]));
  assertEquals(back.spec, spec);
  assertThrows(
    () => decodeModel(files["model.json"], files["weights.f32"].subarray(0, 8)),
    /weights\.f32 has 8 bytes, model\.json declares 14 float32 values/,
  );
});

Deno.test("evaluate: loss and accuracy of a known model", async () => {
  await useBackend("cpu");
  // a 2-class linear model that always predicts class 0 with logit margin 1
  const part = toTensorPart({ x: new Uint8Array(4 * 2), y: Uint8Array.of(0, 0, 1, 1) }, 2);
  const params = [tf.zeros([2, 2]), tf.tensor1d([1, 0])];
  const m = evaluate(params, part);
  assertEquals(m.acc, 0.5);
  const expected = 0.5 * Math.log(1 + Math.exp(-1)) + 0.5 * Math.log(1 + Math.exp(1));
  assert(Math.abs(m.loss - expected) < 1e-6);
  tf.dispose(params);
  disposePart(part);
});

Deno.test("asking for the tensorflow backend without tfjs-node gives the install command", async () => {
  await assertRejects(() => useBackend("tensorflow"), /deno add npm:@tensorflow\/tfjs-node@4\.22\.0/);
});
