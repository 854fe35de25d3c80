import { tf } from "./backend.ts";
import type { DataPart } from "../data/codec.ts";
import { permutation, Rng } from "../data/rng.ts";

/** A data part as float32 features in [0, 1] and int labels, ready for models. */
export interface TensorPart {
  x: tf.Tensor2D;
  y: tf.Tensor1D;
  oneHot: tf.Tensor2D;
  n: number;
  /** xᵀ, made on first use by transposedInputs and released with the part. */
  xT?: tf.Tensor2D;
  /** xᵀ read back to the host, made on first use by hostTransposedInputs and released with the part. */
  xTHost?: Float32Array;
}

/**
 * The part's inputs transposed ([features, n]), made once and kept with the part: backward passes need xᵀ,
 * and the wasm backend's transposed matMul is ~10× slower than an explicit transpose.
 */
export function transposedInputs(p: TensorPart): tf.Tensor2D {
  // created outside any enclosing tf.tidy scope's ownership: kept until disposePart
  if (!p.xT) p.xT = tf.keep(tf.transpose(p.x));
  return p.xT;
}

/**
 * The part's inputs transposed ([features, n], row-major) on the host, read back once and kept with the part:
 * every model HLS fine-tunes without a hidden layer reads them (a readback of 5,000 × 784 takes ~10 ms).
 */
export function hostTransposedInputs(p: TensorPart): Float32Array {
  p.xTHost ??= transposedInputs(p).dataSync() as Float32Array;
  return p.xTHost;
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
  tf.dispose([p.x, p.y, p.oneHot, ...(p.xT ? [p.xT] : [])]);
  p.xT = p.xTHost = undefined;
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
  // rows are copied on the host: tf.gather on the wasm backend costs ~0.3 ms per row of 784 features
  const x = p.x.dataSync() as Float32Array, y = p.y.dataSync() as Int32Array, oh = p.oneHot.dataSync() as Float32Array;
  const [f, c] = [p.x.shape[1], p.oneHot.shape[1]];
  const take = (rows: Uint32Array): TensorPart => {
    const [xs, ys, ohs] = [new Float32Array(rows.length * f), new Int32Array(rows.length), new Float32Array(rows.length * c)];
    rows.forEach((r, i) => {
      xs.set(x.subarray(r * f, (r + 1) * f), i * f);
      ys[i] = y[r];
      ohs.set(oh.subarray(r * c, (r + 1) * c), i * c);
    });
    return {
      x: tf.tensor2d(xs, [rows.length, f]),
      y: tf.tensor1d(ys, "int32"),
      oneHot: tf.tensor2d(ohs, [rows.length, c]),
      n: rows.length,
    };
  };
  return [take(perm.subarray(0, nFirst).slice().sort()), take(perm.subarray(nFirst).slice().sort())];
}
