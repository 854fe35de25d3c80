import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { HlsOptions } from "../bilevel/hls_options.ts";
import { jsonWithVolatile, loadModule, withSplit } from "./_load.ts";
import { trainingResources } from "./_resources.ts";

const FINETUNE = new URL("../bilevel/finetune.ts", import.meta.url);
const WEIGHTS_CODEC = new URL("../nn/weights_codec.ts", import.meta.url);

export const LpFinetuneParams = z.strictObject({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  /** 1HP: one λ; 2HP: hidden / output; 6HP (perLayer): one per layer of the 5-hidden-layer MLP. */
  groupings: z.array(z.enum(["1HP", "2HP", "perLayer"])).default(["1HP", "2HP", "perLayer"]),
  /** Section II default: the k weights with the largest |∇_w F| across all layers, so hidden λ's act. */
  /** In-sample selection on the linear scale: the paper's Section II (the base model has λ = 0). */
  hls: HlsOptions.prefault(
    {
      block: "topk",
      k: 150,
      tMin: 1e-3,
      tMax: 100,
      points: 30,
      timeLimitS: 120,
      lambdaScale: "linear",
      selection: "in-sample",
    },
  ),
});
export type LpFinetuneParams = z.infer<typeof LpFinetuneParams>;

/**
 * lp-finetune: LP fine-tuning of the base model with 1HP, 2HP and 6HP (paper Section II): the loss along
 * the descent direction (Figures 2-4) and validation/test accuracy by number of hyperparameters (Figure 5).
 */
export function lpFinetuneStage(params: z.input<typeof LpFinetuneParams>, split: string): Stage<LpFinetuneParams> {
  const dep = `subsample:${split}`;
  return {
    name: "lp-finetune",
    module: import.meta.url,
    // three LPs over 150 weights and traced line searches: about a minute here
    resources: trainingResources({ base: 20, perEpoch: 0 }),
    deps: [{ stage: dep }, { stage: "baseline-train" }],
    schema: LpFinetuneParams,
    params,
    async run({ params: p, inputs, progress }) {
      const base = inputs["baseline-train"];
      if (isNotRun(base)) throw new Error("baseline missing");
      const [{ finetuneGroupings }, { decodeModel }] = await Promise.all([
        loadModule<typeof import("../bilevel/finetune.ts")>(FINETUNE),
        loadModule<typeof import("../nn/weights_codec.ts")>(WEIGHTS_CODEC),
      ]);
      const model = decodeModel(await base.bytes("model.json"), await base.bytes("weights.f32"));
      return await withSplit({ backend: p.backend, input: inputs[dep] }, async (split) => {
        const cases = await finetuneGroupings({ model, split, groupings: p.groupings, hls: p.hls, onProgress: progress });
        return jsonWithVolatile("finetune.json", { base: { spec: model.spec }, hls: p.hls, cases });
      });
    },
  };
}
