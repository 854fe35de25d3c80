// Stage plumbing shared by the stages that train: a split's artifacts as tensors under the stage's backend.
// TensorFlow.js is loaded here, when a stage first computes, not when the CLI starts (it is most of the
// start-up of a run that has nothing to compute).
import type { ArtifactSet, NotRun } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { mergeVolatile, volatileName } from "../util/volatile.ts";
import { decodeData } from "../data/codec.ts";
import type { BackendName } from "../nn/backend_check.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { loadModule } from "./_lazy.ts";

export { loadModule };

const BACKEND = new URL("../nn/backend.ts", import.meta.url);
const DATA_TENSORS = new URL("../nn/data_tensors.ts", import.meta.url);

/** A split loaded as tensors. */
export interface LoadedSplit {
  name: string;
  shape: [number, number, number];
  classes: number;
  train: TensorPart;
  val: TensorPart;
  test: TensorPart;
}

/**
 * Runs `body` on a subsample stage's outputs as float tensors (pixels scaled to [0, 1]) under `backend`,
 * and frees the tensors afterwards, whatever happens. `backend` is what TensorFlow.js reports using.
 */
export async function withSplit<T>(
  a: { backend: BackendName; input: ArtifactSet | NotRun | undefined },
  body: (split: LoadedSplit, backend: string) => Promise<T>,
): Promise<T> {
  const { input } = a;
  if (!input || isNotRun(input)) throw new Error("split input missing");
  const [{ useBackend }, { disposePart, toTensorPart }] = await Promise.all([
    loadModule<typeof import("../nn/backend.ts")>(BACKEND),
    loadModule<typeof import("../nn/data_tensors.ts")>(DATA_TENSORS),
  ]);
  const backend = await useBackend(a.backend);
  const d = await decodeData((n) => input.bytes(n));
  const split: LoadedSplit = {
    name: d.meta.name,
    shape: d.meta.shape,
    classes: d.meta.classes,
    train: toTensorPart(d.parts.train, d.meta.classes),
    val: toTensorPart(d.parts.val, d.meta.classes),
    test: toTensorPart(d.parts.test, d.meta.classes),
  };
  try {
    return await body(split, backend);
  } finally {
    [split.train, split.val, split.test].forEach(disposePart);
  }
}

export { jsonWithVolatile } from "../util/volatile.ts";

/** A JSON output with its volatile companion (timings) merged back in, as the stage wrote it. */
export async function readWithVolatile<T>(a: ArtifactSet, file: string): Promise<T> {
  const stable = await a.json<T>(file);
  return a.names().includes(volatileName(file)) ? mergeVolatile(stable, await a.json(volatileName(file))) as T : stable;
}
