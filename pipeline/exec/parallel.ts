// The parallel scheduler (`--jobs N`, `--executor slurm`, `--isolate`): stages whose inputs are all
// settled are prepared here (cache hits and not-run verdicts cost nothing); the rest go to the executor, at
// most `jobs` at a time, the longest remaining critical path first (pipeline/plan/eta.ts). A stage that is the
// only one that can run while nothing runs is computed in this process, unless `isolateAll`: no other
// stage could have run beside it. A failing stage does not stop the run: everything that does not need it finishes first, then the run throws the
// first failure, as a sequential run would have. While children run, SIGINT and SIGTERM stop every one of
// them, record the run as interrupted and release the lock.
import { RunBoard } from "./board.ts";
import { type Attempt, attemptElsewhere, type Dispatch } from "./elsewhere.ts";
import { asUserFsError, StagesFailed, UserError } from "../errors.ts";
import type { JobHandle, StageExecutor } from "./executor.ts";
import { outsideProjectRoot } from "../plan/code_digest.ts";
import { computeInline, StageFailed } from "./inline.ts";
import { type EtaModel, etaModelForRun } from "../plan/eta.ts";
import { interruptionLine, keptCounts, SIGNAL_EXIT } from "./interrupt.ts";
import { type StageRecord, writeManifest } from "../store/manifest.ts";
import { type PreparedJob, prepareStage } from "./prepare.ts";
import { producerOf, type RunContext } from "./run_context.ts";
import { snapshotSources } from "./snapshot.ts";

/** Runs the visited stages through the executor; throws the first failure once everything else settled. */
export async function runParallel(ctx: RunContext, executor: StageExecutor, jobs: number): Promise<void> {
  const eta = await etaModelForRun(ctx.order, ctx.visit, ctx.opts.storeRoot, { executor: executor.computedAs });
  await new ParallelRun(ctx, { executor, jobs, eta }).run();
  if (ctx.failed.length) throw firstFailure(ctx);
}

/**
 * Takes the ready job to start next: the one with the longest remaining critical path (its estimated
 * duration plus the longest chain of estimated durations that waits on it), as Snakemake and HEFT order
 * jobs; ties go to the topological order.
 */
export function takeByPriority<T extends { stage: { name: string } }>(ready: T[], priority: ReadonlyMap<string, number>): T {
  let best = 0;
  for (let i = 1; i < ready.length; i++) {
    if ((priority.get(ready[i].stage.name) ?? 0) > (priority.get(ready[best].stage.name) ?? 0)) best = i;
  }
  return ready.splice(best, 1)[0];
}

/**
 * The error a failed parallel run ends with: the first failure, naming the others. A stage that found
 * the user's input wrong is the user's fault (exit 2); any other failure is the stage's.
 */
function firstFailure(ctx: RunContext): Error {
  const { failed, manifest } = ctx;
  manifest.state = "failed";
  const more = failed.length > 1
    ? ` (and ${failed.length - 1} more failed stage(s): ${failed.slice(1).map((f) => f.stage).join(", ")})`
    : "";
  const blocked = manifest.stages.filter((r) => r.status === "pending").length;
  ctx.log.say(
    `${failed.length} stage(s) failed: ${failed.map((f) => f.stage).join(", ")}; ` +
      `every stage that does not need them finished${blocked ? `, ${blocked} that do did not start` : ""}`,
  );
  const first = failed[0].error;
  if (more) first.message += more;
  return first instanceof UserError ? first : new StagesFailed(failed.map((f) => f.stage), first);
}

/** One parallel run's scheduling state: what waits, what is ready, what runs, what is being repaired. */
class ParallelRun {
  readonly #ctx: RunContext;
  readonly #jobs: number;
  readonly #board: RunBoard;
  readonly #specDir: string;
  readonly #dispatch: Dispatch;
  readonly #pending: RunContext["order"];
  readonly #ready: PreparedJob[] = [];
  readonly #running = new Map<string, Promise<void>>();
  /** Started jobs; a new one is told to the signal watch (its fallback stops the children it knows). */
  readonly #handles = new HandleMap(() => this.#ctx.interrupt?.refresh());
  /** The keys of the stages computing: an interrupted one whose entry is in the store after all is kept. */
  readonly #keys = new Map<string, string>();
  /** Repairs in flight, by producer: two stages that read the same damaged object wait for one repair. */
  readonly #repairs = new Map<string, Promise<void>>();
  readonly #handlers = {
    SIGINT: () => this.#interrupt("SIGINT"),
    SIGTERM: () => this.#interrupt("SIGTERM"),
    SIGHUP: () => this.#interrupt("SIGHUP"),
  };
  #snapshot?: Promise<void>;
  #specCount = 0;
  #stopping = false;
  #listening = false;
  #manifestWrite: Promise<void> = Promise.resolve();
  #manifestWarned = false;

  constructor(ctx: RunContext, o: { executor: StageExecutor; jobs: number; eta: EtaModel }) {
    this.#ctx = ctx;
    this.#jobs = o.jobs;
    this.#pending = ctx.order.filter((s) => ctx.visit.has(s.name));
    this.#board = new RunBoard({ out: ctx.log, stages: this.#pending.map((s) => s.name), jobs: o.jobs, eta: o.eta });
    this.#specDir = `${ctx.store.tmpDir}/jobs-${ctx.runId}`;
    this.#dispatch = {
      executor: o.executor,
      board: this.#board,
      handles: this.#handles,
      stopping: () => this.#stopping,
      // The children run from a copy of the source (see snapshot.ts), taken when the first child is about to
      // start: a run whose stages all compute here (a chain) needs none. An edit made between the digests and
      // the copy makes the affected children refuse, never store under a wrong key.
      codeRoot: `${ctx.store.tmpDir}/code-${ctx.runId}`,
      snapshot: () => this.#snapshot ??= this.#takeSnapshot(),
      specPath: (key) => `${this.#specDir}/${key}-${this.#specCount++}.json`,
    };
  }

  /** Schedules until every visited stage is settled (or the run is interrupted: the handler ends the process). */
  async run(): Promise<void> {
    const interrupt = this.#ctx.interrupt;
    if (interrupt?.watching) {
      interrupt.childPids = () => [
        ...new Set([
          ...[...this.#handles.values()].flatMap((h) => /^pid (\d+)$/.exec(h.id)?.[1] ?? []).map(Number),
          ...(this.#dispatch.executor.processes?.() ?? []),
        ]),
      ];
      // noticed at a progress step of a stage computing here: nothing can be awaited, end now
      interrupt.onSignal((sig, sync) => sync ? interrupt.stopNow(sig) : void this.#interrupt(sig));
    }
    this.#listen(true);
    try {
      await this.#schedule();
    } finally {
      await this.#stop();
    }
    // Stages never reached (their inputs failed) are in records as "pending"; the manifest lists them.
    this.#ctx.manifest.stages = this.#recordsInOrder();
  }

  async #schedule(): Promise<void> {
    const ready = this.#ready;
    const running = this.#running;
    schedule: for (;;) {
      await this.#settleWhatNeedsNoComputing();
      if (this.#stopping) return await new Promise(() => {}); // the signal handler ends the process
      if (!ready.length && !running.size) break;
      const here = ready.findIndex((j) => outsideCode(j).length > 0 || (!this.#ctx.opts.isolateAll && j.stage.light));
      if (here >= 0) {
        // a merge, or a stage whose code lies partly outside the project (a child runs from a snapshot of the
        // project, which cannot carry it): computed here, between the children's work, without a job slot
        const job = ready.splice(here, 1)[0];
        const outside = outsideCode(job);
        if (outside.length) {
          this.#ctx.log.say(
            `[${job.stage.name}] computed in this process: its code imports ${outside.join(", ")} from outside the project root, ` +
              `which a child's copy of the project cannot carry`,
          );
        }
        await this.#settle(await this.#execute(job, true));
        continue schedule;
      }
      while (ready.length && running.size < this.#jobs) {
        // longest remaining critical path first, by the estimates as they stand (they learn as stages finish)
        const job = takeByPriority(ready, this.#board.model.priorities());
        // Only a lone stage computes here. A short one does not: on 74 HLS units of the default config, sending
        // stages under 4 s to this process instead of a free worker took 247 s against 171 s (bench/RESULTS.md),
        // as computing here blocks the scheduler while the other worker waits for its next stage.
        if (!this.#ctx.opts.isolateAll && running.size === 0 && ready.length === 0) {
          await this.#settle(await this.#execute(job, true));
          continue schedule;
        }
        const name = job.stage.name;
        running.set(name, this.#execute(job, false).then((rec) => this.#settle(rec)).finally(() => running.delete(name)));
      }
      if (running.size) await Promise.race(running.values());
    }
  }

  /** Prepares every pending stage whose inputs are settled, as far as it goes: cache hits settle, the rest is ready. */
  async #settleWhatNeedsNoComputing(): Promise<void> {
    const pending = this.#pending;
    for (let changed = true; changed;) {
      changed = false;
      for (let i = 0; i < pending.length; i++) {
        const s = pending[i];
        if (!s.deps.every((d) => this.#ctx.records.has(d.stage))) continue;
        pending.splice(i--, 1);
        changed = true;
        const pr = await prepareStage(this.#ctx, s, this.#ctx.forced.has(s.name));
        if ("record" in pr) await this.#settle(pr.record);
        else this.#ready.push(pr.job);
      }
    }
  }

  /** Runs a prepared stage to a record, repairing damaged inputs (bounded), like the sequential runRepairing. */
  async #execute(job: PreparedJob, inline: boolean, depth = 0): Promise<StageRecord> {
    this.#keys.set(job.stage.name, job.key);
    await this.#ctx.interrupt?.arm();
    this.#ctx.interrupt?.started(job.stage.name);
    const { order, opts } = this.#ctx;
    for (let round = 0;; round++) {
      const out = await this.#attempt(job, inline);
      if ("record" in out) return out.record;
      if (round >= 3 || depth > order.length) {
        const msg = `its inputs keep reading back damaged; check the disk of ${opts.storeRoot}`;
        this.#ctx.failed.push({ stage: job.stage.name, error: new UserError(`stage '${job.stage.name}': ${msg}`) });
        return { ...job.base, status: "failed", key: job.key, inputs: job.inputs, outputs: {}, reason: msg };
      }
      for (const digest of out.damaged) await this.#repair(job.stage.name, digest, inline, depth);
      const again = await prepareStage(this.#ctx, job.stage, job.force);
      if ("record" in again) return again.record;
      job = again.job;
    }
  }

  /** Recomputes the producer of a damaged object, once however many readers found it damaged. */
  #repair(reader: string, digest: string, inline: boolean, depth: number): Promise<void> {
    const ctx = this.#ctx;
    const producer = producerOf(ctx, reader, digest);
    let repair = this.#repairs.get(producer.stage);
    if (!repair) {
      repair = (async () => {
        if (producer.key) await ctx.store.dropRun(producer.key);
        const pstage = ctx.order.find((s) => s.name === producer.stage)!;
        const pp = await prepareStage(ctx, pstage, true);
        const rec = "record" in pp ? pp.record : await this.#execute(pp.job, inline, depth + 1);
        ctx.result.cached = ctx.result.cached.filter((n) => n !== pstage.name);
        await this.#settle(rec);
      })().finally(() => this.#repairs.delete(producer.stage));
      this.#repairs.set(producer.stage, repair);
    }
    return repair;
  }

  /** One try at a prepared stage: its record, or the digests of damaged inputs to repair first. */
  #attempt(job: PreparedJob, inline: boolean): Promise<Attempt> {
    return inline ? this.#attemptHere(job) : attemptElsewhere(this.#ctx, this.#dispatch, job);
  }

  async #attemptHere(job: PreparedJob): Promise<Attempt> {
    // Computing here blocks this process's event loop: listeners would only run afterwards, so Ctrl-C
    // takes its default action (end at once) meanwhile, as in a sequential run.
    this.#listen(false);
    this.#board.start(job.stage.name, `pid ${Deno.pid} (this process)`, false);
    try {
      return { record: await computeInline(this.#ctx, job) };
    } catch (e) {
      if (e instanceof StageFailed) {
        this.#ctx.failed.push({ stage: job.stage.name, error: e.error });
        return { record: e.record };
      }
      const damaged = this.#ctx.store.takeDamaged();
      if (damaged.length) return { damaged };
      throw e;
    } finally {
      this.#listen(true);
    }
  }

  async #takeSnapshot(): Promise<void> {
    const { opts, log } = this.#ctx;
    const codeRoot = this.#dispatch.codeRoot;
    try {
      await Deno.mkdir(this.#specDir, { recursive: true });
      const files = await snapshotSources(opts.projectRoot, codeRoot, [opts.storeRoot]);
      log.event({ event: "code-snapshot", path: codeRoot, files });
    } catch (e) {
      throw asUserFsError(e, `cannot write the code snapshot ${codeRoot}`);
    }
  }

  async #settle(rec: StageRecord): Promise<void> {
    this.#ctx.records.set(rec.stage, rec);
    this.#keys.delete(rec.stage);
    this.#ctx.interrupt?.ended(rec.stage);
    this.#board.settle(rec.stage, rec.status, !!rec.job, rec.executor);
    if (rec.status !== "cached") await this.#persist();
  }

  #recordsInOrder(): StageRecord[] {
    const { order, records } = this.#ctx;
    return order.filter((s) => records.has(s.name)).map((s) => records.get(s.name)!);
  }

  /** Writes the manifest after the writes before it, warning once if the store refuses it. */
  #persist(): Promise<void> {
    const { manifest, opts, log } = this.#ctx;
    manifest.stages = this.#recordsInOrder();
    this.#manifestWrite = this.#manifestWrite.then(() => writeManifest(opts.storeRoot, manifest)).catch((e) => {
      if (!this.#manifestWarned) log.say(`warning: could not write the manifest: ${(e as Error).message}`);
      this.#manifestWarned = true;
    });
    return this.#manifestWrite;
  }

  #listen(on: boolean): void {
    // a worker watches the signals for the run (interrupt.ts): this thread needs no listeners
    if (on === this.#listening || this.#ctx.interrupt?.watching) return;
    this.#listening = on;
    for (const [sig, h] of Object.entries(this.#handlers)) {
      if (on) Deno.addSignalListener(sig as Deno.Signal, h);
      else Deno.removeSignalListener(sig as Deno.Signal, h);
    }
  }

  /**
   * SIGINT, SIGTERM or SIGHUP while children compute: stop them all, record the run as interrupted, say
   * what it kept (a stage whose entry reached the store before its child ended is kept), exit.
   */
  async #interrupt(sig: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const ctx = this.#ctx;
    const { manifest, log, lock, t0 } = ctx;
    const running = [...(ctx.interrupt?.running.keys() ?? this.#handles.keys())];
    log.say(`${sig}: stopping ${this.#handles.size} running stage(s)`);
    log.event({ event: "interrupt", signal: sig, running });
    await Promise.all([...this.#handles.values()].map((h) => h.cancel().catch(() => {})));
    await this.#dispatch.executor.close?.().catch(() => {});
    const lost: string[] = [];
    let late = 0;
    for (const name of running) {
      const key = this.#keys.get(name);
      if (key && await ctx.store.readRun(key).catch(() => undefined)) late++;
      else lost.push(name);
    }
    const kept = keptCounts(ctx);
    const resume = ctx.interrupt?.resume ?? "the same command";
    this.#board.close();
    manifest.state = "interrupted";
    manifest.finishedAt = new Date().toISOString();
    await this.#persist();
    log.event({ event: "run-end", state: manifest.state, wallS: (performance.now() - t0) / 1000 });
    log.close();
    await this.#removeScratch();
    Deno.stderr.writeSync(
      new TextEncoder().encode(interruptionLine({ signal: sig, cached: kept.cached, computed: kept.computed + late, lost, resume }) + "\n"),
    );
    lock.release();
    Deno.exit(SIGNAL_EXIT[sig] ?? 143);
  }

  /** The end of scheduling, normal or not: an internal error must not leave children computing into a store nobody holds. */
  async #stop(): Promise<void> {
    this.#listen(false);
    await Promise.all([...this.#handles.values()].map((h) => h.cancel().catch(() => {})));
    await this.#dispatch.executor.close?.().catch(() => {});
    this.#board.close();
    await this.#manifestWrite;
    await this.#removeScratch();
  }

  async #removeScratch(): Promise<void> {
    await Deno.remove(this.#specDir, { recursive: true }).catch(() => {});
    await Deno.remove(this.#dispatch.codeRoot, { recursive: true }).catch(() => {});
  }
}

/** The files of a stage's code that lie outside the project root. */
function outsideCode(job: PreparedJob): string[] {
  return outsideProjectRoot(Object.keys(job.base.codeFiles ?? {}));
}

/** The started jobs by stage, calling `onAdd` when one is added. */
class HandleMap extends Map<string, JobHandle> {
  constructor(readonly onAdd: () => void) {
    super();
  }
  override set(stage: string, handle: JobHandle): this {
    super.set(stage, handle);
    this.onAdd?.();
    return this;
  }
}
