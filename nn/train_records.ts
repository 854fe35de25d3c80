// What a training run reports and is told, apart from training itself: train_mlps.ts and train.ts both use these,
// and train.ts imports train_mlps.ts, so they live here rather than in either.
import { z } from "zod";
import type { TensorPart } from "./data_tensors.ts";
import { Metrics } from "./train_options.ts";

/** One epoch's record. */
export const EpochRecord = z.strictObject({
  epoch: z.number().int().min(1),
  /** Steps taken since training began. */
  steps: z.number().int().min(0),
  learningRate: z.number(),
  train: Metrics.optional(),
  val: Metrics.optional(),
  test: Metrics.optional(),
});
export type EpochRecord = z.output<typeof EpochRecord>;

/**
 * What baseline-train stores (history.json) and the report reads: the base model's training, epoch by epoch,
 * and where it ran (nn/baseline.ts trainBaseline).
 */
export const BaselineHistory = z.strictObject({
  backend: z.string(),
  seconds: z.number(),
  steps: z.number().int().min(0),
  history: z.array(EpochRecord),
});
export type BaselineHistory = z.output<typeof BaselineHistory>;

/** Data parts to evaluate on after each epoch. */
export type EvalParts = { train?: TensorPart; val?: TensorPart; test?: TensorPart };

/** Called after each training step, for progress. */
export type OnStep = (epoch: number, step: number, stepsPerEpoch: number) => void;
