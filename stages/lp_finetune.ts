import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { useBackend } from "../nn/backend.ts";
import { disposePart } from "../nn/data_tensors.ts";
import { layerSizes, weightGroups } from "../nn/mlp.ts";
import { decodeModel } from "../nn/weights_codec.ts";
import { HlsOptions, hyperLocalSearch } from "../bilevel/hls.ts";
import { jsonWithVolatile, loadSplit } from "./_load.ts";

export const LpFinetuneParams = z.strictObject({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  /** 1HP: one λ; 2HP: hidden / output; 6HP (perLayer): one per layer of the 5-hidden-layer MLP. */
  groupings: z.array(z.enum(["1HP", "2HP", "perLayer"])).default(["1HP", "2HP", "perLayer"]),
  /** Section II default: the k weights with the largest |∇_w F| across all layers, so hidden λ's act. */
  /** In-sample selection on the linear scale: the paper's Section II (the base model has λ = 0). */
  hls: HlsOptions.default(
    HlsOptions.parse({
      block: "topk",
      k: 150,
      tMin: 1e-3,
      tMax: 100,
      points: 30,
      timeLimitS: 120,
      lambdaScale: "linear",
      selection: "in-sample",
    }),
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
    deps: [{ stage: dep }, { stage: "baseline-train" }],
    schema: LpFinetuneParams,
    params,
    async run({ params: p, inputs, progress }) {
      await useBackend(p.backend);
      const base = inputs["baseline-train"];
      if (isNotRun(base)) throw new Error("baseline missing");
      const model = decodeModel(await base.bytes("model.json"), await base.bytes("weights.f32"));
      const data = await loadSplit(inputs[dep]);
      try {
        const sizes = layerSizes(model.spec);
        const cases = [];
        for (const [i, g] of p.groupings.entries()) {
          const { groups, count } = weightGroups(model.spec, g);
          const r = await hyperLocalSearch({ sizes, weights: model.weights, groups, lambdas: new Array(count).fill(0) }, data, p.hls, {
            trace: true,
            onProgress: (k, total, label) => progress(i * total + k, p.groupings.length * total, `${g}: ${label} ${k}/${total}`),
          });
          cases.push({
            grouping: g,
            hyperparameters: count,
            improved: r.improved,
            verdict: r.improved
              ? `validation loss ${r.before.val.loss.toFixed(4)} -> ${r.best.val.loss.toFixed(4)}`
              : `validation loss did not improve (${r.notes.join("; ") || "no t > 0 better"})`,
            path: r.path,
            lpStatus: r.lpStatus,
            notes: r.notes,
            blockSize: r.blockSize,
            boxActive: r.boxActive,
            lambdaScale: r.lambdaScale,
            dLambda: r.dLambda,
            lambdas: r.lambdas,
            gradNormBefore: r.gradNormBefore,
            gradNormAfter: r.gradNormAfter,
            before: r.before,
            best: r.best,
            line: r.line,
            cost: r.cost,
          });
        }
        return jsonWithVolatile("finetune.json", { base: { spec: model.spec }, hls: p.hls, cases });
      } finally {
        [data.train, data.val, data.test].forEach(disposePart);
      }
    },
  };
}
