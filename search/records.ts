// The records a search writes (a trial, a study), apart from HLS's code: stages that never run HLS write
// and read them without importing it.
import { z } from "zod";
import { Metrics, StoredReal } from "../nn/train_options.ts";
import { Genome, genomeKey, hiddenOf } from "./space.ts";
import type { TrainedGenome } from "./train_genomes.ts";

// The schemas list their fields in the order the writers below write them: a stage that reads a record and
// writes it on (the merges) then writes the same bytes. Timings (keys ending in "seconds") are stored apart
// and merged back in on read (util/volatile.ts).

/** What HLS did to one model. */
export const HlsRecord = z.strictObject({
  improved: z.boolean(),
  path: z.string(),
  lambdaBefore: StoredReal,
  lambda: StoredReal,
  /** Whether λ ended on a bound of the search space. */
  lambdaOnBound: z.boolean(),
  /** The LP's dλ, in the units of the HLS λ scale. */
  dLambda: StoredReal,
  t: StoredReal,
  /** Lower-level stationarity ‖∇_w f‖ on the training data before and after the step. */
  gradNormBefore: StoredReal,
  gradNormAfter: StoredReal,
  /** HlsOptions["selection"] (bilevel/hls/hls_options.ts). */
  selection: z.enum(["in-sample", "held-out"]),
  /** Metrics on the data that chose t (the whole validation set in-sample). */
  selectionVal: Metrics,
  /** Metrics on the data that ranks the models (the other part of the validation set when held out). */
  val: Metrics,
  test: Metrics,
  seconds: z.number(),
  lpSeconds: z.number(),
  notes: z.array(z.string()),
});
export type HlsRecord = z.output<typeof HlsRecord>;

/** One trained (and possibly fine-tuned) model. */
export const TrialRecord = z.strictObject({
  index: z.number().int(),
  /** 0 for the initial population or a one-shot batch; g for the micro-GA's generation g. */
  generation: z.number().int(),
  genome: Genome,
  key: z.string(),
  hidden: z.array(z.number().int()),
  lambda: StoredReal,
  parameters: z.number().int(),
  trainSeconds: z.number(),
  base: z.strictObject({ train: Metrics, val: Metrics, test: Metrics }),
  hls: HlsRecord.optional(),
  /** What the sampler saw: validation loss, after HLS when HLS is on. */
  fitness: StoredReal,
  final: z.strictObject({ val: Metrics, test: Metrics }),
});
export type TrialRecord = z.output<typeof TrialRecord>;

/** One search run: a method, with or without HLS, for one seed. */
export const StudyResult = z.strictObject({
  method: z.string(),
  hls: z.boolean(),
  seed: z.number().int(),
  trials: z.array(TrialRecord).min(1),
  /** Best fitness after the initial population and after each generation (micro-GA only). */
  bestByGeneration: z.array(StoredReal).optional(),
  best: TrialRecord,
  seconds: z.strictObject({ total: z.number(), training: z.number(), hls: z.number() }),
});
export type StudyResult = z.output<typeof StudyResult>;

/** What a population stage and a run with HLS write in `study.json`: a study and where it ran. */
export const StudyOutput = z.strictObject({ backend: z.string(), dataset: z.string(), result: StudyResult });
export type StudyOutput = z.output<typeof StudyOutput>;

/**
 * A trial's record: scored as trained, or after HLS, or (`rankedAs`) as trained on HLS's ranking data, for
 * a model the run with HLS did not fine-tune.
 */
export function trialRecord(
  at: { index: number; generation: number },
  g: Genome,
  t: TrainedGenome,
  after: { hls?: HlsRecord; rankedAs?: Metrics } = {},
): TrialRecord {
  const { hls, rankedAs } = after;
  const final = hls ? { val: hls.val, test: hls.test } : { val: rankedAs ?? t.base.val, test: t.base.test };
  return {
    index: at.index,
    generation: at.generation,
    genome: g,
    key: genomeKey(g),
    hidden: hiddenOf(g),
    lambda: t.lambda,
    parameters: t.parameters,
    trainSeconds: t.trainSeconds,
    base: t.base,
    hls,
    fitness: final.val.loss,
    final,
  };
}

/** A study's result from its trials: the best by fitness (the first of equals), and its time split. */
export function summariseStudy(
  a: { method: string; hls: boolean; seed: number; trials: TrialRecord[]; seconds: number; bestByGeneration?: number[] },
): StudyResult {
  const { trials } = a;
  const best = trials.reduce((x, y) => (y.fitness < x.fitness ? y : x));
  return {
    method: a.method,
    hls: a.hls,
    seed: a.seed,
    trials,
    bestByGeneration: a.bestByGeneration,
    best,
    seconds: {
      total: a.seconds,
      training: trials.reduce((s, t) => s + t.trainSeconds, 0),
      hls: trials.reduce((s, t) => s + (t.hls?.seconds ?? 0), 0),
    },
  };
}
