import { tf } from "./backend.ts";
import type { DataPart } from "../data/codec.ts";
import { permutation, Rng } from "../data/rng.ts";

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

/**
 * Splits a part into two disjoint random subsets of `nFirst` and `n − nFirst` rows, drawn by a seeded
 * permutation (the subsample stage returns each part's rows in data-set order, which need not be random).
 * New tensors; the input is left as it is. Deterministic for a given seed.
 */
export function splitPart(p: TensorPart, nFirst: number, seed = 1): [TensorPart, TensorPart] {
  if (!(Number.isInteger(nFirst) && nFirst >= 1 && nFirst < p.n)) {
    throw new RangeError(`cannot split ${p.n} rows into ${nFirst} and ${p.n - nFirst}: each part needs at least one row`);
  }
  const perm = permutation(p.n, new Rng(seed));
  const take = (rows: Uint32Array): TensorPart =>
    tf.tidy(() => {
      const idx = tf.tensor1d(Int32Array.from(rows), "int32");
      return { x: tf.gather(p.x, idx), y: tf.gather(p.y, idx), oneHot: tf.gather(p.oneHot, idx), n: rows.length };
    });
  return [take(perm.subarray(0, nFirst).slice().sort()), take(perm.subarray(nFirst).slice().sort())];
}
