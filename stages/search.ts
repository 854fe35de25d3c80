import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { useBackend } from "../nn/backend.ts";
import { TrainOptions } from "../nn/train.ts";
import { HlsOptions } from "../bilevel/hls.ts";
import { Rng } from "../data/rng.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import { disposeStudyData, microGaStudy, oneShotStudies, type StudyData, type StudyResult } from "../search/study.ts";
import { summariseMethod } from "../search/summary.ts";
import { jsonWithVolatile, loadSplit } from "./_load.ts";

export const SearchParams = z.object({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  method: z.enum(["grid", "random", "microga"]),
  seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
  /** Models trained per run; the micro-GA's is population + generations × offspring (40 by default). */
  budget: z.number().int().min(1).default(40),
  space: SearchSpace.default({ maxLayers: 3, maxNeurons: 15, log10LambdaMin: -5, log10LambdaMax: -1 }),
  /** The paper does not state its budget; its accuracies suggest a very short one (see configs). */
  training: TrainOptions.default({ optimizer: "adam", learningRate: 0.001, momentum: 0, weightDecay: 0, epochs: 1, batchSize: 64 }),
  /** HLS as the ablation settled it (docs/hls.md); the paper's variant is HLS_PAPER. */
  hls: HlsOptions.default(HlsOptions.parse({ tMin: 1e-3, tMax: 10, points: 20 })),
  hlsMode: z.enum(["lamarckian", "baldwinian"]).default("lamarckian"),
  ga: MicroGaOptions.default({
    population: 10,
    generations: 15,
    offspring: 2,
    crossoverProb: 0.9,
    bitFlipProb: 1 / 6,
    realMutationProb: 0.5,
    sbxEta: 15,
    mutationEta: 20,
    tournament: 2,
  }),
});
export type SearchParams = z.infer<typeof SearchParams>;

/** search:<split>:<budget>:<method>: the method with and without HLS, for each seed (paper Section IV). */
export function searchStage(split: string, budget: string, params: unknown): Stage<SearchParams> {
  const dep = `subsample:${split}`;
  const method = (params as { method?: string }).method;
  return {
    name: `search:${split}:${budget}:${method}`,
    module: import.meta.url,
    deps: [{ stage: dep }],
    schema: SearchParams,
    params,
    async run({ params: p, inputs, progress, log }) {
      const backend = await useBackend(p.backend);
      const d = await loadSplit(inputs[dep]);
      const data: StudyData = { train: d.train, val: d.val, test: d.test, input: d.train.x.shape[1], classes: d.classes };
      try {
        const settings = { space: p.space, training: p.training, hls: p.hls, hlsMode: p.hlsMode, budget: p.budget, ga: p.ga };
        const perRun = p.method === "microga" ? p.ga.population + p.ga.generations * p.ga.offspring : p.budget;
        const runsPerSeed = p.method === "microga" ? 2 : 1;
        const total = p.seeds.length * runsPerSeed * perRun;
        let done = 0;
        const results: StudyResult[] = [];
        for (const seed of p.seeds) {
          const rng = new Rng(seed);
          const tick = (label: string) => (k: number, what?: string) =>
            progress(done + k, total, `seed ${seed} ${label} model ${k}/${perRun}${what ? `, ${what}` : ""}`);
          if (p.method === "microga") {
            for (const withHls of [false, true]) {
              results.push(
                await microGaStudy(data, settings, seed, withHls, rng.fork("microga"), tick(withHls ? "with HLS" : "without HLS")),
              );
              done += perRun;
            }
          } else {
            results.push(...(await oneShotStudies(p.method, data, settings, seed, rng.fork(p.method), tick("±HLS"))));
            done += perRun;
          }
          log({ event: "seed-done", seed, best: results.slice(-2).map((r) => ({ hls: r.hls, val: r.best.final.val })) });
        }
        return {
          ...jsonWithVolatile("studies.json", { backend, dataset: d.name, method: p.method, settings, results }),
          ...jsonWithVolatile("summary.json", {
            backend,
            dataset: d.name,
            split,
            budget,
            training: p.training,
            ...summariseMethod(p.method, results),
          }),
        };
      } finally {
        disposeStudyData(data);
      }
    },
  };
}
