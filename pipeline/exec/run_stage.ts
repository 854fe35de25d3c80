// `run-stage`: computes one stage of a parallel run into the store, in its own process (a child of the
// run, or a Slurm job). It rebuilds the stage from the run's config, recomputes the cache key from the
// parameters, the upstream digests the parent gave and its own code digest, and refuses to store under a
// key other than the parent's. It then calls the very function the in-process runner calls
// (computeStage), so the objects and the cache entry are those a sequential run writes.
//
// It never takes the store lock: the parent holds it for the whole run. Concurrent writers are safe
// because objects are content-addressed and every file is written to a unique temporary name and renamed
// into place (two children storing the same bytes rename identical files onto the same name). Before
// writing its cache entry a child checks that the LOCK file still names its parent's run; a child whose
// parent died (its parent pid changes) ends itself.
import { z } from "zod";
import { CodeDigester } from "../plan/code_digest.ts";
import { DamagedObject, SkipStage, UserError } from "../errors.ts";
import { lockStillHeld } from "../store/lock.ts";
import { ArtifactStore, OutputRefSchema } from "../store/store.ts";
import { artifactSet, computeStage, type StageLog } from "./compute.ts";
import { cacheKey, validateParams } from "../plan/keys.ts";
import { type JobMessage, type JobReport, linesOf } from "./executor.ts";
import { DEFAULT_NAMES, type EngineNames } from "../names.ts";
import type { ArtifactSet, NotRun, Stage } from "../stage.ts";

const SpecSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  stage: z.string(),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  codeDigest: z.string(),
  config: z.unknown(),
  inputs: z.record(z.string(), z.union([z.object({ outputs: z.record(z.string(), OutputRefSchema) }), z.object({ notRun: z.string() })])),
  force: z.boolean(),
  lock: z.object({ pid: z.number(), command: z.string(), since: z.string(), host: z.string().optional() }).optional(),
});

const enc = new TextEncoder();

/** Writes one protocol line to stdout, whole. */
function emit(m: JobMessage, protocol: string): void {
  const bytes = enc.encode(protocol + JSON.stringify(m) + "\n");
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** The child's log: everything goes to the parent, which prints and records it. */
function childLog(protocol: string): StageLog {
  return {
    say: (line) => emit({ type: "say", line }, protocol),
    event: (event) => emit({ type: "event", event }, protocol),
    progressFor() {
      let last = -Infinity;
      return (step, total, label) => {
        const now = performance.now();
        if (now - last < 250 && step < total) return;
        last = now;
        emit({ type: "progress", step, total, label }, protocol);
      };
    },
  };
}

/** What `run-stage` needs of the experiment. */
export interface RunStageOptions<C> {
  /** The job spec to compute; without one (`--serve`), the specs' paths are read from stdin, one a line. */
  specPath?: string;
  storeRoot: string;
  projectRoot: string;
  importMap?: Record<string, string>;
  parseConfig(raw: unknown): C;
  buildStages(config: C): Stage[];
  /** The experiment's names: the protocol prefix, the variable that says to watch the parent (default: the engine's). */
  names?: EngineNames;
}

/**
 * Computes the stage a spec names and reports on stdout (a protocol line with the result). Returns the
 * exit code: 0 computed, cached or not run; 1 failed or a damaged input (the parent repairs and retries).
 */
export async function runStageChild<C>(o: RunStageOptions<C>): Promise<number> {
  const names = o.names ?? DEFAULT_NAMES;
  if (names.getEnv("RUN_STAGE_WATCH_PARENT") === "1") parentPid = watchParent();
  const log = childLog(names.protocol);
  const job = jobContext(o);
  if (o.specPath === undefined) {
    await serveSpecs(o, job, log, names.protocol);
    return 0;
  }
  const report = await computeFromSpec(o, o.specPath, job, log);
  emit({ type: "result", report }, names.protocol);
  return report.status === "failed" || report.status === "damaged" ? 1 : 0;
}

/**
 * `run-stage --serve`: a worker that stays up for a run. It computes the spec whose path each line of stdin
 * names, one after another, answering each with its result line and this process's resident memory (the
 * parent retires a worker that grew), and ends at the end of stdin: when its parent closes the pipe or dies.
 * Each job is checked and computed exactly as a child of its own would compute it (computeFromSpec).
 */
async function serveSpecs<C>(o: RunStageOptions<C>, job: JobContext, log: StageLog, protocol: string): Promise<void> {
  // the next line is read once a job is done: the parent sends one only to a free worker
  for await (const line of linesOf(Deno.stdin.readable)) {
    const specPath = line.trim();
    if (!specPath) continue;
    const report = await computeFromSpec(o, specPath, job, log);
    emit({ type: "result", report, rss: Deno.memoryUsage().rss }, protocol);
  }
}

/** What a process keeps between the jobs it computes. */
interface JobContext {
  /** The stages of a run's config. */
  stages(raw: unknown): Stage[];
  /** Digests the code this process runs: its modules, once loaded, are what it executes for every job. */
  digester: CodeDigester;
}

/**
 * The stages are built once for each config a process sees (a worker that stays up gets the same config
 * with every job, and building the default protocol's DAG is not free), and each module's code is digested
 * once: a child runs from the run's snapshot of the source, which does not change under it.
 */
function jobContext<C>(o: RunStageOptions<C>): JobContext {
  let last: { text: string; stages: Stage[] } | undefined;
  return {
    stages(raw) {
      const text = JSON.stringify(raw);
      if (last?.text !== text) last = { text, stages: o.buildStages(o.parseConfig(raw)) };
      return last.stages;
    },
    digester: new CodeDigester(o.projectRoot, o.importMap),
  };
}

/** The parent a local child watches (undefined for a cluster job). */
let parentPid: number | undefined;

/**
 * Ends this process when its parent dies (it is then re-parented): an orphan must not keep computing. A
 * worker thread watches (parent_watch_worker.ts), so that a stage's synchronous computation, which holds
 * the main thread, cannot delay it; the timer here and the check before the commit are the fallback.
 */
function watchParent(): number {
  const parent = Deno.ppid;
  try {
    const w = new Worker(new URL("./parent_watch_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = () => Deno.exit(1);
    w.postMessage({ parent, pollMs: 200 });
    // deno-lint-ignore no-explicit-any
    (w as any).unref?.(); // the watchdog never keeps the process alive by itself
  } catch { /* no worker: the timer below still watches between awaits */ }
  const id = setInterval(() => {
    if (Deno.ppid !== parent) Deno.exit(1);
  }, 200);
  Deno.unrefTimer(id);
  return parent;
}

/** Rebuilds the spec's stage, checks its key is the parent's, and computes it (unless cached); failures as values. */
async function computeFromSpec<C>(
  o: RunStageOptions<C>,
  specPath: string,
  job: JobContext,
  log: StageLog,
): Promise<JobReport> {
  const store = new ArtifactStore(o.storeRoot);
  try {
    const spec = await readSpec(specPath);
    const stage = job.stages(spec.config).find((s) => s.name === spec.stage);
    if (!stage) throw new UserError(`stage '${spec.stage}' is not in the DAG of the run's config`);
    const params = validateParams([stage]).get(stage.name);
    const code = job.digester.digest(stage.module);
    const { inputs, ctxInputs } = specInputs(store, stage, spec);
    const key = cacheKey({ stage: stage.name, params, inputs, code: code.digest });
    if (key !== spec.key) {
      const why = code.digest !== spec.codeDigest
        ? `its code changed since the run started (one of: ${Object.keys(code.files).join(", ")}); rerun 'reproduce'`
        : "its parameters or inputs differ from the run's (the config or the store changed under it)";
      return { status: "failed", message: `refusing to compute '${stage.name}' under a key the run did not plan: ${why}`, user: true };
    }
    if (!spec.force) {
      const hit = await store.readRun(key);
      if (hit) return { status: "cached", outputs: hit.outputs, wallMs: hit.wallMs };
    }
    const beforeCommit = () => checkStillWanted(o.storeRoot, spec);
    const { outputs, wallMs } = await computeStage({ store, stage, params, inputs: ctxInputs, key, log, beforeCommit });
    return { status: "computed", outputs, wallMs };
  } catch (e) {
    return failureReport(e, store);
  }
}

type Spec = z.infer<typeof SpecSchema>;

/** The job spec, validated; a UserError when it cannot be read or is not one this version writes. */
async function readSpec(specPath: string): Promise<Spec> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(specPath));
  } catch (e) {
    throw new UserError(`cannot read the job spec ${specPath}: ${(e as Error).message}`);
  }
  const parsed = SpecSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`the job spec ${specPath} is not one this version of the pipeline writes`);
  return parsed.data;
}

/** The stage's inputs from the spec: their digests (for the key) and their views (for the stage). */
function specInputs(store: ArtifactStore, stage: Stage, spec: Spec) {
  const inputs: Record<string, Record<string, string>> = {};
  const ctxInputs: Record<string, ArtifactSet | NotRun> = {};
  for (const dep of stage.deps) {
    const up = spec.inputs[dep.stage];
    if (!up) throw new UserError(`the job spec gives no input for '${dep.stage}'`);
    if ("notRun" in up) {
      if (!dep.optional) throw new UserError(`needs '${dep.stage}', which did not run: ${up.notRun}`);
      inputs[dep.stage] = { "#not-run": up.notRun };
      ctxInputs[dep.stage] = { stage: dep.stage, notRun: up.notRun };
    } else {
      inputs[dep.stage] = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.digest]));
      ctxInputs[dep.stage] = artifactSet(store, dep.stage, up.outputs);
    }
  }
  return { inputs, ctxInputs };
}

/** Before the cache entry is written: the parent must still be alive and still hold the store. */
function checkStillWanted(storeRoot: string, spec: Spec): Promise<void> {
  if (parentPid !== undefined && Deno.ppid !== parentPid) Deno.exit(1); // orphaned during a synchronous stretch
  if (spec.lock && !lockStillHeld(storeRoot, spec.lock)) {
    throw new UserError(
      `the run that started this stage (process ${spec.lock.pid}) no longer holds the store lock; ` +
        `its outputs are stored, its cache entry is not`,
    );
  }
  return Promise.resolve();
}

/** How a thrown error ends the job: not run (SkipStage), a damaged input to repair, or a failure. */
function failureReport(e: unknown, store: ArtifactStore): JobReport {
  if (e instanceof SkipStage) return { status: "not-run", reason: e.message };
  if (e instanceof DamagedObject || store.hasDamaged()) {
    return { status: "damaged", digests: store.takeDamaged(), message: (e as Error).message };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: "failed", message, stack: e instanceof Error ? e.stack : undefined, user: e instanceof UserError };
}
