// The HLS step of a search: hyper local search on trained genomes (one model, a one-shot population, or each
// batch of a search whose HLS feeds back), on HLS's held-out split of the validation set. Training and
// ranking as trained live apart (train_genomes.ts, population.ts), free of HLS code, so that stages that only
// train keep their cache entries when HLS changes.
import type { TensorPart } from "../nn/data_tensors.ts";
import type { Metrics } from "../nn/train_options.ts";
import { evaluateMlps } from "../nn/train_mlps.ts";
import { heldOutSplit, type HlsData, type HlsModel, type HlsOptions, hyperLocalSearch, warmUpHls } from "../bilevel/hls/hls.ts";
import type { LambdaSpace } from "../bilevel/hls/lambda_scale.ts";
import type { Genome, SearchSpace } from "./space.ts";
import { type HlsRecord, type StudyResult, summariseStudy, type TrialRecord, trialRecord } from "./records.ts";
import type { BatchStep, StepOutcome, TrainedBatch } from "./population.ts";
import type { StudySettings } from "./study_settings.ts";
import { amongBest, lowestLoss, type OnProgress, type StudyData, type TrainedGenome } from "./train_genomes.ts";

/** The held-out split of the study's validation set for `fraction`, made on first use and kept. */
export function heldOutOf(data: StudyData, fraction: number): [TensorPart, TensorPart] {
  data.heldOutCache ??= new Map();
  let parts = data.heldOutCache.get(fraction);
  if (!parts) data.heldOutCache.set(fraction, parts = heldOutSplit(data.val, { heldOutFraction: fraction }));
  return parts;
}

/**
 * Evaluates the trained models on both parts of HLS's held-out split of the validation set, for HLS to take
 * as its scores at t = 0 (TrainedGenome.heldOutVal): two half passes instead of HLS's own per model.
 */
export function attachHeldOutScores(trained: TrainedGenome[], data: StudyData, fraction: number): void {
  const parts = heldOutOf(data, fraction);
  const [sel, rank] = parts.map((p) => evaluateMlps(trained.map((t) => t.sizes), trained.map((t) => t.weights), p));
  trained.forEach((t, j) => t.heldOutVal = { fraction, selection: sel[j], ranking: rank[j] });
}

/** The λ space HLS may move in: the search space's range, in the scale HLS steps in. */
export function hlsLambdaSpace(space: SearchSpace, scale: HlsOptions["lambdaScale"]): LambdaSpace {
  return scale === "log10"
    ? { scale, min: space.log10LambdaMin, max: space.log10LambdaMax }
    : { scale, min: Math.pow(10, space.log10LambdaMin), max: Math.pow(10, space.log10LambdaMax) };
}

/**
 * Trained models' scores as trained (t = 0) on the data HLS with `opts` ranks models on: the ranking half
 * of the validation set for held-out selection (from training's evaluation when it was split there), the
 * whole of it in sample.
 */
export function rankingMetrics(ts: TrainedGenome[], data: StudyData, opts: HlsOptions): Metrics[] {
  if (opts.selection !== "held-out") return ts.map((t) => t.base.val);
  if (ts.every((t) => rankedAsTrained(t, opts))) return ts.map((t) => rankedAsTrained(t, opts)!);
  const [, rank] = heldOutOf(data, opts.heldOutFraction);
  return evaluateMlps(ts.map((t) => t.sizes), ts.map((t) => t.weights), rank);
}

/** The model's score on HLS's ranking half as training's evaluation gave it, when it split the same way. */
function rankedAsTrained(t: TrainedGenome, opts: HlsOptions): Metrics | undefined {
  return t.heldOutVal?.fraction === opts.heldOutFraction ? t.heldOutVal.ranking : undefined;
}

/** A trained genome as the model HLS starts from, λ free within the search space. */
export function hlsModelOf(t: TrainedGenome, space: SearchSpace, opts: HlsOptions): HlsModel {
  return { sizes: t.sizes, weights: t.weights, groups: t.groups, lambdas: [t.lambda], space: hlsLambdaSpace(space, opts.lambdaScale) };
}

/** The study's data as HLS on a trained genome takes it: the held-out halves, and its scores as trained. */
export function hlsDataOf(t: TrainedGenome, data: StudyData, opts: HlsOptions): HlsData {
  return {
    train: data.train,
    val: data.val,
    test: data.test,
    heldOut: opts.selection === "held-out" ? heldOutOf(data, opts.heldOutFraction) : undefined,
    asGiven: { rank: opts.selection === "held-out" ? rankedAsTrained(t, opts) : undefined, test: t.base.test },
  };
}

/** Hyper local search on one trained genome, summarised for its trial record. */
export async function applyHls(t: TrainedGenome, data: StudyData, opts: HlsOptions, space: SearchSpace): Promise<HlsRecord> {
  const r = await hyperLocalSearch(hlsModelOf(t, space, opts), hlsDataOf(t, data, opts), opts);
  return {
    improved: r.improved,
    path: r.path,
    lambdaBefore: r.lambdasBefore[0],
    lambda: r.lambdas[0],
    lambdaOnBound: r.lambdaOnBound[0],
    dLambda: r.dLambda[0],
    t: r.best.t,
    gradNormBefore: r.gradNormBefore,
    gradNormAfter: r.gradNormAfter,
    selection: opts.selection,
    selectionVal: r.best.val,
    val: r.best.rank!,
    test: r.best.test!,
    seconds: r.cost.seconds,
    lpSeconds: r.cost.lpSeconds,
    notes: r.notes,
  };
}

/**
 * The step a study with HLS applies after training each model: hyper local search on it, and, Lamarckian,
 * the fine-tuned λ written back into the genome the sampler learns (clamped to the space); Baldwinian, only
 * the fitness changes. Without HLS the model is scored as trained.
 */
export async function hlsStep(
  g: Genome,
  t: TrainedGenome,
  a: { data: StudyData; s: Pick<StudySettings, "hls" | "hlsMode" | "space">; withHls: boolean },
): Promise<{ hls?: HlsRecord; genome: Genome }> {
  if (!a.withHls) return { genome: g };
  const { s } = a;
  const hls = await applyHls(t, a.data, s.hls, s.space);
  if (s.hlsMode !== "lamarckian" || !hls.improved) return { hls, genome: g };
  const l = Math.log10(Math.max(hls.lambda, 1e-300));
  return { hls, genome: { ...g, log10Lambda: Math.min(s.space.log10LambdaMax, Math.max(s.space.log10LambdaMin, l)) } };
}

/**
 * HLS on a one-shot population (grid or random search, or the ablation's one-shot variants): the `hlsTop`
 * models of lowest validation loss as trained are fine-tuned (all by default), the others are ranked as
 * trained on HLS's ranking data. The run with HLS, paired model by model with the population's ranking as
 * trained. `trainingSeconds`: the population's training time, counted in the run's total.
 */
export async function oneShotHls(a: {
  method: string;
  seed: number;
  population: TrainedBatch;
  data: StudyData;
  settings: Pick<StudySettings, "hls" | "hlsTop" | "hlsMode" | "space">;
  trainingSeconds: number;
  onTrial: OnProgress;
}): Promise<StudyResult> {
  const { data, settings: s } = a;
  const { genomes, trained } = a.population;
  const t0 = performance.now();
  warmUpHls(s.hls);
  // the ranking half's scores as trained in one pass (as training with the held-out split gave them)
  if (s.hls.selection === "held-out" && (s.hlsTop ?? trained.length) < trained.length) {
    attachHeldOutScores(trained, data, s.hls.heldOutFraction);
  }
  const tuned = lowestLoss(trained, s.hlsTop);
  const asTrained = tuned.size < trained.length ? rankingMetrics(trained, data, s.hls) : [];
  const trials: TrialRecord[] = [];
  for (const [i, g] of genomes.entries()) {
    const t = trained[i];
    if (tuned.has(i)) {
      const { hls } = await hlsStep(g, t, { data, s, withHls: true });
      trials.push(trialRecord({ index: i, generation: 0 }, g, t, { hls }));
    } else trials.push(trialRecord({ index: i, generation: 0 }, g, t, { rankedAs: asTrained[i] }));
    a.onTrial(i + 1);
  }
  const seconds = a.trainingSeconds + (performance.now() - t0) / 1000;
  return summariseStudy({ method: a.method, hls: true, seed: a.seed, trials, seconds });
}

/**
 * The HLS step of a search whose HLS feeds back (the micro-GA): each model of a batch fine-tuned before the
 * sampler sees it, or with gaHlsTop only those that as trained rank among the k best of the population and
 * the batch (the others enter ranked as trained on HLS's ranking data).
 */
export function hlsBatchStep(data: StudyData, s: StudySettings): BatchStep {
  const topK = s.gaHlsTop;
  return ({ genomes, trained, populationFitness }) => {
    if (topK !== undefined && s.hls.selection === "held-out") attachHeldOutScores(trained, data, s.hls.heldOutFraction);
    const asTrained = topK === undefined ? [] : rankingMetrics(trained, data, s.hls);
    const tuned = topK === undefined ? new Set(genomes.keys()) : amongBest(asTrained.map((m) => m.loss), populationFitness, topK);
    return async (j): Promise<StepOutcome> =>
      tuned.has(j) ? await hlsStep(genomes[j], trained[j], { data, s, withHls: true }) : { genome: genomes[j], rankedAs: asTrained[j] };
  };
}
