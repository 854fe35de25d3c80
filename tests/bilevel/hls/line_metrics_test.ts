// The line search's shortcuts against the plain definition: a forward pass of the model at w + t·dw for each t.
import { assert, assertClose, assertEquals, assertThrows } from "../../assert.ts";
import { tf, useBackend } from "../../../nn/backend.ts";
import { firstMovedLayer, movedLineMetrics } from "../../../bilevel/hls/line_metrics.ts";
import { metricsAlong, weightsAt } from "../../../bilevel/hls/hls_line.ts";
import { Rng } from "../../../data/rng.ts";
import { disposePart, type TensorPart, toTensorPart } from "../../../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, parameterOffsets } from "../../../nn/mlp.ts";
import { evaluate } from "../../../nn/train.ts";

/** The reference: one forward pass of the float32 model w + t·dw per t. */
function perT(sizes: number[], w0: Float64Array, dw: Float64Array, like: Float32Array[], ts: number[], part: TensorPart) {
  return ts.map((t) => {
    const params = weightsAt(w0, dw, t, like).map((x, k) => tf.tensor(x, mlpShapes(sizes)[k]));
    try {
      return evaluate(params, part);
    } finally {
      tf.dispose(params);
    }
  });
}

Deno.test("a direction that moves hidden layers: movedLineMetrics equals a forward pass per t, whichever layers it moves", async () => {
  await useBackend("wasm");
  const rng = new Rng(21);
  const part = toTensorPart({ x: new Uint8Array(130 * 9).map(() => rng.int(256)), y: new Uint8Array(130).map(() => rng.int(4)) }, 4);
  const ts = [0, 0.001, 0.05, 0.4, 3, 30];
  let cases = 0;
  for (const hidden of [[6], [6, 5], [5, 7, 3]]) {
    const sizes = layerSizes({ input: 9, hidden, classes: 4 });
    const w = initWeights({ input: 9, hidden, classes: 4 }, rng);
    const w0 = Float64Array.from(w.flatMap((x) => [...x]));
    const offsets = parameterOffsets(mlpShapes(sizes));
    const L = sizes.length - 1;
    // every non-empty set of moved layers short of the output alone, dense or a sparse top-k-like mask, bias or not
    for (let mask = 1; mask < 1 << L; mask++) {
      if (mask === 1 << (L - 1)) continue;
      for (const density of [1, 0.1]) {
        const dw = new Float64Array(w0.length);
        for (const { start, length, layer, isWeight } of offsets) {
          if (!(mask & (1 << layer))) continue;
          for (let j = start; j < start + length; j++) if (rng.uniform(0, 1) < density || (!isWeight && j === start)) dw[j] = rng.normal();
        }
        const first = offsets.find((o) => mask & (1 << o.layer))!.layer;
        assertEquals(firstMovedLayer(sizes, dw), first, `first moved layer, mask ${mask}`);
        const fast = movedLineMetrics({ sizes, weights: w, w0, dw }, ts, part, 50);
        const viaSearch = metricsAlong({ sizes, weights: w, w0, dw }, ts, part);
        const ref = perT(sizes, w0, dw, w, ts, part);
        ts.forEach((t, i) => {
          const tag = `hidden ${hidden}, mask ${mask}, density ${density}, t = ${t}`;
          assertClose(fast[i].loss, ref[i].loss, 1e-5 * Math.max(1, ref[i].loss), `${tag}: loss`);
          assertClose(fast[i].acc, ref[i].acc, 1e-12, `${tag}: accuracy`);
          assertClose(viaSearch[i].loss, ref[i].loss, 1e-5 * Math.max(1, ref[i].loss), `${tag}: metricsAlong's loss`);
        });
        // a single t takes the plain pass: exactly the reference
        assertEquals(metricsAlong({ sizes, weights: w, w0, dw }, [ts[3]], part), [ref[3]]);
        cases++;
      }
    }
  }
  assertEquals(cases, 2 * (2 + 6 + 14), "every mask of every depth was tried");
  disposePart(part);
});

Deno.test("movedLineMetrics: a direction that moves nothing or only the output layer is refused; no tensor leaks", async () => {
  await useBackend("wasm");
  const rng = new Rng(22);
  const part = toTensorPart({ x: new Uint8Array(20 * 5).map(() => rng.int(256)), y: new Uint8Array(20).map(() => rng.int(3)) }, 3);
  const sizes = layerSizes({ input: 5, hidden: [4], classes: 3 });
  const w = initWeights({ input: 5, hidden: [4], classes: 3 }, rng);
  const w0 = Float64Array.from(w.flatMap((x) => [...x]));
  const zero = new Float64Array(w0.length);
  assertEquals(firstMovedLayer(sizes, zero), 2);
  assertThrows(() => movedLineMetrics({ sizes, weights: w, w0, dw: zero }, [0, 1], part), /moves some layer/);
  const dw = zero.map((_, j) => (j === 3 ? 1 : 0));
  const before = tf.memory().numTensors;
  const out = movedLineMetrics({ sizes, weights: w, w0, dw }, [0, 1, 2], part, 7);
  assertEquals(out.length, 3);
  assert(out.every((m) => Number.isFinite(m.loss) && m.acc >= 0 && m.acc <= 1));
  assertEquals(tf.memory().numTensors, before, "tensors leaked");
  disposePart(part);
});
