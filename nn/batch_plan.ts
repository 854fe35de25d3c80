import { permutation, type Rng } from "../data/rng.ts";

/** The parts of the training options that decide the batch order and the learning rate of each step. */
export interface BatchPlanOptions {
  learningRate: number;
  epochs: number;
  batchSize: number;
  lrStep?: { step: number; gamma: number };
  maxSteps?: number;
}

/** One epoch of training: its learning rate and the rows of each mini-batch, in order. */
export interface EpochPlan {
  epoch: number;
  learningRate: number;
  /** Rows of each mini-batch (views into one seeded permutation of the training rows). */
  batches: Uint32Array[];
  /** Number of steps taken after this epoch's batches, counted from the start of training. */
  stepsAfter: number;
  /** Steps per full epoch (for progress). */
  stepsPerEpoch: number;
  /** False when `maxSteps` cut the epoch short: training stops after its batches and records nothing. */
  complete: boolean;
}

/**
 * The seeded batch order and step learning-rate schedule shared by every trainer, so that the fast
 * stacked trainer and the autodiff loop draw exactly the same batches from the same seed: one permutation
 * of the `n` rows per epoch, cut into batches of `batchSize` (the last may be smaller); the learning rate
 * is multiplied by gamma every `lrStep.step` epochs; training stops after `maxSteps` steps.
 */
export function* epochPlans(n: number, opts: BatchPlanOptions, rng: Rng): Generator<EpochPlan> {
  const stepsPerEpoch = Math.ceil(n / opts.batchSize);
  let step = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const learningRate = opts.learningRate * (opts.lrStep ? Math.pow(opts.lrStep.gamma, Math.floor((epoch - 1) / opts.lrStep.step)) : 1);
    const order = permutation(n, rng);
    const room = opts.maxSteps === undefined ? stepsPerEpoch : Math.max(0, Math.min(stepsPerEpoch, opts.maxSteps - step));
    const batches = Array.from({ length: room }, (_, b) => order.subarray(b * opts.batchSize, Math.min(n, (b + 1) * opts.batchSize)));
    step += room;
    const complete = room === stepsPerEpoch;
    yield { epoch, learningRate, batches, stepsAfter: step, stepsPerEpoch, complete };
    if (!complete) return;
  }
}
