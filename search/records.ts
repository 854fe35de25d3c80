// The records a search writes (a trial, a study), apart from HLS's code: stages that never run HLS write
// and read them without importing it.
import type { Metrics } from "../nn/train.ts";
import { type Genome, genomeKey, hiddenOf } from "./space.ts";
import type { TrainedGenome } from "./train_genomes.ts";

/** What HLS did to one model. */
export interface HlsRecord {
  improved: boolean;
  path: string;
  lambdaBefore: number;
  lambda: number;
  /** Whether λ ended on a bound of the search space. */
  lambdaOnBound: boolean;
  /** The LP's dλ, in the units of the HLS λ scale. */
  dLambda: number;
  t: number;
  /** Lower-level stationarity ‖∇_w f‖ on the training data before and after the step. */
  gradNormBefore: number;
  gradNormAfter: number;
  /** HlsOptions["selection"] (bilevel/hls/hls_options.ts). */
  selection: "in-sample" | "held-out";
  /** Metrics on the data that chose t (the whole validation set in-sample). */
  selectionVal: Metrics;
  /** Metrics on the data that ranks the models (the other part of the validation set when held out). */
  val: Metrics;
  test: Metrics;
  seconds: number;
  lpSeconds: number;
  notes: string[];
}

/** One trained (and possibly fine-tuned) model. */
export interface TrialRecord {
  index: number;
  /** 0 for the initial population or a one-shot batch; g for the micro-GA's generation g. */
  generation: number;
  genome: Genome;
  key: string;
  hidden: number[];
  lambda: number;
  parameters: number;
  trainSeconds: number;
  base: { train: Metrics; val: Metrics; test: Metrics };
  hls?: HlsRecord;
  /** What the sampler saw: validation loss, after HLS when HLS is on. */
  fitness: number;
  final: { val: Metrics; test: Metrics };
}

/** One search run: a method, with or without HLS, for one seed. */
export interface StudyResult {
  method: string;
  hls: boolean;
  seed: number;
  trials: TrialRecord[];
  /** Best fitness after the initial population and after each generation (micro-GA only). */
  bestByGeneration?: number[];
  best: TrialRecord;
  seconds: { total: number; training: number; hls: number };
}

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
