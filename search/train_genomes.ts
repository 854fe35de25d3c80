// Training a batch of genomes and ranking them as trained: everything a search does without HLS. This module
// and what it imports hold no HLS code, so that a stage that only trains (stages/population.ts) keeps its
// cache entry when HLS code changes (pipeline/plan/code_digest.ts covers a stage's whole import closure).
import { disposePart, type TensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, type MlpSpec, type Weights } from "../nn/mlp.ts";
import type { Metrics, TrainOptions } from "../nn/train.ts";
import { evaluateMlps, trainMlps } from "../nn/train_mlps.ts";
import type { Rng } from "../data/rng.ts";
import { type Genome, hiddenOf } from "./space.ts";

/** Data a study trains and evaluates on. */
export interface StudyData {
  train: TensorPart;
  val: TensorPart;
  test: TensorPart;
  input: number;
  classes: number;
  /** Held-out splits of `val` by fraction, made once per study (search/study.ts heldOutOf); released by releaseHeldOut. */
  heldOutCache?: Map<number, [TensorPart, TensorPart]>;
}

/** Releases only the held-out splits a study made (for a caller that owns the parts themselves). */
export function releaseHeldOut(data: StudyData): void {
  [...(data.heldOutCache?.values() ?? [])].flat().forEach(disposePart);
  data.heldOutCache?.clear();
}

/**
 * A split's parts as a study's data for `body`; the held-out splits a study makes are freed afterwards (the
 * parts are the caller's: stages/_load.ts withSplit frees them).
 */
export async function withStudyData<T>(
  split: { train: TensorPart; val: TensorPart; test: TensorPart; classes: number },
  body: (data: StudyData) => Promise<T>,
): Promise<T> {
  const data: StudyData = { train: split.train, val: split.val, test: split.test, input: split.train.x.shape[1], classes: split.classes };
  try {
    return await body(data);
  } finally {
    releaseHeldOut(data);
  }
}

/** A genome's trained model and its scores before any fine-tuning. */
export interface TrainedGenome {
  sizes: number[];
  groups: number[];
  lambda: number;
  weights: Weights;
  /** The model's share of its stack's training wall time (models trained together split it evenly). */
  trainSeconds: number;
  /** As trained; `val` on the whole validation set. */
  base: { train: Metrics; val: Metrics; test: Metrics };
  /** The validation scores part by part, when HLS's held-out split was evaluated (search/study.ts attachHeldOutScores). */
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
}

/**
 * Trains the genomes' models together (one stack per depth, nn/train_mlps.ts) and evaluates them on the
 * three parts. Each model's initial weights come from rng.fork(`trial-${index}`), so they do not depend on
 * its batch-mates; all share the batch order drawn from `batchRng`. Deterministic for given genomes,
 * indices and seeds.
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
  const [train, val, test] = [evaluate(data.train), evaluate(data.val), evaluate(data.test)];
  return members.map((m, j) => ({
    sizes: m.sizes,
    groups: new Array(m.sizes.length - 1).fill(0),
    lambda: m.lambda,
    weights: out.weights[j],
    trainSeconds,
    base: { train: train[j], val: val[j], test: test[j] },
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
