import { tf } from "../../nn/backend.ts";
import { mlpShapes, type Weights } from "../../nn/mlp.ts";
import { type TensorPart, transposedInputs } from "../../nn/data_tensors.ts";
import { type ForwardPass, hessianBlockOf, softmaxJacobianTimes } from "./hessian_block.ts";

/** An MLP and the L2 terms of its objective f(w, λ) = L(w) + Σ_k λ_k ||W_(k)||². */
export interface MlpObjective {
  /** [W1, b1, W2, b2, ...] as float32 arrays. */
  weights: Weights;
  /** Layer widths [input, hidden..., classes]. */
  sizes: number[];
  /** Group index of each weight matrix. */
  groups: number[];
  /** L2 coefficient of each group. */
  lambdas: number[];
}

/**
 * Exact gradient and Hessian-vector products of f(w, λ) = L(w) + Σ_k λ_k ||W_(k)||² for a ReLU MLP with a
 * softmax cross-entropy loss, L the mean over a data part.
 *
 * Why not nested tf.grad: TensorFlow.js's second-order gradients are wrong for kernels that save their
 * output (exp, softmax, log-softmax). This is Pearlmutter's R-operator (forward-over-reverse), written out
 * with first-order ops only: an R-forward pass carries directional derivatives of the pre-activations, and
 * the backward pass is differentiated in closed form (ReLU'' = 0 almost everywhere; the softmax Jacobian is
 * applied explicitly). Exact up to float32 rounding.
 *
 * @example
 * ```ts
 * const d = new MlpDerivatives({ weights, sizes: [784, 50, 10], groups: [0, 1], lambdas: [1e-4, 1e-3] }, trainPart);
 * const { loss, grad } = d.gradient(); // f and ∇_w f, penalty included
 * const hv = d.hvp(grad); // H·∇f
 * d.dispose();
 * ```
 */
export class MlpDerivatives {
  readonly #W: tf.Tensor2D[];
  readonly #b: tf.Tensor1D[];
  readonly #shapes: number[][];
  readonly #sizes: number[];
  readonly #part: TensorPart;
  readonly #groups: number[];
  readonly #lambdas: number[];
  /** Number of Hessian-vector products computed (a cost figure). */
  hvpCount = 0;

  /**
   * @param model the MLP and its objective: weights, layer widths, groups and their λ (see MlpObjective)
   * @param part the data the loss averages over
   */
  constructor(model: MlpObjective, part: TensorPart) {
    const { weights, sizes, groups, lambdas } = model;
    this.#shapes = mlpShapes(sizes);
    this.#sizes = sizes;
    this.#W = [];
    this.#b = [];
    weights.forEach((w, i) => {
      if (i % 2 === 0) this.#W.push(tf.tensor2d(w, this.#shapes[i] as [number, number]));
      else this.#b.push(tf.tensor1d(w));
    });
    this.#part = part;
    this.#groups = groups;
    this.#lambdas = lambdas;
  }

  get sizes(): number[][] {
    return this.#shapes;
  }

  /** Splits a flat vector into per-parameter tensors (W as 2-D, b as 1-D). */
  #unflatten(v: Float32Array): { VW: tf.Tensor2D[]; Vb: tf.Tensor1D[] } {
    const VW: tf.Tensor2D[] = [];
    const Vb: tf.Tensor1D[] = [];
    let off = 0;
    this.#shapes.forEach((s, i) => {
      const n = s.reduce((a, b) => a * b, 1);
      const sub = v.subarray(off, off + n);
      off += n;
      if (i % 2 === 0) VW.push(tf.tensor2d(sub, s as [number, number]));
      else Vb.push(tf.tensor1d(sub));
    });
    if (off !== v.length) throw new Error(`direction has ${v.length} entries, the model has ${off} parameters`);
    return { VW, Vb };
  }

  #flatten(parts: tf.Tensor[]): Float32Array {
    return readFlat(parts);
  }

  // Transposed copies (actsT, WT) because the wasm backend's transposed matMul is ~10x slower than an
  // explicit transpose (see nn/fast_matmul.ts).
  #cache?: ForwardPass;

  /** The forward and backward pass at the current weights (maskedForward, backDeltas), once per model, cached. */
  #forward() {
    if (this.#cache) return this.#cache;
    const { x, oneHot: y, n } = this.#part;
    const kept = tf.tidy(() => {
      const { acts, masks, logits } = maskedForward(x, this.#W, this.#b);
      const p = tf.softmax(logits);
      const C = logits.shape[1];
      // On a confident model p_c ≈ 1 and 1 − p_c rounds away in float32 (below 6e-8), so no formula below
      // subtracts from p_c ≈ 1: −log p_y = (m − z_y) + log1p(Σ_{c≠top} exp(z_c − m)) with m = max z, and
      // p_y − 1 = −Σ_{c≠y} p_c (measured on a confident model: loss off by 2%, gradient by 0.2%, before).
      const top = tf.oneHot(tf.argMax(logits, 1), C).toFloat() as tf.Tensor2D;
      const m = tf.max(logits, 1, true);
      const others = tf.sum(tf.mul(tf.exp(tf.sub(logits, m)), tf.sub(1, top)), 1, true);
      const perExample = tf.add(tf.sub(m, tf.sum(tf.mul(y, logits), 1, true)), tf.log1p(others));
      const loss = tf.div(tf.sum(perExample), n);
      const pRest = tf.mul(p, tf.sub(1, top)) as tf.Tensor2D;
      const WT = this.#W.map((w) => tf.transpose(w) as tf.Tensor2D);
      const deltas = backDeltas(outputDelta(p, y, n), WT, masks);
      const actsT = transposedActs(acts, this.#part);
      return { acts: acts.slice(1), actsT, WT, masks, p, top, pRest, deltas, loss };
    });
    this.#cache = {
      acts: [x, ...kept.acts],
      actsT: kept.actsT,
      WT: kept.WT,
      masks: kept.masks,
      p: kept.p,
      top: kept.top,
      pRest: kept.pRest,
      deltas: kept.deltas,
      loss: kept.loss.dataSync()[0],
    };
    kept.loss.dispose();
    return this.#cache;
  }

  #penaltyLoss(): number {
    let s = 0;
    for (let l = 0; l < this.#W.length; l++) {
      const lam = this.#lambdas[this.#groups[l]] ?? 0;
      if (lam !== 0) s += lam * tf.tidy(() => tf.sum(tf.square(this.#W[l])).dataSync()[0]);
    }
    return s;
  }

  /** ∇_w of L (and of the penalty when asked), from the cached backward pass. */
  #gradient(withPenalty: boolean): Float32Array {
    const c = this.#forward();
    const lambdas = withPenalty ? this.#W.map((_, l) => this.#lambdas[this.#groups[l]] ?? 0) : undefined;
    return tf.tidy(() => this.#flatten(parameterGradients(c.actsT, c.deltas, this.#W, lambdas)));
  }

  /**
   * H·v by the R-operator, reusing the cached forward/backward pass: an R-forward pass (directional
   * derivatives of the pre-activations), then the R-backward pass (ReLU'' = 0 a.e.; softmax Jacobian applied
   * explicitly).
   */
  #hv(v: Float32Array, withPenalty: boolean): Float32Array {
    const c = this.#forward();
    return tf.tidy(() => {
      const L = this.#W.length;
      const n = this.#part.n;
      const dirs = this.#unflatten(v);
      const racts: (tf.Tensor2D | undefined)[] = [undefined];
      let rlogits!: tf.Tensor2D;
      for (let l = 0; l < L; l++) {
        let rz = tf.add(tf.matMul(c.acts[l], dirs.VW[l]), dirs.Vb[l]) as tf.Tensor2D;
        const ra = racts[l];
        if (ra) rz = tf.add(rz, tf.matMul(ra, this.#W[l])) as tf.Tensor2D;
        if (l < L - 1) racts.push(tf.mul(rz, c.masks[l]) as tf.Tensor2D);
        else rlogits = rz;
      }
      let rdelta = softmaxJacobianTimes(c, rlogits, n);
      // The R-backward pass: backDeltas and parameterGradients differentiated along the direction (each step
      // adds the terms the direction contributes), not a second copy of them.
      const hW: tf.Tensor[] = new Array(L);
      const hb: tf.Tensor[] = new Array(L);
      for (let l = L - 1; l >= 0; l--) {
        let h: tf.Tensor = tf.matMul(c.actsT[l], rdelta);
        const ra = racts[l];
        if (ra) h = tf.add(h, tf.matMul(tf.transpose(ra), c.deltas[l]));
        const lam = this.#lambdas[this.#groups[l]] ?? 0;
        if (withPenalty && lam !== 0) h = tf.add(h, tf.mul(2 * lam, dirs.VW[l]));
        hW[l] = h;
        hb[l] = tf.sum(rdelta, 0);
        if (l > 0) {
          rdelta = tf.mul(
            tf.add(tf.matMul(rdelta, c.WT[l]), tf.matMul(c.deltas[l], tf.transpose(dirs.VW[l]))),
            c.masks[l - 1],
          ) as tf.Tensor2D;
        }
      }
      return this.#flatten(hW.flatMap((w, i) => [w, hb[i]]));
    });
  }

  /** f and its gradient ∇_w f (with the penalty). */
  gradient(withPenalty = true): { loss: number; grad: Float32Array } {
    const grad = this.#gradient(withPenalty);
    return { loss: this.#forward().loss + (withPenalty ? this.#penaltyLoss() : 0), grad };
  }

  /** H·v where H = ∇²_w f (with the penalty unless told otherwise). */
  hvp(v: Float32Array, withPenalty = true): Float32Array {
    this.hvpCount++;
    return this.#hv(v, withPenalty);
  }

  /**
   * H[B, B] for the flat parameter indices B (row-major; hessian_block.ts): B's columns read at B's rows, by
   * the R-operator for all columns at once instead of one full HVP each. Counted as |B| HVPs.
   */
  hessianBlock(
    indices: number[],
    opts: { withPenalty?: boolean; maxFloats?: number; onChunk?: (done: number, total: number) => void } = {},
  ): Float64Array {
    this.hvpCount += indices.length;
    return hessianBlockOf({
      pass: this.#forward(),
      W: this.#W,
      sizes: this.#sizes,
      n: this.#part.n,
      indices,
      lambdaOfLayer: this.#W.map((_, l) => this.#lambdas[this.#groups[l]] ?? 0),
      withPenalty: opts.withPenalty ?? true,
      maxFloats: opts.maxFloats,
      onChunk: opts.onChunk,
    });
  }

  /** Releases the tensors held. */
  dispose(): void {
    tf.dispose([...this.#W, ...this.#b]);
    if (this.#cache) {
      tf.dispose([
        ...this.#cache.acts.slice(1),
        ...this.#cache.actsT.slice(1),
        ...this.#cache.WT,
        ...this.#cache.masks,
        this.#cache.p,
        this.#cache.top,
        this.#cache.pRest,
        ...this.#cache.deltas,
      ]);
    }
    this.#cache = undefined;
  }
}

/**
 * dL/dlogits for the mean softmax cross-entropy: (p − y)/n, with p_y − 1 formed as −Σ_{c≠y} p_c, since
 * 1 − p_y rounds away in float32 on a confident model.
 */
function outputDelta(p: tf.Tensor2D, y: tf.Tensor2D, n: number): tf.Tensor2D {
  const pNotY = tf.mul(p, tf.sub(1, y));
  return tf.div(tf.sub(pNotY, tf.mul(y, tf.sum(pNotY, 1, true))), n) as tf.Tensor2D;
}

/**
 * ∇_w f(w, λ) on `part` (with the penalty unless told otherwise) by one forward and one backward pass that
 * keep nothing: what MlpDerivatives.gradient returns, without the cache its Hessian-vector products need
 * (3× cheaper for a model without a hidden layer, where HLS only wants the gradient's norm).
 */
export function objectiveGradient(model: MlpObjective, part: TensorPart, withPenalty = true): Float32Array {
  const shapes = mlpShapes(model.sizes);
  const lambdas = withPenalty ? model.groups.map((g) => model.lambdas[g] ?? 0) : undefined;
  return tf.tidy(() => {
    const W = model.weights.filter((_, i) => i % 2 === 0).map((w, l) => tf.tensor2d(w, shapes[2 * l] as [number, number]));
    const b = model.weights.filter((_, i) => i % 2 === 1).map((w) => tf.tensor1d(w));
    const { acts, masks, logits } = maskedForward(part.x, W, b);
    const deltas = backDeltas(outputDelta(tf.softmax(logits), part.oneHot, part.n), W.map((w) => tf.transpose(w) as tf.Tensor2D), masks);
    return readFlat(parameterGradients(transposedActs(acts, part), deltas, W, lambdas));
  });
}

/**
 * The forward pass the R-operator needs: every layer's input (acts[0] = x) and ReLU mask, and the logits. Not
 * nn/mlp.ts's `forward` on purpose: it keeps every activation and mask, and applies ReLU as z·mask, the same
 * mask its derivative is.
 */
function maskedForward(
  x: tf.Tensor2D,
  W: tf.Tensor2D[],
  b: tf.Tensor1D[],
): { acts: tf.Tensor2D[]; masks: tf.Tensor2D[]; logits: tf.Tensor2D } {
  const L = W.length;
  const acts: tf.Tensor2D[] = [x];
  const masks: tf.Tensor2D[] = [];
  let logits!: tf.Tensor2D;
  for (let l = 0; l < L; l++) {
    const z = tf.add(tf.matMul(acts[l], W[l]), b[l]) as tf.Tensor2D;
    if (l < L - 1) {
      const mask = tf.cast(tf.greater(z, 0), "float32") as tf.Tensor2D;
      masks.push(mask);
      acts.push(tf.mul(z, mask) as tf.Tensor2D);
    } else logits = z;
  }
  return { acts, masks, logits };
}

/** The backward pass: deltas[l] = dL/dz_l (mean over n) from the output layer's, through the transposed weights and masks. */
function backDeltas(outputDelta: tf.Tensor2D, WT: tf.Tensor2D[], masks: tf.Tensor2D[]): tf.Tensor2D[] {
  const L = WT.length;
  const deltas: tf.Tensor2D[] = new Array(L);
  deltas[L - 1] = outputDelta;
  for (let l = L - 1; l > 0; l--) deltas[l - 1] = tf.mul(tf.matMul(deltas[l], WT[l]), masks[l - 1]) as tf.Tensor2D;
  return deltas;
}

/**
 * Each layer's input transposed. Explicit transposes because the wasm backend's transposed matMul is ~10× slower
 * (nn/fast_matmul.ts); x's transpose is the same for every model on this data, made once and kept with the part.
 */
function transposedActs(acts: tf.Tensor2D[], part: TensorPart): tf.Tensor2D[] {
  return acts.map((a, l) => (l === 0 ? transposedInputs(part) : tf.transpose(a) as tf.Tensor2D));
}

/**
 * ∇ of each layer's weights and biases, [gW1, gb1, gW2, …]: a_lᵀ δ_l (plus 2λ_l W_l where `lambdas` gives a
 * nonzero λ for layer l; no penalty without it) and Σ_n δ_l.
 */
function parameterGradients(actsT: tf.Tensor2D[], deltas: tf.Tensor2D[], W: tf.Tensor2D[], lambdas?: number[]): tf.Tensor[] {
  const parts: tf.Tensor[] = [];
  for (let l = 0; l < W.length; l++) {
    let gW: tf.Tensor = tf.matMul(actsT[l], deltas[l]);
    const lam = lambdas?.[l] ?? 0;
    if (lam !== 0) gW = tf.add(gW, tf.mul(2 * lam, W[l]));
    parts.push(gW, tf.sum(deltas[l], 0));
  }
  return parts;
}

/** The tensors' values one after the other in one flat float32 array. */
function readFlat(parts: tf.Tensor[]): Float32Array {
  const arrays = parts.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
  let off = 0;
  for (const a of arrays) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}
