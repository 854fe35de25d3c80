import { Rng } from "../data/rng.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { microGaStudy, oneShotStudies, releaseHeldOut, type StudyData, type StudyResult, type StudySettings } from "./study.ts";

/**
 * A split's parts as a study's data for `body`; the held-out splits a study makes are freed afterwards (the
 * parts are the caller's: stages/_load.ts withSplit frees them).
 */
export async function withStudyData<T>(
  split: { train: TensorPart; val: TensorPart; test: TensorPart; classes: number },
  body: (data: StudyData) => Promise<T>,
): Promise<T> {
  const data: StudyData = { train: split.train, val: split.val, test: split.test, input: split.train.x.shape[1], classes: split.classes };
  try {
    return await body(data);
  } finally {
    releaseHeldOut(data);
  }
}

/**
 * One seed of a search (paper Section IV): the method without and with HLS on the same data. The micro-GA
 * runs twice from the same initial population; grid and random search fine-tune the same trained models.
 */
export async function searchSeed(a: {
  data: StudyData;
  method: "grid" | "random" | "microga";
  seed: number;
  settings: StudySettings;
  onProgress: (step: number, total: number, label: string) => void;
}): Promise<StudyResult[]> {
  const { data, method, seed, settings: s } = a;
  const perRun = method === "microga" ? s.ga.population + s.ga.generations * s.ga.offspring : s.budget;
  const runs = method === "microga" ? 2 : 1;
  let done = 0;
  const tick = (label: string) => (k: number, what?: string) =>
    a.onProgress(done + k, runs * perRun, `${label} model ${k}/${perRun}${what ? `, ${what}` : ""}`);
  const rng = new Rng(seed);
  if (method !== "microga") return await oneShotStudies({ method, data, settings: s, seed, rng: rng.fork(method), onTrial: tick("±HLS") });
  const results: StudyResult[] = [];
  for (const withHls of [false, true]) {
    results.push(
      await microGaStudy({
        data,
        settings: s,
        seed,
        withHls,
        rng: rng.fork("microga"),
        onTrial: tick(withHls ? "with HLS" : "without HLS"),
      }),
    );
    done += perRun;
  }
  return results;
}
