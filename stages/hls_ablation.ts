import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { untyped } from "../pipeline/stage.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { HlsOptions } from "../bilevel/hls/hls_options.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import { DEFAULT_VARIANTS, variantMethod } from "../search/hls_variants.ts";
import type { StudyResult } from "../search/records.ts";
import type { AblationOutput } from "../search/ablation_records.ts";
import { jsonWithVolatile, loadModule } from "./_load.ts";
import { LIGHT_RESOURCES } from "./_resources.ts";
import type { StagePool } from "./_pool.ts";
import { populationStage, readPopulationStudy } from "./population.ts";
import { hlsRunStage, readUnit } from "./search.ts";
import { BackendParam } from "../nn/backend_check.ts";

const ABLATION = new URL("../search/hls_ablation.ts", import.meta.url);

export const HlsAblationParams = z.strictObject({
  backend: BackendParam,
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

/** The unit of a variant in one seed (when no search runs the same; see addHlsAblationStages). */
export function variantUnitName(split: string, budget: string, variant: string, seed: number): string {
  return `hls-ablation-variant:${split}:${budget}:${variant}:${seed}`;
}

/** Per seed: the populations the references are, and each variant's run with HLS, by stage name. */
interface SeedUnits {
  seed: number;
  oneShot: string;
  microga?: string;
  runs: Record<string, string>;
}

/** hls-ablation:<split>:<budget>: merges the seeds' runs into paired effects with their intervals. */
export function hlsAblationStage(
  split: string,
  budget: string,
  params: z.input<typeof HlsAblationParams>,
  units: SeedUnits[],
): Stage<HlsAblationParams> {
  const names = [...new Set(units.flatMap((u) => [u.oneShot, ...(u.microga ? [u.microga] : []), ...Object.values(u.runs)]))];
  return {
    name: `hls-ablation:${split}:${budget}`,
    module: import.meta.url,
    deps: names.map((stage) => ({ stage })),
    resources: LIGHT_RESOURCES,
    light: true,
    schema: HlsAblationParams,
    params,
    async run({ params: p, inputs }) {
      const { summariseAblation, ablationSeedOf } = await loadModule<typeof import("../search/hls_ablation.ts")>(ABLATION);
      const variants = DEFAULT_VARIANTS.filter((v) => p.variants.includes(v.name));
      const results = [];
      let dataset = "";
      for (const u of units) {
        const oneShot = await readPopulationStudy(inputs[u.oneShot]);
        dataset ||= oneShot.dataset;
        const runs: Record<string, StudyResult> = {};
        for (const [v, name] of Object.entries(u.runs)) runs[v] = (await readUnit(inputs, name)).result;
        results.push(ablationSeedOf({
          seed: u.seed,
          variants,
          oneShotReference: oneShot.result,
          microgaReference: u.microga ? (await readPopulationStudy(inputs[u.microga])).result : undefined,
          runs,
        }));
      }
      return jsonWithVolatile(
        "ablation.json",
        {
          backend: p.backend,
          dataset,
          split,
          budget,
          training: p.training,
          models: p.budget,
          variants,
          seeds: results,
          summary: summariseAblation(results, variants),
        } satisfies AblationOutput,
      );
    },
  };
}

/**
 * The ablation's stages for one split and budget, added to `pool`: per seed the random search's and the
 * micro-GA's populations (population:…, shared with the searches of the same seed and training), one run
 * per variant (hls-ablation-variant:<split>:<budget>:<variant>:<seed>, or the search's own run where a
 * search runs the very same), then the merge hls-ablation:<split>:<budget>.
 */
export function addHlsAblationStages(pool: StagePool, split: string, budget: string, params: z.input<typeof HlsAblationParams>): void {
  const parsed = HlsAblationParams.safeParse(params);
  if (!parsed.success) {
    // the engine reports the config's error when it validates the merge's parameters
    pool.add(untyped(hlsAblationStage(split, budget, params, [])));
    return;
  }
  const { seeds, variants: chosen, hls, ...p } = parsed.data;
  const variants = DEFAULT_VARIANTS.filter((v) => chosen.includes(v.name));
  const base = { backend: p.backend, budget: p.budget, space: p.space, training: p.training, ga: p.ga };
  const units = seeds.map((seed): SeedUnits => {
    const population = (method: "random" | "microga") => pool.add(untyped(populationStage(split, budget, { ...base, method, seed })));
    const oneShot = population("random");
    const microga = variants.some((v) => v.kind === "microga") ? population("microga") : undefined;
    const runs: Record<string, string> = {};
    for (const v of variants) {
      const method = variantMethod(v);
      const params = {
        ...base,
        method,
        seed,
        hls: HlsOptions.parse({ ...hls, ...v.hls }),
        hlsMode: v.hlsMode,
        ...(v.top === undefined ? {} : { top: v.top }),
      };
      const name = variantUnitName(split, budget, v.name, seed);
      runs[v.name] = pool.add(untyped(hlsRunStage({ name, split, population: method === "random" ? oneShot : microga!, params })));
    }
    return { seed, oneShot, microga, runs };
  });
  pool.add(untyped(hlsAblationStage(split, budget, params, units)));
}
