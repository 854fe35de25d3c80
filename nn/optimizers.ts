import { tf } from "./backend.ts";

/**
 * The optimisers: Adam (Kingma & Ba 2015, with ε added to √v̂) and SGD with momentum (PyTorch's form),
 * plus weight decay. Two implementations of the same recurrences, on purpose:
 * - `HostOptimizer`: a flat float32 vector updated by one fused float64 loop on the host (the fast MLP path);
 * - `TensorOptimizer`: tf ops on variables (the autodiff loop and CPMLHO, whose parameters live on the device).
 * They round differently (float64 vs float32 tensor arithmetic), so each keeps its own operation order.
 */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/** Which update rule, and its settings. */
export interface OptimizerOptions {
  optimizer: "adam" | "sgd";
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  /** Adds weightDecay·θ to every gradient entry (weightDecay/2·||θ||² in the objective). */
  weightDecay: number;
}

/**
 * Adam and SGD(momentum) updates of a flat float32 parameter vector, on the host. Why not tensor ops: an
 * Adam step is ~14 elementwise kernels, each a full pass over the parameters plus a dispatch, which
 * measured ~0.5 ms per step for a 50k-parameter MLP on wasm; this single fused loop takes a fraction of that
 * (bench/training.ts). Computed in float64 and stored as float32.
 *
 * @example
 * ```ts
 * const opt = new HostOptimizer({ optimizer: "adam", momentum: 0, weightDecay: 0 }, theta.length);
 * opt.step(theta, grad, 0.001);
 * ```
 */
export class HostOptimizer {
  readonly #m: Float32Array;
  readonly #v: Float32Array | undefined;
  /** Per-entry coefficient c of the gradient term c·θ: the L2 term's 2λ plus the weight decay. */
  readonly #decay: Float64Array;
  #t = 0;
  static readonly beta1 = ADAM.beta1;
  static readonly beta2 = ADAM.beta2;
  static readonly epsilon = ADAM.epsilon;

  /**
   * @param size length of the parameter vector
   * @param l2 optional per-entry coefficient c with gradient term c·θ (2λ at weights of a λ-penalised layer, 0 at biases)
   */
  constructor(readonly opts: OptimizerOptions, size: number, l2?: Float32Array) {
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

/**
 * Adam or SGD(momentum) state for a list of tf variables, updated with tf ops (call inside tf.tidy, or
 * not: it tidies itself). Weight decay is not applied here: the autodiff loop puts it in the loss
 * (`weightDecayPenalty`), so that autodiff yields the decayed gradient.
 *
 * @example
 * ```ts
 * const opt = new TensorOptimizer(vars, { optimizer: "adam", momentum: 0 });
 * const { grads } = tf.variableGrads(loss, vars);
 * opt.step(grads, 0.001);
 * ```
 */
export class TensorOptimizer {
  readonly #vars: tf.Variable[];
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];
  #t = 0;

  constructor(vars: tf.Variable[], readonly opts: Pick<OptimizerOptions, "optimizer" | "momentum">) {
    this.#vars = vars;
    // tf.variable copies its initial value, so the temporaries are disposed by tidy.
    this.#m = tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
    this.#v = opts.optimizer === "adam" ? tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false))) : [];
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.#t;
  }

  /** One update at learning rate `lr` from gradients keyed by variable name; a variable without a gradient is left alone. */
  step(grads: Record<string, tf.Tensor>, lr: number): void {
    const t = ++this.#t;
    const { beta1: b1, beta2: b2, epsilon: eps } = ADAM;
    const { optimizer, momentum } = this.opts;
    tf.tidy(() => {
      this.#vars.forEach((v, i) => {
        const g = grads[v.name];
        if (!g) return;
        const m = this.#m[i];
        if (optimizer === "adam") {
          const s = this.#v[i];
          m.assign(tf.add(tf.mul(b1, m), tf.mul(1 - b1, g)));
          s.assign(tf.add(tf.mul(b2, s), tf.mul(1 - b2, tf.square(g))));
          const mh = tf.div(m, 1 - Math.pow(b1, t));
          const sh = tf.div(s, 1 - Math.pow(b2, t));
          v.assign(tf.sub(v, tf.mul(lr, tf.div(mh, tf.add(tf.sqrt(sh), eps)))));
        } else if (momentum > 0) {
          m.assign(tf.add(tf.mul(momentum, m), g));
          v.assign(tf.sub(v, tf.mul(lr, m)));
        } else {
          v.assign(tf.sub(v, tf.mul(lr, g)));
        }
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.#m, ...this.#v]);
  }
}

/** weightDecay/2·Σ||θ||² over every variable: weight decay as a loss term, for autodiff. */
export function weightDecayPenalty(vars: tf.Tensor[], weightDecay: number): tf.Scalar {
  const sq = tf.addN(vars.map((v) => tf.sum(tf.square(v))));
  return tf.mul(weightDecay / 2, sq);
}
