import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { CpmlhoRun } from "../cpmlho/cpmlho_options.ts";
import type { CpmlhoRecord } from "../cpmlho/cpmlho_records.ts";
import { jsonWithVolatile, loadModule } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import { trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const CPMLHO_STUDY = new URL("../cpmlho/cpmlho_study.ts", import.meta.url);

/** cpmlho:<run>'s parameters: the run's name, split and backend, then the science's CpmlhoRun fields with their defaults. */
export const CpmlhoParams = z.strictObject({
  backend: BackendParam,
  /** The run's name (the stage is cpmlho:<run>). */
  run: z.string(),
  split: z.string(),
  // the science's fields (cpmlho/cpmlho_options.ts CpmlhoRun), with the stage's defaults
  cpmlho: CpmlhoRun.shape.cpmlho.prefault({}),
  /** Random search and BO get the same total number of training epochs as CPMLHO, split into `trials` runs. */
  baselineTrials: CpmlhoRun.shape.baselineTrials.default(4),
  maxDropout: CpmlhoRun.shape.maxDropout.default(0.8),
  seed: CpmlhoRun.shape.seed.default(1),
  reduced: z.string().optional(),
});
export type CpmlhoParams = z.infer<typeof CpmlhoParams>;

/**
 * cpmlho:<split>: seed 003 on a three-layer MLP tuning the dropout rate before each layer, beside random
 * search and GP-based Bayesian optimisation on the same total training epochs. Δ-STN (the document's third
 * baseline) is not implemented.
 */
export function cpmlhoStage(params: z.input<typeof CpmlhoParams>): Stage<CpmlhoParams> {
  return splitStage({
    name: `cpmlho:${params.run}`,
    module: import.meta.url,
    split: params.split,
    // CPMLHO's epochs, then random search and BO on the same total: 1-3 min per epoch here (the CNN more)
    resources: trainingResources({ base: 10, perEpoch: 9, epochs: params.cpmlho?.epochs ?? 5, memMB: 4096 }),
    schema: CpmlhoParams,
    params,
    async compute({ params: p, split, backend, progress }) {
      const { cpmlhoStudy } = await loadModule<typeof import("../cpmlho/cpmlho_study.ts")>(CPMLHO_STUDY);
      const study = await cpmlhoStudy(p, split, progress);
      const run = { dataset: split.name, backend, reduced: Boolean(p.reduced), reducedNote: p.reduced };
      return jsonWithVolatile("result.json", { ...run, ...study } satisfies CpmlhoRecord);
    },
  });
}
