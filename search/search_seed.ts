// One seed of a search with HLS (paper Section IV), on the models its population stage trained.
import type { StudyResult } from "./records.ts";
import type { TrainedBatch } from "./population.ts";
import { hlsFeedsBack, methodStream, modelsOf, type SearchMethod } from "./sampler_factory.ts";
import { searchStudy } from "./study.ts";
import { oneShotHls } from "./hls_step.ts";
import type { StudySettings } from "./study_settings.ts";
import type { StudyData } from "./train_genomes.ts";

export { withStudyData } from "./train_genomes.ts";

/**
 * The run with HLS of one seed of `method`. Where HLS comes after the search (grid, random): HLS on the
 * population's models as trained (`population`: the population stage's models, `trainingSeconds` its
 * training time). Where HLS feeds back (the micro-GA): the whole search with HLS from the method's stream,
 * its first batch taken from `population` (the run without HLS proposes and trains the same one).
 *
 * @example
 * ```ts
 * const { all } = await runSearch({ data, method: "random", seed: 1, rng: methodStream("random", 1), settings, onTrial });
 * const withHls = await searchWithHls({ data, method: "random", seed: 1, settings, population: all, trainingSeconds: 0, onProgress });
 * ```
 */
export async function searchWithHls(a: {
  data: StudyData;
  method: SearchMethod;
  seed: number;
  settings: StudySettings;
  population: TrainedBatch;
  trainingSeconds: number;
  onProgress: (step: number, total: number, label: string) => void;
}): Promise<StudyResult> {
  const { data, method, seed, settings: s } = a;
  const rng = methodStream(method, seed);
  const oneShot = !hlsFeedsBack(method);
  const total = oneShot ? a.population.genomes.length : modelsOf(method, s);
  const onTrial = (k: number, what?: string) => a.onProgress(k, total, `with HLS model ${k}/${total}${what ? `, ${what}` : ""}`);
  if (oneShot) {
    return await oneShotHls({ method, seed, population: a.population, data, settings: s, trainingSeconds: a.trainingSeconds, onTrial });
  }
  return await searchStudy({ data, method, settings: s, seed, withHls: true, rng, reuse: a.population, onTrial });
}
