// A study: one search run of any method, with HLS as a step after each batch's training (search/hls_step.ts)
// or without, on data held as tensors; and the data's release. The pipeline runs the same work split into
// stages (stages/population.ts trains, stages/search.ts runs HLS); the benchmarks and tests call these.
import { disposePart } from "../nn/data_tensors.ts";
import { warmUpHls } from "../bilevel/hls/hls.ts";
import type { Rng } from "../data/rng.ts";
import type { Genome } from "./space.ts";
import type { StudyResult } from "./records.ts";
import { runSearch, type TrainedBatch } from "./population.ts";
import type { SearchMethod } from "./sampler_factory.ts";
import { attachHeldOutScores, heldOutOf, hlsBatchStep, oneShotHls } from "./hls_step.ts";
import type { StudySettings } from "./study_settings.ts";
import {
  type OnProgress,
  pooledMetrics,
  releaseHeldOut,
  type StudyData,
  type TrainedGenome,
  trainGenomes as trainGenomesAsTrained,
  type TrainGenomesArgs as TrainArgs,
} from "./train_genomes.ts";

/** Releases the tensors of a study's data, including its held-out splits. */
export function disposeStudyData(data: StudyData): void {
  [data.train, data.val, data.test].forEach(disposePart);
  releaseHeldOut(data);
}

/** How trainGenomes trains here: as train_genomes.ts, and optionally with HLS's held-out split evaluated. */
export interface TrainGenomesArgs extends TrainArgs {
  /**
   * The held-out split of `data.val` HLS will use (heldOutFraction): the validation set is then also
   * evaluated part by part (heldOutVal), and `val` combined from the parts.
   */
  heldOutFraction?: number;
}

/**
 * Trains the genomes' models (search/train_genomes.ts trainGenomes); with `heldOutFraction`, also scores
 * HLS's two validation parts, `val` then pooled from them (the benchmarks' way; the pipeline's stages keep
 * the whole set's `val`).
 */
export function trainGenomes(genomes: Genome[], a: TrainGenomesArgs): TrainedGenome[] {
  const { heldOutFraction: fraction, ...rest } = a;
  const trained = trainGenomesAsTrained(genomes, rest);
  if (fraction === undefined) return trained;
  attachHeldOutScores(trained, a.data, fraction);
  const parts = heldOutOf(a.data, fraction);
  for (const t of trained) {
    const h = t.heldOutVal!;
    t.base = { ...t.base, val: pooledMetrics([[h.selection, parts[0].n], [h.ranking, parts[1].n]]) };
  }
  return trained;
}

/** What a study runs on: data, settings, the seed it is recorded under, its stream, and progress. */
export interface StudyArgs {
  data: StudyData;
  settings: StudySettings;
  /** Recorded in the result; the draws come from `rng`. */
  seed: number;
  rng: Rng;
  onTrial: OnProgress;
}

/**
 * Grid or random search, with and without HLS, sharing the trained models: each of the `budget` models is
 * trained once; the run without HLS scores it as trained, the run with HLS scores its fine-tuned version.
 * The comparison is therefore paired, model by model. (The pipeline runs the two halves as stages of their
 * own: stages/population.ts and stages/search.ts.)
 */
export async function oneShotStudies(args: StudyArgs & { method: "grid" | "random" }): Promise<[StudyResult, StudyResult]> {
  const { method, data, settings: s, seed, rng, onTrial } = args;
  const { result: without, all } = await runSearch({ data, method, seed, rng, settings: s, onTrial });
  const withHls = await oneShotHls({ method, seed, population: all, data, settings: s, trainingSeconds: without.seconds.total, onTrial });
  return [without, withHls];
}

/**
 * The steady-state micro-GA, with or without HLS: population + generations × offspring models. With HLS
 * each model is fine-tuned before the GA sees its fitness (Lamarckian or Baldwinian by option). `reuse`:
 * the initial population as trained (the run without HLS's), taken instead of training it again.
 */
export async function microGaStudy(args: StudyArgs & { withHls: boolean; reuse?: TrainedBatch }): Promise<StudyResult> {
  return await searchStudy({ ...args, method: "microga" });
}

/**
 * A search of any method (search/sampler_factory.ts), with HLS as a step after each batch's training or
 * without, from `rng`; `reuse`: its first batch as trained, taken instead of training it again.
 */
export async function searchStudy(
  args: StudyArgs & { method: SearchMethod; withHls: boolean; reuse?: TrainedBatch },
): Promise<StudyResult> {
  const { data, settings: s, seed, withHls, rng, onTrial, method } = args;
  if (withHls) warmUpHls(s.hls);
  const step = withHls ? hlsBatchStep(data, s) : undefined;
  return (await runSearch({ data, method, seed, rng, settings: s, step, withHls, reuse: args.reuse, onTrial })).result;
}
