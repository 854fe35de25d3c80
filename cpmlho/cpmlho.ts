import { tf } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { permutation, type Rng } from "../data/rng.ts";
import type { ImageShape } from "../nn/cnn.ts";
import { TensorOptimizer } from "../nn/optimizers.ts";
import { CpmlhoModel } from "./cpmlho_model.ts";
import { applyCutout } from "./cutout.ts";

export type { ImageShape };

// CPMLHO (seed 003), reconstructed: the method is described with its options in cpmlho_options.ts.
export { CpmlhoOptions } from "./cpmlho_options.ts";
import type { CpmlhoOptions } from "./cpmlho_options.ts";
import type { CpmlhoResult } from "./cpmlho_records.ts";

// what a run records is a schema apart from this code (the report checks a stored one without TensorFlow.js)
export type { CpmlhoResult } from "./cpmlho_records.ts";

/** The data CPMLHO trains (train), tunes on (val) and reports (val, test) on; `shape` for the CNN's images. */
export interface CpmlhoData {
  train: TensorPart;
  val: TensorPart;
  test: TensorPart;
  classes: number;
  shape?: ImageShape;
}

/** A run's model, its three Adam optimisers (weights, hypernetwork, λ) and the streams the steps draw from. */
interface RunState {
  model: CpmlhoModel;
  o: CpmlhoOptions;
  data: CpmlhoData;
  optW: TensorOptimizer;
  optH: TensorOptimizer;
  optL: TensorOptimizer;
  cutoutRng: Rng;
  noiseRng: Rng;
}

/** Runs CPMLHO: inner steps on training batches, outer λ steps on the mixed-level hypergradient, cuts. */
export function runCpmlho(data: CpmlhoData, o: CpmlhoOptions, rng: Rng, onStep?: (k: number, total: number) => void): CpmlhoResult {
  const t0 = performance.now();
  const model = new CpmlhoModel({
    input: data.train.x.shape[1],
    classes: data.classes,
    options: o,
    rng: rng.fork("init"),
    image: data.shape,
  });
  const cutoutRng = rng.fork("cutout");
  const adam = { optimizer: "adam", momentum: 0 } as const;
  const optW = new TensorOptimizer([...model.We, ...model.be], adam);
  const optH = new TensorOptimizer([...model.Wh1, ...model.Wh2], adam);
  const optL = new TensorOptimizer([model.lambda], adam);
  const batchRng = rng.fork("batches"), noiseRng = rng.fork("noise");
  const r: RunState = { model, o, data, optW, optH, optL, cutoutRng, noiseRng };
  const steps = Math.ceil(data.train.n / o.batchSize);
  const trajectory: CpmlhoResult["trajectory"] = [];
  let step = 0;
  try {
    for (let e = 0; e < o.epochs; e++) {
      const order = permutation(data.train.n, batchRng);
      const valOrder = permutation(data.val.n, batchRng);
      for (let b = 0; b < steps; b++, step++) {
        if (step % o.cutEvery === 0) model.relinearize();
        const { x, y, trainLoss } = innerStep(r, batchOf(data.train, order, b, o.batchSize));
        if ((step + 1) % o.outerEvery === 0) {
          const vb = batchOf(data.val, valOrder, (step / o.outerEvery) % Math.max(1, Math.floor(data.val.n / o.batchSize)), o.batchSize);
          outerStep(r, { x, y }, vb);
          tf.dispose([vb.x, vb.y]);
        }
        tf.dispose([x, y]);
        if (step % 10 === 0) {
          trajectory.push({ step, dropout: model.dropoutRates(), cutout: model.cutout(), mu: model.mu, g: model.cut?.g, trainLoss });
        }
        onStep?.(step + 1, o.epochs * steps);
      }
    }
    const cut = model.cutout();
    return {
      trajectory,
      finalDropout: model.dropoutRates(),
      finalCutout: cut && [Math.round(cut[0]), Math.round(cut[1])],
      val: model.evaluate(data.val),
      test: model.evaluate(data.test),
      epochs: o.epochs,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    optW.dispose();
    optH.dispose();
    optL.dispose();
    model.dispose();
  }
}

/** Batch `b` of a part in the given order: inputs and one-hot labels (the last batch may be short). */
function batchOf(part: TensorPart, order: Uint32Array, b: number, batchSize: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const idx = tf.tensor1d(Int32Array.from(order.subarray(b * batchSize, Math.min(part.n, (b + 1) * batchSize))), "int32");
  const r = { x: tf.gather(part.x, idx) as tf.Tensor2D, y: tf.gather(part.oneHot, idx) as tf.Tensor2D };
  idx.dispose();
  return r;
}

/**
 * One inner step (eq. 13-14) at a perturbed λ: draws the perturbation, applies cutout at the perturbed
 * values (so the hypernetwork sees its effect), steps the weights and the hypernetwork. Returns the batch as
 * trained on (the caller disposes it) and its training loss.
 */
function innerStep(r: RunState, raw: { x: tf.Tensor2D; y: tf.Tensor2D }): { x: tf.Tensor2D; y: tf.Tensor2D; trainLoss: number } {
  const { model, o } = r;
  const noise = Array.from({ length: model.nHyper }, () => r.noiseRng.normal());
  const lamP = tf.tidy(() => tf.add(model.lambda, tf.mul(o.perturbation, tf.tensor1d(noise)))) as tf.Tensor1D;
  const cutP = model.cutout([...lamP.dataSync()]);
  const x = cutP ? applyCutout(raw.x, { image: r.data.shape!, holes: cutP[0], length: cutP[1] }, r.cutoutRng) : raw.x;
  const y = raw.y;
  if (x !== raw.x) raw.x.dispose();
  const g = model.innerGrads(x, y, lamP, r.noiseRng.nextU32());
  const trainLoss = g.loss.dataSync()[0];
  r.optW.step(g.we, o.lrWeights);
  r.optH.step(g.wh, o.lrWeights);
  tf.dispose([g.loss, ...Object.values(g.we), ...Object.values(g.wh), lamP]);
  return { x, y, trainLoss };
}

/** One outer step: λ moves along the mixed-level hypergradient of the training batch and a validation batch. */
function outerStep(r: RunState, train: { x: tf.Tensor2D; y: tf.Tensor2D }, val: { x: tf.Tensor2D; y: tf.Tensor2D }): void {
  const hg = r.model.hypergradient(train, val, r.noiseRng.nextU32());
  const gl = tf.tensor1d(hg.total);
  r.optL.step({ [r.model.lambda.name]: gl }, r.o.lrHyper);
  gl.dispose();
}
