// Stage plumbing: a split's artifacts as tensors under the stage's backend, and an upstream's JSON read back
// (timings merged in, checked against its science's schema). TensorFlow.js is loaded here, when a stage first
// computes, not when the CLI starts (it is most of the start-up of a run that has nothing to compute).
import type { z } from "zod";
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

/**
 * A JSON output with its timings merged back in, checked against the schema its science owns, and as that
 * schema reads it (NaN where JSON wrote null). An artifact without the shape its reader expects (damaged,
 * forged, or written by other code) is refused naming the stage, the file, the field and what was expected:
 * never read as if it had it.
 */
export async function readChecked<S extends z.ZodType>(a: ArtifactSet, file: string, schema: S): Promise<z.output<S>> {
  return checkShape(a.stage, file, schema, await readWithVolatile<unknown>(a, file));
}

/** `value` (stage's `file`) as `schema` reads it, or the error readChecked describes. */
export function checkShape<S extends z.ZodType>(stage: string, file: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue.path.length ? issue.path.map(String).join(".") : "(the whole file)";
  throw new Error(`${stage}'s ${file} is not what this code writes: at ${at}: ${issue.message}`);
}
