// The training core: the one initialiser (nn/init.ts), the tensor optimiser (nn/optimizers.ts), and the one
// MLP and CNN forward pass (nn/mlp.ts, nn/cnn.ts) with their layer-input hooks.
import { assert, assertEquals } from "../assert.ts";
import { tf, useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { initLimit, initParams } from "../../nn/init.ts";
import { forward, initWeights, mlpShapes } from "../../nn/mlp.ts";
import { cnnLogits, initCnn } from "../../nn/cnn.ts";
import { TensorOptimizer, weightDecayPenalty } from "../../nn/optimizers.ts";

await useBackend("wasm");

Deno.test("initParams: Glorot and He limits, draws in slot order from one stream, zero biases; initWeights and initCnn are it", () => {
  assertEquals(initLimit([784, 15]), Math.sqrt(6 / 799));
  assertEquals(initLimit([5, 5, 3, 8], "he"), Math.sqrt(6 / 75));
  assertEquals(initLimit([5, 5, 3, 8], "glorot"), Math.sqrt(6 / 83));
  const shapes = [[6, 4], [4], [4, 3], [3]];
  const got = initParams(shapes, new Rng(7));
  const rng = new Rng(7);
  const ref = shapes.map((s, i) => {
    const n = s.reduce((a, b) => a * b, 1), lim = Math.sqrt(6 / (s[0] + s[s.length - 1]));
    return i % 2 ? new Float32Array(n) : Float32Array.from({ length: n }, () => rng.uniform(-lim, lim));
  });
  assertEquals(got, ref);
  assertEquals(initWeights({ input: 6, hidden: [4], classes: 3 }, new Rng(7)), got);
  const spec = { height: 8, width: 8, channels: 1, conv1: 2, conv2: 3, hidden: 5, classes: 4, dropout: [0, 0] as [number, number] };
  const cnn = initCnn(spec, new Rng(3));
  const lim = Math.sqrt(6 / 25);
  assert(cnn[0].every((v) => Math.abs(v) <= lim) && cnn[0].some((v) => Math.abs(v) > Math.sqrt(6 / 27)), "He limit on conv1");
  assert(cnn[1].every((v) => v === 0), "zero bias");
});

Deno.test("TensorOptimizer: Adam and SGD(momentum) follow the textbook recurrences; a variable without a gradient stays", () => {
  for (const optimizer of ["adam", "sgd"] as const) {
    const a = tf.variable(tf.tensor1d([1, -2, 3])), b = tf.variable(tf.tensor1d([0.5]));
    const opt = new TensorOptimizer([a, b], { optimizer, momentum: 0.8 });
    const ref = [1, -2, 3], m = [0, 0, 0], v = [0, 0, 0];
    for (let t = 1; t <= 5; t++) {
      const g = [Math.sin(t), Math.cos(t), 0.1 * t];
      const grad = tf.tensor1d(g);
      opt.step({ [a.name]: grad }, 0.05);
      grad.dispose();
      for (let i = 0; i < 3; i++) {
        if (optimizer === "adam") {
          m[i] = 0.9 * m[i] + 0.1 * g[i];
          v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
          ref[i] -= (0.05 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-7);
        } else {
          m[i] = 0.8 * m[i] + g[i];
          ref[i] -= 0.05 * m[i];
        }
      }
    }
    const got = a.dataSync();
    assert(ref.every((r, i) => Math.abs(r - got[i]) < 1e-5), `${optimizer}: ${[...got]} vs ${ref}`);
    assertEquals([...b.dataSync()], [0.5]);
    assertEquals(opt.steps, 5);
    opt.dispose();
    tf.dispose([a, b]);
  }
  const p = weightDecayPenalty([tf.tensor1d([1, 2]), tf.tensor1d([3])], 0.1);
  assert(Math.abs(p.dataSync()[0] - 0.7) < 1e-6);
  p.dispose();
});

Deno.test("forward: an identity hook changes no bit; `layers` gives the hidden ReLU activations", () => {
  const w = initWeights({ input: 6, hidden: [5, 4], classes: 3 }, new Rng(2));
  const shapes = mlpShapes([6, 5, 4, 3]);
  tf.tidy(() => {
    const p = w.map((a, i) => tf.tensor(a, shapes[i]));
    const x = tf.randomUniform([7, 6], 0, 1, "float32", 1) as tf.Tensor2D;
    const seen: number[] = [];
    const hooked = forward(p, x, { before: (a, l) => (seen.push(l), a) });
    assertEquals(seen, [0, 1, 2]);
    assertEquals([...hooked.dataSync()], [...forward(p, x).dataSync()]);
    const hidden = forward(p, x, { layers: 2 });
    const ref = tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, p[0]), p[1])), p[2]), p[3]));
    assertEquals(hidden.shape, [7, 4]);
    assertEquals([...hidden.dataSync()], [...ref.dataSync()]);
  });
});

Deno.test("cnnLogits: conv hooks see each conv layer's flattened input, dense hooks each dense layer's, in order", () => {
  const spec = { height: 8, width: 8, channels: 1, conv1: 2, conv2: 3, hidden: 5, classes: 4, dropout: [0, 0] as [number, number] };
  const w = initCnn(spec, new Rng(4));
  const shapes = [[5, 5, 1, 2], [2], [5, 5, 2, 3], [3], [12, 5], [5], [5, 4], [4]];
  tf.tidy(() => {
    const p = w.map((a, i) => tf.tensor(a, shapes[i]));
    const x = tf.randomUniform([3, 64], 0, 1, "float32", 1) as tf.Tensor2D;
    const seen: string[] = [];
    const out = cnnLogits(p, x, [8, 8, 1], {
      beforeConv: (a, l) => (seen.push(`conv${l}:${a.shape[1]}`), a),
      beforeDense: (a, l) => (seen.push(`dense${l}:${a.shape[1]}`), a),
    });
    assertEquals(seen, ["conv0:64", "conv1:32", "dense0:12", "dense1:5"]);
    assertEquals(out.shape, [3, 4]);
    assertEquals([...out.dataSync()], [...cnnLogits(p, x, [8, 8, 1]).dataSync()]);
  });
});
