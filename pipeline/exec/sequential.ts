// The sequential scheduler (`--jobs 1`): every visited stage in topological order, in this process, one
// after the other; the first failure stops the run.
//
// Signals: stages compute synchronously (TensorFlow.js), so a listener in this thread would only run after
// the stage ends and Ctrl-C would appear ignored. The run's signal watch (interrupt.ts) sees them from a
// worker thread; the run stops at the stage's next progress step or await, says what it kept and exits
// (the worker ends the process itself if neither comes). Stopping mid-stage is safe because every write is
// atomic and a stage's entry is written last. Without the watch (RunOptions.signals false) the default
// action ends the process at once; a manifest left "running" by a dead process reads as interrupted.
import { SkipStage, StagesFailed, UserError } from "../errors.ts";
import { etaModelForRun, formatEtaRange } from "../plan/eta.ts";
import { computeInline, StageFailed } from "./inline.ts";
import { type StageRecord, writeManifest } from "../store/manifest.ts";
import { prepareStage } from "./prepare.ts";
import { formatDuration } from "./progress.ts";
import { producerOf, type RunContext } from "./run_context.ts";
import type { Stage } from "../stage.ts";

/** Runs every visited stage in order; throws the first failure (a UserError, or StagesFailed). */
export async function runSequential(ctx: RunContext): Promise<void> {
  const { order, visit, manifest } = ctx;
  const total = order.filter((s) => visit.has(s.name)).length;
  const t0 = performance.now();
  const eta = await etaModelForRun(order, visit, ctx.opts.storeRoot, { executor: "inline" });
  const statuses = new Map<string, string>();
  let settled = 0;
  // an interruption ends the run at once, between stages or mid-stage (at a progress step, or when the
  // stage awaits): every write is atomic and a stage's entry is written last
  ctx.interrupt?.onSignal((sig) => ctx.interrupt!.stopNow(sig));
  for (const stage of order) {
    if (!visit.has(stage.name)) continue;
    const started = performance.now();
    let rec: StageRecord;
    ctx.interrupt?.started(stage.name);
    try {
      rec = await runRepairing(ctx, stage, ctx.forced.has(stage.name));
    } catch (e) {
      if (!(e instanceof StageFailed)) throw e;
      manifest.stages.push(e.record);
      throw e.error instanceof UserError ? e.error : new StagesFailed([stage.name], e.error);
    }
    ctx.records.set(stage.name, rec);
    manifest.stages.push(rec);
    ctx.interrupt?.ended(stage.name);
    settled++;
    statuses.set(stage.name, rec.status);
    if (rec.status === "computed") eta.observe(stage.name, performance.now() - started);
    // A cache hit changes nothing in the store: persisting progress is only needed after real work.
    if (rec.status !== "cached") {
      await writeManifest(ctx.opts.storeRoot, manifest);
      // the whole run's progress: what is left, one stage after another, at each stage's estimated duration
      const elapsed = (performance.now() - t0) / 1000;
      const left = eta.remaining({ settled: statuses, running: new Map() }, 1);
      ctx.log.event({ event: "eta", lowMs: Math.round(left.lowMs), ms: Math.round(left.ms), highMs: Math.round(left.highMs) });
      ctx.log.say(`[run] stage ${settled}/${total} elapsed ${formatDuration(elapsed)} ETA ${formatEtaRange(left.lowMs, left.highMs)}`);
    }
  }
}

/**
 * Runs a stage; when it fails because an input object was damaged (the store removed it as it was read),
 * recomputes the stage that produced that object, as on a cache miss, then tries again. A bounded number
 * of rounds, so that a disk that keeps corrupting data ends in a clear error instead of a loop.
 */
async function runRepairing(ctx: RunContext, stage: Stage, force: boolean, depth = 0): Promise<StageRecord> {
  for (let round = 0;; round++) {
    try {
      const prepared = await prepareStage(ctx, stage, force);
      if ("record" in prepared) return prepared.record;
      await ctx.interrupt?.arm();
      return await computeInline(ctx, prepared.job);
    } catch (e) {
      const damaged = ctx.store.takeDamaged();
      if (!damaged.length || e instanceof SkipStage) throw e;
      if (round >= 3 || depth > ctx.order.length) {
        throw new UserError(`stage '${stage.name}': its inputs keep reading back damaged; check the disk of ${ctx.opts.storeRoot}`);
      }
      for (const digest of damaged) await recomputeProducer(ctx, stage.name, digest, depth);
    }
  }
}

/** Drops the cache entry of the stage that produced a damaged object and computes it again. */
async function recomputeProducer(ctx: RunContext, reader: string, digest: string, depth: number): Promise<void> {
  const producer = producerOf(ctx, reader, digest);
  if (producer.key) await ctx.store.dropRun(producer.key);
  const stage = ctx.order.find((s) => s.name === producer.stage)!;
  const rec = await runRepairing(ctx, stage, true, depth + 1);
  ctx.records.set(stage.name, rec);
  const i = ctx.manifest.stages.findIndex((r) => r.stage === stage.name);
  if (i >= 0) ctx.manifest.stages[i] = rec;
  ctx.result.cached = ctx.result.cached.filter((n) => n !== stage.name);
}
