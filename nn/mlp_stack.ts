import { tf, tidyRead } from "./backend.ts";
import type { TensorPart } from "./data_tensors.ts";
import type { Metrics } from "./train_options.ts";
import type { Weights } from "./mlp.ts";

/**
 * K MLPs of the same depth laid out as one padded "stack", so that a training step or an evaluation of all
 * K models is a handful of large tensor ops instead of K times as many small ones (per-op overhead, not
 * arithmetic, dominates small models on the wasm backend).
 *
 * Hidden widths are padded to the widest member. A padded unit has zero incoming weights and bias, so its
 * pre-activation is exactly 0, its ReLU output is 0 and its ReLU derivative is 0: every gradient that
 * touches it is exactly zero, and with zero-initialised optimiser state it stays zero forever. Each member
 * therefore computes the same function, and receives the same gradients, as it would alone.
 *
 * Tensor layout (s_l = padded width of layer l, s_0 = inputs, s_L = classes):
 *   layer 1:  W [s_0, K·s_1] (member k owns columns k·s_1 … k·s_1+s_1−1), b [K·s_1]
 *   layer l>1: W [K, s_{l−1}, s_l], b [K, 1, s_l]
 * The first layer is one wide matmul shared by all members; deeper layers are batched matmuls.
 */
export interface StackLayout {
  /** Number of members. */
  K: number;
  /** Padded layer widths [s_0, …, s_L]. */
  sizes: number[];
  /** Each member's true layer widths. */
  memberSizes: number[][];
  /** Shapes of the 2L parameter tensors [W1, b1, W2, b2, …]. */
  shapes: number[][];
  /** Offset of each parameter tensor in the flat parameter vector. */
  offsets: number[];
  /** Length of the flat parameter vector. */
  size: number;
}

/** The stack layout for members with the given true layer widths (all of the same depth and input/output). */
export function stackLayout(memberSizes: number[][]): StackLayout {
  if (memberSizes.length === 0) throw new Error("a stack needs at least one member");
  const L = memberSizes[0].length - 1;
  for (const s of memberSizes) {
    if (s.length !== L + 1 || s[0] !== memberSizes[0][0] || s[L] !== memberSizes[0][L]) {
      throw new Error(`stack members must share depth, inputs and classes: got ${JSON.stringify(s)} and ${JSON.stringify(memberSizes[0])}`);
    }
  }
  const K = memberSizes.length;
  const sizes = memberSizes[0].map((_, l) => Math.max(...memberSizes.map((s) => s[l])));
  const shapes: number[][] = [[sizes[0], K * sizes[1]], [K * sizes[1]]];
  for (let l = 2; l <= L; l++) shapes.push([K, sizes[l - 1], sizes[l]], [K, 1, sizes[l]]);
  const offsets: number[] = [];
  let size = 0;
  for (const s of shapes) {
    offsets.push(size);
    size += s.reduce((a, b) => a * b, 1);
  }
  return { K, sizes, memberSizes, shapes, offsets, size };
}

/** Flat index of member k's entry (i, j) of weight matrix l (0-based), or of bias entry j when i < 0. */
function flatIndex(st: StackLayout, k: number, l: number, i: number, j: number): number {
  const sIn = st.sizes[l], sOut = st.sizes[l + 1];
  if (l === 0) return i < 0 ? st.offsets[1] + k * sOut + j : st.offsets[0] + i * st.K * sOut + k * sOut + j;
  return i < 0 ? st.offsets[2 * l + 1] + k * sOut + j : st.offsets[2 * l] + k * sIn * sOut + i * sOut + j;
}

/** Packs each member's weights [W1, b1, …] (true widths) into the flat padded vector; padding is zero. */
export function packStack(st: StackLayout, members: Weights[]): Float32Array {
  const flat = new Float32Array(st.size);
  members.forEach((w, k) => {
    const sz = st.memberSizes[k];
    for (let l = 0; l < sz.length - 1; l++) {
      const [fi, fo] = [sz[l], sz[l + 1]];
      if (w[2 * l].length !== fi * fo || w[2 * l + 1].length !== fo) {
        throw new Error(`member ${k}: layer ${l + 1} weights do not match widths ${fi}×${fo}`);
      }
      for (let i = 0; i < fi; i++) for (let j = 0; j < fo; j++) flat[flatIndex(st, k, l, i, j)] = w[2 * l][i * fo + j];
      for (let j = 0; j < fo; j++) flat[flatIndex(st, k, l, -1, j)] = w[2 * l + 1][j];
    }
  });
  return flat;
}

/** Inverse of packStack: each member's weights at its true widths. */
export function unpackStack(st: StackLayout, flat: ArrayLike<number>): Weights[] {
  return st.memberSizes.map((sz, k) => {
    const out: Weights = [];
    for (let l = 0; l < sz.length - 1; l++) {
      const [fi, fo] = [sz[l], sz[l + 1]];
      const w = new Float32Array(fi * fo), b = new Float32Array(fo);
      for (let i = 0; i < fi; i++) for (let j = 0; j < fo; j++) w[i * fo + j] = flat[flatIndex(st, k, l, i, j)];
      for (let j = 0; j < fo; j++) b[j] = flat[flatIndex(st, k, l, -1, j)];
      out.push(w, b);
    }
    return out;
  });
}

/** A flat vector with `value(k, l)` at every weight-matrix entry of member k's layer l and 0 at biases. */
export function perWeightVector(st: StackLayout, value: (k: number, l: number) => number): Float32Array {
  const flat = new Float32Array(st.size);
  st.memberSizes.forEach((sz, k) => {
    for (let l = 0; l < sz.length - 1; l++) {
      const v = value(k, l);
      if (v === 0) continue;
      for (let i = 0; i < sz[l]; i++) for (let j = 0; j < sz[l + 1]; j++) flat[flatIndex(st, k, l, i, j)] = v;
    }
  });
  return flat;
}

/**
 * The parameter tensors, uploaded from the flat host vector one tensor at a time. Why not one upload and a
 * split: the wasm slice kernel copies its whole input on every call (readSync), so splitting a 50k vector
 * into 12 tensors moved 2.4 MB per step.
 */
export function uploadStack(st: StackLayout, flat: Float32Array): tf.Tensor[] {
  // slice(), not subarray(): the cpu backend keeps the array it is given, and the host vector changes
  return st.shapes.map((s, i) => tf.tensor(flat.slice(st.offsets[i], st.offsets[i] + s.reduce((a, b) => a * b, 1)), s));
}

/** Reads parameter-shaped tensors (e.g. gradients) back into one flat host vector. */
export function downloadStack(st: StackLayout, tensors: tf.Tensor[], out = new Float32Array(st.size)): Float32Array {
  tensors.forEach((t, i) => out.set(t.dataSync() as Float32Array, st.offsets[i]));
  return out;
}

/**
 * Forward pass of all members on a batch x [n, s_0]. Returns the activations of every layer as [K, n, s_l]
 * (ReLU outputs for hidden layers); the last entry is the logits [K, n, classes]. Not nn/mlp.ts's `forward`
 * on purpose: K models in one fused first-layer matmul and batched deeper matmuls, keeping every activation
 * for the hand-written backward pass.
 */
export function forwardStack(st: StackLayout, p: tf.Tensor[], x: tf.Tensor2D): tf.Tensor3D[] {
  const L = st.sizes.length - 1, K = st.K, n = x.shape[0];
  const z1 = tf.fused.matMul({ a: x, b: p[0] as tf.Tensor2D, bias: p[1], activation: L > 1 ? "relu" : "linear" });
  let a = tf.transpose(tf.reshape(z1, [n, K, st.sizes[1]]), [1, 0, 2]) as tf.Tensor3D;
  const acts = [a];
  for (let l = 2; l <= L; l++) {
    const z = tf.add(tf.matMul(a, p[2 * l - 2] as tf.Tensor3D), p[2 * l - 1]) as tf.Tensor3D;
    a = l < L ? tf.relu(z) : z;
    acts.push(a);
  }
  return acts;
}

/**
 * Gradients of Σ_k mean cross-entropy_k with respect to every parameter tensor (hand-written backward pass:
 * no tape, no gradient for the input, and only untransposed matmuls, which the wasm backend runs ~10x
 * faster than transposed ones). `xT` is the batch transposed ([s_0, B], built on the host: measured faster
 * than (dZᵀ·x)ᵀ even for B = 512), `y` the batch's one-hot labels [B, C], `acts` forwardStack's activations.
 */
export function stackGradients(
  st: StackLayout,
  p: tf.Tensor[],
  { acts, xT, y }: { acts: tf.Tensor3D[]; xT: tf.Tensor2D; y: tf.Tensor2D },
): tf.Tensor[] {
  const L = st.sizes.length - 1, K = st.K, B = y.shape[0];
  const grads: tf.Tensor[] = new Array(2 * L);
  let dz = tf.mul(tf.sub(tf.softmax(acts[L - 1]), tf.reshape(y, [1, B, y.shape[1]])), 1 / B) as tf.Tensor3D;
  for (let l = L; l >= 2; l--) {
    const aPrev = acts[l - 2];
    grads[2 * l - 2] = tf.matMul(tf.transpose(aPrev, [0, 2, 1]), dz);
    grads[2 * l - 1] = tf.sum(dz, 1, true);
    const da = tf.matMul(dz, tf.transpose(p[2 * l - 2], [0, 2, 1]) as tf.Tensor3D);
    dz = tf.mul(da, tf.step(aPrev)) as tf.Tensor3D;
  }
  const dz1 = tf.reshape(tf.transpose(dz, [1, 0, 2]), [B, K * st.sizes[1]]) as tf.Tensor2D;
  grads[0] = tf.matMul(xT, dz1);
  grads[1] = tf.sum(dz1, 0);
  return grads;
}

/** Summed cross-entropy and number of correct predictions per member on a batch (for evaluation). */
export function stackLossAndCorrect(
  logits: tf.Tensor3D,
  y: tf.Tensor2D,
  labels: tf.Tensor1D,
): { ceSum: tf.Tensor1D; correct: tf.Tensor1D } {
  const m = tf.max(logits, 2, true);
  const shifted = tf.sub(logits, m);
  const lse = tf.log(tf.sum(tf.exp(shifted), 2));
  const picked = tf.sum(tf.mul(shifted, tf.reshape(y, [1, ...y.shape])), 2);
  const ceSum = tf.sum(tf.sub(lse, picked), 1) as tf.Tensor1D;
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 2), tf.reshape(labels, [1, -1])), "float32"), 1) as tf.Tensor1D;
  return { ceSum, correct };
}

/**
 * Loss and accuracy of K models on a data part, accumulated over row chunks (to bound memory):
 * `logitsOf` maps a chunk of inputs [rows, features] to the K models' logits [K, rows, classes].
 */
export function chunkedStackMetrics(part: TensorPart, K: number, logitsOf: (x: tf.Tensor2D) => tf.Tensor3D, chunk = 5000): Metrics[] {
  const ce = new Float64Array(K), right = new Float64Array(K);
  for (let s = 0; s < part.n; s += chunk) {
    const e = Math.min(part.n, s + chunk);
    // one chunk covering the part reads it as it is: a slice is a copy (~5 ms per 5,000 × 784 on wasm)
    const whole = s === 0 && e === part.n;
    const { c, r } = tidyRead(() => {
      const out = stackLossAndCorrect(
        logitsOf(whole ? part.x : part.x.slice([s, 0], [e - s, -1])),
        whole ? part.oneHot : part.oneHot.slice([s, 0], [e - s, -1]),
        whole ? part.y : part.y.slice([s], [e - s]),
      );
      return { c: out.ceSum, r: out.correct };
    });
    for (let k = 0; k < K; k++) [ce[k], right[k]] = [ce[k] + c[k], right[k] + r[k]];
  }
  return Array.from(ce, (v, k) => ({ loss: v / part.n, acc: right[k] / part.n }));
}
