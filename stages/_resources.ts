// What each stage asks a cluster scheduler for (`--executor slurm`; see docs/scaling.md). From timings on
// the 2-core development machine (docs/results.md: a 40-model search seed 15-30 s per method and budget, an
// ablation seed 3-8 min, peak RSS of a 40-model search about 620 MB) with a margin of 3× or more, scaled
// by the training a stage does. Not part of any cache key.
import type { Stage } from "../pipeline/stage.ts";

type Resources = NonNullable<Stage["resources"]>;

/** Reading and checking a data set (CIFAR-10 may be a 170 MB download), or drawing a split. */
export const DATA_RESOURCES: Resources = { cpus: 1, memMB: 2048, timeMin: 30 };

/** A merge of seed units, or the report: reads JSON, writes JSON, SVG and HTML. */
export const LIGHT_RESOURCES: Resources = { cpus: 1, memMB: 2048, timeMin: 15 };

/** A stage that trains: minutes = base + perEpoch × epochs (epochs: the training budget's, default 1). */
export function trainingResources(a: { base: number; perEpoch: number; epochs?: number; memMB?: number }): Resources {
  return { cpus: 1, memMB: a.memMB ?? 3072, timeMin: Math.ceil(a.base + a.perEpoch * (a.epochs ?? 1)) };
}
