import { Rng } from "../data/rng.ts";
import type { TensorPart } from "./data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, type MlpSpec, type Weights } from "./mlp.ts";
import { type EpochRecord, trainMlp } from "./train.ts";
import type { TrainOptions } from "./train_options.ts";

/**
 * The paper's Section II base model: an MLP trained with λ = 0 (long enough to overfit), with per-epoch
 * train, validation and test loss and accuracy.
 */
export function trainBaseline(a: {
  split: { train: TensorPart; val: TensorPart; test: TensorPart; classes: number };
  hidden: number[];
  training: TrainOptions;
  seed: number;
  onProgress: (step: number, total: number, label: string) => void;
}): { spec: MlpSpec; weights: Weights; history: EpochRecord[]; steps: number; seconds: number } {
  const { split, training } = a;
  const spec: MlpSpec = { input: split.train.x.shape[1], hidden: a.hidden, classes: split.classes };
  const sizes = layerSizes(spec);
  const rng = new Rng(a.seed);
  const t0 = performance.now();
  const out = trainMlp({
    init: initWeights(spec, rng.fork("init")),
    shapes: mlpShapes(sizes),
    train: split.train,
    objective: { groups: new Array(sizes.length - 1).fill(0), lambdas: [0] },
    training,
    rng: rng.fork("batches"),
    evalParts: { train: split.train, val: split.val, test: split.test },
    onStep: (epoch, step, per) => a.onProgress((epoch - 1) * per + step, training.epochs * per, `epoch ${epoch}/${training.epochs}`),
  });
  return { spec, ...out, seconds: (performance.now() - t0) / 1000 };
}
