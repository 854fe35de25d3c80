import { tf } from "../../nn/backend.ts";
import { forward, mlpShapes, parameterOffsets, type Weights } from "../../nn/mlp.ts";
import type { TensorPart } from "../../nn/data_tensors.ts";
import type { Metrics } from "../../nn/train.ts";
import { chunkedStackMetrics } from "../../nn/mlp_stack.ts";

/** Flat index where the output layer (W_L, then b_L) starts in [W1, b1, …]. */
function outputLayerStart(sizes: number[]): number {
  const offsets = parameterOffsets(mlpShapes(sizes));
  return offsets[offsets.length - 2].start;
}

/** Whether a flat direction over [W1, b1, …] is zero outside the output layer (W_L, b_L). */
export function outputLayerOnly(sizes: number[], dw: ArrayLike<number>): boolean {
  const outputStart = outputLayerStart(sizes);
  for (let j = 0; j < outputStart; j++) if (dw[j] !== 0) return false;
  return true;
}

/**
 * Loss and accuracy of the MLP with weights w + t·dw, for every t, when dw touches only the output layer.
 * Then the hidden activations A do not depend on t and the logits are affine in t:
 * Z(t) = A(W_L + t·dW_L) + b_L + t·db_L = Z0 + t·dZ, so one forward pass serves the whole line search
 * (exact in real arithmetic; float32 rounding differs from a forward pass per t by ~1e-7 relative).
 * Processes rows in chunks to bound memory (defaultChunk).
 */
export function outputLineMetrics(
  { sizes, weights, dw }: { sizes: number[]; weights: Weights; dw: ArrayLike<number> },
  ts: number[],
  part: TensorPart,
  chunk = defaultChunk(ts.length, sizes),
): Metrics[] {
  if (!outputLayerOnly(sizes, dw)) throw new Error("outputLineMetrics needs a direction confined to the output layer");
  const shapes = mlpShapes(sizes);
  const L = sizes.length - 1;
  const outputStart = outputLayerStart(sizes);
  const params = tf.tidy(() => weights.map((w, i) => tf.tensor(w, shapes[i])));
  if (ts.length === 1) return singleStep(params, { L, weights, outputStart, dw, t: ts[0] }, part, chunk);
  // [W_L | dW_L] and [b_L | db_L]: Z0 and dZ from one product of the hidden activations
  const both = layerWithDirection({ sizes, weights, dw }, L - 1, outputStart);
  const tCol = tf.tensor3d(Float32Array.from(ts), [ts.length, 1, 1]);
  try {
    return chunkedStackMetrics(part, ts.length, (x) => {
      return alongT(forward(both, forward(params, x, { layers: L - 1 })), tCol);
    }, chunk);
  } finally {
    tf.dispose([...params, ...both, tCol]);
  }
}

/**
 * Layer l's weights and bias beside the direction's: [W | dW] ([in, 2·out]) and [b | db] ([2·out]), so that one
 * product of the layer's input gives both Z0 and dZ. `start` is where W_l begins in the flat direction.
 */
function layerWithDirection(
  { sizes, weights, dw }: { sizes: number[]; weights: Weights; dw: ArrayLike<number> },
  l: number,
  start: number,
): tf.Tensor[] {
  const [fi, fo] = [sizes[l], sizes[l + 1]];
  const [w, b] = [weights[2 * l], weights[2 * l + 1]];
  const wd = new Float32Array(fi * 2 * fo), bd = new Float32Array(2 * fo);
  for (let i = 0; i < fi; i++) {
    for (let c = 0; c < fo; c++) {
      wd[i * 2 * fo + c] = w[i * fo + c];
      wd[i * 2 * fo + fo + c] = dw[start + i * fo + c];
    }
  }
  for (let c = 0; c < fo; c++) [bd[c], bd[fo + c]] = [b[c], dw[start + fi * fo + c]];
  return [tf.tensor2d(wd, [fi, 2 * fo]), tf.tensor1d(bd)];
}

/** [Z0 | dZ] ([rows, 2·out]) to Z0 + t·dZ for every t of `tCol` ([T, 1, 1]): [T, rows, out]. */
function alongT(z: tf.Tensor2D, tCol: tf.Tensor): tf.Tensor3D {
  const [z0, dz] = tf.split(z, 2, 1);
  return tf.add(tf.expandDims(z0, 0), tf.mul(tCol, tf.expandDims(dz, 0))) as tf.Tensor3D;
}

/** Index (0-based) of the first layer whose weights or bias `dw` moves; the number of layers when it moves none. */
export function firstMovedLayer(sizes: number[], dw: ArrayLike<number>): number {
  const offsets = parameterOffsets(mlpShapes(sizes));
  for (const { start, length, layer } of offsets) {
    for (let j = start; j < start + length; j++) if (dw[j] !== 0) return layer;
  }
  return sizes.length - 1;
}

/**
 * Loss and accuracy of the MLP with weights w + t·dw, for every t, for a direction that moves hidden layers
 * (top-k blocks). The layers before the first one dw moves do not depend on t and run once; that layer's
 * pre-activation is affine in t, Z(t) = A(W + t·dW) + b + t·db = Z0 + t·dZ, so one product A·[W | dW] serves
 * every t (for a direction in the first layer, that is the one 784-wide product: most of a pass's work);
 * the layers after it, at W_l + t·dW_l, run for all t at once as a batched product over t. Exact in real
 * arithmetic; float32 rounding differs from a forward pass per t by ~1e-7 relative. `w0` and `dw` are the
 * flat float64 weights and direction, from which each t's later layers are formed as weightsAt forms them.
 */
export function movedLineMetrics(
  { sizes, weights, w0, dw }: { sizes: number[]; weights: Weights; w0: ArrayLike<number>; dw: ArrayLike<number> },
  ts: number[],
  part: TensorPart,
  chunk = Math.max(5000, Math.floor(2 ** 22 / (2 * ts.length * Math.max(...sizes.slice(1))))),
): Metrics[] {
  const shapes = mlpShapes(sizes), offsets = parameterOffsets(shapes);
  const L = sizes.length - 1, T = ts.length;
  const m = firstMovedLayer(sizes, dw);
  if (m === L) throw new Error("movedLineMetrics needs a direction that moves some layer");
  const before = tf.tidy(() => weights.slice(0, 2 * m).map((w, i) => tf.tensor(w, shapes[i])));
  // layer m: [W | dW] and [b | db], so that one product gives Z0 and dZ
  const moved = layerWithDirection({ sizes, weights, dw }, m, offsets[2 * m].start);
  // each later layer at every t, stacked over t: [T, in, out] and [T, 1, out], rounded to float32 as weightsAt does
  const later: tf.Tensor[] = [];
  for (let l = m + 1; l < L; l++) {
    for (const [k, shape] of [[2 * l, [sizes[l], sizes[l + 1]]], [2 * l + 1, [1, sizes[l + 1]]]] as const) {
      const { start, length } = offsets[k];
      const v = new Float32Array(T * length);
      ts.forEach((t, q) => {
        for (let j = 0; j < length; j++) v[q * length + j] = w0[start + j] + t * dw[start + j];
      });
      later.push(tf.tensor3d(v, [T, ...shape]));
    }
  }
  const tCol = tf.tensor3d(Float32Array.from(ts), [T, 1, 1]);
  try {
    return chunkedStackMetrics(part, T, (x) => {
      // `before` holds layers 0…m−1 only, so forward takes its last for the output: its ReLU is applied here
      const a = m > 0 ? tf.relu(forward(before, x)) : x;
      let z = alongT(forward(moved, a), tCol);
      for (let l = m + 1; l < L; l++) z = tf.add(tf.matMul(tf.relu(z), later[2 * (l - m - 1)] as tf.Tensor3D), later[2 * (l - m - 1) + 1]);
      return z;
    }, chunk);
  } finally {
    tf.dispose([...before, ...moved, ...later, tCol]);
  }
}

/**
 * One t: the output layer W_L + t·dW_L, b_L + t·db_L formed first, so the pass costs one product of the
 * hidden activations, half of the fused [W_L | dW_L] product that serves many t. Disposes `params`.
 */
function singleStep(
  params: tf.Tensor[],
  a: { L: number; weights: Weights; outputStart: number; dw: ArrayLike<number>; t: number },
  part: TensorPart,
  chunk: number,
): Metrics[] {
  const { L, outputStart, dw, t } = a;
  const [fi, fo] = params[2 * L - 2].shape as [number, number];
  // from the host copies, not read back from the tensors made of them
  const w = a.weights[2 * L - 2].slice(), b = a.weights[2 * L - 1].slice();
  for (let q = 0; q < fi * fo; q++) w[q] += t * dw[outputStart + q];
  for (let c = 0; c < fo; c++) b[c] += t * dw[outputStart + fi * fo + c];
  const last = [tf.tensor2d(w, [fi, fo]), tf.tensor1d(b)];
  try {
    return chunkedStackMetrics(
      part,
      1,
      (x) => tf.expandDims(forward(last, forward(params, x, { layers: L - 1 })), 0) as tf.Tensor3D,
      chunk,
    );
  } finally {
    tf.dispose([...params, ...last]);
  }
}

/**
 * Rows per chunk: as many as keep the [t, rows, classes] logits and the widest activation under ~2^22 floats
 * (16 MB), at least 5,000: the 10,000 test rows at two t are one chunk, with no copy of the inputs.
 */
function defaultChunk(points: number, sizes: number[]): number {
  const perRow = points * sizes[sizes.length - 1] + Math.max(...sizes.slice(1));
  return Math.max(5000, Math.floor(2 ** 22 / perRow));
}
