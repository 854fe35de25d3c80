// Computing one stage and committing it to the store. The in-process runner and the `run-stage` child of a
// parallel run both call computeStage, so both store the same bytes under the same key.
import type { ArtifactStore, OutputRef } from "../store/store.ts";
import type { ArtifactSet, NotRun, Progress, Stage } from "../stage.ts";

/** Where a stage's progress, messages and events go: the run log, or (in a child) the parent's pipe. */
export interface StageLog {
  say(line: string): void;
  event(event: Record<string, unknown>): void;
  progressFor(stage: string): Progress;
}

/** Builds the ArtifactSet view of a stage's outputs. */
export function artifactSet(store: ArtifactStore, stage: string, outputs: Record<string, OutputRef>): ArtifactSet {
  return {
    stage,
    names: () => Object.keys(outputs),
    digest(name) {
      const ref = outputs[name];
      if (!ref) throw new Error(`stage '${stage}' has no output '${name}' (has: ${Object.keys(outputs).join(", ")})`);
      return ref.digest;
    },
    async bytes(name) {
      return await store.getObject(this.digest(name));
    },
    async json(name) {
      return JSON.parse(new TextDecoder().decode(await this.bytes(name)));
    },
  };
}

/** What computeStage needs. */
export interface ComputeRequest {
  store: ArtifactStore;
  stage: Stage;
  params: unknown;
  inputs: Record<string, ArtifactSet | NotRun>;
  key: string;
  log: StageLog;
  /** Called after the outputs are stored and before the cache entry is written; throws to withhold it. */
  beforeCommit?: () => Promise<void>;
}

/**
 * Computes one stage and stores it: runs it in a scratch directory, stores every output as an object,
 * then (after `beforeCommit`) writes its cache entry under `key`. The one place a stage is computed: the
 * in-process runner and the `run-stage` child of a parallel run both call it, so both store the same bytes
 * under the same key. Errors propagate to the caller, which classifies them.
 */
export async function computeStage(a: ComputeRequest): Promise<{ outputs: Record<string, OutputRef>; wallMs: number }> {
  const { store, stage, key, log } = a;
  const scratchDir = `${store.tmpDir}/scratch-${key.slice(0, 16)}-${Deno.pid}`;
  await Deno.mkdir(scratchDir, { recursive: true });
  const start = performance.now();
  try {
    const produced = await stage.run({
      params: a.params,
      inputs: a.inputs,
      progress: log.progressFor(stage.name),
      log: (ev) => log.event({ stage: stage.name, ...ev }),
      scratchDir,
    });
    const outputs: Record<string, OutputRef> = {};
    for (const [name, bytes] of Object.entries(produced)) outputs[name] = await store.putObject(bytes);
    const wallMs = performance.now() - start;
    await a.beforeCommit?.();
    await store.writeRun({ key, stage: stage.name, outputs, wallMs, createdAt: new Date().toISOString() });
    return { outputs, wallMs };
  } finally {
    await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
  }
}
