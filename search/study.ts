import { tf } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, type MlpSpec, type Weights } from "../nn/mlp.ts";
import { evaluate, type Metrics, TrainOptions, trainMlp } from "../nn/train.ts";
import { HlsOptions, hyperLocalSearch } from "../bilevel/hls.ts";
import type { Rng } from "../data/rng.ts";
import { type Genome, genomeKey, hiddenOf, type SearchSpace } from "./space.ts";
import { GridSampler, MicroGaOptions, MicroGaSampler, RandomSampler, type Sampler } from "./samplers.ts";

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
  hls?: {
    improved: boolean;
    path: string;
    lambda: number;
    dLambda: number;
    t: number;
    val: Metrics;
    test: Metrics;
    seconds: number;
    lpSeconds: number;
    notes: string[];
  };
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
}

/** Trains one genome's model (deterministic for the given rng) and evaluates it. */
function trainGenome(g: Genome, data: StudyData, training: TrainOptions, rng: Rng) {
  const spec: MlpSpec = { input: data.input, hidden: hiddenOf(g), classes: data.classes };
  const sizes = layerSizes(spec);
  const shapes = mlpShapes(sizes);
  const lambda = Math.pow(10, g.log10Lambda);
  const groups = new Array(sizes.length - 1).fill(0);
  const t0 = performance.now();
  const out = trainMlp(initWeights(spec, rng.fork("init")), shapes, data.train, { groups, lambdas: [lambda] }, training, rng.fork("batches"));
  const trainSeconds = (performance.now() - t0) / 1000;
  const tensors = tf.tidy(() => out.weights.map((w, i) => tf.tensor(w, shapes[i])));
  const base = { train: evaluate(tensors, data.train), val: evaluate(tensors, data.val), test: evaluate(tensors, data.test) };
  tf.dispose(tensors);
  return { sizes, groups, lambda, weights: out.weights as Weights, trainSeconds, base, parameters: out.weights.reduce((a, w) => a + w.length, 0) };
}

async function applyHls(t: ReturnType<typeof trainGenome>, data: StudyData, opts: HlsOptions) {
  const r = await hyperLocalSearch({ sizes: t.sizes, weights: t.weights, groups: t.groups, lambdas: [t.lambda] }, { train: data.train, val: data.val, test: data.test }, opts);
  return {
    improved: r.improved,
    path: r.path,
    lambda: r.lambdas[0],
    dLambda: r.dLambda[0],
    t: r.best.t,
    val: r.best.val,
    test: r.best.test!,
    seconds: r.cost.seconds,
    lpSeconds: r.cost.lpSeconds,
    notes: r.notes,
  };
}

function record(index: number, generation: number, g: Genome, t: ReturnType<typeof trainGenome>, hls?: Awaited<ReturnType<typeof applyHls>>): TrialRecord {
  const final = hls ? { val: hls.val, test: hls.test } : { val: t.base.val, test: t.base.test };
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

function summarise(method: string, hls: boolean, seed: number, trials: TrialRecord[], t0: number, bestByGeneration?: number[]): StudyResult {
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
 * Grid or random search, with and without HLS, sharing the trained models: each of the `budget` models is
 * trained once; the run without HLS scores it as trained, the run with HLS scores its fine-tuned version.
 * The comparison is therefore paired, model by model.
 */
export async function oneShotStudies(method: "grid" | "random", data: StudyData, s: StudySettings, seed: number, rng: Rng, onTrial: (k: number) => void): Promise<[StudyResult, StudyResult]> {
  const t0 = performance.now();
  const sampler: Sampler = method === "grid" ? new GridSampler(s.space, s.budget) : new RandomSampler(s.space, s.budget, rng.fork("sampler"));
  const genomes = sampler.ask();
  const without: TrialRecord[] = [], withHls: TrialRecord[] = [];
  let hlsSeconds = 0;
  for (const [i, g] of genomes.entries()) {
    const t = trainGenome(g, data, s.training, rng.fork(`trial-${i}`));
    without.push(record(i, 0, g, t));
    const h = await applyHls(t, data, s.hls);
    hlsSeconds += h.seconds;
    withHls.push(record(i, 0, g, t, h));
    onTrial(i + 1);
  }
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
export async function microGaStudy(data: StudyData, s: StudySettings, seed: number, withHls: boolean, rng: Rng, onTrial: (k: number) => void): Promise<StudyResult> {
  const t0 = performance.now();
  const ga = new MicroGaSampler(s.space, s.ga, rng.fork("sampler"));
  const trials: TrialRecord[] = [];
  for (let batch = ga.ask(); batch.length; batch = ga.ask()) {
    const obs = [];
    for (const g of batch) {
      const i = trials.length;
      const t = trainGenome(g, data, s.training, rng.fork(`trial-${i}`));
      const h = withHls ? await applyHls(t, data, s.hls) : undefined;
      const rec = record(i, ga.generation + (ga.population.length ? 1 : 0), g, t, h);
      trials.push(rec);
      let genome = g;
      if (h && s.hlsMode === "lamarckian" && h.improved) {
        const l = Math.log10(Math.max(h.lambda, 1e-300));
        genome = { ...g, log10Lambda: Math.min(s.space.log10LambdaMax, Math.max(s.space.log10LambdaMin, l)) };
      }
      obs.push({ genome, fitness: rec.fitness });
      onTrial(trials.length);
    }
    ga.tell(obs);
  }
  return summarise("microga", withHls, seed, trials, t0, ga.bestByGeneration);
}
