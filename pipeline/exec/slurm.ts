// The Slurm executor: each stage of a parallel run is one `sbatch` job running `run-stage` against a
// store on a file system the login node and the compute nodes share. The controller (this process) holds
// the store lock, submits ready stages only (cached ones are settled before anything is submitted), follows
// each job through its output file (the same protocol lines a local child writes to its pipe) and `squeue`,
// reports a failed or cancelled job with the tail of its log, and cancels its jobs with `scancel` when
// interrupted.
import {
  type ChildCommand,
  handleChildLine,
  type JobHandle,
  type JobReport,
  type JobSink,
  runStageArgs,
  type StageExecutor,
  type StageJobStart,
} from "./executor.ts";
import { UserError } from "../errors.ts";
import { DEFAULT_NAMES, type EngineNames } from "../names.ts";

/** What one stage asks of the cluster. */
export interface SlurmResources {
  cpus?: number;
  memMB?: number;
  timeMin?: number;
}

/** Settings of the Slurm executor (flags, environment). */
export interface SlurmOptions {
  partition?: string;
  account?: string;
  /** Extra sbatch arguments, e.g. ["--qos=short", "--constraint=avx2"]. */
  extraArgs?: string[];
  /** Resources of a stage without its own declaration. */
  defaults?: SlurmResources;
  /** Per-stage resources (from the stage's declaration). */
  resourcesOf?: (stage: string) => SlurmResources | undefined;
  /** Where the job scripts and job output files go (on the shared file system). */
  jobDir: string;
  /** How often squeue and the output files are read. */
  pollMs?: number;
}

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`'${cmd}' is not installed here: --executor slurm needs the Slurm client commands`);
    }
    throw e;
  }
}

/** Slurm job states in which a job is still queued or running. */
const ACTIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STAGE_OUT", "SIGNALING"]);

/** Runs each stage as a Slurm job. */
export class SlurmExecutor implements StageExecutor {
  readonly name = "slurm";
  readonly computedAs = "slurm";
  #count = 0;
  /**
   * Names this executor's job files apart from every earlier run's in the same `jobDir`: a job's output file
   * is read from its start, so a file left by an earlier run under the same name would hand this run the
   * earlier job's report until Slurm truncates it (and then hide the new one past the old file's length).
   */
  readonly #run = `${new Date().toISOString().replace(/[:.]/g, "-")}-${Deno.pid}`;
  #last?: { at: number; states: Promise<Map<string, string>> };
  constructor(readonly cmd: ChildCommand, readonly o: SlurmOptions) {}

  /**
   * The states of this user's queued and running jobs: one `squeue` per poll interval for all the jobs
   * of the run (a call per job would load slurmctld with hundreds of jobs).
   */
  #queue(): Promise<Map<string, string>> {
    const now = performance.now();
    if (this.#last && now - this.#last.at < (this.o.pollMs ?? 500) / 2) return this.#last.states;
    const states = run("squeue", ["-h", "--me", "-o", "%i %T"]).then((r) => {
      if (r.code !== 0) throw new Error(`squeue failed: ${r.stderr.trim()}`);
      return new Map(r.stdout.trim().split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/) as [string, string]));
    });
    this.#last = { at: now, states };
    return states;
  }

  /** Checks the Slurm client answers; a UserError naming the fix otherwise. */
  static async check(): Promise<void> {
    const r = await run("squeue", ["-h", "-o", "%i", "-u", Deno.env.get("USER") ?? "root"]).catch((e) => {
      throw e instanceof UserError ? e : new UserError(`squeue failed: ${(e as Error).message}`);
    });
    if (r.code !== 0) {
      throw new UserError(`the Slurm controller does not answer (squeue: ${r.stderr.trim().split("\n")[0]}); is slurmctld up?`);
    }
  }

  /** Submits the stage as a job (its script and output file in `jobDir`) and follows it to its report. */
  async start(job: StageJobStart, sink: JobSink): Promise<JobHandle> {
    const n = this.#count++;
    const safe = job.stage.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80);
    const script = `${this.o.jobDir}/${safe}-${this.#run}-${n}.sh`;
    const output = new JobOutput(`${this.o.jobDir}/${safe}-${this.#run}-${n}.out`, job.stage, sink, this.#names.protocol);
    await Deno.remove(output.path).catch(() => {}); // never another job's report, whatever made the name
    const res = this.#resources(job.stage);
    const argv = [Deno.execPath(), ...runStageArgs(this.cmd, { spec: job.specPath, storeRoot: job.storeRoot, codeRoot: job.codeRoot })];
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    await Deno.mkdir(this.o.jobDir, { recursive: true });
    await Deno.writeTextFile(script, `#!/bin/sh\n# stage ${job.stage}\nexec ${argv.map(quote).join(" ")}\n`);
    const args = this.#sbatchArgs({ stage: job.stage, output: output.path, res, script });
    const sub = await run("sbatch", args);
    if (sub.code !== 0) {
      const message = `sbatch refused the job: ${sub.stderr.trim()}`;
      return {
        id: "slurm (not submitted)",
        done: Promise.resolve({ status: "failed", message, user: true }),
        cancel: () => Promise.resolve(),
      };
    }
    const id = sub.stdout.trim().split(";")[0];
    sink.event({ event: "slurm-submitted", job: id, script, output: output.path, resources: res, sbatch: args });
    let cancelled = false;
    return {
      id: `slurm job ${id}`,
      done: this.#follow(id, output, sink, () => cancelled),
      cancel: async () => {
        cancelled = true;
        await cancelJob(id);
      },
    };
  }

  get #names(): EngineNames {
    return this.cmd.names ?? DEFAULT_NAMES;
  }

  /** The stage's own declaration over the executor's defaults over 1 CPU, 4 GB, 2 h. */
  #resources(stage: string): Required<SlurmResources> {
    const defined = (r?: SlurmResources) => Object.fromEntries(Object.entries(r ?? {}).filter(([, v]) => v !== undefined));
    return { cpus: 1, memMB: 4096, timeMin: 120, ...defined(this.o.defaults), ...defined(this.o.resourcesOf?.(stage)) };
  }

  #sbatchArgs(j: { stage: string; output: string; res: Required<SlurmResources>; script: string }): string[] {
    return [
      "--parsable",
      `--job-name=${this.#names.job(j.stage)}`.slice(0, 120),
      `--output=${j.output}`,
      `--cpus-per-task=${j.res.cpus}`,
      `--mem=${j.res.memMB}M`,
      `--time=${j.res.timeMin}`,
      ...(this.o.partition ? [`--partition=${this.o.partition}`] : []),
      ...(this.o.account ? [`--account=${this.o.account}`] : []),
      ...(this.o.extraArgs ?? []),
      j.script,
    ];
  }

  /** The job's state: from the shared squeue, else (gone from the queue) from scontrol, which keeps it for MinJobAge seconds. */
  async #state(id: string): Promise<string> {
    const s = (await this.#queue().catch(() => undefined))?.get(id);
    if (s) return s;
    const c = await run("scontrol", ["show", "job", id]);
    return /JobState=(\S+)/.exec(c.stdout)?.[1] ?? "GONE";
  }

  /** Follows a job until it leaves the active states: its report, or why it ended without one. */
  async #follow(id: string, output: JobOutput, sink: JobSink, cancelled: () => boolean): Promise<JobReport> {
    let last = "";
    for (;;) {
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 500));
      await output.read();
      const st = await this.#state(id);
      if (st !== last) sink.event({ event: "slurm-state", job: id, state: st });
      last = st ?? last;
      if (st && ACTIVE.has(st)) continue;
      await output.read();
      if (output.report) return output.report;
      if (cancelled() || st === "CANCELLED") {
        return { status: "failed", message: `slurm job ${id} was cancelled`, log: await output.tail() };
      }
      return {
        status: "failed",
        message: `slurm job ${id} ended (${st}) without a result; its log: ${output.path}`,
        log: await output.tail(),
      };
    }
  }
}

/** Cancels a job and waits (bounded) until it has left the queue. */
async function cancelJob(id: string): Promise<void> {
  await run("scancel", [id]);
  for (let i = 0; i < 30; i++) {
    const r = await run("squeue", ["-h", "-j", id, "-o", "%T"]);
    if (r.code !== 0 || !r.stdout.trim()) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A job's output file on the shared file system, read incrementally: the same protocol lines a local child
 * writes to its pipe go to the sink as they appear, and the result is kept.
 */
class JobOutput {
  #offset = 0;
  #partial = "";
  report: JobReport | undefined;
  constructor(readonly path: string, readonly stage: string, readonly sink: JobSink, readonly protocol: string) {}

  /** Reads what was appended since the last read (nothing if the file is not written yet). */
  async read(): Promise<void> {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(this.path, { read: true });
    } catch {
      return; // not written yet
    }
    try {
      await f.seek(this.#offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(1 << 16);
      for (;;) {
        const got = await f.read(buf);
        if (!got) break;
        this.#offset += got;
        this.#partial += new TextDecoder().decode(buf.subarray(0, got), { stream: true });
      }
    } finally {
      f.close();
    }
    for (let i = this.#partial.indexOf("\n"); i >= 0; i = this.#partial.indexOf("\n")) {
      this.report = handleChildLine(this.stage, this.#partial.slice(0, i), this.sink, this.protocol) ?? this.report;
      this.#partial = this.#partial.slice(i + 1);
    }
  }

  /** The last 40 lines that are not protocol lines: what a failed job said. */
  async tail(): Promise<string> {
    try {
      return (await Deno.readTextFile(this.path)).split("\n").filter((l) => !l.startsWith(this.protocol)).slice(-40).join("\n");
    } catch {
      return "";
    }
  }
}
