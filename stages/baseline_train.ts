import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { TrainOptions } from "../nn/train_options.ts";
import type { BaselineHistory } from "../nn/train_records.ts";
import { jsonWithVolatile, loadModule } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import { trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const BASELINE = new URL("../nn/baseline.ts", import.meta.url);
const WEIGHTS_CODEC = new URL("../nn/weights_codec.ts", import.meta.url);

export const BaselineParams = z.strictObject({
  split: z.string(),
  backend: BackendParam,
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
  return splitStage({
    name: "baseline-train",
    module: import.meta.url,
    split: params.split,
    // the 5×50 MLP: about 1.5 s per epoch on 5,000 examples here
    resources: trainingResources({ base: 5, perEpoch: 0.2, epochs: params.training?.epochs ?? 40 }),
    schema: BaselineParams,
    params,
    async compute({ params: p, split, backend, progress }) {
      const [{ trainBaseline }, { encodeModel }] = await Promise.all([
        loadModule<typeof import("../nn/baseline.ts")>(BASELINE),
        loadModule<typeof import("../nn/weights_codec.ts")>(WEIGHTS_CODEC),
      ]);
      const out = trainBaseline({ split, hidden: p.hidden, training: p.training, seed: p.seed, onProgress: progress });
      return {
        ...encodeModel({ spec: out.spec, meta: { lambdas: [0], groups: "1HP", backend }, weights: out.weights }),
        ...jsonWithVolatile(
          "history.json",
          {
            backend,
            seconds: out.seconds,
            steps: out.steps,
            history: out.history,
          } satisfies BaselineHistory,
        ),
      };
    },
  });
}
