// A search's models as trained: the study loop of any method with an optional step after training (HLS,
// handed in by the caller that runs it), and the trained models as stored artifacts. No HLS code here or in
// what this module imports (a population stage's code digest must not cover HLS).
import type { Metrics, TrainOptions } from "../nn/train.ts";
import { layerSizes } from "../nn/mlp.ts";
import { decodeModel, encodeModel } from "../nn/weights_codec.ts";
import type { Rng } from "../data/rng.ts";
import type { Genome } from "./space.ts";
import { runStudy } from "./study_loop.ts";
import { type HlsRecord, type StudyResult, summariseStudy, type TrialRecord, trialRecord } from "./records.ts";
import { makeSampler, type SamplerSettings, type SearchMethod } from "./sampler_factory.ts";
import { type OnProgress, type StudyData, type TrainedGenome, trainGenomes } from "./train_genomes.ts";

/** A batch of genomes with their trained models. */
export interface TrainedBatch {
  genomes: Genome[];
  trained: TrainedGenome[];
}

/** What a step after training made of one model: the genome the sampler learns, and HLS's record or the model's ranking score. */
export interface StepOutcome {
  genome: Genome;
  hls?: HlsRecord;
  /** The model's score as trained on the step's ranking data (when the step left it as trained). */
  rankedAs?: Metrics;
}

/**
 * A step applied to each trained batch before the sampler sees it (HLS, search/study.ts): given the batch
 * and the fitnesses it competes with, returns each model's outcome in turn.
 */
export type BatchStep = (
  batch: TrainedBatch & { populationFitness: number[] },
) => ((j: number) => Promise<StepOutcome>) | Promise<(j: number) => Promise<StepOutcome>>;

/** What runSearch needs. */
export interface RunSearchArgs {
  data: StudyData;
  method: SearchMethod;
  /** Recorded in the result; the draws come from `rng` (search/sampler_factory.ts methodStream). */
  seed: number;
  rng: Rng;
  settings: SamplerSettings & { training: TrainOptions };
  /** Absent: every model scored as trained. */
  step?: BatchStep;
  /** Recorded in the result: whether `step` is HLS. */
  withHls?: boolean;
  /**
   * The first batch, trained already (a population stage's): used instead of training when the sampler
   * proposes exactly these genomes first, as it does from the same stream.
   */
  reuse?: TrainedBatch;
  onTrial: OnProgress;
}

/**
 * Runs a search: ask a batch, train it (or take the reused first batch), apply the step, tell. Returns the
 * study's result, its first batch and all its models as trained.
 *
 * @example
 * ```ts
 * const { result } = await runSearch({ data, method: "random", seed: 1, rng: methodStream("random", 1), settings, onTrial: () => {} });
 * console.log(result.best.final.test.acc);
 * ```
 */
export async function runSearch(a: RunSearchArgs): Promise<{ result: StudyResult; first: TrainedBatch; all: TrainedBatch }> {
  const { data, rng, onTrial } = a;
  const t0 = performance.now();
  const m = makeSampler(a.method, a.settings, rng);
  const trials: TrialRecord[] = [];
  let first: TrainedBatch | undefined;
  const all: TrainedBatch = { genomes: [], trained: [] };
  await runStudy(m.sampler, async (genomes, round) => {
    const generation = m.generation?.() ?? 0;
    const reused = round === 0 && a.reuse && sameGenomes(a.reuse.genomes, genomes) ? a.reuse.trained : undefined;
    const trained = reused ?? trainGenomes(genomes, {
      firstIndex: trials.length,
      data,
      training: a.settings.training,
      rng,
      batchRng: rng.fork(m.batchLabel(round)),
      onStep: (label) => onTrial(trials.length, label),
    });
    if (round === 0) first = { genomes, trained };
    all.genomes.push(...genomes);
    all.trained.push(...trained);
    const outcome = a.step ? await a.step({ genomes, trained, populationFitness: m.populationFitness?.() ?? [] }) : undefined;
    const observed = [];
    for (const [j, g] of genomes.entries()) {
      const o = outcome ? await outcome(j) : { genome: g };
      const rec = trialRecord({ index: trials.length, generation }, g, trained[j], o.hls ? { hls: o.hls } : { rankedAs: o.rankedAs });
      trials.push(rec);
      observed.push({ genome: o.genome, fitness: rec.fitness });
      onTrial(trials.length);
    }
    return observed;
  });
  const result = summariseStudy({
    method: a.method,
    hls: a.withHls ?? false,
    seed: a.seed,
    trials,
    seconds: (performance.now() - t0) / 1000,
    bestByGeneration: m.bestByGeneration?.(),
  });
  return { result, first: first ?? { genomes: [], trained: [] }, all };
}

function sameGenomes(x: Genome[], y: Genome[]): boolean {
  return x.length === y.length &&
    x.every((g, i) => g.layers === y[i].layers && g.neurons === y[i].neurons && g.log10Lambda === y[i].log10Lambda);
}

/** One stored model's description beside its weights (`model-<i>.json` holds the spec, `weights-<i>.f32` the weights). */
interface StoredTrained {
  genome: Genome;
  base: { train: Metrics; val: Metrics; test: Metrics };
  trainSeconds: number;
}

/**
 * A trained batch as artifacts: `batch.json` (genomes and scores as trained; its timings apart, in the
 * volatile companion the caller writes) and each model by the weights codec (nn/weights_codec.ts).
 */
export function encodeBatch(
  b: TrainedBatch,
  input: number,
  classes: number,
): { batch: StoredTrained[]; files: Record<string, Uint8Array> } {
  const files: Record<string, Uint8Array> = {};
  b.trained.forEach((t, i) => {
    const hidden = t.sizes.slice(1, -1);
    const m = encodeModel({ spec: { input, hidden, classes }, meta: { index: i, lambda: t.lambda }, weights: t.weights });
    files[`model-${i}.json`] = m["model.json"];
    files[`weights-${i}.f32`] = m["weights.f32"];
  });
  return { batch: b.trained.map((t, i) => ({ genome: b.genomes[i], base: t.base, trainSeconds: t.trainSeconds })), files };
}

/** Reads back what encodeBatch wrote: the same weights bit for bit, NaN scores (stored as JSON null) as NaN. */
export async function decodeBatch(batch: StoredTrained[], bytes: (name: string) => Promise<Uint8Array>): Promise<TrainedBatch> {
  const trained: TrainedGenome[] = [];
  for (const [i, s] of batch.entries()) {
    const m = decodeModel(await bytes(`model-${i}.json`), await bytes(`weights-${i}.f32`));
    const sizes = layerSizes(m.spec);
    const lambda = Number(m.meta.lambda);
    if (lambda !== Math.pow(10, s.genome.log10Lambda)) throw new Error(`model ${i}: stored λ ${lambda} is not its genome's`);
    trained.push({
      sizes,
      groups: new Array(sizes.length - 1).fill(0),
      lambda,
      weights: m.weights,
      trainSeconds: s.trainSeconds ?? 0,
      base: { train: metricsOf(s.base.train), val: metricsOf(s.base.val), test: metricsOf(s.base.test) },
      parameters: m.weights.reduce((n, w) => n + w.length, 0),
    });
  }
  return { genomes: batch.map((s) => s.genome), trained };
}

function metricsOf(m: { loss: number | null; acc: number | null }): Metrics {
  return { loss: m.loss ?? NaN, acc: m.acc ?? NaN };
}

/** A search's study result as read from JSON: NaN scores (stored as null) restored where they are compared. */
export function studyFromJson(r: StudyResult): StudyResult {
  const fix = (t: TrialRecord): TrialRecord => ({ ...t, fitness: t.fitness ?? NaN });
  const trials = r.trials.map(fix);
  return { ...r, trials, best: trials[r.best.index] ?? fix(r.best) };
}
