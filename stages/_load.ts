import type { ArtifactSet, NotRun } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { mergeVolatile, volatileName } from "../util/volatile.ts";
import { decodeData } from "../data/codec.ts";
import { type TensorPart, toTensorPart } from "../nn/data_tensors.ts";

/** A split loaded as tensors. */
export interface LoadedSplit {
  name: string;
  shape: [number, number, number];
  classes: number;
  train: TensorPart;
  val: TensorPart;
  test: TensorPart;
}

/** Loads a subsample stage's outputs as float tensors (pixels scaled to [0, 1] here). */
export async function loadSplit(input: ArtifactSet | NotRun | undefined): Promise<LoadedSplit> {
  if (!input || isNotRun(input)) throw new Error("split input missing");
  const d = await decodeData((n) => input.bytes(n));
  return {
    name: d.meta.name,
    shape: d.meta.shape,
    classes: d.meta.classes,
    train: toTensorPart(d.parts.train, d.meta.classes),
    val: toTensorPart(d.parts.val, d.meta.classes),
    test: toTensorPart(d.parts.test, d.meta.classes),
  };
}

export { jsonWithVolatile } from "../util/volatile.ts";

/** A JSON output with its volatile companion (timings) merged back in, as the stage wrote it. */
export async function readWithVolatile<T>(a: ArtifactSet, file: string): Promise<T> {
  const stable = await a.json<T>(file);
  return a.names().includes(volatileName(file)) ? mergeVolatile(stable, await a.json(volatileName(file))) as T : stable;
}
