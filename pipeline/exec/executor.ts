// Executors: where the stages of a parallel run compute. The parent (runner.ts) holds the store lock,
// schedules, and records the manifest; an executor starts one stage elsewhere (a child process here, a
// Slurm job in slurm.ts), streams its progress back, and hands over its report. The stage itself runs in
// `run-stage` (run_stage.ts), which computes exactly what the in-process runner computes.
import type { LockHolder } from "../store/lock.ts";
import type { OutputRef } from "../store/store.ts";
import { rebase } from "./snapshot.ts";
import { DEFAULT_NAMES, type EngineNames } from "../names.ts";

/**
 * What a parent tells a `run-stage` child, in a JSON file in the store's tmp/ (a shared file system
 * carries it to a cluster node): the stage, the key the parent computed, the raw config, the upstream
 * outputs (or not-run reasons), and the lock the parent holds.
 */
export interface StageJobSpec {
  version: 1;
  runId: string;
  stage: string;
  /** The cache key the parent computed; the child recomputes it and refuses to store under another. */
  key: string;
  codeDigest: string;
  /** The raw config (overrides applied), parsed again by the child. */
  config: unknown;
  inputs: Record<string, { outputs: Record<string, OutputRef> } | { notRun: string }>;
  force: boolean;
  lock?: LockHolder;
}

/** How a child's stage ended. */
export type JobReport =
  | { status: "computed" | "cached"; outputs: Record<string, OutputRef>; wallMs: number }
  | { status: "not-run"; reason: string }
  | { status: "damaged"; digests: string[]; message: string }
  | { status: "failed"; message: string; stack?: string; user?: boolean; log?: string };

/** One line of the child-to-parent protocol. */
export type JobMessage =
  | { type: "say"; line: string }
  | { type: "event"; event: Record<string, unknown> }
  | { type: "progress"; step: number; total: number; label?: string }
  | { type: "result"; report: JobReport; /** a worker's resident memory after the job, in bytes */ rss?: number };

/** Where an executor delivers what a running stage says. */
export interface JobSink {
  say(line: string): void;
  event(event: Record<string, unknown>): void;
  progress(step: number, total: number, label?: string): void;
}

/** A started stage. */
export interface JobHandle {
  /** How the progress and the manifest name it: "pid 1234", "slurm job 56". */
  readonly id: string;
  /** Resolves (never rejects) with the stage's report once it has ended and its output is read. */
  readonly done: Promise<JobReport>;
  /** Stops the stage and waits until it has ended. */
  cancel(): Promise<void>;
}

/** Starts stages somewhere. */
export interface StageExecutor {
  readonly name: string;
  /** How its stages compute, recorded with each one it computed (the manifest's `executor`): "worker", "process", "slurm". */
  readonly computedAs?: string;
  /** Starts a stage (for a cluster: submits it) and returns its handle. */
  start(job: StageJobStart, sink: JobSink): JobHandle | Promise<JobHandle>;
  /** The processes on this machine it keeps between stages (a signal must end them too). */
  processes?(): number[];
  /** Ends what it keeps between stages; called once the run has nothing more to start. */
  close?(): Promise<void>;
}

/** What an executor needs to start one stage. */
export interface StageJobStart {
  stage: string;
  key: string;
  specPath: string;
  storeRoot: string;
  /** A snapshot of the project's source to run from (see snapshot.ts); default: the project itself. */
  codeRoot?: string;
}

/** How `run-stage` is invoked: the Deno binary, its flags, the entry module. */
export interface ChildCommand {
  /** The entry module (main.ts) whose CLI has the `run-stage` command. */
  mainModule: string;
  /** deno.json to run it with (import map, node_modules). */
  denoConfig?: string;
  /** The project root: with a code snapshot, paths under it are taken from the snapshot instead. */
  projectRoot?: string;
  /** The experiment's names: its protocol prefix and environment variables (default: the engine's own). */
  names?: EngineNames;
}

/** Which `run-stage` to start: one job spec's, or (`serve`) a worker that reads specs' paths from stdin. */
export interface RunStageTarget {
  /** The job spec to compute; absent: `--serve`. */
  spec?: string;
  storeRoot: string;
  /** A snapshot of the project's source to run from (see snapshot.ts). */
  codeRoot?: string;
}

/** The argument vector of `deno run ... run-stage --spec FILE --store DIR` (or `--serve` for a worker). */
export function runStageArgs(cmd: ChildCommand, t: RunStageTarget): string[] {
  const { codeRoot } = t;
  const at = (p: string) => (codeRoot && cmd.projectRoot ? rebase(p, cmd.projectRoot, codeRoot) : p);
  return [
    "run",
    "-A",
    "--quiet",
    ...(cmd.denoConfig ? ["--config", at(cmd.denoConfig)] : []),
    at(cmd.mainModule),
    "run-stage",
    ...(t.spec === undefined ? ["--serve"] : ["--spec", t.spec]),
    "--store",
    t.storeRoot,
  ];
}

/**
 * The default number of jobs: $SLURM_CPUS_PER_TASK inside a Slurm allocation (a job sees every core of
 * its node without cgroups, so the core count would overcommit it), else the number of cores.
 */
export function defaultJobs(): number {
  const slurm = Number(Deno.env.get("SLURM_CPUS_PER_TASK"));
  if (Number.isInteger(slurm) && slurm >= 1) return slurm;
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** The lines of a byte stream as they arrive (the last one even without a newline). */
export async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}

/** Calls `onLine` for each line of a byte stream (the last one even without a newline). */
export async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  for await (const line of linesOf(stream)) onLine(line);
}

/**
 * Parses one line of a child's stdout: a protocol message (its lines start with `protocol`) goes to the
 * sink (a result is returned), other text is passed on, prefixed with the stage name.
 */
export function handleChildLine(stage: string, line: string, sink: JobSink, protocol = DEFAULT_NAMES.protocol): JobReport | undefined {
  const m = handleChildMessage(stage, line, sink, protocol);
  return m?.type === "result" ? m.report : undefined;
}

/** handleChildLine, returning the whole message when the line is one (a worker's result carries its memory). */
export function handleChildMessage(stage: string, line: string, sink: JobSink, protocol = DEFAULT_NAMES.protocol): JobMessage | undefined {
  if (!line.startsWith(protocol)) {
    if (line.trim()) sink.say(`[${stage}] ${line}`);
    return undefined;
  }
  let m: JobMessage;
  try {
    m = JSON.parse(line.slice(protocol.length));
  } catch {
    sink.say(`[${stage}] ${line}`);
    return undefined;
  }
  if (m.type === "say") sink.say(m.line);
  else if (m.type === "event") sink.event(m.event);
  else if (m.type === "progress") sink.progress(m.step, m.total, m.label);
  return m;
}
