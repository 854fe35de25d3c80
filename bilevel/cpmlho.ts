import { z } from "zod";
import { tf } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { crossEntropy } from "../nn/mlp.ts";
import { matMulFast } from "../nn/fast_matmul.ts";
import { permutation, type Rng } from "../data/rng.ts";

/**
 * CPMLHO (seed 003), reconstructed. Hyperparameters λ are the logits of per-layer dropout rates
 * (p = sigmoid(λ)). Each dense layer's weights follow a hypernetwork best response
 * W_l(λ) = W_e,l + W_h,l(λ), W_h,l(λ) = W_h2,l ⊙ (W_h1,l λ)ᵀ  (eq. 3: the (w_h1 λ) w_h2 product, one scale
 * per output unit). Dropout is made differentiable in p by the concrete relaxation (Gal, Hron and Kendall
 * 2017) with temperature τ.
 */
export const CpmlhoOptions = z.object({
  hidden: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([64, 64]),
  initialDropout: z.array(z.number().min(0.01).max(0.95)).length(3).default([0.2, 0.2, 0.2]),
  epochs: z.number().int().min(1).default(5),
  batchSize: z.number().int().min(1).default(128),
  /** Inner learning rates (eq. 13-14), Adam. */
  lrWeights: z.number().positive().default(0.001),
  /** Outer learning rate for λ (Adam). */
  lrHyper: z.number().positive().default(0.01),
  /** An outer (hyperparameter) step after every this many inner steps. */
  outerEvery: z.number().int().min(1).default(5),
  /** Mixed-level weight θ in L_tr + θ·L_val (eq. 15); 0 is single-level, large is the plain bilevel. */
  theta: z.number().min(0).default(1),
  /** Cutting plane: ε in g = Σ|w_e − w_h| ≤ ε (per weight, so the bound is ε·m), re-linearised every `cutEvery` inner steps. */
  epsilon: z.number().positive().default(0.01),
  cutEvery: z.number().int().min(1).default(50),
  /** Lagrange multiplier μ: initial value and dual-ascent step (μ ← max(0, μ + ρ·φ/m) at each cut). */
  mu0: z.number().min(0).default(0),
  rho: z.number().min(0).default(0.1),
  /** Perturbation of λ (logit scale) in inner steps, so the hypernetwork learns the response around λ. */
  perturbation: z.number().min(0).default(0.5),
  temperature: z.number().positive().default(0.1),
});
export type CpmlhoOptions = z.infer<typeof CpmlhoOptions>;

/** Concrete (relaxed Bernoulli) dropout: differentiable in the rate p; `u` are uniform draws. */
export function concreteDropout(x: tf.Tensor2D, p: tf.Scalar, u: tf.Tensor2D, temperature: number): tf.Tensor2D {
  const eps = 1e-7;
  const logit = tf.add(tf.sub(tf.log(tf.add(p, eps)), tf.log(tf.sub(1 + eps, p))), tf.sub(tf.log(tf.add(u, eps)), tf.log(tf.sub(1 + eps, u))));
  const drop = tf.sigmoid(tf.div(logit, temperature));
  return tf.div(tf.mul(x, tf.sub(1, drop)), tf.sub(1, p)) as tf.Tensor2D;
}

/**
 * The cutting plane of eq. 11 linearised at (w_e^k, w_h^k) for g(w_e, w_h) = Σ|w_e − w_h|:
 * φ(w_e, w_h) = g^k + s·(w_e − w_e^k) − s·(w_h − w_h^k) − ε_total, with s = sign(w_e^k − w_h^k).
 * Returned as the constant and the slope, so φ is affine: φ = c + s·(w_e − w_h).
 */
export function linearizeCut(we: Float32Array, wh: Float32Array, epsilonTotal: number): { c: number; s: Float32Array; g: number } {
  const s = new Float32Array(we.length);
  let g = 0, sw = 0;
  for (let i = 0; i < we.length; i++) {
    const d = we[i] - wh[i];
    s[i] = d > 0 ? 1 : d < 0 ? -1 : 0;
    g += Math.abs(d);
    sw += s[i] * d;
  }
  // g^k − s·(w_e^k − w_h^k) = 0 exactly for the L1 norm, so c = −ε_total; kept general for clarity.
  return { c: g - sw - epsilonTotal, s, g };
}

/** The state of one CPMLHO run on a 3-layer MLP. */
export class CpmlhoModel {
  readonly sizes: number[];
  readonly We: tf.Variable[];
  readonly be: tf.Variable[];
  readonly Wh1: tf.Variable[];
  readonly Wh2: tf.Variable[];
  readonly lambda: tf.Variable;
  mu: number;
  cut: { c: number; s: tf.Tensor[]; g: number } | undefined;

  constructor(input: number, classes: number, readonly o: CpmlhoOptions, rng: Rng) {
    this.sizes = [input, o.hidden[0], o.hidden[1], classes];
    const glorot = (fi: number, fo: number) => {
      const lim = Math.sqrt(6 / (fi + fo));
      return Float32Array.from({ length: fi * fo }, () => rng.uniform(-lim, lim));
    };
    this.We = [];
    this.be = [];
    this.Wh1 = [];
    this.Wh2 = [];
    for (let l = 0; l < 3; l++) {
      const [fi, fo] = [this.sizes[l], this.sizes[l + 1]];
      this.We.push(tf.variable(tf.tensor2d(glorot(fi, fo), [fi, fo])));
      this.be.push(tf.variable(tf.zeros([fo])));
      this.Wh1.push(tf.variable(tf.tensor2d(Float32Array.from({ length: fo * 3 }, () => 0.01 * rng.normal()), [fo, 3])));
      this.Wh2.push(tf.variable(tf.tensor2d(glorot(fi, fo).map((v) => 0.1 * v), [fi, fo])));
    }
    this.lambda = tf.variable(tf.tensor1d(o.initialDropout.map((p) => Math.log(p / (1 - p)))));
    this.mu = o.mu0;
  }

  /** Dropout rates sigmoid(λ). */
  dropoutRates(): number[] {
    return [...tf.tidy(() => tf.sigmoid(this.lambda).dataSync())];
  }

  /** The hypernetwork part W_h,l(λ) of every layer. */
  hyperWeights(lam: tf.Tensor1D): tf.Tensor2D[] {
    return this.Wh1.map((h1, l) => tf.mul(this.Wh2[l], tf.reshape(tf.matMul(h1, tf.reshape(lam, [3, 1])), [1, -1])) as tf.Tensor2D);
  }

  /** Logits at λ; with `u` (uniform draws per dropout site) the relaxed dropout is applied at rates sigmoid(λ). */
  logits(x: tf.Tensor2D, lam: tf.Tensor1D, u?: tf.Tensor2D[]): tf.Tensor2D {
    const wh = this.hyperWeights(lam);
    const p = tf.sigmoid(lam);
    let a = x;
    for (let l = 0; l < 3; l++) {
      if (u) a = concreteDropout(a, tf.reshape(tf.slice(p, [l], [1]), []) as tf.Scalar, u[l], this.o.temperature);
      const z = tf.add(matMulFast(a, tf.add(this.We[l], wh[l]) as tf.Tensor2D), this.be[l]) as tf.Tensor2D;
      a = l < 2 ? (tf.relu(z) as tf.Tensor2D) : z;
    }
    return a;
  }

  #uniforms(n: number, seed: number): tf.Tensor2D[] {
    return [0, 1, 2].map((l) => tf.randomUniform([n, this.sizes[l]], 0, 1, "float32", seed + l) as tf.Tensor2D);
  }

  /** Re-linearises the cutting plane at the current (w_e, w_h(λ)) and takes a dual-ascent step on μ. */
  relinearize(): { g: number; mu: number } {
    const we = tf.tidy(() => tf.concat(this.We.map((w) => tf.reshape(w, [-1]))).dataSync() as Float32Array);
    const wh = tf.tidy(() => tf.concat(this.hyperWeights(this.lambda as tf.Tensor1D).map((w) => tf.reshape(w, [-1]))).dataSync() as Float32Array);
    const epsTotal = this.o.epsilon * we.length;
    const lin = linearizeCut(we, wh, epsTotal);
    // φ at the linearisation point is g^k − ε_total: positive means the constraint is violated, so μ grows.
    this.mu = Math.max(0, this.mu + (this.o.rho * (lin.g - epsTotal)) / we.length);
    if (this.cut) tf.dispose(this.cut.s);
    let off = 0;
    const s = this.We.map((w) => {
      const n = w.size;
      const t = tf.tensor(lin.s.subarray(off, off + n), w.shape);
      off += n;
      return t;
    });
    this.cut = { c: lin.c, s, g: lin.g };
    return { g: lin.g, mu: this.mu };
  }

  /**
   * Gradients of one inner step (eq. 13-14) at a perturbed λ: for w_e and biases, of the training loss l;
   * for the hypernetwork (W_h1, W_h2), of l + μ·φ where φ's slope is −s on w_h.
   */
  innerGrads(x: tf.Tensor2D, y: tf.Tensor2D, lamPerturbed: tf.Tensor1D, seed: number) {
    const u = this.#uniforms(x.shape[0], seed);
    const lossE = () => crossEntropy(this.logits(x, lamPerturbed, u), y);
    const ge = tf.variableGrads(lossE, [...this.We, ...this.be]);
    const lossH = () => {
      let l = crossEntropy(this.logits(x, lamPerturbed, u), y);
      if (this.cut && this.mu > 0) {
        const wh = this.hyperWeights(this.lambda as tf.Tensor1D);
        // μ·φ = μ·(c + s·(w_e − w_h)); only the −s·w_h term depends on the hypernetwork.
        const phiH = tf.neg(tf.addN(wh.map((w, i) => tf.sum(tf.mul(this.cut!.s[i], w)))));
        l = tf.add(l, tf.mul(this.mu, phiH)) as tf.Scalar;
      }
      return l;
    };
    const gh = tf.variableGrads(lossH, [...this.Wh1, ...this.Wh2]);
    return { we: ge.grads, wh: gh.grads, loss: ge.value };
  }

  /**
   * The mixed-level hypergradient (eq. 15): ∇_λ [L_tr(w(λ), λ) + θ·L_val(w(λ))], through the best response
   * w(λ) = w_e + w_h(λ) and, for L_tr, the relaxed dropout. Components are returned separately for tests.
   */
  hypergradient(xtr: tf.Tensor2D, ytr: tf.Tensor2D, xval: tf.Tensor2D, yval: tf.Tensor2D, seed: number): { total: Float32Array; train: Float32Array; val: Float32Array } {
    return tf.tidy(() => {
      const u = this.#uniforms(xtr.shape[0], seed);
      const gTr = tf.grad((lam: tf.Tensor) => crossEntropy(this.logits(xtr, lam as tf.Tensor1D, u), ytr))(this.lambda);
      const gVal = tf.grad((lam: tf.Tensor) => crossEntropy(this.logits(xval, lam as tf.Tensor1D), yval))(this.lambda);
      const total = tf.add(gTr, tf.mul(this.o.theta, gVal));
      return { total: total.dataSync() as Float32Array, train: gTr.dataSync() as Float32Array, val: gVal.dataSync() as Float32Array };
    });
  }

  /** Validation-style evaluation at the current λ (no dropout). */
  evaluate(part: TensorPart): { loss: number; acc: number } {
    return tf.tidy(() => {
      const logits = this.logits(part.x, this.lambda as tf.Tensor1D);
      const loss = crossEntropy(logits, part.oneHot).dataSync()[0];
      const acc = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), part.y), "float32")).dataSync()[0];
      return { loss, acc };
    });
  }

  dispose(): void {
    tf.dispose([...this.We, ...this.be, ...this.Wh1, ...this.Wh2, this.lambda, ...(this.cut?.s ?? [])]);
  }
}

/** Adam state for a list of variables. */
class Adam {
  #m = new Map<string, tf.Tensor>();
  #v = new Map<string, tf.Tensor>();
  #t = 0;
  constructor(private readonly lr: number) {}
  step(vars: tf.Variable[], grads: Record<string, tf.Tensor>): void {
    this.#t++;
    const [b1, b2, eps, t] = [0.9, 0.999, 1e-7, this.#t];
    for (const v of vars) {
      const g = grads[v.name];
      if (!g) continue;
      const m = tf.tidy(() => tf.add(tf.mul(b1, this.#m.get(v.name) ?? tf.zerosLike(v)), tf.mul(1 - b1, g)));
      const s = tf.tidy(() => tf.add(tf.mul(b2, this.#v.get(v.name) ?? tf.zerosLike(v)), tf.mul(1 - b2, tf.square(g))));
      this.#m.get(v.name)?.dispose();
      this.#v.get(v.name)?.dispose();
      this.#m.set(v.name, m);
      this.#v.set(v.name, s);
      tf.tidy(() => v.assign(tf.sub(v, tf.mul(this.lr, tf.div(tf.div(m, 1 - b1 ** t), tf.add(tf.sqrt(tf.div(s, 1 - b2 ** t)), eps))))));
    }
  }
  dispose(): void {
    tf.dispose([...this.#m.values(), ...this.#v.values()]);
  }
}

/** What a CPMLHO run records. */
export interface CpmlhoResult {
  trajectory: { step: number; dropout: number[]; mu: number; g?: number; trainLoss: number }[];
  finalDropout: number[];
  val: { loss: number; acc: number };
  test: { loss: number; acc: number };
  epochs: number;
  seconds: number;
}

/** Runs CPMLHO: inner steps on training batches, outer λ steps on the mixed-level hypergradient, cuts. */
export function runCpmlho(data: { train: TensorPart; val: TensorPart; test: TensorPart; classes: number }, o: CpmlhoOptions, rng: Rng, onStep?: (k: number, total: number) => void): CpmlhoResult {
  const t0 = performance.now();
  const model = new CpmlhoModel(data.train.x.shape[1], data.classes, o, rng.fork("init"));
  const optW = new Adam(o.lrWeights), optH = new Adam(o.lrWeights), optL = new Adam(o.lrHyper);
  const batchRng = rng.fork("batches"), noiseRng = rng.fork("noise");
  const steps = Math.ceil(data.train.n / o.batchSize);
  const trajectory: CpmlhoResult["trajectory"] = [];
  let step = 0;
  const batch = (part: TensorPart, order: Uint32Array, b: number) => {
    const idx = tf.tensor1d(Int32Array.from(order.subarray(b * o.batchSize, Math.min(part.n, (b + 1) * o.batchSize))), "int32");
    const r = { x: tf.gather(part.x, idx) as tf.Tensor2D, y: tf.gather(part.oneHot, idx) as tf.Tensor2D };
    idx.dispose();
    return r;
  };
  try {
    for (let e = 0; e < o.epochs; e++) {
      const order = permutation(data.train.n, batchRng);
      const valOrder = permutation(data.val.n, batchRng);
      for (let b = 0; b < steps; b++, step++) {
        if (step % o.cutEvery === 0) model.relinearize();
        const { x, y } = batch(data.train, order, b);
        const lamP = tf.tidy(() => tf.add(model.lambda, tf.mul(o.perturbation, tf.tensor1d([noiseRng.normal(), noiseRng.normal(), noiseRng.normal()])))) as tf.Tensor1D;
        const g = model.innerGrads(x, y, lamP, noiseRng.nextU32());
        const trainLoss = g.loss.dataSync()[0];
        optW.step([...model.We, ...model.be], g.we);
        optH.step([...model.Wh1, ...model.Wh2], g.wh);
        tf.dispose([g.loss, ...Object.values(g.we), ...Object.values(g.wh), lamP]);
        if ((step + 1) % o.outerEvery === 0) {
          const vb = batch(data.val, valOrder, (step / o.outerEvery) % Math.max(1, Math.floor(data.val.n / o.batchSize)));
          const hg = model.hypergradient(x, y, vb.x, vb.y, noiseRng.nextU32());
          const gl = tf.tensor1d(hg.total);
          optL.step([model.lambda], { [model.lambda.name]: gl });
          gl.dispose();
          tf.dispose([vb.x, vb.y]);
        }
        tf.dispose([x, y]);
        if (step % 10 === 0) trajectory.push({ step, dropout: model.dropoutRates(), mu: model.mu, g: model.cut?.g, trainLoss });
        onStep?.(step + 1, o.epochs * steps);
      }
    }
    return { trajectory, finalDropout: model.dropoutRates(), val: model.evaluate(data.val), test: model.evaluate(data.test), epochs: o.epochs, seconds: (performance.now() - t0) / 1000 };
  } finally {
    optW.dispose();
    optH.dispose();
    optL.dispose();
    model.dispose();
  }
}
