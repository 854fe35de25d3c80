// Preparing a stage: everything up to computing it. Its inputs and its key are formed from its upstream
// records; what needs no computing (an upstream that failed or did not run, a cache hit) ends here as a
// finished record, and the rest becomes a job to compute.
import { artifactSet } from "./compute.ts";
import { declaredWork } from "../plan/eta.ts";
import { cacheKey, inputRecord, volatileTest } from "../plan/keys.ts";
import type { StageRecord } from "../store/manifest.ts";
import { notRunBecause } from "../not_run.ts";
import type { RunContext } from "./run_context.ts";
import type { ArtifactSet, NotRun, Stage } from "../stage.ts";

/** A stage ready to compute: everything its key and its run need. */
export interface PreparedJob {
  stage: Stage;
  params: unknown;
  key: string;
  force: boolean;
  /** The input digests its key covers. */
  inputs: Record<string, Record<string, string>>;
  /** The inputs as the stage reads them. */
  ctxInputs: Record<string, ArtifactSet | NotRun>;
  /** Its manifest record, less what only computing decides. */
  base: Omit<StageRecord, "status" | "inputs" | "outputs">;
}

/** A stage settled without computing, or the job that computes it. */
export type Prepared = { record: StageRecord } | { job: PreparedJob };

/**
 * Everything up to computing: the stage's inputs and key, then what needs no computing (an upstream that
 * did not run, a cache hit) as a finished record, else the job to compute.
 */
export async function prepareStage(ctx: RunContext, stage: Stage, force: boolean): Promise<Prepared> {
  const params = ctx.params.get(stage.name);
  const code = ctx.codeDigests.get(stage.name)!;
  const base = {
    stage: stage.name,
    params,
    codeDigest: code.digest,
    codeFiles: code.files,
    packages: code.packages,
    volatile: [] as string[],
    ...(declaredWork(stage) !== undefined ? { work: declaredWork(stage) } : {}),
  };
  const gathered = gatherInputs(ctx, stage, base);
  if ("record" in gathered) return gathered;
  const { inputs, ctxInputs } = gathered;
  const key = cacheKey({ stage: stage.name, params, inputs, code: code.digest });
  if (!force) {
    const hit = await ctx.store.readRun(key);
    if (hit) {
      ctx.log.event({ event: "stage-cached", stage: stage.name, key });
      ctx.result.cached.push(stage.name);
      const volatile = Object.keys(hit.outputs).filter(volatileTest(stage));
      return { record: { ...base, status: "cached", key, inputs, outputs: hit.outputs, volatile, wallMs: hit.wallMs } };
    }
  }
  return { job: { stage, params, key, force, inputs, ctxInputs, base } };
}

/**
 * A stage's inputs from its upstream records: their digests (for the key) and their views (for the stage),
 * or the record of a stage that cannot run because of them.
 */
function gatherInputs(
  ctx: RunContext,
  stage: Stage,
  base: PreparedJob["base"],
): { record: StageRecord } | { inputs: PreparedJob["inputs"]; ctxInputs: PreparedJob["ctxInputs"] } {
  const inputs: Record<string, Record<string, string>> = {};
  const ctxInputs: Record<string, ArtifactSet | NotRun> = {};
  for (const dep of stage.deps) {
    const up = ctx.records.get(dep.stage)!;
    if (up.status === "failed" || up.status === "pending") {
      // Only in a parallel run, which carries on past a failure: this stage cannot start.
      const reason = `not started: needs '${dep.stage}', which ${up.status === "failed" ? "failed" : "did not finish"}`;
      ctx.log.event({ event: "stage-blocked", stage: stage.name, reason });
      return { record: { ...base, status: "pending", inputs: {}, outputs: {}, reason } };
    }
    inputs[dep.stage] = inputRecord(up);
    if (up.status === "not-run") {
      if (!dep.optional) {
        const reason = notRunBecause(dep.stage, up.reason ?? "");
        ctx.log.say(`[${stage.name}] not run: ${reason}`);
        ctx.log.event({ event: "stage-not-run", stage: stage.name, reason });
        ctx.result.notRun.push({ stage: stage.name, reason });
        return { record: { ...base, status: "not-run", inputs, outputs: {}, reason } };
      }
      ctxInputs[dep.stage] = { stage: dep.stage, notRun: up.reason ?? "" };
    } else ctxInputs[dep.stage] = artifactSet(ctx.store, dep.stage, up.outputs);
  }
  return { inputs, ctxInputs };
}
