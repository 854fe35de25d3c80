import { tf } from "../nn/backend.ts";
import type { Weights } from "../nn/mlp.ts";
import type { TensorPart } from "../nn/data_tensors.ts";

/**
 * Exact gradient and Hessian-vector products of f(w, λ) = L(w) + Σ_k λ_k ||W_(k)||² for a ReLU MLP with a
 * softmax cross-entropy loss, L the mean over a data part.
 *
 * Why not nested tf.grad: TensorFlow.js's second-order gradients are wrong for kernels that save their
 * output (exp, softmax, log-softmax). This is Pearlmutter's R-operator (forward-over-reverse), written out
 * with first-order ops only: an R-forward pass carries directional derivatives of the pre-activations, and
 * the backward pass is differentiated in closed form (ReLU'' = 0 almost everywhere; the softmax Jacobian is
 * applied explicitly). Exact up to float32 rounding.
 */
export class MlpDerivatives {
  readonly #params: tf.Tensor2D[] | tf.Tensor1D[];
  readonly #W: tf.Tensor2D[];
  readonly #b: tf.Tensor1D[];
  readonly #shapes: number[][];
  readonly #part: TensorPart;
  readonly #groups: number[];
  readonly #lambdas: number[];
  /** Number of Hessian-vector products computed (a cost figure). */
  hvpCount = 0;

  /**
   * @param weights [W1, b1, W2, b2, ...] as float32 arrays
   * @param sizes layer widths [input, hidden..., classes]
   * @param part the data the loss averages over
   * @param groups group index of each weight matrix
   * @param lambdas L2 coefficient of each group
   */
  constructor(weights: Weights, sizes: number[], part: TensorPart, groups: number[], lambdas: number[]) {
    this.#shapes = sizes.slice(1).flatMap((o, l) => [[sizes[l], o], [o]]);
    this.#W = [];
    this.#b = [];
    weights.forEach((w, i) => {
      if (i % 2 === 0) this.#W.push(tf.tensor2d(w, this.#shapes[i] as [number, number]));
      else this.#b.push(tf.tensor1d(w));
    });
    this.#params = [];
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
    const arrays = parts.map((t) => t.dataSync() as Float32Array);
    const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
    let off = 0;
    for (const a of arrays) {
      out.set(a, off);
      off += a.length;
    }
    return out;
  }

  /**
   * The core pass. With v undefined: the gradient of f. With v: also H·v. `withPenalty` false gives the
   * derivatives of the plain loss L (used for the validation loss, which has no penalty).
   */
  #pass(v: Float32Array | undefined, withPenalty: boolean): { grad: Float32Array; hv?: Float32Array; loss: number } {
    return tf.tidy(() => {
      const L = this.#W.length;
      const { x, oneHot: y, n } = this.#part;
      const dirs = v ? this.#unflatten(v) : undefined;
      // forward and R-forward
      const acts: tf.Tensor2D[] = [x];
      const racts: (tf.Tensor2D | undefined)[] = [undefined];
      const masks: tf.Tensor2D[] = [];
      let logits!: tf.Tensor2D;
      let rlogits: tf.Tensor2D | undefined;
      for (let l = 0; l < L; l++) {
        const a = acts[l];
        const z = tf.add(tf.matMul(a, this.#W[l]), this.#b[l]) as tf.Tensor2D;
        let rz: tf.Tensor2D | undefined;
        if (dirs) {
          rz = tf.add(tf.matMul(a, dirs.VW[l]), dirs.Vb[l]) as tf.Tensor2D;
          const ra = racts[l];
          if (ra) rz = tf.add(rz, tf.matMul(ra, this.#W[l])) as tf.Tensor2D;
        }
        if (l < L - 1) {
          const mask = tf.cast(tf.greater(z, 0), "float32") as tf.Tensor2D;
          masks.push(mask);
          acts.push(tf.mul(z, mask) as tf.Tensor2D);
          racts.push(rz ? (tf.mul(rz, mask) as tf.Tensor2D) : undefined);
        } else {
          logits = z;
          rlogits = rz;
        }
      }
      const p = tf.softmax(logits);
      const logp = tf.sub(logits, tf.logSumExp(logits, 1, true));
      const loss = tf.neg(tf.div(tf.sum(tf.mul(y, logp)), n));
      // backward: delta = dL/dz for each layer (mean over n)
      let delta = tf.div(tf.sub(p, y), n) as tf.Tensor2D;
      let rdelta: tf.Tensor2D | undefined;
      if (rlogits) {
        const prz = tf.mul(p, rlogits);
        rdelta = tf.div(tf.sub(prz, tf.mul(p, tf.sum(prz, 1, true))), n) as tf.Tensor2D;
      }
      const gW: tf.Tensor[] = new Array(L);
      const gb: tf.Tensor[] = new Array(L);
      const hW: tf.Tensor[] = new Array(L);
      const hb: tf.Tensor[] = new Array(L);
      for (let l = L - 1; l >= 0; l--) {
        const a = acts[l];
        gW[l] = tf.matMul(a, delta, true, false);
        gb[l] = tf.sum(delta, 0);
        if (rdelta && dirs) {
          let h = tf.matMul(a, rdelta, true, false);
          const ra = racts[l];
          if (ra) h = tf.add(h, tf.matMul(ra, delta, true, false));
          hW[l] = h;
          hb[l] = tf.sum(rdelta, 0);
        }
        if (l > 0) {
          const mask = masks[l - 1];
          const nextDelta = tf.mul(tf.matMul(delta, this.#W[l], false, true), mask) as tf.Tensor2D;
          if (rdelta && dirs) {
            rdelta = tf.mul(tf.add(tf.matMul(rdelta, this.#W[l], false, true), tf.matMul(delta, dirs.VW[l], false, true)), mask) as tf.Tensor2D;
          }
          delta = nextDelta;
        }
      }
      let lossVal = loss.dataSync()[0];
      if (withPenalty) {
        for (let l = 0; l < L; l++) {
          const lam = this.#lambdas[this.#groups[l]] ?? 0;
          if (lam === 0) continue;
          gW[l] = tf.add(gW[l], tf.mul(2 * lam, this.#W[l]));
          if (dirs) hW[l] = tf.add(hW[l], tf.mul(2 * lam, dirs.VW[l]));
          lossVal += lam * tf.sum(tf.square(this.#W[l])).dataSync()[0];
        }
      }
      const interleave = (W: tf.Tensor[], b: tf.Tensor[]) => W.flatMap((w, i) => [w, b[i]]);
      const grad = this.#flatten(interleave(gW, gb));
      const hv = dirs ? this.#flatten(interleave(hW, hb)) : undefined;
      return { grad, hv, loss: lossVal };
    });
  }

  /** f and its gradient ∇_w f (with the penalty). */
  gradient(withPenalty = true): { loss: number; grad: Float32Array } {
    const r = this.#pass(undefined, withPenalty);
    return { loss: r.loss, grad: r.grad };
  }

  /** H·v where H = ∇²_w f (with the penalty unless told otherwise). */
  hvp(v: Float32Array, withPenalty = true): Float32Array {
    this.hvpCount++;
    return this.#pass(v, withPenalty).hv!;
  }

  /** Releases the tensors held. */
  dispose(): void {
    tf.dispose([...this.#W, ...this.#b, ...this.#params]);
  }
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
