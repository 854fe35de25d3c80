/**
 * Adam and SGD(momentum) updates of a flat float32 parameter vector, on the host. Why not tensor ops: an
 * Adam step is ~14 elementwise kernels, each a full pass over the parameters plus a dispatch, which
 * measured ~0.5 ms per step for a 50k-parameter MLP on wasm; this single fused loop takes a fraction of that
 * (bench/training.ts). The formulas are the textbook ones (Kingma & Ba 2015, with ε added to √v̂; PyTorch
 * SGD with momentum and weight decay), computed in float64 and stored as float32.
 */
export interface HostOptimizerOptions {
  optimizer: "adam" | "sgd";
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  /** Adds weightDecay·θ to every gradient entry (weightDecay/2·||θ||² in the objective). */
  weightDecay: number;
}

/** Optimiser state for one flat parameter vector. */
export class HostOptimizer {
  readonly #m: Float32Array;
  readonly #v: Float32Array | undefined;
  /** Per-entry coefficient c of the gradient term c·θ: the L2 term's 2λ plus the weight decay. */
  readonly #decay: Float64Array;
  #t = 0;
  static readonly beta1 = 0.9;
  static readonly beta2 = 0.999;
  static readonly epsilon = 1e-7;

  /**
   * @param size length of the parameter vector
   * @param l2 optional per-entry coefficient c with gradient term c·θ (2λ at weights of a λ-penalised layer, 0 at biases)
   */
  constructor(readonly opts: HostOptimizerOptions, size: number, l2?: Float32Array) {
    if (l2 && l2.length !== size) throw new Error(`l2 coefficients have ${l2.length} entries, parameters ${size}`);
    this.#m = new Float32Array(size);
    this.#v = opts.optimizer === "adam" ? new Float32Array(size) : undefined;
    this.#decay = new Float64Array(size).fill(opts.weightDecay);
    if (l2) { for (let i = 0; i < size; i++) this.#decay[i] += l2[i]; }
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.#t;
  }

  /** One update of `theta` in place from the loss gradient `grad` at learning rate `lr`. */
  step(theta: Float32Array, grad: ArrayLike<number>, lr: number): void {
    const n = theta.length;
    if (grad.length !== n) throw new Error(`gradient has ${grad.length} entries, parameters ${n}`);
    this.#t++;
    const decay = this.#decay, m = this.#m, v = this.#v;
    if (v) {
      const { beta1: b1, beta2: b2, epsilon: eps } = HostOptimizer;
      // lr·m̂/(√v̂ + ε) with m̂ = m/c1, v̂ = v/c2, rearranged to one square root and one division per entry
      const c1 = 1 - Math.pow(b1, this.#t), sc2 = Math.sqrt(1 - Math.pow(b2, this.#t));
      const a = (lr * sc2) / c1, e = eps * sc2;
      for (let i = 0; i < n; i++) {
        const g = grad[i] + decay[i] * theta[i];
        const mi = b1 * m[i] + (1 - b1) * g;
        const vi = b2 * v[i] + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        theta[i] -= (a * mi) / (Math.sqrt(vi) + e);
      }
    } else {
      const mom = this.opts.momentum;
      for (let i = 0; i < n; i++) {
        const g = grad[i] + decay[i] * theta[i];
        const d = mom > 0 ? (m[i] = mom * m[i] + g) : g;
        theta[i] -= lr * d;
      }
    }
  }
}
