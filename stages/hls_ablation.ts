import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { HlsOptions } from "../bilevel/hls_options.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import { DEFAULT_VARIANTS } from "../search/hls_variants.ts";
import type { AblationSeed } from "../search/hls_ablation.ts";
import { jsonWithVolatile, loadModule, withSplit } from "./_load.ts";
import { perSeedStages, readSeedUnits, seedUnitName } from "./_per_seed.ts";
import { LIGHT_RESOURCES, trainingResources } from "./_resources.ts";

const ABLATION = new URL("../search/hls_ablation.ts", import.meta.url);
const SEARCH_SEED = new URL("../search/search_seed.ts", import.meta.url);

export const HlsAblationParams = z.strictObject({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  /** Independent replications: the unit of the paired confidence intervals. */
  seeds: z.array(z.number().int()).min(2).default([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  /** Models per one-shot run and per micro-GA run (the micro-GA's is population + generations × offspring). */
  budget: z.number().int().min(1).default(40),
  /** Variant names to run (default: all of search/hls_ablation.ts DEFAULT_VARIANTS). */
  variants: z.array(z.enum(DEFAULT_VARIANTS.map((v) => v.name) as [string, ...string[]])).min(1).default(
    DEFAULT_VARIANTS.map((v) => v.name),
  ),
  space: SearchSpace.prefault({}),
  training: TrainOptions.prefault({ optimizer: "adam", learningRate: 0.001, epochs: 1, batchSize: 64 }),
  /** The base HLS options each variant overrides. */
  hls: HlsOptions.prefault({ tMin: 1e-3, tMax: 10, points: 20 }),
  ga: MicroGaOptions.prefault({}),
}).strict();
export type HlsAblationParams = z.infer<typeof HlsAblationParams>;

/** The parameters of one seed's unit: the ablation's, with one seed instead of the list. */
export const HlsAblationSeedParams = HlsAblationParams.omit({ seeds: true }).extend({ seed: z.number().int() });
export type HlsAblationSeedParams = z.infer<typeof HlsAblationSeedParams>;

const unitPrefix = (split: string, budget: string) => `hls-ablation-seed:${split}:${budget}`;

/**
 * hls-ablation-seed:<split>:<budget>:<seed>: one seed of the ablation, its own cache entry, so that seeds run
 * independently, a killed run keeps the seeds it finished, and adding seeds reuses those already computed.
 */
export function hlsAblationSeedStage(
  split: string,
  budget: string,
  params: z.input<typeof HlsAblationSeedParams>,
): Stage<HlsAblationSeedParams> {
  const dep = `subsample:${split}`;
  return {
    name: seedUnitName(unitPrefix(split, budget), params.seed),
    module: import.meta.url,
    deps: [{ stage: dep }],
    // 40 models, then each of 8 variants' HLS and two micro-GA runs: 3-8 min per seed here
    resources: trainingResources({ base: 30, perEpoch: 6, epochs: params.training?.epochs }),
    schema: HlsAblationSeedParams,
    params,
    async run({ params: p, inputs, progress }) {
      const [{ ablationSeed }, { withStudyData }] = await Promise.all([
        loadModule<typeof import("../search/hls_ablation.ts")>(ABLATION),
        loadModule<typeof import("../search/search_seed.ts")>(SEARCH_SEED),
      ]);
      const settings = { space: p.space, training: p.training, hls: p.hls, hlsMode: "lamarckian" as const, budget: p.budget, ga: p.ga };
      const variants = DEFAULT_VARIANTS.filter((v) => p.variants.includes(v.name));
      return await withSplit({ backend: p.backend, input: inputs[dep] }, async (split) => {
        const seed = await withStudyData(split, (data) => ablationSeed({ data, settings, seed: p.seed, variants, onProgress: progress }));
        return jsonWithVolatile("seed.json", { dataset: split.name, seed });
      });
    },
  };
}

/** hls-ablation:<split>:<budget>: merges the seeds' results into paired effects with their intervals. */
export function hlsAblationStage(
  split: string,
  budget: string,
  params: z.input<typeof HlsAblationParams>,
  unitNames: string[],
): Stage<HlsAblationParams> {
  return {
    name: `hls-ablation:${split}:${budget}`,
    module: import.meta.url,
    deps: unitNames.map((stage) => ({ stage })),
    resources: LIGHT_RESOURCES,
    light: true,
    schema: HlsAblationParams,
    params,
    async run({ params: p, inputs }) {
      const { summariseAblation } = await loadModule<typeof import("../search/hls_ablation.ts")>(ABLATION);
      const units = await readSeedUnits<{ dataset: string; seed: AblationSeed }>(inputs, unitNames, "seed.json");
      const results = units.map((u) => u.seed);
      const variants = DEFAULT_VARIANTS.filter((v) => p.variants.includes(v.name));
      return jsonWithVolatile("ablation.json", {
        backend: p.backend,
        dataset: units[0]?.dataset ?? "",
        split,
        budget,
        training: p.training,
        models: p.budget,
        variants,
        seeds: results,
        summary: summariseAblation(results, variants),
      });
    },
  };
}

/** The ablation's stages for one split and budget: one per seed, then the merge. */
export function hlsAblationStages(split: string, budget: string, params: z.input<typeof HlsAblationParams>): Stage[] {
  const { seeds: given, ...rest } = params;
  const seeds = HlsAblationParams.shape.seeds.safeParse(given);
  return perSeedStages({
    unitPrefix: unitPrefix(split, budget),
    seeds: seeds.success ? seeds.data : [],
    unit: (seed) => hlsAblationSeedStage(split, budget, { ...rest, seed }),
    merge: (names) => hlsAblationStage(split, budget, params, names),
  });
}
