// CPMLHO's options, apart from its computation: a config can be validated without loading TensorFlow.js.
import { z } from "zod";

/**
 * CPMLHO (seed 003), reconstructed. Hyperparameters λ are the logits of per-layer dropout rates
 * (p = sigmoid(λ)). Each dense layer's weights follow a hypernetwork best response
 * W_l(λ) = W_e,l + W_h,l(λ), W_h,l(λ) = W_h2,l ⊙ (W_h1,l λ)ᵀ  (eq. 3: the (w_h1 λ) w_h2 product, one scale
 * per output unit). Dropout is made differentiable in p by the concrete relaxation (Gal, Hron and Kendall
 * 2017) with temperature τ.
 */
export const CpmlhoOptions = z.strictObject({
  /**
   * mlp: three linear layers, dropout before each. cnn (seed 003's Fashion-MNIST network): two 5×5 conv
   * layers (ReLU, 2×2 max-pool) and a linear layer, dropout before each of the three; cutout holes and
   * length are tuned too.
   */
  arch: z.enum(["mlp", "cnn"]).default("mlp"),
  hidden: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([64, 64]),
  /** CNN channel counts. */
  channels: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([8, 16]),
  initialDropout: z.array(z.number().min(0.01).max(0.95)).length(3).default([0.2, 0.2, 0.2]),
  /** CNN only: initial cutout holes and length (pixels), and their maxima (the logits map to [0, max]). */
  initialCutout: z.tuple([z.number().min(0), z.number().min(0)]).default([1, 8]),
  maxCutout: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([4, 16]),
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

/**
 * Seed 003's experiment: CPMLHO, and random search and GP-BO over the same rates on the same total epochs
 * (cpmlho_study.ts cpmlhoStudy). The cpmlho stage's parameters take these fields, adding their defaults.
 */
export const CpmlhoRun = z.strictObject({
  cpmlho: CpmlhoOptions,
  /** Random search and BO get the same total number of training epochs as CPMLHO, split into `trials` runs. */
  baselineTrials: z.number().int().min(1),
  /** The baselines' largest dropout rate (a unit-cube coordinate times this). */
  maxDropout: z.number().min(0).max(0.95),
  seed: z.number().int(),
});
export type CpmlhoRun = z.infer<typeof CpmlhoRun>;
