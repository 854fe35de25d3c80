import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { UserError } from "../pipeline/errors.ts";
import { decodeData, encodeData } from "../data/codec.ts";
import { drawSplit, gatherRows } from "../data/split.ts";
import { Rng } from "../data/rng.ts";
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
      const pix = full.meta.shape[0] * full.meta.shape[1] * full.meta.shape[2];
      const pool = full.parts.train.y.length;
      if (p.nTrain + p.nVal > pool) {
        throw new UserError(
          `nTrain + nVal = ${p.nTrain} + ${p.nVal} = ${
            p.nTrain + p.nVal
          } exceeds the ${pool} examples of ${full.meta.name}'s training set; ` +
            `lower nTrain or nVal in the split '${splitName}' of the config`,
        );
      }
      const idx = drawSplit(full.parts.train.y, { nTrain: p.nTrain, nVal: p.nVal, stratify: p.stratify }, new Rng(p.seed));
      progress(1, 2, "split drawn");
      const testPool = full.parts.test.y.length;
      if (p.nTest !== undefined && p.nTest > testPool) {
        throw new UserError(
          `nTest = ${p.nTest} exceeds the ${testPool} examples of ${full.meta.name}'s test set; ` +
            `give nTest between 1 and ${testPool} (or leave it out for all of them) in the split '${splitName}' of the config`,
        );
      }
      const nTest = p.nTest ?? testPool;
      const testIdx = Uint32Array.from({ length: nTest }, (_, i) => i);
      const part = (ix: Uint32Array, from: typeof full.parts.train) => ({ x: gatherRows(from.x, pix, ix), y: gatherRows(from.y, 1, ix) });
      const files = encodeData({
        meta: {
          name: full.meta.name,
          shape: full.meta.shape,
          classes: full.meta.classes,
          counts: { train: idx.train.length, val: idx.val.length, test: nTest },
          split: { seed: p.seed, stratify: p.stratify, from: "official training set" },
        },
        parts: { train: part(idx.train, full.parts.train), val: part(idx.val, full.parts.train), test: part(testIdx, full.parts.test) },
      });
      // The indices into the official training set, for provenance.
      files["train-indices.u32"] = new Uint8Array(idx.train.buffer);
      files["val-indices.u32"] = new Uint8Array(idx.val.buffer);
      progress(2, 2, `${idx.train.length}/${idx.val.length}/${nTest}`);
      return files;
    },
  };
}
