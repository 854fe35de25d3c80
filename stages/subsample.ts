import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { UserError } from "../pipeline/errors.ts";
import { decodeData } from "../data/codec.ts";
import { SplitTooLarge, subsampleFiles } from "../data/subsample.ts";
import { DatasetNameSchema } from "../data/datasets.ts";
import { DATA_RESOURCES } from "./_resources.ts";

export const SubsampleParams = z.strictObject({
  dataset: DatasetNameSchema,
  nTrain: z.number().int().min(1).default(5000),
  /** At least 1: the validation set is what model selection and the bilevel problem are judged on. */
  nVal: z.number().int().min(1, "nVal must be at least 1 (model selection needs a validation set)").default(2500),
  /** Test examples from the official test set: all of them unless smaller. */
  nTest: z.number().int().min(1).optional(),
  seed: z.number().int().default(1),
  stratify: z.boolean().default(false),
});
export type SubsampleParams = z.infer<typeof SubsampleParams>;

/**
 * subsample:<split>: a seeded draw of disjoint train and validation sets from the official training set,
 * and the official test set (or its first nTest examples), stored as compact uint8 artifacts.
 */
export function subsampleStage(splitName: string, params: z.input<typeof SubsampleParams>): Stage<SubsampleParams> {
  const fetchName = `fetch:${params.dataset}`;
  return {
    name: `subsample:${splitName}`,
    module: import.meta.url,
    resources: DATA_RESOURCES,
    deps: [{ stage: fetchName }],
    schema: SubsampleParams,
    params,
    async run({ params: p, inputs, progress }) {
      const src = inputs[fetchName];
      if (isNotRun(src)) throw new Error("unreachable: required input not run");
      const full = await decodeData((n) => src.bytes(n));
      try {
        const files = subsampleFiles(full, p, splitName, () => progress(1, 2, "split drawn"));
        progress(2, 2, `${p.nTrain}/${p.nVal}/${p.nTest ?? full.parts.test.y.length}`);
        return files;
      } catch (e) {
        // a split the data set cannot give is the config's fault: one line, exit 2
        if (e instanceof SplitTooLarge) throw new UserError(e.message);
        throw e;
      }
    },
  };
}
