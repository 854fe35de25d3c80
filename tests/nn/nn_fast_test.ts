// The fast MLP training path (stacked models, hand-written backward pass, host-side optimiser, host-side
// batches) against independent references: tfjs autodiff, the autodiff training loop, float64 Adam.
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import { tf, useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { crossEntropy, forward, initWeights, layerSizes, mlpShapes, weightGroups } from "../../nn/mlp.ts";
import { evaluate, mlpForward, trainMlp, trainNetwork, TrainOptions } from "../../nn/train.ts";
import { evaluateMlps, trainMlps } from "../../nn/train_mlps.ts";
import { downloadStack, forwardStack, packStack, stackGradients, stackLayout, unpackStack, uploadStack } from "../../nn/mlp_stack.ts";
import { HostOptimizer } from "../../nn/optimizers.ts";
import { gatherRows, gatherRowsTransposed, hostPart, StepBatches } from "../../nn/host_batches.ts";
import { epochPlans } from "../../nn/batch_plan.ts";

function toyData(seed: number, n: number, features = 12, classes = 3) {
  const rng = new Rng(seed);
  const x = new Uint8Array(n * features).map(() => rng.int(256));
  const y = new Uint8Array(n).map((_, i) => (x[i * features] + 2 * x[i * features + 1]) % classes);
  return toTensorPart({ x, y }, classes);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

const hiddens = [[], [7], [5, 0, 4], [6, 3, 2], [2, 6, 5]];

Deno.test("host batches equal tf.gather's rows, and the transposed batch its transpose", async () => {
  await useBackend("wasm");
  const part = toyData(1, 50);
  const h = hostPart(part);
  const rows = Int32Array.of(3, 49, 0, 17, 17);
  const ref = tf.gather(part.x, tf.tensor1d(rows, "int32"));
  assertEquals([...gatherRows(h.x, h.features, rows)], [...ref.dataSync()]);
  const refT = tf.transpose(ref);
  assertEquals([...gatherRowsTransposed(h.x, h.features, rows)], [...refT.dataSync()]);
  tf.dispose([ref, refT]);
  disposePart(part);
});

Deno.test("host batches into a reused buffer: every batch size (8-row blocks and tails) equals tf.gather's rows and their transpose", async () => {
  await useBackend("wasm");
  const part = toyData(3, 61, 13);
  const h = hostPart(part);
  const rng = new Rng(5);
  for (const b of [1, 7, 8, 9, 16, 23, 61]) {
    const outX = new Float32Array(b * 13).fill(NaN), outT = new Float32Array(b * 13).fill(NaN);
    for (let round = 0; round < 2; round++) {
      const rows = Int32Array.from({ length: b }, () => rng.int(61));
      const ref = tf.gather(part.x, tf.tensor1d(rows, "int32"));
      const refT = tf.transpose(ref);
      assertEquals([...gatherRows(h.x, 13, rows, outX)], [...ref.dataSync()], `rows, batch ${b}, round ${round}`);
      assertEquals([...gatherRowsTransposed(h.x, 13, rows, outT)], [...refT.dataSync()], `transposed, batch ${b}, round ${round}`);
      tf.dispose([ref, refT]);
    }
  }
  assertThrows(() => gatherRowsTransposed(h.x, 13, [1, 2], new Float32Array(13)), /cannot hold 26/);
  disposePart(part);
});

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`StepBatches on ${backend}: a step's tensors keep their values after later steps, and equal fresh batches bit for bit`, async () => {
    await useBackend(backend);
    const part = toyData(4, 50, 9);
    const h = hostPart(part);
    const reusing = new StepBatches(h), fresh = new StepBatches(h, false);
    const rng = new Rng(6);
    const kept: { x: number[]; y: number[]; xT: number[] }[] = [];
    const tensors = [];
    // batches of 16 then a short last one, as an epoch of 50 rows at batch 16 ends
    for (const b of [16, 16, 16, 2, 16]) {
      const rows = Int32Array.from({ length: b }, () => rng.int(50));
      const r = reusing.batch(rows), f = fresh.batch(rows);
      for (const k of ["x", "y", "xT"] as const) assertEquals([...r[k].dataSync()], [...f[k].dataSync()], `${k}, batch of ${b}`);
      kept.push({ x: [...f.x.dataSync()], y: [...f.y.dataSync()], xT: [...f.xT.dataSync()] });
      tensors.push(r);
      tf.dispose([f.x, f.y, f.xT]);
    }
    // the reusing assembler refilled its arrays four times since the first batch: its tensors must not see that
    tensors.forEach((r, i) => {
      for (const k of ["x", "y", "xT"] as const) assertEquals([...r[k].dataSync()], kept[i][k], `${k} of step ${i} after later steps`);
    });
    tf.dispose(tensors.flatMap((r) => [r.x, r.y, r.xT]));
    disposePart(part);
  });
}

Deno.test("stack layout: pack/unpack round trip; padding is zero; members of another depth are refused", () => {
  const sizes = [[6, 3, 2], [2, 6, 5], [4, 0, 4, 1]].map((hd) => layerSizes({ input: 12, hidden: hd, classes: 3 }));
  const st = stackLayout(sizes);
  assertThrows(() => stackLayout([sizes[0], [12, 3]]), /must share depth, inputs and classes/);
  assertEquals(st.sizes, [12, 6, 6, 5, 3]);
  const ws = sizes.map((s, k) => initWeights({ input: 12, hidden: s.slice(1, -1), classes: 3 }, new Rng(k)));
  const flat = packStack(st, ws);
  const nonZero = flat.filter((v) => v !== 0).length;
  assertEquals(nonZero, ws.flat().reduce((a, w) => a + w.filter((v) => v !== 0).length, 0), "only real weights are non-zero");
  assertEquals(unpackStack(st, flat).map((w) => w.map((x) => [...x])), ws.map((w) => w.map((x) => [...x])));
});

Deno.test("stackGradients equals tfjs autodiff of Σ_k cross-entropy_k, member by member; padded entries get exactly 0", async () => {
  await useBackend("cpu");
  const part = toyData(2, 40);
  const sizes = [[12, 6, 5, 3], [12, 2, 4, 3], [12, 4, 5, 3]];
  const st = stackLayout(sizes);
  const ws = sizes.map((s, k) => initWeights({ input: 12, hidden: s.slice(1, -1), classes: 3 }, new Rng(10 + k)));
  const flat = packStack(st, ws);
  const grads = tf.tidy(() => {
    const p = uploadStack(st, flat);
    return downloadStack(st, stackGradients(st, p, { acts: forwardStack(st, p, part.x), xT: tf.transpose(part.x), y: part.oneHot }));
  });
  const perMember = unpackStack(st, grads);
  ws.forEach((w, k) => {
    const ref = tf.tidy(() => {
      const vars = w.map((a, i) => tf.tensor(a, mlpShapes(sizes[k])[i]));
      return tf.grads((...ps: tf.Tensor[]) => crossEntropy(forward(ps, part.x), part.oneHot))(vars).map((g) => g.dataSync());
    });
    ref.forEach((g, i) =>
      assert(maxAbsDiff(g, perMember[k][i]) < 1e-6, `member ${k} tensor ${i} differs by ${maxAbsDiff(g, perMember[k][i])}`)
    );
  });
  // every entry not owned by a member is an exact zero
  const owned = packStack(st, ws.map((w) => w.map((a) => a.map(() => 1))));
  grads.forEach((g, i) => owned[i] === 0 && assert(g === 0, `padded entry ${i} has gradient ${g}`));
  disposePart(part);
});

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`${backend}: trainMlp (fast path) matches the autodiff training loop for Adam and SGD, L2 groups, weight decay, LR steps`, async () => {
    await useBackend(backend);
    const part = toyData(3, 300);
    for (const optimizer of ["adam", "sgd"] as const) {
      for (const hidden of [[8, 0, 6], []]) {
        const spec = { input: 12, hidden, classes: 3 };
        const shapes = mlpShapes(layerSizes(spec));
        const { groups } = weightGroups(spec, "2HP");
        const opts = TrainOptions.parse({
          optimizer,
          momentum: 0.9,
          epochs: 3,
          batchSize: 32,
          learningRate: 0.01,
          weightDecay: 1e-3,
          lrStep: { step: 1, gamma: 0.7 },
          maxSteps: 25,
        });
        const objective = { groups, lambdas: [0.02, 0.005] };
        const init = initWeights(spec, new Rng(4));
        const fast = trainMlp({ init, shapes, train: part, objective, training: opts, rng: new Rng(5), evalParts: { val: part } });
        const ref = trainNetwork({
          init,
          shapes,
          forwardFn: mlpForward,
          train: part,
          objective,
          training: opts,
          rng: new Rng(5),
          evalParts: { val: part },
        });
        assertEquals(fast.steps, 25);
        fast.weights.forEach((w, i) => {
          const d = maxAbsDiff(w, ref.weights[i]);
          assert(d < 2e-5, `${optimizer} ${JSON.stringify(hidden)} tensor ${i}: fast and reference differ by ${d}`);
        });
        fast.history.forEach((h, e) => assertClose(h.val!.loss, ref.history[e].val!.loss, 1e-4, `epoch ${e + 1} val loss`));
        assert(maxAbsDiff(fast.weights[0], init[0]) > 1e-3, "training moved the weights");
      }
    }
    disposePart(part);
  });
}

Deno.test("stacked training is deterministic, leaks no tensors, and a model trained in a stack equals the same model trained alone", async () => {
  await useBackend("wasm");
  const part = toyData(6, 200);
  const opts = TrainOptions.parse({ epochs: 2, batchSize: 16, learningRate: 0.01 });
  const members = hiddens.map((hidden, k) => {
    const spec = { input: 12, hidden, classes: 3 };
    return { hidden, init: initWeights(spec, new Rng(20 + k)), layerLambdas: new Array(layerSizes(spec).length - 1).fill(0.001 * k) };
  });
  const before = tf.memory().numTensors;
  const together = trainMlps(members, { input: 12, classes: 3, train: part, training: opts, rng: new Rng(7), evalParts: { val: part } });
  const again = trainMlps(members, { input: 12, classes: 3, train: part, training: opts, rng: new Rng(7), evalParts: { val: part } });
  assertEquals(
    again.weights.map((w) => w.map((x) => [...x])),
    together.weights.map((w) => w.map((x) => [...x])),
    "same members and seed: bit-identical",
  );
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
  members.forEach((m, k) => {
    const alone = trainMlps([m], { input: 12, classes: 3, train: part, training: opts, rng: new Rng(7), evalParts: { val: part } });
    alone.weights[0].forEach((w, i) => {
      const d = maxAbsDiff(w, together.weights[k][i]);
      assert(d < 1e-6, `member ${k} tensor ${i}: in a stack vs alone differ by ${d}`);
    });
    assertClose(together.history[k][1].val!.loss, alone.history[0][1].val!.loss, 1e-6);
  });
  disposePart(part);
});

Deno.test("evaluateMlps equals evaluate model by model", async () => {
  await useBackend("wasm");
  const part = toyData(8, 120);
  const sizesList = hiddens.map((hidden) => layerSizes({ input: 12, hidden, classes: 3 }));
  const ws = hiddens.map((hidden, k) => initWeights({ input: 12, hidden, classes: 3 }, new Rng(30 + k)));
  const got = evaluateMlps(sizesList, ws, part);
  ws.forEach((w, k) => {
    const params = w.map((a, i) => tf.tensor(a, mlpShapes(sizesList[k])[i]));
    const ref = evaluate(params, part);
    tf.dispose(params);
    assertClose(got[k].loss, ref.loss, 1e-6, `member ${k} loss`);
    assertEquals(got[k].acc, ref.acc);
  });
  disposePart(part);
});

Deno.test("HostOptimizer: Adam and SGD(momentum) follow the textbook recurrences (float64 reference)", () => {
  const n = 5;
  const l2 = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 0.2 : 0));
  for (const optimizer of ["adam", "sgd"] as const) {
    const opt = new HostOptimizer({ optimizer, momentum: 0.8, weightDecay: 0.01 }, n, l2);
    const theta = Float32Array.from({ length: n }, (_, i) => i - 2);
    const ref = Array.from(theta);
    const m = new Array(n).fill(0), v = new Array(n).fill(0);
    for (let t = 1; t <= 6; t++) {
      const grad = Float32Array.from({ length: n }, (_, i) => Math.sin(t + i));
      opt.step(theta, grad, 0.05);
      for (let i = 0; i < n; i++) {
        const g = grad[i] + (l2[i] + 0.01) * ref[i];
        if (optimizer === "adam") {
          m[i] = 0.9 * m[i] + 0.1 * g;
          v[i] = 0.999 * v[i] + 0.001 * g * g;
          ref[i] -= (0.05 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-7);
        } else {
          m[i] = 0.8 * m[i] + g;
          ref[i] -= 0.05 * m[i];
        }
      }
    }
    assert(maxAbsDiff(theta, ref) < 1e-5, `${optimizer}: ${[...theta]} vs ${ref}`);
    assertEquals(opt.steps, 6);
  }
});

Deno.test("epochPlans: one permutation per epoch cut into batches, step LR schedule, maxSteps cut", () => {
  const plans = [...epochPlans(10, { learningRate: 1, epochs: 3, batchSize: 4, lrStep: { step: 2, gamma: 0.5 } }, new Rng(1))];
  assertEquals(plans.map((p) => [p.epoch, p.learningRate, p.batches.map((b) => b.length), p.stepsAfter, p.complete]), [
    [1, 1, [4, 4, 2], 3, true],
    [2, 1, [4, 4, 2], 6, true],
    [3, 0.5, [4, 4, 2], 9, true],
  ]);
  for (const p of plans) assertEquals([...p.batches.flatMap((b) => [...b])].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert(plans[0].batches[0].some((v, i) => v !== plans[1].batches[0][i]), "each epoch reshuffles");
  const cut = [...epochPlans(10, { learningRate: 1, epochs: 3, batchSize: 4, maxSteps: 4 }, new Rng(1))];
  assertEquals(cut.map((p) => [p.batches.length, p.stepsAfter, p.complete]), [[3, 3, true], [1, 4, false]]);
  const exact = [...epochPlans(10, { learningRate: 1, epochs: 3, batchSize: 4, maxSteps: 3 }, new Rng(1))];
  assertEquals(exact.map((p) => [p.batches.length, p.complete]), [[3, true], [0, false]]);
});
