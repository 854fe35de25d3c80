import { tf } from "../nn/backend.ts";
import { forward, mlpShapes, type Weights } from "../nn/mlp.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import type { Metrics } from "../nn/train.ts";
import { chunkedStackMetrics } from "../nn/mlp_stack.ts";
import { parameterOffsets } from "./hvp.ts";

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
 * Processes rows in chunks to bound memory.
 */
export function outputLineMetrics(
  { sizes, weights, dw }: { sizes: number[]; weights: Weights; dw: ArrayLike<number> },
  ts: number[],
  part: TensorPart,
  chunk = 5000,
): Metrics[] {
  if (!outputLayerOnly(sizes, dw)) throw new Error("outputLineMetrics needs a direction confined to the output layer");
  const shapes = mlpShapes(sizes);
  const L = sizes.length - 1;
  const outputStart = outputLayerStart(sizes);
  const [fi, fo] = [sizes[L - 1], sizes[L]];
  const params = tf.tidy(() => weights.map((w, i) => tf.tensor(w, shapes[i])));
  const [dW, db] = tf.tidy(() => [
    tf.tensor2d(Float32Array.from({ length: fi * fo }, (_, j) => dw[outputStart + j]), [fi, fo]),
    tf.tensor1d(Float32Array.from({ length: fo }, (_, j) => dw[outputStart + fi * fo + j])),
  ]);
  const tCol = tf.tensor3d(Float32Array.from(ts), [ts.length, 1, 1]);
  try {
    return chunkedStackMetrics(part, ts.length, (x) => {
      const a = forward(params, x, { layers: L - 1 });
      // Z0 and dZ are each one affine layer of the hidden activations
      const z0 = forward(params.slice(2 * L - 2), a);
      const dz = forward([dW, db], a);
      return tf.add(tf.expandDims(z0, 0), tf.mul(tCol, tf.expandDims(dz, 0))) as tf.Tensor3D;
    }, chunk);
  } finally {
    tf.dispose([...params, dW, db, tCol]);
  }
}
