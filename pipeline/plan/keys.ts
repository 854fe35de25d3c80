// Cache keys: what a stage's key is made of and how it is formed. The in-process runner, the `run-stage`
// child, `status` and `verify` all form keys here, so a key means the same thing wherever it is computed.
import { describeZodError } from "../config.ts";
import { UserError } from "../errors.ts";
import { digestOf } from "../hash.ts";
import type { StageRecord } from "../store/manifest.ts";
import type { Stage } from "../stage.ts";

/** Bumped when the engine changes how keys or entries are formed: every key changes with it. */
export const ENGINE_VERSION = "1";

/** The parts a stage's cache key is made of; exported so that `status` can explain staleness. */
export interface KeyParts {
  stage: string;
  params: unknown;
  inputs: Record<string, Record<string, string>>;
  code: string;
}

/** A stage's cache key: sha256 of a canonical record of its name, params, input digests and code digest. */
export function cacheKey(parts: KeyParts): string {
  return digestOf({ engine: ENGINE_VERSION, ...parts });
}

/** Validated parameters of every stage, or a UserError naming the stage and the field. */
export function validateParams(stages: readonly Stage[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const s of stages) {
    const r = s.schema.safeParse(s.params);
    if (!r.success) throw new UserError(`invalid parameter for stage '${s.name}': ${describeZodError(r.error, s.schema)}`);
    out.set(s.name, r.data);
  }
  return out;
}

/** Input digests as recorded in a key: outputs' digests, or a not-run marker with its reason. */
export function inputRecord(upstream: StageRecord): Record<string, string> {
  if (upstream.status === "not-run") return { "#not-run": upstream.reason ?? "" };
  return Object.fromEntries(Object.entries(upstream.outputs).map(([k, v]) => [k, v.digest]));
}

/** Which of a stage's outputs may differ between identical runs, by the stage's own declaration. */
export function volatileTest(stage: Stage): (name: string) => boolean {
  return stage.isVolatileOutput ?? ((n: string) => n.includes(".volatile."));
}
