import { tf } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { mlpDropoutForward } from "../nn/mlp_dropout.ts";
import { evaluate, trainNetwork } from "../nn/train.ts";
import { type Metrics, TrainOptions } from "../nn/train_options.ts";
import { GpBo } from "../search/gp_bo.ts";
import { UnitCubeSampler } from "../search/samplers.ts";
import { runStudy, type Sampler } from "../search/study_loop.ts";
import { Rng } from "../data/rng.ts";
import { runCpmlho } from "./cpmlho.ts";
import type { CpmlhoResult } from "./cpmlho_records.ts";
import { cpmlhoCnnBaseline } from "./cpmlho_baseline.ts";
import type { CpmlhoOptions, CpmlhoRun } from "./cpmlho_options.ts";
import type { CpmlhoRecord } from "./cpmlho_records.ts";

/** The data of one split, as the study's networks read it. */
type StudyData = { shape: [number, number, number]; classes: number; train: TensorPart; val: TensorPart; test: TensorPart };

/**
 * Seed 003 on one split: CPMLHO tuning the dropout rate before each layer (and, for the CNN, cutout), beside
 * random search and GP-based Bayesian optimisation with the same total training epochs; Δ-STN (the
 * document's third baseline) is listed as not implemented.
 *
 * @example
 * ```ts
 * const cpmlho = CpmlhoOptions.parse({ hidden: [64, 64], epochs: 8 });
 * const result = await cpmlhoStudy({ cpmlho, baselineTrials: 4, maxDropout: 0.8, seed: 1 }, { shape: [28, 28, 1], classes: 10, train, val, test }, () => {});
 * ```
 */
export async function cpmlhoStudy(p: CpmlhoRun, d: StudyData, onProgress: (step: number, total: number, label: string) => void) {
  const rng = new Rng(p.seed);
  const o = p.cpmlho;
  const trialEpochs = Math.max(1, Math.floor(o.epochs / p.baselineTrials));
  const totalUnits = o.epochs + 2 * p.baselineTrials * trialEpochs;
  let unitsDone = 0;
  const cp = runCpmlho(d, o, rng.fork("cpmlho"), (k, total) => onProgress(Math.floor((k / total) * o.epochs), totalUnits, "CPMLHO"));
  unitsDone = o.epochs;
  const net = baselineNetwork(o, d);
  // random search and BO are samplers of the unit cube, run by the study loop; each point's first three
  // coordinates scale to dropout rates, the CNN's last two to cutout holes and length
  const baseline = async (label: string, sampler: Sampler<number[]>) => {
    const trials = await runStudy(sampler, ([u], k) => {
      const rates = u.slice(0, 3).map((v) => v * p.maxDropout);
      const cutout: [number, number] = net.cnn ? [Math.round(u[3] * o.maxCutout[0]), Math.round(u[4] * o.maxCutout[1])] : [0, 0];
      const weights = trainTrial(net, d, {
        rates,
        cutout,
        initRng: rng.fork(`${label}-init-${k}`),
        batchRng: rng.fork(`${label}-batches-${k}`),
        training: TrainOptions.parse({ optimizer: "adam", learningRate: o.lrWeights, epochs: trialEpochs, batchSize: o.batchSize }),
      });
      unitsDone += trialEpochs;
      onProgress(unitsDone, totalUnits, `${label} trial ${k + 1}/${p.baselineTrials}`);
      const s = scoreTrial(net, d, weights);
      return [{ genome: u, fitness: s.val.loss, rates, cutout, ...s }];
    });
    return trials.reduce((a, b) => (b.val.loss < a.val.loss ? b : a));
  };
  const nHyper = net.cnn ? 5 : 3;
  const rs = await baseline("random", new UnitCubeSampler(nHyper, p.baselineTrials, rng.fork("random")));
  const boBest = await baseline("bo", new GpBo({ dim: nHyper, rng: rng.fork("bo"), budget: p.baselineTrials }));
  return {
    model: net.description,
    budget: { cpmlhoEpochs: o.epochs, baselineTrials: p.baselineTrials, epochsPerTrial: trialEpochs },
    methods: methodRows({ random: rs, bo: boBest, cpmlho: cp, theta: o.theta, cnn: !!net.cnn }),
    cpmlho: cp,
  };
}

/** The plain network the baselines train: the CNN of cpmlho_baseline.ts or the MLP, its shapes and a description. */
function baselineNetwork(o: CpmlhoOptions, d: StudyData) {
  const spec = { input: d.train.x.shape[1], hidden: o.hidden, classes: d.classes };
  const sizes = layerSizes(spec);
  const cnn = o.arch === "cnn" ? cpmlhoCnnBaseline(d.shape, o.channels, d.classes) : undefined;
  return {
    spec,
    cnn,
    shapes: cnn ? cnn.shapes : mlpShapes(sizes),
    description: cnn
      ? `CNN conv5x5(${o.channels[0]})-pool-conv5x5(${
        o.channels[1]
      })-pool-linear, dropout before each of its 3 layers, cutout on training images`
      : `MLP ${sizes.join("-")}, dropout before each of its 3 linear layers`,
  };
}

/** Trains one baseline trial at fixed dropout rates (and cutout) from its own initial and batch streams. */
function trainTrial(
  net: ReturnType<typeof baselineNetwork>,
  d: StudyData,
  a: { rates: number[]; cutout: [number, number]; initRng: Rng; batchRng: Rng; training: TrainOptions },
): Float32Array[] {
  const fwd = net.cnn ? net.cnn.forward(a.rates, a.cutout) : mlpDropoutForward(a.rates);
  const init = net.cnn ? net.cnn.init(a.initRng) : initWeights(net.spec, a.initRng);
  return trainNetwork({
    init,
    shapes: net.shapes,
    forwardFn: fwd,
    train: d.train,
    objective: { groups: [0, 0, 0], lambdas: [0] },
    training: a.training,
    rng: a.batchRng,
  }).weights;
}

/** Validation and test loss and accuracy of trained weights, without dropout or cutout. */
function scoreTrial(net: ReturnType<typeof baselineNetwork>, d: StudyData, weights: Float32Array[]) {
  const t = weights.map((w, i) => tf.tensor(w, net.shapes[i]));
  const fwd = net.cnn ? net.cnn.forward([0, 0, 0], [0, 0]) : mlpDropoutForward([0, 0, 0]);
  try {
    return { val: evaluate(t, d.val, 1000, fwd), test: evaluate(t, d.test, 1000, fwd) };
  } finally {
    tf.dispose(t);
  }
}

type Scores = { val: Metrics; test: Metrics };

/** The report's rows: random search, BO, Δ-STN (not implemented) and CPMLHO, each with what it tuned. */
function methodRows(a: {
  random: Scores & { rates: number[]; cutout: number[] };
  bo: Scores & { rates: number[]; cutout: number[] };
  cpmlho: CpmlhoResult;
  theta: number;
  cnn: boolean;
}): CpmlhoRecord["methods"] {
  const fmtRates = (r: number[], cut?: number[]) =>
    r.map((v) => v.toFixed(3)).join(", ") + (a.cnn && cut ? `; cutout ${cut[0]} hole(s) of ${cut[1]} px` : "");
  const { random: rs, bo: boBest, cpmlho: cp } = a;
  return [
    {
      method: "random",
      valLoss: rs.val.loss,
      valAcc: rs.val.acc,
      testAcc: rs.test.acc,
      tuned: `dropout ${fmtRates(rs.rates, rs.cutout)}`,
    },
    {
      method: "bo",
      valLoss: boBest.val.loss,
      valAcc: boBest.val.acc,
      testAcc: boBest.test.acc,
      tuned: `dropout ${fmtRates(boBest.rates, boBest.cutout)}`,
    },
    { method: "deltaStn", valLoss: NaN, valAcc: NaN, testAcc: NaN, tuned: "not implemented" },
    {
      method: "cpmlho",
      valLoss: cp.val.loss,
      valAcc: cp.val.acc,
      testAcc: cp.test.acc,
      tuned: `dropout ${fmtRates(cp.finalDropout, cp.finalCutout)} (θ = ${a.theta})`,
    },
  ];
}

/** What cpmlhoStudy returns. */
export type CpmlhoStudyResult = Awaited<ReturnType<typeof cpmlhoStudy>>;
