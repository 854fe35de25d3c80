// Training settings and the metrics training reports, apart from training itself: a config can be validated
// without loading TensorFlow.js.
import { z } from "zod";

/** Training settings: everything that shapes the run is here, nothing hidden. */
export const TrainOptions = z.strictObject({
  optimizer: z.enum(["adam", "sgd"]).default("adam"),
  learningRate: z.number().positive().default(0.001),
  /** SGD momentum (ignored by Adam). */
  momentum: z.number().min(0).max(1).default(0),
  /** Decoupled from λ: adds weightDecay/2·||w||² over all weights and biases (PyTorch-style SGD weight decay). */
  weightDecay: z.number().min(0).default(0),
  /** At least 1; at most 10,000 (a typo like 1e9 would otherwise run for ever). */
  epochs: z.number().int().min(1).max(10_000).default(1),
  batchSize: z.number().int().min(1).default(64),
  /** Multiply the learning rate by gamma every `step` epochs (seed 001's StepLR); off when absent. */
  lrStep: z.strictObject({ step: z.number().int().min(1), gamma: z.number().positive() }).optional(),
  /** Stop after this many steps (a budget finer than an epoch); unlimited when absent. */
  maxSteps: z.number().int().min(1).optional(),
});
export type TrainOptions = z.infer<typeof TrainOptions>;

/**
 * A real number as a stored artifact holds it: JSON writes NaN and ±Infinity (a diverged model's loss) as
 * null, which reads back as NaN, so that a diverged model still sorts last (search/train_genomes.ts).
 */
export const StoredReal = z.union([z.number(), z.null()]).transform((v) => v ?? NaN);

/** Loss and accuracy on one data part. */
export const Metrics = z.strictObject({ loss: StoredReal, acc: StoredReal });
export type Metrics = z.output<typeof Metrics>;
