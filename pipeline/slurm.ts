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
import { UserError } from "./errors.ts";

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
  #count = 0;
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

  async start(job: StageJobStart, sink: JobSink): Promise<JobHandle> {
    const n = this.#count++;
    const safe = job.stage.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80);
    const script = `${this.o.jobDir}/${safe}-${n}.sh`;
    const output = `${this.o.jobDir}/${safe}-${n}.out`;
    const defined = (r?: SlurmResources) => Object.fromEntries(Object.entries(r ?? {}).filter(([, v]) => v !== undefined));
    const res = { cpus: 1, memMB: 4096, timeMin: 120, ...defined(this.o.defaults), ...defined(this.o.resourcesOf?.(job.stage)) };
    const argv = [Deno.execPath(), ...runStageArgs(this.cmd, job.specPath, job.storeRoot, job.codeRoot)];
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const args = [
      "--parsable",
      `--job-name=hpo:${job.stage}`.slice(0, 120),
      `--output=${output}`,
      `--cpus-per-task=${res.cpus}`,
      `--mem=${res.memMB}M`,
      `--time=${res.timeMin}`,
      ...(this.o.partition ? [`--partition=${this.o.partition}`] : []),
      ...(this.o.account ? [`--account=${this.o.account}`] : []),
      ...(this.o.extraArgs ?? []),
      script,
    ];
    let offset = 0;
    let partial = "";
    let report: JobReport | undefined;
    const poll = this.o.pollMs ?? 500;
    const readOutput = async () => {
      let f: Deno.FsFile;
      try {
        f = await Deno.open(output, { read: true });
      } catch {
        return; // not written yet
      }
      try {
        await f.seek(offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(1 << 16);
        for (;;) {
          const got = await f.read(buf);
          if (!got) break;
          offset += got;
          partial += new TextDecoder().decode(buf.subarray(0, got), { stream: true });
        }
      } finally {
        f.close();
      }
      for (let i = partial.indexOf("\n"); i >= 0; i = partial.indexOf("\n")) {
        report = handleChildLine(job.stage, partial.slice(0, i), sink) ?? report;
        partial = partial.slice(i + 1);
      }
    };
    const tail = async () => {
      try {
        return (await Deno.readTextFile(output)).split("\n").filter((l) => !l.startsWith("@hpo-run-stage ")).slice(-40).join("\n");
      } catch {
        return "";
      }
    };
    await Deno.mkdir(this.o.jobDir, { recursive: true });
    await Deno.writeTextFile(script, `#!/bin/sh\n# stage ${job.stage}\nexec ${argv.map(quote).join(" ")}\n`);
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
    sink.event({ event: "slurm-submitted", job: id, script, output, resources: res });
    const state = async (): Promise<string | undefined> => {
      const s = (await this.#queue().catch(() => undefined))?.get(id);
      if (s) return s;
      // gone from the queue: scontrol still knows it for MinJobAge seconds
      const c = await run("scontrol", ["show", "job", id]);
      return /JobState=(\S+)/.exec(c.stdout)?.[1] ?? "GONE";
    };
    let cancelled = false;
    const done = (async (): Promise<JobReport> => {
      let last = "";
      for (;;) {
        await new Promise((r) => setTimeout(r, poll));
        await readOutput();
        const st = await state();
        if (st !== last) sink.event({ event: "slurm-state", job: id, state: st });
        last = st ?? last;
        if (st && ACTIVE.has(st)) continue;
        await readOutput();
        if (report) return report;
        if (cancelled || st === "CANCELLED") return { status: "failed", message: `slurm job ${id} was cancelled`, log: await tail() };
        return { status: "failed", message: `slurm job ${id} ended (${st}) without a result; its log: ${output}`, log: await tail() };
      }
    })();
    return {
      id: `slurm job ${id}`,
      done,
      cancel: async () => {
        cancelled = true;
        await run("scancel", [id]);
        // wait (bounded) until the job has left the queue
        for (let i = 0; i < 30; i++) {
          const r = await run("squeue", ["-h", "-j", id, "-o", "%T"]);
          if (r.code !== 0 || !r.stdout.trim()) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      },
    };
  }
}
