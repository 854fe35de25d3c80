// The entry point of a run: opens it (lock, log, code digests), hands it to the sequential or the parallel
// scheduler, and closes it (manifest, lock) whatever happened. The steps live in their own modules:
// run_context.ts (the run's state), prepare.ts (inputs, key, cache hit), inline.ts and compute.ts
// (computing a stage), sequential.ts and parallel.ts (the schedulers), elsewhere.ts (a stage in a child).
import { resumeCommand, RunInterrupt, SignalWatch } from "./interrupt.ts";
import { closeRun, openRun, type RunOptions, type RunResult } from "./run_context.ts";
import { runParallel } from "./parallel.ts";
import { runSequential } from "./sequential.ts";
import type { Stage } from "../stage.ts";

export type { RunOptions, RunResult } from "./run_context.ts";
// What runner.ts exported before it was split, for importers written against it (scratch/, other branches).
export { cacheKey, ENGINE_VERSION, inputRecord, validateParams, volatileTest } from "../plan/keys.ts";
export { artifactSet, computeStage, type StageLog } from "./compute.ts";
export { plan } from "./run_context.ts";

/**
 * Runs a DAG of stages against an artifact store: each stage whose key is cached is a lookup; others are
 * computed, their outputs stored atomically, then their cache entry written. Holds the store lock
 * throughout; writes the manifest after every stage so an interrupted run is visible and resumable.
 *
 * With `jobs` > 1 and an executor, ready stages compute concurrently elsewhere (see parallel.ts); this
 * process schedules, follows them and records the manifest. A failing stage then does not stop the run:
 * everything that does not need it finishes first; then the run throws the first failure, as a sequential
 * run would have (a UserError for the user's faults, else an internal error).
 *
 * @example
 * ```ts
 * const r = await runPipeline(stages, { storeRoot: "artifacts", projectRoot: "." });
 * console.log(`${r.computed.length} computed, ${r.cached.length} cached`);
 * ```
 */
export async function runPipeline(stages: readonly Stage[], opts: RunOptions): Promise<RunResult> {
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
  const executor = opts.executor;
  const parallel = !!executor && (jobs > 1 || !!opts.isolateAll);
  const ctx = await openRun(stages, opts);
  // the signals are watched from a worker thread (a stage computing here holds this thread's event loop),
  // started when the first stage is about to compute
  const resume = resumeCommand({ argv: Deno.args, mainModule: Deno.mainModule, projectRoot: opts.projectRoot });
  ctx.interrupt = new RunInterrupt(ctx, opts.signals === false ? undefined : () => SignalWatch.start(), resume);
  try {
    const cleaned = await ctx.store.cleanTmp({ everywhere: ctx.lock.tookOver });
    if (cleaned) ctx.log.say(`removed ${cleaned} leftover temporary file(s) of an interrupted run`);
    ctx.log.event({
      event: "run-start",
      runId: ctx.runId,
      stages: ctx.order.map((s) => s.name),
      jobs: parallel ? jobs : 1,
      executor: parallel ? executor!.name : "inline",
    });
    if (parallel) await runParallel(ctx, executor!, jobs);
    else await runSequential(ctx);
    ctx.manifest.state = "complete";
  } catch (e) {
    ctx.manifest.state = "failed";
    throw e;
  } finally {
    ctx.interrupt.stop();
    await closeRun(ctx);
  }
  return ctx.result;
}
