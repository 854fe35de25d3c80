// What an interrupted run does and says. Ctrl-C (SIGINT), SIGTERM or SIGHUP to `reproduce` ends every
// child, records the run as interrupted, releases the lock and prints one closing line: how many stages
// are kept (cached, or committed this run), how many were lost mid-way, and the command that resumes.
//
// A stage computing in this process holds the event loop (TensorFlow.js computes synchronously), so the
// signals are watched from a worker thread (_signal_worker.ts): the run sees the signal at the stage's
// next progress step, or as soon as its loop is free; failing both within a grace period, the worker says
// the closing line itself and ends the process (exit 137 then, as SIGKILL is the only way a worker has).
import { relative } from "node:path";
import { TEMP_PREFIX } from "../store/fs_atomic.ts";
import { fromFileUrl } from "../paths.ts";
import type { StoreLock } from "../store/lock.ts";
import type { Manifest, StageRecord } from "../store/manifest.ts";
import type { RunLog } from "./progress.ts";

/**
 * What an interruption needs of its run. A RunContext has it; it is written out here, not imported, because
 * run_context.ts holds a RunInterrupt and a type import back would close a circle (tests/layers_test.ts).
 */
export interface InterruptedRun {
  readonly opts: { readonly storeRoot: string };
  readonly order: readonly { readonly name: string }[];
  readonly records: Map<string, StageRecord>;
  readonly manifest: Manifest;
  readonly log: RunLog;
  readonly lock: StoreLock;
  readonly t0: number;
}

/** The exit code of a run ended by each signal (128 + its number), as a shell reports it. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const BY_NUMBER: Readonly<Record<number, string>> = { 1: "SIGHUP", 2: "SIGINT", 15: "SIGTERM" };

/** The signal watch: a worker thread that listens for SIGINT, SIGTERM and SIGHUP on the run's behalf. */
export class SignalWatch {
  readonly #worker: Worker;
  /** [0]: the signal's number once one came; [1]: 1 once the run took it over. */
  readonly #flags: Int32Array;
  #handler?: (signal: string) => void;
  #taken = false;

  private constructor(worker: Worker, flags: Int32Array) {
    this.#worker = worker;
    this.#flags = flags;
  }

  /** Starts the watch; resolves once its listeners are in place. `graceMs`: how long it waits for the run. */
  static async start(graceMs = 3000): Promise<SignalWatch> {
    const worker = new Worker(new URL("./_signal_worker.ts", import.meta.url), { type: "module" });
    const buf = new SharedArrayBuffer(8);
    const watch = new SignalWatch(worker, new Int32Array(buf));
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = (e) => e.data?.type === "ready" && resolve();
      worker.onerror = (e) => reject(new Error(`the signal watch did not start: ${e.message}`));
      worker.postMessage({ type: "init", flags: buf, graceMs });
    });
    worker.onmessage = (e: MessageEvent<{ type: string; signal?: string }>) => {
      if (e.data.type === "signal") watch.#take(e.data.signal!);
    };
    return watch;
  }

  /** Who handles the signal (once, in this thread). */
  onSignal(handler: (signal: string) => void): void {
    this.#handler = handler;
  }

  /** Synchronous: handles a signal that came while this thread was busy (call it at each progress step). */
  check(): void {
    const no = Atomics.load(this.#flags, 0);
    if (no && !this.#taken) this.#take(BY_NUMBER[no] ?? "SIGTERM");
  }

  /** What the worker says and stops if the run does not answer in time: the closing line ({signal} filled in) and the children. */
  update(line: string, pids: number[]): void {
    this.#worker.postMessage({ type: "state", line, pids });
  }

  /** Ends the watch (the run is over): the signals' default actions apply again. */
  stop(): void {
    this.#worker.terminate();
  }

  #take(signal: string): void {
    if (this.#taken) return;
    this.#taken = true;
    Atomics.store(this.#flags, 1, 1);
    Atomics.notify(this.#flags, 1);
    this.#handler?.(signal);
  }
}

/** Quotes an argument for a POSIX shell when it needs it. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line that resumes a run: `deno task <name> …` when the project's deno.json has a task that
 * runs exactly this entry point and command (as README's commands do), else `deno run -A <main> …`.
 */
export function resumeCommand(a: { argv: readonly string[]; mainModule: string; projectRoot: string; cwd?: string }): string {
  const cwd = a.cwd ?? Deno.cwd();
  const main = a.mainModule.startsWith("file:") ? fromFileUrl(a.mainModule) : a.mainModule;
  const quoted = a.argv.map(shellQuote);
  try {
    const tasks = JSON.parse(Deno.readTextFileSync(`${a.projectRoot}/deno.json`)).tasks ?? {};
    const rel = relative(a.projectRoot, main);
    for (const [name, cmd] of Object.entries(tasks)) {
      if (a.argv.length && cmd === `deno run -A ${rel} ${a.argv[0]}` && relative(a.projectRoot, cwd) === "") {
        return ["deno", "task", name, ...quoted.slice(1)].join(" ");
      }
    }
  } catch { /* no deno.json, or not JSON: the plain form */ }
  return ["deno", "run", "-A", shellQuote(relative(cwd, main) || main), ...quoted].join(" ");
}

/** The closing line of an interrupted run. */
export function interruptionLine(a: { signal: string; cached: number; computed: number; lost: readonly string[]; resume: string }): string {
  const kept = a.cached + a.computed;
  const shown = a.lost.length > 4 ? `${a.lost.slice(0, 3).join(", ")} and ${a.lost.length - 3} more` : a.lost.join(", ");
  return `interrupted by ${a.signal}: ${kept} stage${kept === 1 ? "" : "s"} kept (${a.cached} cached, ${a.computed} computed this run), ` +
    `${a.lost.length} lost mid-way${a.lost.length ? ` (${shown})` : ""}; resume with: ${a.resume}`;
}

/** How many settled stages of a run are kept: cached (from before) and computed (committed this run). */
export function keptCounts(ctx: InterruptedRun): { cached: number; computed: number } {
  let cached = 0, computed = 0;
  for (const r of ctx.records.values()) {
    if (r.status === "cached") cached++;
    else if (r.status === "computed") computed++;
  }
  return { cached, computed };
}

/**
 * Ends an interrupted run at once, synchronously (a stage is computing in this thread and cannot be
 * awaited): SIGTERM to each child, the manifest written as interrupted, the closing line, the lock
 * released, exit 128 + the signal's number. Safe mid-stage: every store write is atomic and a stage's
 * entry is written last, so the stage in progress simply has none.
 */
export function stopNow(
  ctx: InterruptedRun,
  a: { signal: string; lost: readonly string[]; pids: readonly number[]; resume: string },
): never {
  for (const pid of a.pids) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* already gone */ }
  }
  const { manifest, opts } = ctx;
  manifest.state = "interrupted";
  manifest.finishedAt = new Date().toISOString();
  manifest.stages = ctx.order.filter((s) => ctx.records.has(s.name)).map((s) => ctx.records.get(s.name)!);
  try {
    const text = JSON.stringify(manifest, null, 1);
    for (const name of [`${manifest.runId}.json`, "latest.json"]) {
      const tmp = `${opts.storeRoot}/tmp/${TEMP_PREFIX}${Deno.pid}-interrupt-${name}`;
      Deno.mkdirSync(`${opts.storeRoot}/tmp`, { recursive: true });
      Deno.writeTextFileSync(tmp, text);
      Deno.renameSync(tmp, `${opts.storeRoot}/manifests/${name}`);
    }
  } catch { /* the manifest on disk still says "running": read as interrupted once this process is gone */ }
  const line = interruptionLine({ signal: a.signal, ...keptCounts(ctx), lost: a.lost, resume: a.resume });
  ctx.log.event({ event: "interrupt", signal: a.signal, running: a.lost });
  ctx.log.event({ event: "run-end", state: "interrupted", wallS: (performance.now() - ctx.t0) / 1000 });
  ctx.log.close();
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
  ctx.lock.release();
  Deno.exit(SIGNAL_EXIT[a.signal] ?? 143);
}

/**
 * One run's side of an interruption: which stages are running (and in which child), kept current in the
 * watch so that its fallback can say the closing line, and the signal handed to the scheduler with
 * whether it came mid-stage (`sync`: the stage is computing in this thread and cannot be awaited).
 */
export class RunInterrupt {
  /** Running stages → the pid of the child computing each (undefined: this process). */
  readonly running = new Map<string, number | undefined>();
  readonly resume: string;
  readonly #ctx: InterruptedRun;
  readonly #start?: () => Promise<SignalWatch>;
  #watch?: SignalWatch;
  #arming?: Promise<void>;
  #handler?: (signal: string, sync: boolean) => void;
  #sync = false;

  /**
   * `startWatch`: starts the signal watch (SignalWatch.start), or undefined to watch nothing. It is started
   * when the first stage is about to compute (arm): a run that only finds its stages cached pays nothing
   * (a worker takes 50-150 ms to start).
   */
  constructor(ctx: InterruptedRun, startWatch: (() => Promise<SignalWatch>) | undefined, resume: string) {
    this.#ctx = ctx;
    this.#start = startWatch;
    this.resume = resume;
  }

  /** True when a worker watches (or will watch) the signals; else the scheduler listens itself, when its loop is free. */
  get watching(): boolean {
    return this.#start !== undefined;
  }

  /** Starts the watch, once, before the first stage computes. A watch that cannot start leaves the signals' defaults. */
  arm(): Promise<void> {
    return this.#arming ??= (async () => {
      if (!this.#start) return;
      try {
        this.#watch = await this.#start();
      } catch (e) {
        this.#ctx.log.say(`warning: ${(e as Error).message}; Ctrl-C ends the run without its closing line`);
        return;
      }
      this.#watch.onSignal((sig) => this.#handler?.(sig, this.#sync));
      this.#post();
    })();
  }

  /** Who handles a signal: `sync` when it was noticed at a progress step of a stage computing here. */
  onSignal(handler: (signal: string, sync: boolean) => void): void {
    this.#handler = handler;
  }

  /** Synchronous: called at each progress step of a stage computing in this process. */
  check(): void {
    if (!this.#watch) return;
    this.#sync = true;
    try {
      this.#watch.check();
    } finally {
      this.#sync = false;
    }
  }

  /** Ends the watch (the run is over). */
  stop(): void {
    this.#watch?.stop();
  }

  /** A stage started (in child `pid`, or here). */
  started(stage: string, pid?: number): void {
    this.running.set(stage, pid);
    this.#post();
  }

  /** A stage ended, however. */
  ended(stage: string): void {
    this.running.delete(stage);
    this.#post();
  }

  /** Where the children's pids come from when the scheduler knows them better than `started` was told. */
  childPids?: () => number[];

  /** The children's pids. */
  pids(): number[] {
    return this.childPids?.() ?? [...this.running.values()].filter((p): p is number => p !== undefined);
  }

  /** Tells the watch again what it would say and stop (a child has started). */
  refresh(): void {
    this.#post();
  }

  /** Ends the run now (see stopNow), saying what it kept. */
  stopNow(signal: string): never {
    return stopNow(this.#ctx, { signal, lost: [...this.running.keys()], pids: this.pids(), resume: this.resume });
  }

  #post(): void {
    if (!this.#watch) return;
    const line = interruptionLine({ signal: "{signal}", ...keptCounts(this.#ctx), lost: [...this.running.keys()], resume: this.resume });
    this.#watch.update(line, this.pids());
  }
}
