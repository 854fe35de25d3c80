// Computing a prepared stage in this process (every stage of a sequential run; a lone stage of a parallel
// one) and saying how it ended: computed, not run (SkipStage), or failed with its record.
import { computeStage, type StageLog } from "./compute.ts";
import { DamagedObject, SkipStage, UserError } from "../errors.ts";
import { volatileTest } from "../plan/keys.ts";
import type { StageRecord } from "../store/manifest.ts";
import type { PreparedJob } from "./prepare.ts";
import { formatDuration } from "./progress.ts";
import type { RunContext } from "./run_context.ts";

/** A stage failure carrying its manifest record, so the caller decides whether the run stops. */
export class StageFailed extends Error {
  constructor(readonly record: StageRecord, readonly error: Error) {
    super(error.message, { cause: error });
  }
}

/** The run log, with the run's interruption checked at each progress step (a stage computing here holds the event loop). */
function checked(log: StageLog, ctx: RunContext): StageLog {
  const interrupt = ctx.interrupt;
  if (!interrupt) return log;
  return {
    say: (line) => log.say(line),
    event: (ev) => log.event(ev),
    progressFor(stage) {
      const inner = log.progressFor(stage);
      return (step, total, label) => {
        interrupt.check();
        inner(step, total, label);
      };
    },
  };
}

/**
 * Computes a prepared stage in this process. Throws StageFailed (with its record) when the stage fails;
 * rethrows a damaged input as it is (not this stage's failure: the caller recomputes its producer).
 */
export async function computeInline(ctx: RunContext, job: PreparedJob): Promise<StageRecord> {
  const { stage, key, inputs, base } = job;
  const { log, result } = ctx;
  log.say(`[${stage.name}] running${job.force ? " (forced)" : ""}`);
  log.event({ event: "stage-start", stage: stage.name, key });
  try {
    const { outputs, wallMs } = await computeStage({
      store: ctx.store,
      stage,
      params: job.params,
      inputs: job.ctxInputs,
      key,
      log: checked(log, ctx),
    });
    log.say(`[${stage.name}] done in ${formatDuration(wallMs / 1000)}`);
    log.event({ event: "stage-end", stage: stage.name, key, wallMs, outputs });
    result.computed.push(stage.name);
    const volatile = Object.keys(outputs).filter(volatileTest(stage));
    return { ...base, status: "computed", key, inputs, outputs, volatile, wallMs, executor: "inline" };
  } catch (e) {
    if (e instanceof SkipStage) {
      log.say(`[${stage.name}] not run: ${e.message}`);
      log.event({ event: "stage-not-run", stage: stage.name, reason: e.message });
      result.notRun.push({ stage: stage.name, reason: e.message });
      return { ...base, status: "not-run", key, inputs, outputs: {}, reason: e.message };
    }
    // A damaged input: not this stage's failure; the caller recomputes the input's producer.
    if (e instanceof DamagedObject || ctx.store.hasDamaged()) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    log.event({ event: "stage-failed", stage: stage.name, error: msg, stack: e instanceof Error ? e.stack : undefined });
    const record: StageRecord = { ...base, status: "failed", key, inputs, outputs: {}, reason: msg };
    if (e instanceof UserError) throw new StageFailed(record, new UserError(`stage '${stage.name}': ${msg}`));
    throw new StageFailed(record, new Error(`stage '${stage.name}' failed: ${msg}`, { cause: e }));
  }
}
