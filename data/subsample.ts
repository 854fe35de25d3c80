// A split of a data set: a seeded draw of disjoint train and validation sets from the official training set,
// and the official test set (or its first nTest examples), as the files the subsample stage stores.
import { encodeData, type StoredData } from "./codec.ts";
import { drawSplit, gatherRows } from "./split.ts";
import { Rng } from "./rng.ts";

/** What a split asks of its data set. */
export interface SplitRequest {
  nTrain: number;
  nVal: number;
  /** Test examples from the official test set: all of them when absent. */
  nTest?: number;
  seed: number;
  stratify: boolean;
}

/** A split the data set cannot give (more examples than it has): the message names the value, the limit and the fix. */
export class SplitTooLarge extends Error {}

/**
 * The split's files: train, val and test parts with their meta, and the drawn row indices of the training set
 * (train-indices.u32, val-indices.u32). `splitName` names the config's split in the messages of SplitTooLarge.
 *
 * @example
 * ```ts
 * import { subsampleFiles } from "./subsample.ts";
 * // full: a fetched data set (decodeData); 5,000 training and 2,500 validation examples drawn with seed 1
 * // const files = subsampleFiles(full, { nTrain: 5000, nVal: 2500, seed: 1, stratify: false }, "mnist");
 * ```
 */
export function subsampleFiles(
  full: StoredData,
  p: SplitRequest,
  splitName: string,
  onDrawn?: () => void,
): Record<string, Uint8Array> {
  const pix = full.meta.shape[0] * full.meta.shape[1] * full.meta.shape[2];
  const pool = full.parts.train.y.length;
  if (p.nTrain + p.nVal > pool) {
    throw new SplitTooLarge(
      `nTrain + nVal = ${p.nTrain} + ${p.nVal} = ${p.nTrain + p.nVal} exceeds the ${pool} examples of ${full.meta.name}'s training set; ` +
        `lower nTrain or nVal in the split '${splitName}' of the config`,
    );
  }
  const idx = drawSplit(full.parts.train.y, { nTrain: p.nTrain, nVal: p.nVal, stratify: p.stratify }, new Rng(p.seed));
  onDrawn?.();
  const testPool = full.parts.test.y.length;
  if (p.nTest !== undefined && p.nTest > testPool) {
    throw new SplitTooLarge(
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
  files["train-indices.u32"] = new Uint8Array(idx.train.buffer);
  files["val-indices.u32"] = new Uint8Array(idx.val.buffer);
  return files;
}
