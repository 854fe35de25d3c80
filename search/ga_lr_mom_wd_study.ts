import { Rng } from "../data/rng.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { type EpochRecord, type ForwardFn, trainNetwork } from "../nn/train.ts";
import { type Metrics, TrainOptions } from "../nn/train_options.ts";
import { cnnForward, cnnShapes, type CnnSpec, initCnn } from "../nn/cnn.ts";
import { type GaLrMomWdRun, LrMomWdGaSampler, type SgdGenome } from "./ga_lr_mom_wd.ts";
import { runStudy } from "./study_loop.ts";

/** One individual's trained CNN: its genome, final training loss, validation metrics (fitness: the loss). */
interface Scored {
  genome: SgdGenome;
  trainLoss: number;
  val: Metrics;
  fitness: number;
  history: EpochRecord[];
}

/**
 * Seed 001: a GA over SGD learning rate, momentum and weight decay, each individual a CNN trained with
 * StepLR and scored by its final validation loss (or, in baseline mode, one CNN with fixed settings).
 */
export async function gaLrMomWdStudy(
  p: GaLrMomWdRun,
  d: { shape: [number, number, number]; classes: number; train: TensorPart; val: TensorPart },
  onProgress: (step: number, total: number, label: string) => void,
) {
  const [h, w, c] = d.shape;
  const spec = { height: h, width: w, channels: c, classes: d.classes, ...p.cnn };
  const fwd = cnnForward(spec);
  const rng = new Rng(p.seed);
  // Training draws its seeds from a stream of its own, fixed before the GA draws anything: a model's
  // initial weights and batch order depend on its index only, not on how many genomes were drawn before it.
  const trainRng = rng.fork("train");
  const t0 = performance.now();
  const total = p.mode === "baseline"
    ? 1
    : p.ga.population + (p.ga.generations - 1) * (p.ga.population - Math.max(1, Math.floor(p.ga.population / 2)));
  let trained = 0;
  const train = (g: SgdGenome, label: string): Scored => {
    const k = trained;
    const out = trainIndividual(g, {
      spec,
      fwd,
      p,
      d,
      trainRng,
      index: k,
      onStep: (e, s, per) => onProgress(k * p.epochs * per + (e - 1) * per + s, total * p.epochs * per, `${label} epoch ${e}/${p.epochs}`),
    });
    trained++;
    return out;
  };
  const generations: { generation: number; individuals: Scored[] }[] = [];
  if (p.mode === "baseline") {
    generations.push({ generation: 1, individuals: [train(p.baseline, "baseline")] });
  } else {
    const ga = new LrMomWdGaSampler<Scored>(p.ga, rng);
    await runStudy(
      ga,
      (batch, round) => batch.map((g, i) => train(g, round === 0 ? `gen 1 individual ${i + 1}` : `gen ${round + 1} child ${i + 1}`)),
    );
    generations.push(...ga.generations.map((individuals, i) => ({ generation: i + 1, individuals })));
  }
  return summary(generations, { seconds: (performance.now() - t0) / 1000, modelsTrained: trained });
}

/** Trains individual `index` (its own initial-weight and batch streams, forked from `trainRng`) and scores it. */
function trainIndividual(
  g: SgdGenome,
  a: {
    spec: CnnSpec;
    fwd: ForwardFn;
    p: GaLrMomWdRun;
    d: { train: TensorPart; val: TensorPart };
    trainRng: Rng;
    index: number;
    onStep: (epoch: number, step: number, stepsPerEpoch: number) => void;
  },
): Scored {
  const { spec, p, d, trainRng } = a;
  const out = trainNetwork({
    init: initCnn(spec, trainRng.fork(`init-${a.index}`)),
    shapes: cnnShapes(spec),
    forwardFn: a.fwd,
    train: d.train,
    objective: { groups: [], lambdas: [] },
    training: TrainOptions.parse({
      optimizer: "sgd",
      learningRate: g.lr,
      momentum: g.momentum,
      weightDecay: g.weightDecay,
      epochs: p.epochs,
      batchSize: p.batchSize,
      lrStep: { step: 1, gamma: p.stepGamma },
    }),
    rng: trainRng.fork(`batches-${a.index}`),
    evalParts: { train: d.train, val: d.val },
    onStep: a.onStep,
  });
  const last = out.history[out.history.length - 1];
  // a diverged model (NaN or ∞ loss) scores +∞, so that the GA never selects it
  const finite = (m?: Metrics) => (m && Number.isFinite(m.loss) ? m : { loss: Number.POSITIVE_INFINITY, acc: 0 });
  return {
    genome: g,
    trainLoss: finite(last.train).loss,
    val: finite(last.val),
    fitness: finite(last.val).loss,
    history: out.history,
  };
}

/** The run's record: the last generation's mean training loss and divergences, the best individual, every generation. */
function summary(generations: { generation: number; individuals: Scored[] }[], cost: { seconds: number; modelsTrained: number }) {
  const last = generations[generations.length - 1].individuals;
  const all = generations.flatMap((g) => g.individuals);
  const best = all.reduce((a, b) => (b.fitness < a.fitness ? b : a));
  const finiteTrain = last.map((i) => i.trainLoss).filter(Number.isFinite);
  return {
    meanFinalTrainLoss: finiteTrain.reduce((a, b) => a + b, 0) / Math.max(1, finiteTrain.length),
    diverged: last.length - finiteTrain.length,
    bestValLoss: best.fitness,
    best: { genome: best.genome, val: best.val },
    seconds: cost.seconds,
    modelsTrained: cost.modelsTrained,
    generations: generations.map((g) => ({
      generation: g.generation,
      bestValLoss: Math.min(...g.individuals.map((i) => i.fitness)),
      individuals: g.individuals.map((i) => ({ genome: i.genome, trainLoss: i.trainLoss, val: i.val })),
    })),
  };
}

/** What gaLrMomWdStudy returns. */
export type GaLrMomWdStudyResult = Awaited<ReturnType<typeof gaLrMomWdStudy>>;
