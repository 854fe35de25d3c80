import { tf } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { mlpDropoutForward } from "../nn/mlp_dropout.ts";
import { evaluate, trainNetwork } from "../nn/train.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { GpBo } from "../search/gp_bo.ts";
import { UnitCubeSampler } from "../search/samplers.ts";
import { runStudy, type Sampler } from "../search/study_loop.ts";
import { Rng } from "../data/rng.ts";
import { cpmlhoCnnBaseline, runCpmlho } from "./cpmlho.ts";
import type { CpmlhoOptions } from "./cpmlho_options.ts";

/** Seed 003's experiment: CPMLHO, and random search and GP-BO over the same rates on the same total epochs. */
export interface CpmlhoRun {
  cpmlho: CpmlhoOptions;
  /** Random search and BO get the same total number of training epochs as CPMLHO, split into `trials` runs. */
  baselineTrials: number;
  maxDropout: number;
  seed: number;
}

/**
 * Seed 003 on one split: CPMLHO tuning the dropout rate before each layer (and, for the CNN, cutout), beside
 * random search and GP-based Bayesian optimisation with the same total training epochs; Δ-STN (the
 * document's third baseline) is listed as not implemented.
 */
export async function cpmlhoStudy(
  p: CpmlhoRun,
  d: { shape: [number, number, number]; classes: number; train: TensorPart; val: TensorPart; test: TensorPart },
  onProgress: (step: number, total: number, label: string) => void,
) {
  const rng = new Rng(p.seed);
  const o = p.cpmlho;
  const trialEpochs = Math.max(1, Math.floor(o.epochs / p.baselineTrials));
  const totalUnits = o.epochs + 2 * p.baselineTrials * trialEpochs;
  let unitsDone = 0;
  const cp = runCpmlho(d, o, rng.fork("cpmlho"), (k, total) => onProgress(Math.floor((k / total) * o.epochs), totalUnits, "CPMLHO"));
  unitsDone = o.epochs;
  const spec = { input: d.train.x.shape[1], hidden: o.hidden, classes: d.classes };
  const sizes = layerSizes(spec);
  const cnn = o.arch === "cnn" ? cpmlhoCnnBaseline(d.shape, o.channels, d.classes) : undefined;
  const shapes = cnn ? cnn.shapes : mlpShapes(sizes);
  const trainAt = (rates: number[], cutout: [number, number], k: number, label: string) => {
    const fwd = cnn ? cnn.forward(rates, cutout) : mlpDropoutForward(rates);
    const init = cnn ? cnn.init(rng.fork(`${label}-init-${k}`)) : initWeights(spec, rng.fork(`${label}-init-${k}`));
    const out = trainNetwork(
      init,
      shapes,
      fwd,
      d.train,
      { groups: [0, 0, 0], lambdas: [0] },
      TrainOptions.parse({ optimizer: "adam", learningRate: o.lrWeights, epochs: trialEpochs, batchSize: o.batchSize }),
      rng.fork(`${label}-batches-${k}`),
    );
    unitsDone += trialEpochs;
    onProgress(unitsDone, totalUnits, `${label} trial ${k + 1}/${p.baselineTrials}`);
    return out.weights;
  };
  const score = (weights: Float32Array[]) => {
    const t = weights.map((w, i) => tf.tensor(w, shapes[i]));
    const fwd = cnn ? cnn.forward([0, 0, 0], [0, 0]) : mlpDropoutForward([0, 0, 0]);
    try {
      return { val: evaluate(t, d.val, 1000, fwd), test: evaluate(t, d.test, 1000, fwd) };
    } finally {
      tf.dispose(t);
    }
  };
  // random search and BO are samplers of the unit cube, run by the study loop; each point's first three
  // coordinates scale to dropout rates, the CNN's last two to cutout holes and length
  const baseline = async (label: string, sampler: Sampler<number[]>) => {
    const trials = await runStudy(sampler, ([u], k) => {
      const rates = u.slice(0, 3).map((v) => v * p.maxDropout);
      const cutout: [number, number] = cnn ? [Math.round(u[3] * o.maxCutout[0]), Math.round(u[4] * o.maxCutout[1])] : [0, 0];
      const s = score(trainAt(rates, cutout, k, label));
      return [{ genome: u, fitness: s.val.loss, rates, cutout, ...s }];
    });
    return trials.reduce((a, b) => (b.val.loss < a.val.loss ? b : a));
  };
  const nHyper = cnn ? 5 : 3;
  const rs = await baseline("random", new UnitCubeSampler(nHyper, p.baselineTrials, rng.fork("random")));
  const boBest = await baseline("bo", new GpBo({ dim: nHyper, rng: rng.fork("bo"), budget: p.baselineTrials }));
  const fmtRates = (r: number[], cut?: number[]) =>
    r.map((v) => v.toFixed(3)).join(", ") + (cnn && cut ? `; cutout ${cut[0]} hole(s) of ${cut[1]} px` : "");
  return {
    model: cnn
      ? `CNN conv5x5(${o.channels[0]})-pool-conv5x5(${
        o.channels[1]
      })-pool-linear, dropout before each of its 3 layers, cutout on training images`
      : `MLP ${sizes.join("-")}, dropout before each of its 3 linear layers`,
    budget: { cpmlhoEpochs: o.epochs, baselineTrials: p.baselineTrials, epochsPerTrial: trialEpochs },
    methods: [
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
        tuned: `dropout ${fmtRates(cp.finalDropout, cp.finalCutout)} (θ = ${o.theta})`,
      },
    ],
    cpmlho: cp,
  };
}
