import { tf } from "./backend.ts";
import type { Rng } from "../data/rng.ts";
import type { Weights } from "./mlp.ts";
import type { ForwardFn } from "./train.ts";
import { matMulFast } from "./fast_matmul.ts";

/**
 * Seed 001's network: two convolutional layers (5×5, 'same' padding, ReLU, 2×2 max-pool) and two fully
 * connected layers, with dropout before each fully connected layer. Widths are config fields: the
 * defaults are smaller than PyTorch's MNIST example (32/64 channels, 128 units) so that it trains on CPU.
 */
export interface CnnSpec {
  height: number;
  width: number;
  channels: number;
  conv1: number;
  conv2: number;
  hidden: number;
  classes: number;
  /** Dropout rates before fc1 and fc2. */
  dropout: [number, number];
}

/** Parameter shapes: [K1, b1, K2, b2, W3, b3, W4, b4]. */
export function cnnShapes(s: CnnSpec): number[][] {
  const flat = Math.floor(s.height / 4) * Math.floor(s.width / 4) * s.conv2;
  return [
    [5, 5, s.channels, s.conv1],
    [s.conv1],
    [5, 5, s.conv1, s.conv2],
    [s.conv2],
    [flat, s.hidden],
    [s.hidden],
    [s.hidden, s.classes],
    [s.classes],
  ];
}

/** He-uniform kernels and zero biases from a seeded generator. */
export function initCnn(s: CnnSpec, rng: Rng): Weights {
  return cnnShapes(s).map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (i % 2 === 1) return new Float32Array(n);
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const lim = Math.sqrt(6 / fanIn);
    return Float32Array.from({ length: n }, () => rng.uniform(-lim, lim));
  });
}

/** Inverted dropout with a seeded mask (identity when not training or rate 0). */
export function dropout(x: tf.Tensor2D, rate: number, training: boolean, seed: number): tf.Tensor2D {
  if (!training || rate <= 0) return x;
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", seed), rate), "float32");
  return tf.div(tf.mul(x, keep), 1 - rate) as tf.Tensor2D;
}

/**
 * A k×k 'same' convolution as im2col + matmul: the k² shifted views of the zero-padded input are
 * concatenated along channels and multiplied by the kernel reshaped to (k²·C_in) × C_out. Why: the wasm
 * backend has no Conv2DBackpropFilter kernel and the cpu backend's runs at ~10 samples/s; slices,
 * concatenation and matMul all have fast gradients there. Equal to tf.conv2d (tested).
 */
export function conv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [k, , , cOut] = kernel.shape;
  const pad = Math.floor(k / 2);
  const xp = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
  const views: tf.Tensor4D[] = [];
  for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) views.push(tf.slice(xp, [0, dy, dx, 0], [n, h, w, c]));
  const cols = tf.reshape(tf.concat(views, 3), [n * h * w, k * k * c]) as tf.Tensor2D;
  const out = matMulFast(cols, tf.reshape(kernel, [k * k * c, cOut]) as tf.Tensor2D);
  return tf.reshape(out, [n, h, w, cOut]);
}

/** 2×2 max-pooling with stride 2 as reshape + max (its gradient runs on every backend). */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const hh = Math.floor(h / 2), ww = Math.floor(w / 2);
  const cropped = h % 2 || w % 2 ? tf.slice(x, [0, 0, 0, 0], [n, hh * 2, ww * 2, c]) : x;
  return tf.max(tf.reshape(cropped, [n, hh, 2, ww, 2, c]), [2, 4]) as tf.Tensor4D;
}

/** The forward pass for a spec (flattened HWC input rows). */
export function cnnForward(s: CnnSpec): ForwardFn {
  return (p, x, training, seed) => {
    const n = x.shape[0];
    let a: tf.Tensor4D = tf.reshape(x, [n, s.height, s.width, s.channels]);
    a = maxPool2(tf.relu(tf.add(conv2dSame(a, p[0] as tf.Tensor4D), p[1])));
    a = maxPool2(tf.relu(tf.add(conv2dSame(a, p[2] as tf.Tensor4D), p[3])));
    let h = tf.reshape(a, [n, -1]) as tf.Tensor2D;
    h = dropout(h, s.dropout[0], training, seed);
    h = tf.relu(tf.add(matMulFast(h, p[4] as tf.Tensor2D), p[5])) as tf.Tensor2D;
    h = dropout(h, s.dropout[1], training, seed + 1);
    return tf.add(matMulFast(h, p[6] as tf.Tensor2D), p[7]) as tf.Tensor2D;
  };
}
