import { tf } from "./backend.ts";
import type { DataPart } from "../data/codec.ts";

/** A data part as float32 features in [0, 1] and int labels, ready for models. */
export interface TensorPart {
  x: tf.Tensor2D;
  y: tf.Tensor1D;
  oneHot: tf.Tensor2D;
  n: number;
}

/** Converts uint8 pixels to float32 in [0, 1] (the normalisation happens here, at load) and labels to one-hot. */
export function toTensorPart(p: DataPart, classes: number): TensorPart {
  const n = p.y.length;
  const features = p.x.length / Math.max(n, 1);
  const xf = new Float32Array(p.x.length);
  for (let i = 0; i < p.x.length; i++) xf[i] = p.x[i] / 255;
  const y = tf.tensor1d(Int32Array.from(p.y), "int32");
  return { x: tf.tensor2d(xf, [n, features]), y, oneHot: tf.oneHot(y, classes).toFloat() as tf.Tensor2D, n };
}

/** Releases a part's tensors. */
export function disposePart(p: TensorPart): void {
  tf.dispose([p.x, p.y, p.oneHot]);
}
