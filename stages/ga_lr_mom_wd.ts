import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { type GaLrMomWdRecord, GaLrMomWdRun } from "../search/ga_lr_mom_wd.ts";
import { jsonWithVolatile, loadModule } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import { trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const GA_STUDY = new URL("../search/ga_lr_mom_wd_study.ts", import.meta.url);

/** Models a run trains: the population, then the children of each later generation. */
function gaModels(p: z.input<typeof GaLrMomWdParams>): number {
  if (p.mode === "baseline") return 1;
  const { population = 10, generations = 3 } = p.ga ?? {};
  return population + (generations - 1) * (population - Math.max(1, Math.floor(population / 2)));
}

/** ga-lr-mom-wd:<run>'s parameters: the run's name, split and backend, then the science's GaLrMomWdRun fields with their defaults. */
export const GaLrMomWdParams = z.strictObject({
  backend: BackendParam,
  split: z.string(),
  /** baseline: one model with fixed SGD settings; run1..run4: the document's GA runs. */
  run: z.string(),
  // the science's fields (search/ga_lr_mom_wd.ts GaLrMomWdRun), with the stage's defaults
  mode: GaLrMomWdRun.shape.mode,
  ga: GaLrMomWdRun.shape.ga.default({
    population: 10,
    generations: 3,
    mutationRate: 0.1,
    ranges: { lr: [0.0001, 1], momentum: [0, 0.9], weightDecay: [0, 0.1] },
  }),
  baseline: GaLrMomWdRun.shape.baseline.default({ lr: 0.01, momentum: 0.5, weightDecay: 0 }),
  epochs: GaLrMomWdRun.shape.epochs.default(3),
  batchSize: GaLrMomWdRun.shape.batchSize.default(64),
  stepGamma: GaLrMomWdRun.shape.stepGamma.default(0.7),
  cnn: GaLrMomWdRun.shape.cnn.default({ conv1: 8, conv2: 16, hidden: 64, dropout: [0.25, 0.5] }),
  seed: GaLrMomWdRun.shape.seed.default(1),
  /** Marks a config that shrinks the document's protocol (fewer examples or epochs); shown in the report. */
  reduced: z.string().optional(),
});
export type GaLrMomWdParams = z.infer<typeof GaLrMomWdParams>;

/** ga-lr-mom-wd:<run>: seed 001's GA over SGD learning rate, momentum and weight decay (or its baseline). */
export function gaLrMomWdStage(params: z.input<typeof GaLrMomWdParams>): Stage<GaLrMomWdParams> {
  return splitStage({
    name: `ga-lr-mom-wd:${params.run}`,
    module: import.meta.url,
    split: params.split,
    // a CNN per individual: 13 s per epoch on 2,000 examples here, so about 5 min per epoch on 50,000
    resources: trainingResources({ base: 10, perEpoch: 8 * gaModels(params), epochs: params.epochs ?? 3, memMB: 4096 }),
    schema: GaLrMomWdParams,
    params,
    async compute({ params: p, split, backend, progress }) {
      const { gaLrMomWdStudy } = await loadModule<typeof import("../search/ga_lr_mom_wd_study.ts")>(GA_STUDY);
      const study = await gaLrMomWdStudy(p, split, progress);
      const run = { run: p.run, mode: p.mode, backend, reduced: Boolean(p.reduced), reducedNote: p.reduced };
      return jsonWithVolatile("result.json", { ...run, ...study } satisfies GaLrMomWdRecord);
    },
  });
}
