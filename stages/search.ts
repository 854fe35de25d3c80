import { z } from "zod";
import type { ArtifactSet, NotRun, Stage } from "../pipeline/stage.ts";
import { isNotRun, untyped } from "../pipeline/stage.ts";
import { StudySettings } from "../search/study_settings.ts";
import { StudyOutput, type StudyResult } from "../search/records.ts";
import { hlsTopOf, hlsTopSetting, SEARCH_METHODS } from "../search/sampler_factory.ts";
import { type SearchSummary, summariseMethod } from "../search/summary.ts";
import { jsonWithVolatile, loadModule, readChecked } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import type { StagePool } from "./_pool.ts";
import { PopulationParams, populationStage, readPopulationBatch, readPopulationStudy } from "./population.ts";
import { LIGHT_RESOURCES, trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const SEARCH_SEED = new URL("../search/search_seed.ts", import.meta.url);

export const SearchParams = z.strictObject({
  backend: BackendParam,
  /** A method of search/sampler_factory.ts: a new sampler is a case there. */
  method: z.enum(SEARCH_METHODS),
  seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
  /** Models trained per run; the micro-GA's is population + generations × offspring (40 by default). */
  budget: StudySettings.shape.budget.default(40),
  space: StudySettings.shape.space.default({ maxLayers: 3, maxNeurons: 15, log10LambdaMin: -5, log10LambdaMax: -1 }),
  /** The paper does not state its budget; its accuracies suggest a very short one (see configs). */
  training: StudySettings.shape.training.default({
    optimizer: "adam",
    learningRate: 0.001,
    momentum: 0,
    weightDecay: 0,
    epochs: 1,
    batchSize: 64,
  }),
  /** HLS as the ablation settled it (docs/hls.md): log10 λ, held-out selection, t by accuracy; `preset: "paper"` is the paper's. */
  hls: StudySettings.shape.hls.prefault({ tMin: 1e-3, tMax: 10, points: 20, criterion: "accuracy" }),
  hlsMode: StudySettings.shape.hlsMode.default("lamarckian"),
  /**
   * Grid and random search: HLS on only this many models, those of lowest validation loss as trained (the
   * ablation's log-heldout-acc-top3/-top5: the chosen model's gain kept at a fraction of the cost, docs/hls.md).
   * Absent: every model. The micro-GA has its own rule (gaHlsTop).
   */
  hlsTop: StudySettings.shape.hlsTop,
  /**
   * The micro-GA: HLS only on the offspring that as trained rank among this many best of the population and
   * their batch (the others enter as trained). Absent: every model.
   */
  gaHlsTop: StudySettings.shape.gaHlsTop,
  ga: StudySettings.shape.ga.default({
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

/**
 * The parameters of a run with HLS on one seed's population: what its outcome depends on, in one shape for
 * the searches and the ablation's variants, so that equal runs are one stage (stages/_pool.ts). `top`: the
 * one-shot hlsTop, or the micro-GA's gaHlsTop.
 */
export const HlsRunParams = z.strictObject({
  backend: SearchParams.shape.backend,
  method: SearchParams.shape.method,
  seed: z.number().int(),
  budget: SearchParams.shape.budget,
  space: StudySettings.shape.space.prefault({}),
  training: StudySettings.shape.training.prefault({}),
  ga: StudySettings.shape.ga.prefault({}),
  hls: StudySettings.shape.hls.prefault({}),
  hlsMode: SearchParams.shape.hlsMode,
  top: z.number().int().min(1).optional(),
});
export type HlsRunParams = z.infer<typeof HlsRunParams>;

/** What a run with HLS writes in `study.json`. */
export type HlsRunOutput = StudyOutput;

/** The population parameters a run with HLS starts from: its method's, without anything of HLS. */
export function populationParamsOf(p: z.input<typeof HlsRunParams>): z.input<typeof PopulationParams> {
  const { backend, method, seed, budget, space, training, ga } = p;
  return { backend, method, seed, budget, space, training, ga };
}

/**
 * A run with HLS on one seed's population (stages/population.ts): for grid and random search HLS on the
 * population's models as trained; for the micro-GA (whose HLS feeds back) the whole run with HLS, from the
 * population's initial models. The search's search-seed:<split>:<budget>:<method>:<seed> and the ablation's
 * hls-ablation-variant:<split>:<budget>:<variant>:<seed> units.
 */
export function hlsRunStage(
  a: { name: string; split: string; population: string; params: z.input<typeof HlsRunParams> },
): Stage<HlsRunParams> {
  const { population } = a;
  return splitStage({
    name: a.name,
    module: import.meta.url,
    split: a.split,
    reads: [population],
    // One-shot: HLS on models already trained, whatever their epochs (measured on the default run, 2 cores, -j 2: 9.1 s a unit on the
    // 10-epoch budget, 7.9 s on the 1-epoch one). The micro-GA trains its 30 offspring too: 23.3 s against 11.6 s, so about 8 parts
    // fixed to 1 per epoch. The ETA prices a unit by these before any of its family has finished.
    resources: a.params.method === "microga"
      ? trainingResources({ base: 10, perEpoch: 1.25, epochs: a.params.training?.epochs })
      : trainingResources({ base: 10, perEpoch: 0 }),
    schema: HlsRunParams,
    params: a.params,
    async compute({ params: p, split, backend, inputs, progress }) {
      const { searchWithHls, withStudyData } = await loadModule<typeof import("../search/search_seed.ts")>(SEARCH_SEED);
      const reference = await readPopulationStudy(inputs[population]);
      const batch = await readPopulationBatch(inputs[population]);
      const settings = { space: p.space, training: p.training, hls: p.hls, hlsMode: p.hlsMode, budget: p.budget, ga: p.ga };
      const top = hlsTopSetting(p.method, p.top);
      const result = await withStudyData(split, (data) =>
        searchWithHls({
          data,
          method: p.method,
          seed: p.seed,
          settings: { ...settings, ...top },
          population: batch,
          trainingSeconds: reference.result.seconds.total,
          onProgress: progress,
        }));
      return jsonWithVolatile("study.json", { backend, dataset: split.name, result } satisfies HlsRunOutput);
    },
  });
}

/** search:<split>:<budget>:<method>: merges the seeds' studies into the method's summary (paper Section IV). */
function searchMergeStage(
  split: string,
  budget: string,
  params: z.input<typeof SearchParams>,
  units: { population: string; withHls: string }[],
): Stage<SearchParams> {
  return {
    name: `search:${split}:${budget}:${params.method}`,
    module: import.meta.url,
    deps: units.flatMap((u) => [{ stage: u.population }, { stage: u.withHls }]),
    resources: LIGHT_RESOURCES,
    light: true,
    schema: SearchParams,
    params,
    async run({ params: p, inputs }) {
      const results: StudyResult[] = [];
      let first: { backend: string; dataset: string } | undefined;
      for (const u of units) {
        const without = await readPopulationStudy(inputs[u.population]);
        const withHls = await readUnit(inputs, u.withHls);
        first ??= without;
        results.push(without.result, withHls.result);
      }
      const [backend, dataset] = [first?.backend ?? p.backend, first?.dataset ?? ""];
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
      return {
        ...jsonWithVolatile("studies.json", { backend, dataset, method: p.method, settings, results }),
        ...jsonWithVolatile(
          "summary.json",
          {
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
              ...(hlsTopOf(p.method, p) !== undefined ? { top: hlsTopOf(p.method, p) } : {}),
            },
            ...summariseMethod(p.method, results),
          } satisfies SearchSummary,
        ),
      };
    },
  };
}

/** A run with HLS's output, as it wrote it (timings merged back in). */
export async function readUnit(inputs: Record<string, ArtifactSet | NotRun>, name: string): Promise<HlsRunOutput> {
  const a = inputs[name];
  if (!a || isNotRun(a)) throw new Error(`unit ${name} has no output`);
  return await readChecked(a, "study.json", StudyOutput);
}

/**
 * A search's stages, added to `pool`: per seed the population (population:<split>:<budget>:<method>:<seed>,
 * trained once whoever else needs it) and the run with HLS (search-seed:<split>:<budget>:<method>:<seed>),
 * then the merge search:<split>:<budget>:<method>.
 */
export function addSearchStages(pool: StagePool, split: string, budget: string, params: z.input<typeof SearchParams>): void {
  // the search's own defaults (its HLS is the ablation's settled one, not HlsOptions' bare defaults)
  const parsed = SearchParams.safeParse(params);
  const { seeds: given, hlsTop, gaHlsTop, ...rest } = parsed.success ? parsed.data : params;
  const seeds = SearchParams.shape.seeds.safeParse(given);
  const units = (seeds.success ? seeds.data : []).map((seed) => {
    const run = { ...rest, seed, top: hlsTopOf(params.method, { hlsTop, gaHlsTop }) };
    const population = pool.add(untyped(populationStage(split, budget, populationParamsOf(run))));
    const withHls = pool.add(
      untyped(hlsRunStage({ name: `search-seed:${split}:${budget}:${params.method}:${seed}`, split, population, params: run })),
    );
    return { population, withHls };
  });
  pool.add(untyped(searchMergeStage(split, budget, params, units)));
}
