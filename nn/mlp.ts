import { tf } from "./backend.ts";
import type { Rng } from "../data/rng.ts";
import { matMulFast } from "./fast_matmul.ts";
import { initParams } from "./init.ts";
import type { GroupScheme, MlpSpec } from "./mlp_spec.ts";

// schemas apart from the network's code (a stored spec is checked without TensorFlow.js)
export type { GroupScheme, MlpSpec } from "./mlp_spec.ts";

/** Layer widths with absent (0-width) hidden layers removed. */
export function layerSizes(spec: MlpSpec): number[] {
  return [spec.input, ...spec.hidden.filter((h) => h > 0), spec.classes];
}

/** Parameter shapes for layer widths `sizes`: [[in, out], [out], ...] for [W1, b1, W2, b2, ...]. */
export function mlpShapes(sizes: number[]): number[][] {
  return sizes.slice(1).flatMap((o, l) => [[sizes[l], o], [o]]);
}

/** Index ranges of each parameter array in the flat vector [W1, b1, W2, b2, ...]. */
export function parameterOffsets(shapes: number[][]): { start: number; length: number; isWeight: boolean; layer: number }[] {
  let off = 0;
  return shapes.map((s, i) => {
    const length = s.reduce((a, b) => a * b, 1);
    const r = { start: off, length, isWeight: i % 2 === 0, layer: i >> 1 };
    off += length;
    return r;
  });
}

/** Number of weight matrices (= dense layers). */
export function layerCount(spec: MlpSpec): number {
  return layerSizes(spec).length - 1;
}

/**
 * Group index of each layer's weight matrix: 1HP puts every layer in group 0; 2HP puts hidden layers in
 * group 0 and the output layer in group 1 (with no hidden layer, the output layer is group 1 and group 0
 * is empty); perLayer gives layer l group l.
 */
export function weightGroups(spec: MlpSpec, scheme: GroupScheme): { groups: number[]; count: number } {
  const L = layerCount(spec);
  if (scheme === "1HP") return { groups: new Array(L).fill(0), count: 1 };
  if (scheme === "2HP") return { groups: Array.from({ length: L }, (_, l) => (l === L - 1 ? 1 : 0)), count: 2 };
  return { groups: Array.from({ length: L }, (_, l) => l), count: L };
}

/** Weights as plain float32 arrays: [W1, b1, W2, b2, ...], W_l row-major (in × out). */
export type Weights = Float32Array[];

/** Glorot-uniform weights and zero biases, from a seeded generator (bit-reproducible; nn/init.ts). */
export function initWeights(spec: MlpSpec, rng: Rng): Weights {
  return initParams(mlpShapes(layerSizes(spec)), rng, "glorot");
}

/** Transforms the input of layer `layer` before the layer uses it (dropout). */
export type LayerInputHook = (a: tf.Tensor2D, layer: number) => tf.Tensor2D;

/**
 * The MLP forward pass, the one definition: logits of the dense layers [W1, b1, W2, b2, …] for a batch
 * x [n, input], ReLU after every layer but the last. `before` (optional) transforms each layer's input
 * (dropout, relaxed dropout). `layers` applies only the first so many layers (then every one is followed by
 * its ReLU: the hidden activations). The batched many-model pass is nn/mlp_stack.ts's forwardStack; the
 * R-operator's pass with kept ReLU masks is bilevel/hessian/hvp.ts's.
 *
 * @example
 * ```ts
 * const logits = forward(params, x);
 * const hidden = forward(params, x, { layers: params.length / 2 - 1 });
 * ```
 */
export function forward(params: tf.Tensor[], x: tf.Tensor2D, o: { before?: LayerInputHook; layers?: number } = {}): tf.Tensor2D {
  let a: tf.Tensor2D = x;
  const L = params.length / 2;
  const upTo = o.layers ?? L;
  for (let l = 0; l < upTo; l++) {
    const z = tf.add(matMulFast(o.before ? o.before(a, l) : a, params[2 * l] as tf.Tensor2D), params[2 * l + 1]) as tf.Tensor2D;
    a = l < L - 1 ? tf.relu(z) : z;
  }
  return a;
}

/** Mean cross-entropy of logits against one-hot labels (log-softmax written with first-order-safe ops). */
export function crossEntropy(logits: tf.Tensor2D, yOneHot: tf.Tensor2D): tf.Scalar {
  const m = tf.max(logits, 1, true);
  const shifted = tf.sub(logits, m);
  const lse = tf.log(tf.sum(tf.exp(shifted), 1, true));
  return tf.neg(tf.mean(tf.sum(tf.mul(yOneHot, tf.sub(shifted, lse)), 1)));
}

/** Σ_k λ_k ||W_(k)||², biases excluded. */
export function l2Penalty(params: tf.Tensor[], groups: number[], lambdas: number[]): tf.Scalar {
  let total: tf.Scalar = tf.scalar(0);
  for (let l = 0; l < groups.length; l++) {
    const lam = lambdas[groups[l]] ?? 0;
    if (lam !== 0) total = tf.add(total, tf.mul(lam, tf.sum(tf.square(params[2 * l])))) as tf.Scalar;
  }
  return total;
}
