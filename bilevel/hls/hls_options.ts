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

const HlsOptionsObject = z.object({
  /** A named setting applied under the explicit fields (see HLS_PRESETS). */
  preset: z.enum(["paper", "honest"]).default("honest"),
  /** Which weights enter the LP: all of them, the output layer, or the k with the largest |∇_w F|. */
  block: z.enum(["all", "output", "topk"]).default("output"),
  k: z.number().int().min(1).default(200),
  /** Refuse an LP over more weights than this (dense LP cost grows ~m³). */
  maxLpWeights: z.number().int().min(1).default(1500),
  /**
   * simplex: the dense LP on the block (up to maxLpWeights) by a dense dual simplex started at the block's
   * closed-form basis, answering only with a certificate of optimality, and by HiGHS where it cannot (H_ww
   * not positive definite, no certificate); highs: the same LP by HiGHS alone; pdlp: matrix-free PDLP over
   * exact HVPs, any block size; auto: the closed form over all weights when its assumptions hold, else
   * the block as by simplex up to maxLpWeights and PDLP above.
   */
  solver: z.enum(["simplex", "highs", "closed-form", "pdlp", "auto"]).default("simplex"),
  /** PDLP's relative tolerance (row violation × ε and duality gap). */
  pdlpTolerance: z.number().positive().max(0.1).default(1e-4),
  epsilon: z.number().positive().default(1e-3),
  /** Trust-region box |dw_j| ≤ δ; needed because H_ww is often singular (LP unbounded otherwise). */
  delta: z.number().positive().default(1),
  /** Line-search grid over t: 0 and `points` log-spaced values in [tMin, tMax]. */
  tMin: z.number().positive().default(1e-4),
  tMax: z.number().positive().default(1),
  points: z.number().int().min(1).default(20),
  timeLimitS: z.number().positive().default(60),
  /**
   * The coordinate λ moves in: log10 (steps in decades, projected onto the search space) or linear (the
   * paper's raw λ, kept ≥ 0). λ = 0 has no log coordinate: such a model is searched on the linear scale.
   */
  lambdaScale: z.enum(["linear", "log10"]).default("log10"),
  /** Box on the LP's dλ, in the scale's units (decades for log10). */
  lambdaBox: z.number().positive().default(1),
  /**
   * in-sample: the paper's way, t is chosen on the validation set that then ranks the models. held-out:
   * the validation set is split; ∇_w F and t come from one part, the model is ranked on the other.
   */
  selection: z.enum(["in-sample", "held-out"]).default("held-out"),
  /** Share of the validation set that held-out selection gives to HLS (the rest ranks the models). */
  heldOutFraction: z.number().gt(0).lt(1).default(0.5),
  /** What picks t on the selection data: validation loss, or accuracy (ties broken by loss). */
  criterion: z.enum(["loss", "accuracy"]).default("loss"),
  /**
   * Keep the step where the LP's linearisation holds: a t is refused when the lower-level gradient norm
   * ‖∇_w f‖ there exceeds this multiple of its value at t = 0. Absent: no limit (the paper's way).
   */
  maxStationarityRatio: z.number().positive().optional(),
}).strict();

/** The fields HLS options may set (for partial overrides). */
export const HlsOptionsFields = HlsOptionsObject;

/** Options of hyper local search, with the preset's fields filled in under the explicit ones. */
export const HlsOptions = z.preprocess((raw) => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const preset = (raw as { preset?: unknown }).preset;
  const fill = typeof preset === "string" && preset in HLS_PRESETS ? HLS_PRESETS[preset as keyof typeof HLS_PRESETS] : {};
  return { ...fill, ...raw };
}, HlsOptionsObject.refine((o) => o.tMin < o.tMax, { message: "tMin must be smaller than tMax", path: ["tMin"] }));
export type HlsOptions = z.infer<typeof HlsOptions>;
