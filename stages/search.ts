import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { HlsOptions } from "../bilevel/hls_options.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import type { StudyResult } from "../search/study.ts";
import { summariseMethod } from "../search/summary.ts";
import { jsonWithVolatile, loadModule, withSplit } from "./_load.ts";
import { perSeedStages, readSeedUnits, seedUnitName } from "./_per_seed.ts";
import { LIGHT_RESOURCES, trainingResources } from "./_resources.ts";

const SEARCH_SEED = new URL("../search/search_seed.ts", import.meta.url);

export const SearchParams = z.strictObject({
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  method: z.enum(["grid", "random", "microga"]),
  seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
  /** Models trained per run; the micro-GA's is population + generations × offspring (40 by default). */
  budget: z.number().int().min(1).default(40),
  space: SearchSpace.default({ maxLayers: 3, maxNeurons: 15, log10LambdaMin: -5, log10LambdaMax: -1 }),
  /** The paper does not state its budget; its accuracies suggest a very short one (see configs). */
  training: TrainOptions.default({ optimizer: "adam", learningRate: 0.001, momentum: 0, weightDecay: 0, epochs: 1, batchSize: 64 }),
  /** HLS as the ablation settled it (docs/hls.md): log10 λ, held-out selection, t by accuracy; `preset: "paper"` is the paper's. */
  hls: HlsOptions.prefault({ tMin: 1e-3, tMax: 10, points: 20, criterion: "accuracy" }),
  hlsMode: z.enum(["lamarckian", "baldwinian"]).default("lamarckian"),
  /**
   * Grid and random search: HLS on only this many models, those of lowest validation loss as trained (the
   * ablation's log-heldout-acc-top3/-top5: the chosen model's gain kept at a fraction of the cost, docs/hls.md).
   * Absent: every model. The micro-GA has its own rule (gaHlsTop).
   */
  hlsTop: z.number().int().min(1).optional(),
  /**
   * The micro-GA: HLS only on the offspring that as trained rank among this many best of the population and
   * their batch (the others enter as trained). Absent: every model.
   */
  gaHlsTop: z.number().int().min(1).optional(),
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

/** The parameters of one seed's unit: the search's, with one seed instead of the list. */
export const SearchSeedParams = SearchParams.omit({ seeds: true }).extend({ seed: z.number().int() });
export type SearchSeedParams = z.infer<typeof SearchSeedParams>;

/** What one seed's unit writes. */
interface SeedOutput {
  backend: string;
  dataset: string;
  settings: Record<string, unknown>;
  results: StudyResult[];
}

/** search-seed:<split>:<budget>:<method>:<seed>: the method with and without HLS for one seed. */
function searchSeedStage(split: string, unitPrefix: string, params: z.input<typeof SearchSeedParams>): Stage<SearchSeedParams> {
  const dep = `subsample:${split}`;
  return {
    name: seedUnitName(unitPrefix, params.seed),
    module: import.meta.url,
    deps: [{ stage: dep }],
    // 40 models with and without HLS (the micro-GA twice): 15-30 s per epoch of budget here
    resources: trainingResources({ base: 10, perEpoch: 3, epochs: params.training?.epochs }),
    schema: SearchSeedParams,
    params,
    async run({ params: p, inputs, progress }) {
      const { searchSeed, withStudyData } = await loadModule<typeof import("../search/search_seed.ts")>(SEARCH_SEED);
      const settings = {
        space: p.space,
        training: p.training,
        hls: p.hls,
        hlsMode: p.hlsMode,
        budget: p.budget,
        ga: p.ga,
        hlsTop: p.hlsTop,
        gaHlsTop: p.gaHlsTop,
      };
      return await withSplit({ backend: p.backend, input: inputs[dep] }, async (split, backend) => {
        const results = await withStudyData(
          split,
          (data) => searchSeed({ data, method: p.method, seed: p.seed, settings, onProgress: progress }),
        );
        return jsonWithVolatile("seed.json", { backend, dataset: split.name, settings, results } satisfies SeedOutput);
      });
    },
  };
}

/** search:<split>:<budget>:<method>: merges the seeds' studies into the method's summary (paper Section IV). */
function searchMergeStage(split: string, budget: string, params: z.input<typeof SearchParams>, unitNames: string[]): Stage<SearchParams> {
  return {
    name: `search:${split}:${budget}:${params.method}`,
    module: import.meta.url,
    deps: unitNames.map((stage) => ({ stage })),
    resources: LIGHT_RESOURCES,
    light: true,
    schema: SearchParams,
    params,
    async run({ params: p, inputs }) {
      const units = await readSeedUnits<SeedOutput>(inputs, unitNames, "seed.json");
      const results = units.flatMap((u) => u.results);
      const [backend, dataset] = [units[0]?.backend ?? p.backend, units[0]?.dataset ?? ""];
      return {
        ...jsonWithVolatile("studies.json", { backend, dataset, method: p.method, settings: units[0]?.settings, results }),
        ...jsonWithVolatile("summary.json", {
          backend,
          dataset,
          split,
          budget,
          training: p.training,
          // what the paper's protocol fixes about HLS, so that the report can tell a run of it from another
          hls: {
            lambdaScale: p.hls.lambdaScale,
            selection: p.hls.selection,
            criterion: p.hls.criterion,
            ...(p.method !== "microga" && p.hlsTop !== undefined ? { top: p.hlsTop } : {}),
            ...(p.method === "microga" && p.gaHlsTop !== undefined ? { top: p.gaHlsTop } : {}),
          },
          ...summariseMethod(p.method, results),
        }),
      };
    },
  };
}

/** A search's stages: one per seed (search-seed:…:<seed>), then the merge search:<split>:<budget>:<method>. */
export function searchStages(split: string, budget: string, params: z.input<typeof SearchParams>): Stage[] {
  const { seeds: given, ...rest } = params;
  const seeds = SearchParams.shape.seeds.safeParse(given);
  const unitPrefix = `search-seed:${split}:${budget}:${params.method}`;
  return perSeedStages({
    unitPrefix,
    seeds: seeds.success ? seeds.data : [],
    unit: (seed) => searchSeedStage(split, unitPrefix, { ...rest, seed }),
    merge: (names) => searchMergeStage(split, budget, params, names),
  });
}
