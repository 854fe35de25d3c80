// What HLS reports along its line and what the Section II fine-tune stores (lp-finetune's case.json and
// finetune.json), apart from the code that computes them (TensorFlow.js): the report and the merge check a
// stored fine-tune without loading it. Fields are listed in the order the writers write them, so that a record
// read back writes the same bytes; timings (keys ending in "seconds") are stored apart (util/volatile.ts).
import { z } from "zod";
import { Metrics, StoredReal } from "../../nn/train_options.ts";
import { GroupScheme, MlpSpec } from "../../nn/mlp_spec.ts";
import { HlsOptions, HlsOptionsFields } from "./hls_options.ts";

/** One point of the line search along (λ(t), w + t dw). */
export const LinePoint = z.strictObject({
  t: z.number().min(0),
  lambdas: z.array(StoredReal),
  /** On the selection data (the whole validation set in-sample, its HLS part held-out). */
  val: Metrics,
  /** On the ranking data (the same as `val` in-sample). Only at t = 0 and the chosen t unless traced. */
  rank: Metrics.optional(),
  /** Only when traced (the Section II figures). */
  train: Metrics.optional(),
  test: Metrics.optional(),
});
export type LinePoint = z.output<typeof LinePoint>;

/** A point of a traced line search: scored on the training data as well. */
export const TracedPoint = LinePoint.extend({ train: Metrics });
export type TracedPoint = z.output<typeof TracedPoint>;

/** How HLS found its direction: the solver that answered, or none (the model is then unchanged). */
export const HlsPath = z.enum(["simplex", "highs", "closed-form", "pdlp", "none"]);
export type HlsPath = z.output<typeof HlsPath>;

/** One grouping's fine-tune as finetuneGroupings (finetune.ts) reports it and lp-finetune stores it. */
export const FinetuneCase = z.strictObject({
  grouping: GroupScheme,
  hyperparameters: z.number().int().min(1),
  improved: z.boolean(),
  verdict: z.string(),
  path: HlsPath,
  /** The LP solver's outcome (bilevel/lp/lp.ts LpSolution's status), when an LP was solved. */
  lpStatus: z.enum(["optimal", "infeasible", "unbounded", "time-limit", "error"]).optional(),
  notes: z.array(z.string()),
  blockSize: z.number().int().min(0),
  boxActive: z.number().int().min(0),
  lambdaScale: HlsOptionsFields.shape.lambdaScale,
  dLambda: z.array(StoredReal),
  lambdas: z.array(StoredReal),
  gradNormBefore: StoredReal,
  gradNormAfter: StoredReal,
  before: TracedPoint,
  best: TracedPoint,
  line: z.array(TracedPoint),
  /** Wall time: in total, building LP (11), solving it, and the line search; and the HVPs it took. */
  cost: z.strictObject({
    seconds: z.number(),
    hvps: z.number().int().min(0),
    buildSeconds: z.number(),
    lpSeconds: z.number(),
    lineSeconds: z.number(),
  }),
});
export type FinetuneCase = z.output<typeof FinetuneCase>;

/** What one grouping's lp-finetune unit stores (case.json): the base model's shape, the HLS options, the case. */
export const FinetuneUnit = z.strictObject({
  base: z.strictObject({ spec: MlpSpec }),
  hls: HlsOptions,
  case: FinetuneCase,
});
export type FinetuneUnit = z.output<typeof FinetuneUnit>;

/**
 * What lp-finetune stores (finetune.json) and the report reads: the base model's shape and the HLS options
 * (absent when no grouping ran), then one case per grouping in the config's order.
 */
export const FinetuneOutput = z.strictObject({
  base: FinetuneUnit.shape.base.optional(),
  hls: HlsOptions.optional(),
  cases: z.array(FinetuneCase),
});
export type FinetuneOutput = z.output<typeof FinetuneOutput>;
