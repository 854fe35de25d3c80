// The local executor: the stages of a parallel run compute in child processes on this machine. By default
// the children are workers that stay up (`run-stage --serve`): each computes one stage after another, so
// a stage pays neither a process's start-up nor loading TensorFlow.js and the modules again, and runs
// with its code already compiled. `--isolate` gives every stage a fresh process of its own instead.
//
// The children do not take the store lock; they check before committing that their parent still holds
// it, and end themselves if the parent dies or closes their stdin (see run_stage.ts). Cancel ends the
// process (SIGTERM, then SIGKILL after a grace period): a worker is never reused after a cancelled job.
import {
  type ChildCommand,
  handleChildMessage,
  type JobHandle,
  type JobReport,
  type JobSink,
  readLines,
  runStageArgs,
  type StageExecutor,
  type StageJobStart,
} from "./executor.ts";
import { DEFAULT_NAMES } from "../names.ts";

/** How the local executor runs its children. */
export interface LocalExecutorOptions {
  /** A fresh process for every stage (`--isolate`), rather than workers that stay up. */
  processPerStage?: boolean;
  /** How long a cancelled child has between SIGTERM and SIGKILL. */
  graceMs?: number;
  /**
   * A worker whose resident memory exceeds this after a job is retired (its stdin closed) rather than
   * reused: TensorFlow.js's wasm memory grows to a stage's peak and never shrinks, so a worker that
   * computed a big stage would otherwise hold that memory for the rest of the run.
   */
  retireAboveBytes?: number;
  /** A worker is retired after this many jobs, so that a slow leak in some stage cannot build up. */
  retireAfterJobs?: number;
}

const DEFAULTS = { graceMs: 3000, retireAboveBytes: 2 * 1024 ** 3, retireAfterJobs: 200 };

/** Runs each stage in a child process on this machine: a worker that stays up, or (`processPerStage`) a fresh one. */
export class LocalProcessExecutor implements StageExecutor {
  readonly name = "local";
  readonly #o: Required<LocalExecutorOptions>;
  readonly #idle: StageWorker[] = [];
  readonly #live = new Set<StageWorker>();
  readonly #oneShot = new Set<number>();

  constructor(readonly cmd: ChildCommand, o: LocalExecutorOptions = {}) {
    this.#o = { processPerStage: false, ...DEFAULTS, ...o };
  }

  /** A fresh process per stage runs short stages cold, a worker warm: the ETA keeps their wall times apart. */
  get computedAs(): string {
    return this.#o.processPerStage ? "process" : "worker";
  }

  start(job: StageJobStart, sink: JobSink): JobHandle {
    if (this.#o.processPerStage) return this.#startOneShot(job, sink);
    const home = homeOf(job);
    const at = this.#idle.findIndex((w) => w.home === home);
    const worker = at >= 0 ? this.#idle.splice(at, 1)[0] : this.#spawn(job);
    return worker.run(job, sink);
  }

  /** The pids of the children alive now, idle workers included. */
  processes(): number[] {
    return [...[...this.#live].map((w) => w.pid), ...this.#oneShot];
  }

  /** Closes the idle workers' stdin (they end at its end) and waits for them; ends any that do not end in time. */
  async close(): Promise<void> {
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((w) => w.retire(this.#o.graceMs)));
  }

  #spawn(job: StageJobStart): StageWorker {
    const worker = new StageWorker(this.cmd, job, {
      graceMs: this.#o.graceMs,
      onIdle: (w, rss) => {
        const spent = rss > this.#o.retireAboveBytes || w.jobs >= this.#o.retireAfterJobs;
        if (spent) void w.retire(this.#o.graceMs);
        else this.#idle.push(w);
      },
      onExit: (w) => {
        this.#live.delete(w);
        const i = this.#idle.indexOf(w);
        if (i >= 0) this.#idle.splice(i, 1);
      },
    });
    this.#live.add(worker);
    return worker;
  }

  /** A fresh child for this stage alone (`run-stage --spec`), as every stage ran before workers stayed up. */
  #startOneShot(job: StageJobStart, sink: JobSink): JobHandle {
    const names = this.cmd.names ?? DEFAULT_NAMES;
    const child = spawnChild(this.cmd, { spec: job.specPath, storeRoot: job.storeRoot, codeRoot: job.codeRoot }, "null");
    this.#oneShot.add(child.pid);
    const tail = new Tail();
    let report: JobReport | undefined;
    const out = readLines(child.stdout, (line) => {
      const m = handleChildMessage(job.stage, line, sink, names.protocol);
      if (m?.type === "result") report = m.report;
    }).catch(() => {});
    const err = readLines(child.stderr, (line) => tail.say(job.stage, line, sink)).catch(() => {});
    const done = (async (): Promise<JobReport> => {
      const st = await child.status;
      await Promise.all([out, err]);
      this.#oneShot.delete(child.pid);
      return report ?? noResult(st, tail);
    })();
    return { id: `pid ${child.pid}`, done, cancel: () => endProcess(child, this.#o.graceMs) };
  }
}

/** Where a worker's stages run: workers are shared only between jobs with the same code and store. */
function homeOf(job: StageJobStart): string {
  return `${job.codeRoot ?? ""}\n${job.storeRoot}`;
}

/** The job a worker is computing. */
interface CurrentJob {
  stage: string;
  sink: JobSink;
  resolve(report: JobReport): void;
}

/** One `run-stage --serve` child: takes one job at a time, says when it is free again, reports its end. */
class StageWorker {
  readonly home: string;
  readonly pid: number;
  /** Jobs finished. */
  jobs = 0;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #tail = new Tail();
  readonly #exited: Promise<void>;
  #current?: CurrentJob;

  constructor(
    cmd: ChildCommand,
    job: StageJobStart,
    readonly o: { graceMs: number; onIdle(w: StageWorker, rss: number): void; onExit(w: StageWorker): void },
  ) {
    const protocol = (cmd.names ?? DEFAULT_NAMES).protocol;
    this.home = homeOf(job);
    const child = this.#child = spawnChild(cmd, { storeRoot: job.storeRoot, codeRoot: job.codeRoot }, "piped");
    this.pid = child.pid;
    this.#stdin = child.stdin.getWriter();
    const out = readLines(child.stdout, (line) => {
      const job = this.#current;
      if (!job) return; // nothing is asked of an idle worker: a stray line has nobody to go to
      const m = handleChildMessage(job.stage, line, job.sink, protocol);
      if (m?.type === "result") this.#finish(m.report, m.rss ?? 0);
    }).catch(() => {});
    const err = readLines(child.stderr, (line) => {
      if (this.#current) this.#tail.say(this.#current.stage, line, this.#current.sink);
    }).catch(() => {});
    this.#exited = (async () => {
      const st = await child.status;
      await Promise.all([out, err]);
      o.onExit(this);
      const job = this.#current;
      this.#current = undefined;
      job?.resolve(noResult(st, this.#tail));
    })();
  }

  /** Gives the worker a job (it must be idle) and returns the job's handle. */
  run(job: StageJobStart, sink: JobSink): JobHandle {
    if (this.#current) throw new Error(`worker ${this.pid} is busy with '${this.#current.stage}'`);
    this.#tail.clear();
    const done = new Promise<JobReport>((resolve) => this.#current = { stage: job.stage, sink, resolve });
    // a worker that died meanwhile fails the write; its exit then reports the job as failed
    this.#stdin.write(new TextEncoder().encode(job.specPath + "\n")).catch(() => {});
    return { id: `pid ${this.pid}`, done, cancel: () => endProcess(this.#child, this.o.graceMs) };
  }

  /** Ends an idle worker: closes its stdin and waits for it to end (ending it if it does not in time). */
  async retire(graceMs: number): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => void endProcess(this.#child, graceMs), graceMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #finish(report: JobReport, rss: number): void {
    const job = this.#current!;
    this.#current = undefined;
    this.jobs++;
    // free (or retired) before the job's end is known: the scheduler may start the next stage at once
    this.o.onIdle(this, rss);
    job.resolve(report);
  }
}

/** Spawns `run-stage` with its parent watch on. */
function spawnChild(cmd: ChildCommand, target: { spec?: string; storeRoot: string; codeRoot?: string }, stdin: "null" | "piped") {
  const names = cmd.names ?? DEFAULT_NAMES;
  return new Deno.Command(Deno.execPath(), {
    args: runStageArgs(cmd, target),
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { [names.env("RUN_STAGE_WATCH_PARENT")]: "1" },
  }).spawn();
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process has ended. */
async function endProcess(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, graceMs);
  try {
    await child.status;
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines a child wrote to stderr (for the report of a child that ended without a result). */
class Tail {
  #lines: string[] = [];
  say(stage: string, line: string, sink: JobSink): void {
    this.#lines.push(line);
    if (this.#lines.length > 40) this.#lines.shift();
    if (line.trim()) sink.say(`[${stage}] ${line}`);
  }
  clear(): void {
    this.#lines = [];
  }
  text(): string {
    return this.#lines.join("\n");
  }
}

/** The report of a child that ended without a result line. */
function noResult(st: Deno.CommandStatus, tail: Tail): JobReport {
  return {
    status: "failed",
    message: st.signal ? `the child process was killed by ${st.signal}` : `the child process exited with code ${st.code} without a result`,
    log: tail.text(),
  };
}
