import { disposePart, type TensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, type MlpSpec, type Weights } from "../nn/mlp.ts";
import type { Metrics, TrainOptions } from "../nn/train.ts";
import { evaluateMlps, trainMlps } from "../nn/train_mlps.ts";
import { heldOutSplit, type HlsData, type HlsModel, HlsOptions, hyperLocalSearch, warmUpHls } from "../bilevel/hls.ts";
import type { LambdaSpace } from "../bilevel/lambda_scale.ts";
import type { Rng } from "../data/rng.ts";
import { type Genome, genomeKey, hiddenOf, type SearchSpace } from "./space.ts";
import { GridSampler, MicroGaOptions, MicroGaSampler, RandomSampler } from "./samplers.ts";
import { runStudy, type Sampler } from "./study_loop.ts";

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
  selection: HlsOptions["selection"];
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

/** Data a study trains and evaluates on. */
export interface StudyData {
  train: TensorPart;
  val: TensorPart;
  test: TensorPart;
  input: number;
  classes: number;
  /** Held-out splits of `val` by fraction, made once per study (see heldOutOf); released by disposeStudyData or releaseHeldOut. */
  heldOutCache?: Map<number, [TensorPart, TensorPart]>;
}

/** The held-out split of the study's validation set for `fraction`, made on first use and kept. */
export function heldOutOf(data: StudyData, fraction: number): [TensorPart, TensorPart] {
  data.heldOutCache ??= new Map();
  let parts = data.heldOutCache.get(fraction);
  if (!parts) data.heldOutCache.set(fraction, parts = heldOutSplit(data.val, { heldOutFraction: fraction }));
  return parts;
}

/** Releases the tensors of a study's data, including its held-out splits. */
export function disposeStudyData(data: StudyData): void {
  [data.train, data.val, data.test].forEach(disposePart);
  releaseHeldOut(data);
}

/** Releases only the held-out splits a study made (for a caller that owns the parts themselves). */
export function releaseHeldOut(data: StudyData): void {
  [...(data.heldOutCache?.values() ?? [])].flat().forEach(disposePart);
  data.heldOutCache?.clear();
}

/** Settings shared by every method. */
export interface StudySettings {
  space: SearchSpace;
  training: TrainOptions;
  hls: HlsOptions;
  /** Lamarckian: the fine-tuned λ is written back into the genome; Baldwinian: only the fitness changes. */
  hlsMode: "lamarckian" | "baldwinian";
  budget: number;
  ga: MicroGaOptions;
  /**
   * Grid and random search only: fine-tune just the `hlsTop` models of lowest validation loss as trained;
   * the others are ranked as trained, on the same ranking data. Default: every model (the paper's way).
   */
  hlsTop?: number;
  /**
   * The micro-GA only: fine-tune just the offspring that, as trained, rank among the `gaHlsTop` best of the
   * population and their batch (scored on HLS's ranking data, as the population's fitness is); the others
   * enter as trained. Default: every model.
   */
  gaHlsTop?: number;
}

/** A genome's trained model and its scores before any fine-tuning. */
export interface TrainedGenome {
  sizes: number[];
  groups: number[];
  lambda: number;
  weights: Weights;
  /** The model's share of its stack's training wall time (models trained together split it evenly). */
  trainSeconds: number;
  base: { train: Metrics; val: Metrics; test: Metrics };
  /** The validation scores part by part, when trained with a held-out split (TrainGenomesArgs.heldOut). */
  heldOutVal?: { fraction: number; selection: Metrics; ranking: Metrics };
  parameters: number;
}

/** Reports progress: `k` models finished, with an optional label for work in between. */
export type OnProgress = (k: number, label?: string) => void;

/** How trainGenomes trains: the first genome's trial index, the data and settings, and two seeded streams. */
export interface TrainGenomesArgs {
  /** Trial index of the first genome (its initial weights come from rng.fork(`trial-${index}`)). */
  firstIndex: number;
  data: StudyData;
  training: TrainOptions;
  /** Parent of each model's initial-weight stream. */
  rng: Rng;
  /** Draws the batch order all the models share. */
  batchRng: Rng;
  onStep?: (label: string) => void;
  /**
   * The held-out split of `data.val` HLS will use (heldOutFraction): the validation set is then evaluated
   * part by part, and `val` combined from the parts, so that the ranking part's scores as trained cost no
   * pass of their own.
   */
  heldOutFraction?: number;
}

/**
 * Trains the genomes' models together (one stack per depth, nn/train_mlps.ts) and evaluates them. Each
 * model's initial weights come from rng.fork(`trial-${index}`), so they do not depend on its batch-mates;
 * all share the batch order drawn from `batchRng`. Deterministic for given genomes, indices and seeds.
 */
export function trainGenomes(genomes: Genome[], a: TrainGenomesArgs): TrainedGenome[] {
  const { firstIndex, data, training, rng, batchRng, onStep } = a;
  const members = genomes.map((g, j) => {
    const spec: MlpSpec = { input: data.input, hidden: hiddenOf(g), classes: data.classes };
    const lambda = Math.pow(10, g.log10Lambda);
    const sizes = layerSizes(spec);
    return {
      hidden: spec.hidden,
      init: initWeights(spec, rng.fork(`trial-${firstIndex + j}`).fork("init")),
      layerLambdas: new Array(sizes.length - 1).fill(lambda),
      sizes,
      lambda,
    };
  });
  const t0 = performance.now();
  const out = trainMlps(members, {
    input: data.input,
    classes: data.classes,
    train: data.train,
    training,
    rng: batchRng,
    evalParts: {},
    onStep: (epoch, step, per) => onStep?.(`training ${genomes.length} models: epoch ${epoch}/${training.epochs} step ${step}/${per}`),
  });
  const trainSeconds = (performance.now() - t0) / 1000 / genomes.length;
  const sizesList = members.map((m) => m.sizes);
  const evaluate = (part: TensorPart) => evaluateMlps(sizesList, out.weights, part);
  const [train, test] = [evaluate(data.train), evaluate(data.test)];
  const fraction = a.heldOutFraction;
  const parts = fraction === undefined ? undefined : heldOutOf(data, fraction);
  const halves = parts?.map(evaluate);
  const val = halves ? halves[0].map((m, j) => pooledMetrics([[m, parts![0].n], [halves[1][j], parts![1].n]])) : evaluate(data.val);
  return members.map((m, j) => ({
    sizes: m.sizes,
    groups: new Array(m.sizes.length - 1).fill(0),
    lambda: m.lambda,
    weights: out.weights[j],
    trainSeconds,
    base: { train: train[j], val: val[j], test: test[j] },
    heldOutVal: halves && { fraction: fraction!, selection: halves[0][j], ranking: halves[1][j] },
    parameters: out.weights[j].reduce((a, w) => a + w.length, 0),
  }));
}

/** The scores on the union of disjoint parts from each part's scores and size (correct counts kept whole). */
export function pooledMetrics(parts: [Metrics, number][]): Metrics {
  const n = parts.reduce((a, [, k]) => a + k, 0);
  const loss = parts.reduce((a, [m, k]) => a + m.loss * k, 0) / n;
  const right = parts.reduce((a, [m, k]) => a + Math.round(m.acc * k), 0);
  return { loss, acc: right / n };
}

/** The λ space HLS may move in: the search space's range, in the scale HLS steps in. */
export function hlsLambdaSpace(space: SearchSpace, scale: HlsOptions["lambdaScale"]): LambdaSpace {
  return scale === "log10"
    ? { scale, min: space.log10LambdaMin, max: space.log10LambdaMax }
    : { scale, min: Math.pow(10, space.log10LambdaMin), max: Math.pow(10, space.log10LambdaMax) };
}

/** Indices of the `k` trained models of lowest validation loss (all when k is absent), ties by index. */
export function lowestLoss(trained: TrainedGenome[], k?: number): Set<number> {
  const order = trained.map((t, i) => ({ i, loss: orderable(t.base.val.loss) })).sort((x, y) => x.loss - y.loss || x.i - y.i);
  return new Set(order.slice(0, k ?? trained.length).map((x) => x.i));
}

/** A loss to sort by: NaN (a diverged model) as the worst, so that comparisons stay a total order. */
function orderable(loss: number): number {
  return Number.isNaN(loss) ? Infinity : loss;
}

/**
 * Indices of the batch's scores that rank among the `k` lowest of the batch and the population's fitnesses
 * together (ties: the population first, then batch order; NaN ranks last). With an empty population: the
 * batch's k best.
 */
export function amongBest(batch: number[], population: number[], k: number): Set<number> {
  const all = [...population.map((f) => ({ f: orderable(f), j: -1 })), ...batch.map((f, j) => ({ f: orderable(f), j }))];
  const order = all.map((x, i) => ({ ...x, i })).sort((a, b) => a.f - b.f || a.i - b.i);
  return new Set(order.slice(0, k).filter((x) => x.j >= 0).map((x) => x.j));
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
 * A trial's record: scored as trained, or after HLS, or (`rankedAs`) as trained on HLS's ranking data, for
 * a model the run with HLS did not fine-tune.
 */
function record(
  index: number,
  generation: number,
  g: Genome,
  t: TrainedGenome,
  after: { hls?: HlsRecord; rankedAs?: Metrics } = {},
): TrialRecord {
  const { hls, rankedAs } = after;
  const final = hls ? { val: hls.val, test: hls.test } : { val: rankedAs ?? t.base.val, test: t.base.test };
  return {
    index,
    generation,
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

function summarise(
  method: string,
  hls: boolean,
  seed: number,
  trials: TrialRecord[],
  t0: number,
  bestByGeneration?: number[],
): StudyResult {
  const best = trials.reduce((a, b) => (b.fitness < a.fitness ? b : a));
  return {
    method,
    hls,
    seed,
    trials,
    bestByGeneration,
    best,
    seconds: {
      total: (performance.now() - t0) / 1000,
      training: trials.reduce((a, t) => a + t.trainSeconds, 0),
      hls: trials.reduce((a, t) => a + (t.hls?.seconds ?? 0), 0),
    },
  };
}

/**
 * The step a study with HLS applies after training each model: hyper local search on it, and, Lamarckian,
 * the fine-tuned λ written back into the genome the sampler learns (clamped to the space); Baldwinian, only
 * the fitness changes. Without HLS the model is scored as trained.
 */
async function hlsStep(
  g: Genome,
  t: TrainedGenome,
  a: { data: StudyData; s: StudySettings; withHls: boolean },
): Promise<{ hls?: HlsRecord; genome: Genome }> {
  if (!a.withHls) return { genome: g };
  const { s } = a;
  const hls = await applyHls(t, a.data, s.hls, s.space);
  if (s.hlsMode !== "lamarckian" || !hls.improved) return { hls, genome: g };
  const l = Math.log10(Math.max(hls.lambda, 1e-300));
  return { hls, genome: { ...g, log10Lambda: Math.min(s.space.log10LambdaMax, Math.max(s.space.log10LambdaMin, l)) } };
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
 * The comparison is therefore paired, model by model.
 */
export async function oneShotStudies(args: StudyArgs & { method: "grid" | "random" }): Promise<[StudyResult, StudyResult]> {
  const { method, data, settings: s, seed, rng, onTrial } = args;
  const t0 = performance.now();
  const sampler: Sampler<Genome> = method === "grid"
    ? new GridSampler(s.space, s.budget)
    : new RandomSampler(s.space, s.budget, rng.fork("sampler"));
  const without: TrialRecord[] = [], withHls: TrialRecord[] = [];
  let hlsSeconds = 0;
  warmUpHls(s.hls);
  await runStudy(sampler, async (genomes, round) => {
    const first = without.length;
    const batchRng = rng.fork(round === 0 ? "batches" : `batches-${round}`);
    const someAsTrained = s.hls.selection === "held-out" && (s.hlsTop ?? genomes.length) < genomes.length;
    const trained = trainGenomes(genomes, {
      firstIndex: first,
      data,
      training: s.training,
      rng,
      batchRng,
      onStep: (label) => onTrial(first, label),
      heldOutFraction: someAsTrained ? s.hls.heldOutFraction : undefined,
    });
    // HLS on the hlsTop best as trained (all by default); the rest scored as trained on HLS's ranking data
    const tuned = lowestLoss(trained, s.hlsTop);
    const r0 = performance.now();
    const asTrained = tuned.size < trained.length ? rankingMetrics(trained, data, s.hls) : [];
    const rankingSeconds = (performance.now() - r0) / 1000;
    const observed = [];
    for (const [j, g] of genomes.entries()) {
      const t = trained[j], i = first + j;
      without.push(record(i, 0, g, t));
      if (tuned.has(j)) {
        const { hls } = await hlsStep(g, t, { data, s, withHls: true });
        hlsSeconds += hls!.seconds;
        withHls.push(record(i, 0, g, t, { hls }));
      } else withHls.push(record(i, 0, g, t, { rankedAs: asTrained[j] }));
      observed.push({ genome: g, fitness: withHls[i].fitness });
      onTrial(i + 1);
    }
    hlsSeconds += rankingSeconds;
    return observed;
  });
  const a = summarise(method, false, seed, without, t0);
  const b = summarise(method, true, seed, withHls, t0);
  // the shared wall time is split: training to both, HLS to the HLS run only
  a.seconds.total -= hlsSeconds;
  b.seconds.total = a.seconds.total + hlsSeconds;
  return [a, b];
}

/**
 * The steady-state micro-GA, with or without HLS: population + generations × offspring models. With HLS
 * each model is fine-tuned before the GA sees its fitness (Lamarckian or Baldwinian by option).
 */
export async function microGaStudy(args: StudyArgs & { withHls: boolean }): Promise<StudyResult> {
  const { data, settings: s, seed, withHls, rng, onTrial } = args;
  const t0 = performance.now();
  const ga = new MicroGaSampler(s.space, s.ga, rng.fork("sampler"));
  const trials: TrialRecord[] = [];
  if (withHls) warmUpHls(s.hls);
  const topK = withHls ? s.gaHlsTop : undefined;
  await runStudy(ga, async (batch, round) => {
    const generation = ga.generation + (ga.population.length ? 1 : 0);
    const batchRng = rng.fork(`batches-${round}`);
    const trained = trainGenomes(batch, {
      firstIndex: trials.length,
      data,
      training: s.training,
      rng,
      batchRng,
      onStep: (label) => onTrial(trials.length, label),
      heldOutFraction: topK !== undefined && s.hls.selection === "held-out" ? s.hls.heldOutFraction : undefined,
    });
    // with gaHlsTop, HLS only for the batch's models that as trained rank among the k best so far
    const asTrained = topK === undefined ? [] : rankingMetrics(trained, data, s.hls);
    const tuned = topK === undefined
      ? new Set(batch.keys())
      : amongBest(asTrained.map((m) => m.loss), ga.population.map((o) => o.fitness), topK);
    const observed = [];
    for (const [j, g] of batch.entries()) {
      const step = tuned.has(j) ? await hlsStep(g, trained[j], { data, s, withHls }) : { genome: g };
      const rec = record(trials.length, generation, g, trained[j], step.hls ? { hls: step.hls } : { rankedAs: asTrained[j] });
      trials.push(rec);
      observed.push({ genome: step.genome, fitness: rec.fitness });
      onTrial(trials.length);
    }
    return observed;
  });
  return summarise("microga", withHls, seed, trials, t0, ga.bestByGeneration);
}
