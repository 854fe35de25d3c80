// Three hot paths, each beside its peer:
// - the top-k line search (a direction that moves hidden layers) against a forward pass per t (what
//   metricsAlong ran before movedLineMetrics), on MNIST-sized data: 1,250 selection rows × 784 inputs, 21 t;
// - the host batch assembly of a training step, fresh arrays (the peer) against StepBatches' reused ones;
// - a small stack's training step (forward and backward of two 784-15-15-15-10 models, B = 128) against its
//   two 784-wide products alone: what is left of a step that is not arithmetic.
//
//   deno run -A bench/hot_paths.ts [--quick]
import { tf, useBackend } from "../nn/backend.ts";
import { movedLineMetrics } from "../bilevel/hls/line_metrics.ts";
import { tGrid, weightsAt } from "../bilevel/hls/hls_line.ts";
import { evaluate } from "../nn/train.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { disposePart, toTensorPart } from "../nn/data_tensors.ts";
import { gatherRows, gatherRowsTransposed, hostPart, StepBatches } from "../nn/host_batches.ts";
import { Rng } from "../data/rng.ts";
import { forwardStack, stackGradients, stackLayout, uploadStack } from "../nn/mlp_stack.ts";
import { median, printTable } from "./_util.ts";

await useBackend("wasm");
const quick = Deno.args.includes("--quick");
const reps = quick ? 3 : 7;
const rng = new Rng(7);
const rows = 1250, features = 784;
const part = toTensorPart(
  { x: new Uint8Array(rows * features).map(() => rng.int(256)), y: new Uint8Array(rows).map(() => rng.int(10)) },
  10,
);
const ts = tGrid({ tMin: 1e-3, tMax: 10, points: 20 });

function timeMs(f: () => void): number {
  f();
  const xs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

const lineRows: Record<string, string | number>[] = [];
for (const hidden of [[15], [15, 15, 15], [8, 12]]) {
  const sizes = layerSizes({ input: features, hidden, classes: 10 });
  const weights = initWeights({ input: features, hidden, classes: 10 }, rng);
  const w0 = Float64Array.from(weights.flatMap((w) => [...w]));
  // a top-k-like direction: 150 entries, most of them in the first layer (where most weights are)
  const dw = new Float64Array(w0.length);
  for (let k = 0; k < 150; k++) dw[rng.int(w0.length)] = rng.normal() * 1e-2;
  const perT = () =>
    ts.forEach((t) => {
      const params = weightsAt(w0, dw, t, weights).map((x, i) => tf.tensor(x, mlpShapes(sizes)[i]));
      evaluate(params, part);
      tf.dispose(params);
    });
  const shared = () => movedLineMetrics({ sizes, weights, w0, dw }, ts, part);
  const [a, b] = [timeMs(perT), timeMs(shared)];
  lineRows.push({
    model: sizes.join("-"),
    "a forward pass per t (ms)": a.toFixed(1),
    "movedLineMetrics (ms)": b.toFixed(1),
    speedup: (a / b).toFixed(2),
  });
}
printTable(`Line search over ${ts.length} t on ${rows} rows (median of ${reps})`, lineRows);

// host batches: B = 128 rows of a 5,000 × 784 part, x, xᵀ and one-hot labels
const train = toTensorPart(
  { x: new Uint8Array(5000 * features).map(() => rng.int(256)), y: new Uint8Array(5000).map(() => rng.int(10)) },
  10,
);
const host = hostPart(train);
const batches = new StepBatches(host);
const steps = quick ? 200 : 1000;
const batchRows = Array.from({ length: steps }, () => Int32Array.from({ length: 128 }, () => rng.int(5000)));
const fresh = () =>
  batchRows.forEach((r) =>
    tf.dispose([
      tf.tensor2d(gatherRows(host.x, features, r), [128, features]),
      tf.tensor2d(gatherRows(host.oneHot, 10, r), [128, 10]),
      tf.tensor2d(gatherRowsTransposed(host.x, features, r), [features, 128]),
    ])
  );
const reused = () => batchRows.forEach((r) => tf.dispose(Object.values(batches.batch(r))));
const [f, u] = [timeMs(fresh) / steps, timeMs(reused) / steps];
printTable(`A training step's batch (B = 128, 784 features), per step (median of ${reps} × ${steps} steps)`, [
  { "fresh arrays (ms)": f.toFixed(3), "StepBatches, reused arrays (ms)": u.toFixed(3), speedup: (f / u).toFixed(2) },
]);

// a two-model stack's step: forward and backward, against the two products x·W1 and xᵀ·dZ1 alone
const stack = stackLayout([[features, 15, 15, 15, 10], [features, 15, 15, 15, 10]]);
const params = uploadStack(stack, new Float32Array(stack.size).map(() => rng.normal() * 0.05));
const { x: xb, y: yb, xT } = batches.batch(batchRows[0]);
const dz1 = tf.zeros([128, stack.K * 15]) as tf.Tensor2D;
const stepRuns = quick ? 100 : 500;
const full = timeMs(() => {
  for (let i = 0; i < stepRuns; i++) {
    tf.tidy(() => stackGradients(stack, params, { acts: forwardStack(stack, params, xb), xT, y: yb }).forEach((g) => g.dataSync()));
  }
}) / stepRuns;
const products = timeMs(() => {
  for (let i = 0; i < stepRuns; i++) {
    tf.tidy(() => {
      tf.matMul(xb, params[0] as tf.Tensor2D).dataSync();
      tf.matMul(xT, dz1).dataSync();
    });
  }
}) / stepRuns;
const gflops = (2 * 2 * 128 * features * stack.K * 15) / (products * 1e6);
printTable(`A two-model stack's step (784-15-15-15-10, B = 128; median of ${reps} × ${stepRuns})`, [
  {
    "forward + backward (ms)": full.toFixed(3),
    "the two 784-wide products alone (ms)": products.toFixed(3),
    "their share": (products / full).toFixed(2),
    "their GFLOP/s": gflops.toFixed(1),
  },
]);
tf.dispose([...params, xb, yb, xT, dz1]);
disposePart(part);
disposePart(train);
