// The sequential scheduler (`--jobs 1`): every visited stage in topological order, in this process, one
// after the other; the first failure stops the run.
//
// No signal listeners here, on purpose: stages compute synchronously (TensorFlow.js), so a listener would
// only run after the stage ends and Ctrl-C would appear ignored. The default action ends the process at
// once; that is safe because every write is atomic and the lock of a dead process is taken over. A
// manifest left in state "running" by a dead process is reported as interrupted (see manifestState).
import { SkipStage, StagesFailed, UserError } from "./errors.ts";
import { computeInline, StageFailed } from "./inline.ts";
import { type StageRecord, writeManifest } from "./manifest.ts";
import { prepareStage } from "./prepare.ts";
import { formatDuration } from "./progress.ts";
import { producerOf, type RunContext } from "./run_context.ts";
import type { Stage } from "./stage.ts";

/** Runs every visited stage in order; throws the first failure (a UserError, or StagesFailed). */
export async function runSequential(ctx: RunContext): Promise<void> {
  const { order, visit, manifest } = ctx;
  const total = order.filter((s) => visit.has(s.name)).length;
  const t0 = performance.now();
  let settled = 0;
  for (const stage of order) {
    if (!visit.has(stage.name)) continue;
    let rec: StageRecord;
    try {
      rec = await runRepairing(ctx, stage, ctx.forced.has(stage.name));
    } catch (e) {
      if (!(e instanceof StageFailed)) throw e;
      manifest.stages.push(e.record);
      throw e.error instanceof UserError ? e.error : new StagesFailed([stage.name], e.error);
    }
    ctx.records.set(stage.name, rec);
    manifest.stages.push(rec);
    settled++;
    // A cache hit changes nothing in the store: persisting progress is only needed after real work.
    if (rec.status !== "cached") {
      await writeManifest(ctx.opts.storeRoot, manifest);
      // the whole run's progress (ETA from the mean time per settled stage: rough, stages differ)
      const elapsed = (performance.now() - t0) / 1000;
      ctx.log.say(
        `[run] stage ${settled}/${total} elapsed ${formatDuration(elapsed)} ETA ~${
          formatDuration((elapsed * (total - settled)) / settled)
        }`,
      );
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
      return "record" in prepared ? prepared.record : await computeInline(ctx, prepared.job);
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
