// What a training run reports and is told, apart from training itself: train_mlps.ts and train.ts both use these,
// and train.ts imports train_mlps.ts, so they live here rather than in either.
import type { TensorPart } from "./data_tensors.ts";
import type { Metrics } from "./train_options.ts";

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  steps: number;
  learningRate: number;
  train?: Metrics;
  val?: Metrics;
  test?: Metrics;
}

/** Data parts to evaluate on after each epoch. */
export type EvalParts = { train?: TensorPart; val?: TensorPart; test?: TensorPart };

/** Called after each training step, for progress. */
export type OnStep = (epoch: number, step: number, stepsPerEpoch: number) => void;
