import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { useBackend } from "../nn/backend.ts";
import { TrainOptions } from "../nn/train.ts";
import { HlsOptions } from "../bilevel/hls.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import { type AblationSeed, ablationSeed, DEFAULT_VARIANTS, summariseAblation } from "../search/hls_ablation.ts";
import { disposeStudyData, type StudyData } from "../search/study.ts";
import { jsonWithVolatile, loadSplit } from "./_load.ts";

export const HlsAblationParams = z.object({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  /** Independent replications: the unit of the paired confidence intervals. */
  seeds: z.array(z.number().int()).min(2).default([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  /** Models per one-shot run and per micro-GA run (the micro-GA's is population + generations × offspring). */
  budget: z.number().int().min(1).default(40),
  /** Variant names to run (default: all of search/hls_ablation.ts DEFAULT_VARIANTS). */
  variants: z.array(z.enum(DEFAULT_VARIANTS.map((v) => v.name) as [string, ...string[]])).min(1).default(
    DEFAULT_VARIANTS.map((v) => v.name),
  ),
  space: SearchSpace.default(SearchSpace.parse({})),
  training: TrainOptions.default(TrainOptions.parse({ optimizer: "adam", learningRate: 0.001, epochs: 1, batchSize: 64 })),
  /** The base HLS options each variant overrides. */
  hls: HlsOptions.default(HlsOptions.parse({ tMin: 1e-3, tMax: 10, points: 20 })),
  ga: MicroGaOptions.default(MicroGaOptions.parse({})),
}).strict();
export type HlsAblationParams = z.infer<typeof HlsAblationParams>;

/** hls-ablation:<split>:<budget>: every HLS variant against no HLS on the same base models, over seeds. */
export function hlsAblationStage(split: string, budget: string, params: unknown): Stage<HlsAblationParams> {
  const dep = `subsample:${split}`;
  return {
    name: `hls-ablation:${split}:${budget}`,
    module: import.meta.url,
    deps: [{ stage: dep }],
    schema: HlsAblationParams,
    params,
    async run({ params: p, inputs, progress, log }) {
      const backend = await useBackend(p.backend);
      const d = await loadSplit(inputs[dep]);
      const data: StudyData = { train: d.train, val: d.val, test: d.test, input: d.train.x.shape[1], classes: d.classes };
      try {
        const settings = { space: p.space, training: p.training, hls: p.hls, hlsMode: "lamarckian" as const, budget: p.budget, ga: p.ga };
        const variants = DEFAULT_VARIANTS.filter((v) => p.variants.includes(v.name));
        const seeds: AblationSeed[] = [];
        for (const [i, seed] of p.seeds.entries()) {
          seeds.push(
            await ablationSeed({
              data,
              settings,
              seed,
              variants,
              onProgress: (label) => progress(i, p.seeds.length, `seed ${seed}: ${label}`),
            }),
          );
          log({ event: "ablation-seed-done", seed });
        }
        progress(p.seeds.length, p.seeds.length);
        return jsonWithVolatile("ablation.json", {
          backend,
          dataset: d.name,
          split,
          budget,
          training: p.training,
          models: p.budget,
          variants,
          seeds,
          summary: summariseAblation(seeds, variants),
        });
      } finally {
        disposeStudyData(data);
      }
    },
  };
}
