// Running one prepared stage elsewhere, through an executor (a child process, a Slurm job): the job spec
// the child reads, the start, and the child's report read back into a manifest record. The report alone
// is never trusted: a stage is only done when its cache entry is in the store with the reported outputs.
import type { JobHandle, JobReport, StageExecutor, StageJobSpec } from "./executor.ts";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../store/fs_atomic.ts";
import { digestOf } from "../hash.ts";
import { volatileTest } from "../plan/keys.ts";
import type { StageRecord } from "../store/manifest.ts";
import type { PreparedJob } from "./prepare.ts";
import { formatDuration } from "./progress.ts";
import type { RunContext } from "./run_context.ts";
import type { RunBoard } from "./board.ts";

/** What the parallel scheduler lends a stage it runs elsewhere. */
export interface Dispatch {
  executor: StageExecutor;
  board: RunBoard;
  /** Started jobs by stage: the scheduler cancels them when it stops. */
  handles: Map<string, JobHandle>;
  /** True once the run is being interrupted. */
  stopping(): boolean;
  /** The copy of the source the children run from (taken by `snapshot`, on first use). */
  codeRoot: string;
  snapshot(): Promise<void>;
  /** A fresh path for the job spec of a stage with this key. */
  specPath(key: string): string;
}

/** One try at a stage elsewhere: its record, or the digests of damaged inputs to repair first. */
export type Attempt = { record: StageRecord } | { damaged: string[] };

/** Runs a prepared stage through the executor and reads its report back into a record. */
export async function attemptElsewhere(ctx: RunContext, d: Dispatch, job: PreparedJob): Promise<Attempt> {
  const spec = jobSpec(ctx, job);
  await d.snapshot();
  const specPath = d.specPath(job.key);
  await writeFileAtomic(specPath, JSON.stringify(spec), { tmpDir: ctx.store.tmpDir });
  const handle = await startJob(ctx, d, job, specPath);
  const rep = await handle.done.finally(async () => {
    d.handles.delete(job.stage.name);
    await Deno.remove(specPath).catch(() => {});
  });
  const rec = { ...job.base, job: handle.id, key: job.key, inputs: job.inputs };
  if (d.stopping()) return { record: { ...rec, status: "pending", outputs: {}, reason: "interrupted" } };
  if (rep.status === "damaged") return { damaged: rep.digests };
  if (rep.status === "not-run") return { record: notRunRecord(ctx, job, rec, rep.reason) };
  if (rep.status === "failed") return { record: failedRecord(ctx, job, handle, rep) };
  // Trust the store, not the message: the entry must be there, with these very outputs.
  const entry = await readEntry(ctx, d.executor, job.key);
  if (entry && digestOf(entry.outputs) === digestOf(rep.outputs)) {
    return { record: succeededRecord(ctx, job, handle, { ...rep, outputs: entry.outputs }, d.executor.computedAs) };
  }
  const message = `${handle.id} reported success, but its cache entry ${job.key} is missing or differs`;
  return { record: failedRecord(ctx, job, handle, { status: "failed", message }) };
}

/** What the child is told: the stage, the key, the raw config, the upstream outputs, the lock. */
function jobSpec(ctx: RunContext, job: PreparedJob): StageJobSpec {
  const { stage, key } = job;
  return {
    version: 1,
    runId: ctx.runId,
    stage: stage.name,
    key,
    codeDigest: job.base.codeDigest!,
    config: ctx.opts.config ?? null,
    inputs: Object.fromEntries(stage.deps.map((d) => {
      const up = ctx.records.get(d.stage)!;
      return [d.stage, up.status === "not-run" ? { notRun: up.reason ?? "" } : { outputs: up.outputs }];
    })),
    force: job.force,
    lock: ctx.lock.holder,
  };
}

/** Starts the job, its progress going to the board and the run log. */
async function startJob(ctx: RunContext, d: Dispatch, job: PreparedJob, specPath: string): Promise<JobHandle> {
  const { stage, key } = job;
  const { log } = ctx;
  const handle = await d.executor.start({ stage: stage.name, key, specPath, storeRoot: ctx.opts.storeRoot, codeRoot: d.codeRoot }, {
    say: (line) => log.say(line),
    event: (ev) => log.event({ stage: stage.name, ...ev }),
    progress: (step, total, label) => d.board.progress(stage.name, step, total, label),
  });
  d.handles.set(stage.name, handle);
  if (d.stopping()) void handle.cancel(); // interrupted while it was being started
  log.say(`[${stage.name}] running${job.force ? " (forced)" : ""} as ${handle.id}`);
  log.event({ event: "stage-start", stage: stage.name, key, executor: d.executor.name, job: handle.id });
  d.board.start(stage.name, handle.id);
  return handle;
}

/**
 * The cache entry a child reported. A store on NFS may hide a file another node just made for a few
 * seconds (negative lookup cache): a cluster's entry is looked for again, with backoff.
 */
async function readEntry(ctx: RunContext, executor: StageExecutor, key: string) {
  let entry = await ctx.store.readRun(key);
  for (let i = 0; !entry && executor.name !== "local" && i < 6; i++) {
    await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    entry = await ctx.store.readRun(key);
  }
  return entry;
}

type BaseRecord = Omit<StageRecord, "status" | "outputs">;

/** A stage the child computed or found cached, its outputs read back from the store's entry. */
function succeededRecord(
  ctx: RunContext,
  job: PreparedJob,
  handle: JobHandle,
  rep: Extract<JobReport, { status: "computed" | "cached" }>,
  computedAs?: string,
): StageRecord {
  const { stage, key } = job;
  const { outputs } = rep;
  ctx.log.say(`[${stage.name}] done in ${formatDuration(rep.wallMs / 1000)} (${handle.id})`);
  ctx.log.event({ event: "stage-end", stage: stage.name, key, wallMs: rep.wallMs, outputs, job: handle.id });
  if (rep.status === "cached") ctx.result.cached.push(stage.name);
  else ctx.result.computed.push(stage.name);
  const volatile = Object.keys(outputs).filter(volatileTest(stage));
  const executor = rep.status === "computed" ? computedAs : undefined;
  return { ...job.base, job: handle.id, key, inputs: job.inputs, status: rep.status, outputs, volatile, wallMs: rep.wallMs, executor };
}

/** A stage the child could not run (SkipStage), with the reason. */
function notRunRecord(ctx: RunContext, job: PreparedJob, rec: BaseRecord, reason: string): StageRecord {
  ctx.log.say(`[${job.stage.name}] not run: ${reason}`);
  ctx.log.event({ event: "stage-not-run", stage: job.stage.name, reason });
  ctx.result.notRun.push({ stage: job.stage.name, reason });
  return { ...rec, status: "not-run", outputs: {}, reason };
}

/** A stage that failed in the child: its failure is the run's to report once every other stage has finished. */
function failedRecord(ctx: RunContext, job: PreparedJob, handle: JobHandle, rep: Extract<JobReport, { status: "failed" }>): StageRecord {
  const { stage } = job;
  const msg = rep.message;
  ctx.log.say(`[${stage.name}] FAILED (${handle.id}): ${msg}${rep.log ? `\n${indent(rep.log)}` : ""}`);
  ctx.log.event({ event: "stage-failed", stage: stage.name, error: msg, stack: rep.stack, job: handle.id, log: rep.log });
  ctx.failed.push({ stage: stage.name, error: remoteError(stage.name, rep) });
  return { ...job.base, job: handle.id, key: job.key, inputs: job.inputs, status: "failed", outputs: {}, reason: msg };
}

/** A child's failure as the error a sequential run would have thrown (the child's stack as its cause). */
function remoteError(stage: string, rep: { message: string; stack?: string; user?: boolean }): Error {
  const cause = new Error(rep.message);
  cause.stack = rep.stack ?? rep.message;
  if (rep.user) return new UserError(`stage '${stage}': ${rep.message}`, { cause });
  return new Error(`stage '${stage}' failed: ${rep.message}`, { cause });
}

function indent(text: string): string {
  return text.split("\n").map((l) => `    | ${l}`).join("\n");
}
