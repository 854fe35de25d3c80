import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { useBackend } from "../nn/backend.ts";
import { disposePart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, type MlpSpec } from "../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../nn/train.ts";
import { encodeModel } from "../nn/weights_codec.ts";
import { Rng } from "../data/rng.ts";
import { jsonWithVolatile, loadSplit } from "./_load.ts";

export const BaselineParams = z.strictObject({
  split: z.string(),
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  /** The paper's Section II model: 5 hidden layers of 50. */
  hidden: z.array(z.number().int().min(1, "a hidden layer needs at least 1 unit (leave the layer out instead)")).default([
    50,
    50,
    50,
    50,
    50,
  ]),
  /** λ = 0 and SGD, trained long enough to overfit (the paper's base model). */
  training: TrainOptions.default({ optimizer: "sgd", learningRate: 0.1, momentum: 0.9, weightDecay: 0, epochs: 40, batchSize: 64 }),
  seed: z.number().int().default(1),
});
export type BaselineParams = z.infer<typeof BaselineParams>;

/** baseline-train: the Section II base model (λ = 0), with per-epoch train/val/test loss and accuracy. */
export function baselineStage(params: z.input<typeof BaselineParams>): Stage<BaselineParams> {
  const dep = `subsample:${params.split}`;
  return {
    name: "baseline-train",
    module: import.meta.url,
    deps: [{ stage: dep }],
    schema: BaselineParams,
    params,
    async run({ params: p, inputs, progress }) {
      const backend = await useBackend(p.backend);
      const data = await loadSplit(inputs[dep]);
      try {
        const spec: MlpSpec = { input: data.train.x.shape[1], hidden: p.hidden, classes: data.classes };
        const sizes = layerSizes(spec);
        const shapes = mlpShapes(sizes);
        const rng = new Rng(p.seed);
        const t0 = performance.now();
        const out = trainMlp(
          initWeights(spec, rng.fork("init")),
          shapes,
          data.train,
          { groups: new Array(sizes.length - 1).fill(0), lambdas: [0] },
          p.training,
          rng.fork("batches"),
          { train: data.train, val: data.val, test: data.test },
          (epoch, step, per) => progress((epoch - 1) * per + step, p.training.epochs * per, `epoch ${epoch}/${p.training.epochs}`),
        );
        const seconds = (performance.now() - t0) / 1000;
        return {
          ...encodeModel({ spec, meta: { lambdas: [0], groups: "1HP", backend }, weights: out.weights }),
          ...jsonWithVolatile("history.json", { backend, seconds, steps: out.steps, history: out.history }),
        };
      } finally {
        [data.train, data.val, data.test].forEach(disposePart);
      }
    },
  };
}
