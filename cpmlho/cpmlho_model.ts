import { tf, tidyRead } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { crossEntropy, forward } from "../nn/mlp.ts";
import type { Rng } from "../data/rng.ts";
import { cnnLogits, convLayout, type ImageShape } from "../nn/cnn.ts";
import { initLimit, uniformArray } from "../nn/init.ts";
import type { CpmlhoOptions } from "./cpmlho_options.ts";

// CPMLHO's model (seed 003, reconstructed; the method and its options: cpmlho_options.ts): elementary weights
// plus a hypernetwork of λ, relaxed dropout, the cutting plane. The training loop is cpmlho.ts.

/** Concrete (relaxed Bernoulli) dropout: differentiable in the rate p; `u` are uniform draws. */
export function concreteDropout(x: tf.Tensor2D, p: tf.Scalar, u: tf.Tensor2D, temperature: number): tf.Tensor2D {
  const eps = 1e-7;
  const logit = tf.add(
    tf.sub(tf.log(tf.add(p, eps)), tf.log(tf.sub(1 + eps, p))),
    tf.sub(tf.log(tf.add(u, eps)), tf.log(tf.sub(1 + eps, u))),
  );
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

/**
 * The state of one CPMLHO run. Every layer l has elementary weights W_e,l and a hypernetwork part
 * W_h,l(λ) = W_h2,l ⊙ (W_h1,l λ), the scale broadcast over the layer's output units (dense columns or conv
 * output channels). λ holds the dropout logits (3) and, for the CNN, the cutout holes and length logits.
 */
export class CpmlhoModel {
  readonly We: tf.Variable[] = [];
  readonly be: tf.Variable[] = [];
  readonly Wh1: tf.Variable[] = [];
  readonly Wh2: tf.Variable[] = [];
  readonly lambda: tf.Variable;
  /** Input width of each dropout site (for the relaxed-dropout noise). */
  readonly siteWidths: number[];
  readonly nHyper: number;
  mu: number;
  cut: { c: number; s: tf.Tensor[]; g: number } | undefined;

  readonly o: CpmlhoOptions;
  readonly image?: ImageShape;

  /** Draws the initial weights from `rng`, layer by layer; `image` is required for the CNN. */
  constructor(a: { input: number; classes: number; options: CpmlhoOptions; rng: Rng; image?: ImageShape }) {
    const { input, classes, options: o, rng, image } = a;
    this.o = o;
    this.image = image;
    if (o.arch === "cnn" && !image) throw new Error("CPMLHO's cnn needs the image shape");
    this.nHyper = o.arch === "cnn" ? 5 : 3;
    const shapes: number[][] = [];
    if (o.arch === "mlp") {
      const sizes = [input, o.hidden[0], o.hidden[1], classes];
      for (let l = 0; l < 3; l++) shapes.push([sizes[l], sizes[l + 1]]);
      this.siteWidths = sizes.slice(0, 3);
    } else {
      const [h, w, c] = image!;
      const { shapes: conv, flat } = convLayout(image!, o.channels);
      shapes.push(conv[0], conv[2], [flat, classes]); // the kernels; this model keeps its biases apart (be)
      this.siteWidths = [h * w * c, Math.floor(h / 2) * Math.floor(w / 2) * o.channels[0], flat];
    }
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const fo = shape[shape.length - 1];
      // drawn layer by layer, interleaved with the hypernetwork's draws (so not initParams)
      const lim = initLimit(shape, "glorot");
      this.We.push(tf.variable(tf.tensor(uniformArray(n, lim, rng), shape)));
      this.be.push(tf.variable(tf.zeros([fo])));
      this.Wh1.push(
        tf.variable(tf.tensor2d(Float32Array.from({ length: fo * this.nHyper }, () => 0.01 * rng.normal()), [fo, this.nHyper])),
      );
      this.Wh2.push(tf.variable(tf.tensor(uniformArray(n, 0.1 * lim, rng), shape)));
    }
    const logit = (p: number) => Math.log(p / (1 - p));
    const init = o.initialDropout.map(logit);
    if (o.arch === "cnn") {
      init.push(logit(clampUnit(o.initialCutout[0] / o.maxCutout[0])), logit(clampUnit(o.initialCutout[1] / o.maxCutout[1])));
    }
    this.lambda = tf.variable(tf.tensor1d(init));
    this.mu = o.mu0;
  }

  /** Dropout rates sigmoid(λ_0..2). */
  dropoutRates(): number[] {
    return [...tf.tidy(() => tf.sigmoid(this.lambda).dataSync())].slice(0, 3);
  }

  /** CNN only: cutout [holes, length] as real numbers (rounded when applied). */
  cutout(lam?: number[]): [number, number] | undefined {
    if (this.o.arch !== "cnn") return undefined;
    const l = lam ?? [...tf.tidy(() => this.lambda.dataSync())];
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    return [this.o.maxCutout[0] * sig(l[3]), this.o.maxCutout[1] * sig(l[4])];
  }

  /** The hypernetwork part W_h,l(λ) of every layer. */
  hyperWeights(lam: tf.Tensor1D): tf.Tensor[] {
    return this.Wh1.map((h1, l) => {
      const scale = tf.matMul(h1, tf.reshape(lam, [this.nHyper, 1])); // out × 1
      const shape = this.Wh2[l].shape.map((_, i, a) => (i === a.length - 1 ? -1 : 1));
      return tf.mul(this.Wh2[l], tf.reshape(scale, shape));
    });
  }

  /** Logits at λ; with `u` (uniform draws per dropout site) the relaxed dropout is applied at rates sigmoid(λ). */
  logits(x: tf.Tensor2D, lam: tf.Tensor1D, u?: tf.Tensor2D[]): tf.Tensor2D {
    const wh = this.hyperWeights(lam);
    const W = this.We.map((we, l) => tf.add(we, wh[l]));
    const p = tf.sigmoid(lam);
    const drop = (
      a: tf.Tensor2D,
      l: number,
    ) => (u ? concreteDropout(a, tf.reshape(tf.slice(p, [l], [1]), []) as tf.Scalar, u[l], this.o.temperature) : a);
    const params = W.flatMap((wl, l) => [wl, this.be[l]]);
    if (this.o.arch === "mlp") return forward(params, x, { before: drop });
    return cnnLogits(params, x, this.image!, { beforeConv: drop, beforeDense: (a, l) => drop(a, l + 2) });
  }

  #uniforms(n: number, seed: number): tf.Tensor2D[] {
    return this.siteWidths.map((width, l) => tf.randomUniform([n, width], 0, 1, "float32", seed + l) as tf.Tensor2D);
  }

  /** Re-linearises the cutting plane at the current (w_e, w_h(λ)) and takes a dual-ascent step on μ. */
  relinearize(): { g: number; mu: number } {
    const { we, wh } = tidyRead(() => ({
      we: tf.concat(this.We.map((w) => tf.reshape(w, [-1]))),
      wh: tf.concat(this.hyperWeights(this.lambda as tf.Tensor1D).map((w) => tf.reshape(w, [-1]))),
    }));
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
    tf.dispose(u);
    return { we: ge.grads, wh: gh.grads, loss: ge.value };
  }

  /**
   * The mixed-level hypergradient (eq. 15): ∇_λ [L_tr(w(λ), λ) + θ·L_val(w(λ))], through the best response
   * w(λ) = w_e + w_h(λ) and, for L_tr, the relaxed dropout. Cutout acts on the training batch only and has
   * no derivative: its hyperparameters get their gradient through the response w(λ). Components are
   * returned separately for tests.
   */
  hypergradient(
    train: { x: tf.Tensor2D; y: tf.Tensor2D },
    val: { x: tf.Tensor2D; y: tf.Tensor2D },
    seed: number,
  ): { total: Float32Array; train: Float32Array; val: Float32Array } {
    const { x: xtr, y: ytr } = train, { x: xval, y: yval } = val;
    return tf.tidy(() => {
      const u = this.#uniforms(xtr.shape[0], seed);
      const gTr = tf.grad((lam: tf.Tensor) => crossEntropy(this.logits(xtr, lam as tf.Tensor1D, u), ytr))(this.lambda);
      const gVal = tf.grad((lam: tf.Tensor) => crossEntropy(this.logits(xval, lam as tf.Tensor1D), yval))(this.lambda);
      const total = tf.add(gTr, tf.mul(this.o.theta, gVal));
      return { total: total.dataSync() as Float32Array, train: gTr.dataSync() as Float32Array, val: gVal.dataSync() as Float32Array };
    });
  }

  /**
   * Validation-style evaluation at the current λ (no dropout, no cutout), in chunks. Its own loop, not
   * nn/train.ts evaluate: the chunk's loss is weighed in float64 here, in float32 there, and sharing one
   * would change the last bits of every stored CPMLHO result (see evaluate's comment).
   */
  evaluate(part: TensorPart, chunk = 1000): { loss: number; acc: number } {
    let loss = 0, right = 0;
    for (let s = 0; s < part.n; s += chunk) {
      const e = Math.min(part.n, s + chunk);
      const [l, r] = tf.tidy(() => {
        const logits = this.logits(part.x.slice([s, 0], [e - s, -1]), this.lambda as tf.Tensor1D);
        return [
          crossEntropy(logits, part.oneHot.slice([s, 0], [e - s, -1])).dataSync()[0] * (e - s),
          tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), part.y.slice([s], [e - s])), "float32")).dataSync()[0],
        ];
      });
      loss += l;
      right += r;
    }
    return { loss: loss / part.n, acc: right / part.n };
  }

  dispose(): void {
    tf.dispose([...this.We, ...this.be, ...this.Wh1, ...this.Wh2, this.lambda, ...(this.cut?.s ?? [])]);
  }
}

function clampUnit(x: number): number {
  return Math.min(0.99, Math.max(0.01, x));
}
