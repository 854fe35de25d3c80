// What the HLS ablation writes (ablation.json) and the report reads, apart from the code that computes it
// (search/hls_ablation.ts runs studies, hence TensorFlow.js): the report checks a stored ablation without it.
// Fields are listed in the order the writers write them, so that a record read back writes the same bytes;
// timings (keys ending in "seconds") are stored apart and merged back in on read (util/volatile.ts).
import { z } from "zod";
import { StoredReal, TrainOptions } from "../nn/train_options.ts";
import { PairedEffect } from "./paired_stats.ts";
import { AblationVariant } from "./hls_variants.ts";

/** The model a run ends with: its scores on the run's ranking data and on test. */
export const Chosen = z.strictObject({
  key: z.string(),
  valAcc: StoredReal,
  valLoss: StoredReal,
  testAcc: StoredReal,
});
export type Chosen = z.output<typeof Chosen>;

/** One variant in one seed. */
export const VariantSeed = z.strictObject({
  chosen: Chosen,
  /** one-shot only: mean over all models of (test accuracy after HLS − before): the per-model effect. */
  meanModelTestAccDelta: StoredReal.optional(),
  moved: z.number().int().min(0),
  onBound: z.number().int().min(0),
  models: z.number().int().min(0),
  seconds: z.number(),
  /** The reference run's time (training, for one-shot; the micro-GA without HLS, for microga). */
  referenceSeconds: z.number(),
});
export type VariantSeed = z.output<typeof VariantSeed>;

/** Every variant for one seed. */
export const AblationSeed = z.strictObject({
  seed: z.number().int(),
  reference: z.strictObject({ "one-shot": Chosen, microga: Chosen.optional() }),
  /** By variant name. */
  variants: z.record(z.string(), VariantSeed),
});
export type AblationSeed = z.output<typeof AblationSeed>;

/** One variant's paired effects over seeds. */
export const VariantSummary = z.strictObject({
  name: AblationVariant.shape.name,
  description: z.string(),
  kind: AblationVariant.shape.kind,
  testAcc: PairedEffect,
  /** On each run's own ranking data (the held-out half for held-out variants, the whole set otherwise). */
  valAcc: PairedEffect,
  valLoss: PairedEffect,
  meanModelTestAccDelta: StoredReal.optional(),
  /** Wall time of the variant's runs and of their references, summed over seeds (their ratio is HLS's cost). */
  seconds: z.number(),
  referenceSeconds: z.number(),
  moved: z.number().int().min(0),
  onBound: z.number().int().min(0),
  models: z.number().int().min(0),
});
export type VariantSummary = z.output<typeof VariantSummary>;

/** What an hls-ablation stage writes (ablation.json): the cell's setting, each seed's runs and the paired effects. */
export const AblationOutput = z.strictObject({
  backend: z.string(),
  dataset: z.string(),
  split: z.string(),
  budget: z.string(),
  training: TrainOptions,
  /** Models per one-shot run. */
  models: z.number().int().min(1),
  variants: z.array(AblationVariant),
  seeds: z.array(AblationSeed),
  summary: z.array(VariantSummary),
});
export type AblationOutput = z.output<typeof AblationOutput>;
