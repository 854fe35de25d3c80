// population:<split>:<budget>:<method>:<seed>: a search's models as trained, without HLS, a stage apart from
// HLS so that an edit to HLS code retrains nothing. Neither this module nor what it loads imports HLS code
// (tests/pipeline/plan/code_digest_test.ts checks it against the smoke config's stages).
import { z } from "zod";
import type { ArtifactSet, NotRun, Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { SearchSpace } from "../search/space.ts";
import { MicroGaOptions } from "../search/samplers.ts";
import { SEARCH_METHODS } from "../search/sampler_factory.ts";
import { StudyOutput } from "../search/records.ts";
import type { TrainedBatch } from "../search/population.ts";
import { jsonWithVolatile, loadModule, readChecked, readWithVolatile } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import { trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const POPULATION = new URL("../search/population.ts", import.meta.url);
const TRAIN_GENOMES = new URL("../search/train_genomes.ts", import.meta.url);
const SAMPLER_FACTORY = new URL("../search/sampler_factory.ts", import.meta.url);

/**
 * What a population depends on: the method's proposals (space, budget, GA settings), the training, the seed.
 * Nothing of HLS: the grid and random searches, the ablation's one-shot variants and the runs with HLS of
 * the micro-GA all read the same population when these agree.
 */
export const PopulationParams = z.strictObject({
  backend: BackendParam,
  method: z.enum(SEARCH_METHODS),
  seed: z.number().int(),
  /** Models of a one-shot method (grid, random); the micro-GA's is population + generations × offspring. */
  budget: z.number().int().min(1).default(40),
  space: SearchSpace.prefault({}),
  training: TrainOptions.prefault({}),
  ga: MicroGaOptions.prefault({}),
});
export type PopulationParams = z.infer<typeof PopulationParams>;

/** What a population stage writes in `study.json`: the search without HLS. */
export type PopulationOutput = StudyOutput;

/** The name of a population stage. */
export function populationName(split: string, budget: string, method: string, seed: number): string {
  return `population:${split}:${budget}:${method}:${seed}`;
}

/**
 * population:<split>:<budget>:<method>:<seed>: the method's search without HLS (every model scored as
 * trained; for the micro-GA the whole run without HLS), `study.json`; and the models a run with HLS reads
 * (`batch.json`, `model-<i>.json`, `weights-<i>.f32`): every model where HLS comes after the search (grid,
 * random), the first batch where HLS feeds back (the micro-GA's initial population, which each of its runs
 * with HLS of the same seed and training starts from).
 */
export function populationStage(split: string, budget: string, params: z.input<typeof PopulationParams>): Stage<PopulationParams> {
  return splitStage({
    name: populationName(split, budget, params.method, params.seed),
    module: import.meta.url,
    split,
    // 40 models trained in stacks: 5-20 s per epoch of budget here
    resources: trainingResources({ base: 5, perEpoch: 2, epochs: params.training?.epochs }),
    schema: PopulationParams,
    params,
    async compute({ params: p, split, backend, progress }) {
      const [{ runSearch, encodeBatch }, { withStudyData }, { makeSampler, methodStream, modelsOf }] = await Promise.all([
        loadModule<typeof import("../search/population.ts")>(POPULATION),
        loadModule<typeof import("../search/train_genomes.ts")>(TRAIN_GENOMES),
        loadModule<typeof import("../search/sampler_factory.ts")>(SAMPLER_FACTORY),
      ]);
      const total = modelsOf(p.method, p);
      const { result, first, all } = await withStudyData(split, (data) =>
        runSearch({
          data,
          method: p.method,
          seed: p.seed,
          rng: methodStream(p.method, p.seed),
          settings: p,
          onTrial: (k, what) => progress(k, total, `model ${k}/${total}${what ? `, ${what}` : ""}`),
        }));
      // what a run with HLS reads: every model where HLS comes after the search, the first batch where it feeds back
      const stored = makeSampler(p.method, p, methodStream(p.method, p.seed)).hlsFeedsBack ? first : all;
      const { batch, files } = encodeBatch(stored, split.train.x.shape[1], split.classes);
      return {
        ...jsonWithVolatile("study.json", { backend, dataset: split.name, result } satisfies PopulationOutput),
        ...jsonWithVolatile("batch.json", batch),
        ...files,
      };
    },
  });
}

/** A population stage's search without HLS, as it wrote it (timings merged back in). */
export async function readPopulationStudy(input: ArtifactSet | NotRun | undefined): Promise<PopulationOutput> {
  if (!input || isNotRun(input)) throw new Error("population input missing");
  return await readChecked(input, "study.json", StudyOutput);
}

/** A population stage's first batch as trained: the same weights bit for bit. */
export async function readPopulationBatch(input: ArtifactSet | NotRun | undefined): Promise<TrainedBatch> {
  if (!input || isNotRun(input)) throw new Error("population input missing");
  const { decodeBatch } = await loadModule<typeof import("../search/population.ts")>(POPULATION);
  return await decodeBatch(await readWithVolatile(input, "batch.json"), (n) => input.bytes(n));
}
