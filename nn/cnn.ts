import { tf } from "./backend.ts";
import type { Rng } from "../data/rng.ts";
import type { ForwardFn } from "./train.ts";
import { matMulFast } from "./fast_matmul.ts";
import { initParams } from "./init.ts";
import { forward, type LayerInputHook, type Weights } from "./mlp.ts";

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

/**
 * The convolutional part every CNN here shares (seed 001's and CPMLHO's): shapes [K1, b1, K2, b2] of two 5×5 'same'
 * convolutions, each followed by a 2×2 max-pool (cnnLogits), and the width of their flattened output.
 */
export function convLayout(image: ImageShape, channels: [number, number]): { shapes: number[][]; flat: number } {
  const [h, w, c] = image;
  const [c1, c2] = channels;
  return { shapes: [[5, 5, c, c1], [c1], [5, 5, c1, c2], [c2]], flat: Math.floor(h / 4) * Math.floor(w / 4) * c2 };
}

/** Parameter shapes: [K1, b1, K2, b2, W3, b3, W4, b4]. */
export function cnnShapes(s: CnnSpec): number[][] {
  const { shapes, flat } = convLayout([s.height, s.width, s.channels], [s.conv1, s.conv2]);
  return [
    ...shapes,
    [flat, s.hidden],
    [s.hidden],
    [s.hidden, s.classes],
    [s.classes],
  ];
}

/** He-uniform kernels and zero biases from a seeded generator (nn/init.ts). */
export function initCnn(s: CnnSpec, rng: Rng): Weights {
  return initParams(cnnShapes(s), rng, "he");
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

/** Image shape [height, width, channels] of the flattened HWC input rows. */
export type ImageShape = [number, number, number];

/** Hooks on the layer inputs of a CNN (each sees its layer's input flattened to [n, features]). */
export interface CnnHooks {
  /** Before conv layer l (l = 0 sees the input rows). */
  beforeConv?: LayerInputHook;
  /** Before dense layer l (counted from the first dense layer). */
  beforeDense?: LayerInputHook;
}

/**
 * The CNN forward pass, the one definition: conv blocks (k×k 'same' conv, bias, ReLU, 2×2 max-pool), one
 * per leading rank-4 kernel of `p`, then the MLP forward pass (nn/mlp.ts) on the flattened features for the
 * remaining dense layers. Seed 001's network and seed 003's (CPMLHO, its baselines) are both this; they
 * differ in their layers and in where they drop out (the hooks).
 */
export function cnnLogits(p: tf.Tensor[], x: tf.Tensor2D, image: ImageShape, hooks: CnnHooks = {}): tf.Tensor2D {
  const [h, w, c] = image;
  const n = x.shape[0];
  const { beforeConv, beforeDense } = hooks;
  let convs = 0;
  while (p[2 * convs]?.rank === 4) convs++;
  let a: tf.Tensor4D = tf.reshape(beforeConv ? beforeConv(x, 0) : x, [n, h, w, c]);
  for (let l = 0; l < convs; l++) {
    if (l > 0 && beforeConv) a = tf.reshape(beforeConv(tf.reshape(a, [n, -1]) as tf.Tensor2D, l), a.shape);
    a = maxPool2(tf.relu(tf.add(conv2dSame(a, p[2 * l] as tf.Tensor4D), p[2 * l + 1])));
  }
  return forward(p.slice(2 * convs), tf.reshape(a, [n, -1]) as tf.Tensor2D, { before: beforeDense });
}

/** The forward pass for a spec (flattened HWC input rows): dropout before each fully connected layer. */
export function cnnForward(s: CnnSpec): ForwardFn {
  return (p, x, training, seed) =>
    cnnLogits(p, x, [s.height, s.width, s.channels], {
      beforeDense: (a, l) => dropout(a, s.dropout[l], training, seed + l),
    });
}
