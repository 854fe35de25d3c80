// The options of hyper local search, apart from its computation: a config can be validated without loading
// TensorFlow.js.
import { z } from "zod";

/**
 * Named settings: `paper` is the paper's HLS (raw λ, t chosen on the validation set that ranks the models);
 * `honest` (the default) is log10 λ with held-out selection. Fields given explicitly win over the preset.
 */
export const HLS_PRESETS = {
  paper: { lambdaScale: "linear", selection: "in-sample", criterion: "loss" },
  honest: {},
} as const;

/**
 * The LP settings a direction needs (bilevel/hls/hls_direction.ts solveDirection): the science's, without
 * defaults; HLS's options take these fields and add their defaults.
 */
export const DirectionOptions = z.strictObject({
  /** Which weights enter the LP: all of them, the output layer, or the k with the largest |∇_w F|. */
  block: z.enum(["all", "output", "topk"]),
  k: z.number().int().min(1),
  /** Refuse an LP over more weights than this (dense LP cost grows ~m³). */
  maxLpWeights: z.number().int().min(1),
  /**
   * simplex: the dense LP on the block (up to maxLpWeights) by a dense dual simplex started at the block's
   * closed-form basis, answering only with a certificate of optimality, and by HiGHS where it cannot (H_ww
   * not positive definite, no certificate); highs: the same LP by HiGHS alone; pdlp: matrix-free PDLP over
   * exact HVPs, any block size; auto: the closed form over all weights when its assumptions hold, else
   * the block as by simplex up to maxLpWeights and PDLP above.
   */
  solver: z.enum(["simplex", "highs", "closed-form", "pdlp", "auto"]),
  /** PDLP's relative tolerance (row violation × ε and duality gap). */
  pdlpTolerance: z.number().positive().max(0.1),
  epsilon: z.number().positive(),
  /** Trust-region box |dw_j| ≤ δ; needed because H_ww is often singular (LP unbounded otherwise). */
  delta: z.number().positive(),
  timeLimitS: z.number().positive(),
});
export type DirectionOptions = z.infer<typeof DirectionOptions>;

/**
 * Every field HLS options may set, without defaults: the direction's, the line search's and the selection's.
 * A partial override (an ablation variant's) is read with these, so that reading one fills in nothing.
 */
export const HlsOptionsFields = DirectionOptions.extend({
  /** A named setting applied under the explicit fields (see HLS_PRESETS). */
  preset: z.enum(["paper", "honest"]),
  /** Line-search grid over t: 0 and `points` log-spaced values in [tMin, tMax]. */
  tMin: z.number().positive(),
  tMax: z.number().positive(),
  points: z.number().int().min(1),
  /**
   * The coordinate λ moves in: log10 (steps in decades, projected onto the search space) or linear (the
   * paper's raw λ, kept ≥ 0). λ = 0 has no log coordinate: such a model is searched on the linear scale.
   */
  lambdaScale: z.enum(["linear", "log10"]),
  /** Box on the LP's dλ, in the scale's units (decades for log10). */
  lambdaBox: z.number().positive(),
  /**
   * in-sample: the paper's way, t is chosen on the validation set that then ranks the models. held-out:
   * the validation set is split; ∇_w F and t come from one part, the model is ranked on the other.
   */
  selection: z.enum(["in-sample", "held-out"]),
  /** Share of the validation set that held-out selection gives to HLS (the rest ranks the models). */
  heldOutFraction: z.number().gt(0).lt(1),
  /** What picks t on the selection data: validation loss, or accuracy (ties broken by loss). */
  criterion: z.enum(["loss", "accuracy"]),
  /**
   * Keep the step where the LP's linearisation holds: a t is refused when the lower-level gradient norm
   * ‖∇_w f‖ there exceeds this multiple of its value at t = 0. Absent: no limit (the paper's way).
   */
  maxStationarityRatio: z.number().positive().optional(),
});

const f = HlsOptionsFields.shape;
// the fields with their defaults, in the order every stage's parameters have always listed them (a stage's
// cache key is the hash of its validated parameters, key order included)
const HlsOptionsObject = z.object({
  preset: f.preset.default("honest"),
  block: f.block.default("output"),
  k: f.k.default(200),
  maxLpWeights: f.maxLpWeights.default(1500),
  solver: f.solver.default("simplex"),
  pdlpTolerance: f.pdlpTolerance.default(1e-4),
  epsilon: f.epsilon.default(1e-3),
  delta: f.delta.default(1),
  tMin: f.tMin.default(1e-4),
  tMax: f.tMax.default(1),
  points: f.points.default(20),
  timeLimitS: f.timeLimitS.default(60),
  lambdaScale: f.lambdaScale.default("log10"),
  lambdaBox: f.lambdaBox.default(1),
  selection: f.selection.default("held-out"),
  heldOutFraction: f.heldOutFraction.default(0.5),
  criterion: f.criterion.default("loss"),
  maxStationarityRatio: f.maxStationarityRatio,
}).strict();

/** Options of hyper local search, with the preset's fields filled in under the explicit ones. */
export const HlsOptions = z.preprocess((raw) => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const preset = (raw as { preset?: unknown }).preset;
  const fill = typeof preset === "string" && preset in HLS_PRESETS ? HLS_PRESETS[preset as keyof typeof HLS_PRESETS] : {};
  return { ...fill, ...raw };
}, HlsOptionsObject.refine((o) => o.tMin < o.tMax, { message: "tMin must be smaller than tMax", path: ["tMin"] }));
export type HlsOptions = z.infer<typeof HlsOptions>;
