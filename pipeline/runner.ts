import { ancestors, descendants, resolveStageNames, topoSort } from "./dag.ts";
import { asUserFsError, DamagedObject, SkipStage, StagesFailed, UserError } from "./errors.ts";
import { digestOf } from "./hash.ts";
import { describeZodError } from "./config.ts";
import { CodeDigester } from "./code_digest.ts";
import { acquireStoreLock } from "./lock.ts";
import { captureEnvironment, type Manifest, type StageRecord, writeManifest } from "./manifest.ts";
import { formatDuration, RunLog } from "./progress.ts";
import { writeFileAtomic } from "./fs_atomic.ts";
import { ArtifactStore, type OutputRef } from "./store.ts";
import type { ArtifactSet, NotRun, Progress, Stage } from "./stage.ts";
import type { JobReport, StageExecutor, StageJobSpec } from "./executor.ts";
import { RunBoard } from "./board.ts";
import { snapshotSources } from "./snapshot.ts";

/** Bumped when the engine changes how keys or entries are formed: every key changes with it. */
export const ENGINE_VERSION = "1";

/** Options for one pipeline run. */
export interface RunOptions {
  /** Artifact store directory. */
  storeRoot: string;
  /** Project root: code digests are keyed by paths relative to it. */
  projectRoot: string;
  /** Import map (deno.json "imports"): bare specifiers resolve through it into the code digest. */
  importMap?: Record<string, string>;
  /** The experiment config, recorded in the manifest. */
  config?: unknown;
  configPath?: string;
  /** Extra environment entries for the manifest (library versions, backend). */
  environment?: Record<string, string>;
  /** Run only these stages (and what they need). Patterns as in resolveStageNames. */
  only?: string[];
  /** Recompute this stage and everything downstream of it. */
  from?: string;
  /** Recompute these stages even if cached. */
  force?: string[];
  quiet?: boolean;
  /**
   * How many stages may compute at once (default 1: every stage in this process, one after the other).
   * Above 1, ready stages are handed to `executor`, each in its own process; a stage that is the only one
   * that can run while nothing else runs is computed in this process (nothing could run beside it).
   */
  jobs?: number;
  /** Runs one stage elsewhere (a child process, a Slurm job). Needed when jobs > 1. */
  executor?: StageExecutor;
  /** Hand every computed stage to the executor, even one that could run here (default: false). */
  isolateAll?: boolean;
}

/** What happened to each stage in a run. */
export interface RunResult {
  manifest: Manifest;
  computed: string[];
  cached: string[];
  notRun: { stage: string; reason: string }[];
  warnings: string[];
}

/** Where a stage's progress, messages and events go: the run log, or (in a child) the parent's pipe. */
export interface StageLog {
  say(line: string): void;
  event(event: Record<string, unknown>): void;
  progressFor(stage: string): Progress;
}

/** Validated parameters of every stage, or a UserError naming the stage and the field. */
export function validateParams(stages: readonly Stage[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const s of stages) {
    const r = s.schema.safeParse(s.params);
    if (!r.success) throw new UserError(`invalid parameter for stage '${s.name}': ${describeZodError(r.error, s.schema)}`);
    out.set(s.name, r.data);
  }
  return out;
}

/** The parts a stage's cache key is made of; exported so that `status` can explain staleness. */
export interface KeyParts {
  stage: string;
  params: unknown;
  inputs: Record<string, Record<string, string>>;
  code: string;
}

/** A stage's cache key: sha256 of a canonical record of its name, params, input digests and code digest. */
export function cacheKey(parts: KeyParts): string {
  return digestOf({ engine: ENGINE_VERSION, ...parts });
}

/** Builds the ArtifactSet view of a stage's outputs. */
export function artifactSet(store: ArtifactStore, stage: string, outputs: Record<string, OutputRef>): ArtifactSet {
  return {
    stage,
    names: () => Object.keys(outputs),
    digest(name) {
      const ref = outputs[name];
      if (!ref) throw new Error(`stage '${stage}' has no output '${name}' (has: ${Object.keys(outputs).join(", ")})`);
      return ref.digest;
    },
    async bytes(name) {
      return await store.getObject(this.digest(name));
    },
    async json(name) {
      return JSON.parse(new TextDecoder().decode(await this.bytes(name)));
    },
  };
}

/** Which of a stage's outputs may differ between identical runs, by the stage's own declaration. */
export function volatileTest(stage: Stage): (name: string) => boolean {
  return stage.isVolatileOutput ?? ((n: string) => n.includes(".volatile."));
}

/** Input digests as recorded in a key: outputs' digests, or a not-run marker with its reason. */
export function inputRecord(upstream: StageRecord): Record<string, string> {
  if (upstream.status === "not-run") return { "#not-run": upstream.reason ?? "" };
  return Object.fromEntries(Object.entries(upstream.outputs).map(([k, v]) => [k, v.digest]));
}

/** Works out which stages this invocation should visit and which it must recompute. */
export function plan(order: Stage[], opts: RunOptions): { visit: Set<string>; forced: Set<string> } {
  const all = new Set(order.map((s) => s.name));
  let visit = all;
  if (opts.only?.length) {
    const chosen = resolveStageNames(order, opts.only);
    visit = new Set(chosen);
    for (const c of chosen) for (const a of ancestors(order, c)) visit.add(a);
  }
  const forced = opts.force?.length ? resolveStageNames(order, opts.force) : new Set<string>();
  if (opts.from) {
    const [start] = resolveStageNames(order, [opts.from]);
    forced.add(start);
    for (const d of descendants(order, start)) forced.add(d);
  }
  return { visit, forced };
}

/**
 * Computes one stage and stores it: runs it in a scratch directory, stores every output as an object,
 * then (after `beforeCommit`) writes its cache entry under `key`. The one place a stage is computed: the
 * in-process runner and the `run-stage` child of a parallel run both call it, so both store the same bytes
 * under the same key. Errors propagate to the caller, which classifies them.
 */
export async function computeStage(a: {
  store: ArtifactStore;
  stage: Stage;
  params: unknown;
  inputs: Record<string, ArtifactSet | NotRun>;
  key: string;
  log: StageLog;
  /** Called after the outputs are stored and before the cache entry is written; throws to withhold it. */
  beforeCommit?: () => Promise<void>;
}): Promise<{ outputs: Record<string, OutputRef>; wallMs: number }> {
  const { store, stage, key, log } = a;
  const scratchDir = `${store.tmpDir}/scratch-${key.slice(0, 16)}-${Deno.pid}`;
  await Deno.mkdir(scratchDir, { recursive: true });
  const start = performance.now();
  try {
    const produced = await stage.run({
      params: a.params,
      inputs: a.inputs,
      progress: log.progressFor(stage.name),
      log: (ev) => log.event({ stage: stage.name, ...ev }),
      scratchDir,
    });
    const outputs: Record<string, OutputRef> = {};
    for (const [name, bytes] of Object.entries(produced)) outputs[name] = await store.putObject(bytes);
    const wallMs = performance.now() - start;
    await a.beforeCommit?.();
    await store.writeRun({ key, stage: stage.name, outputs, wallMs, createdAt: new Date().toISOString() });
    return { outputs, wallMs };
  } finally {
    await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
  }
}

/** A stage failure carrying its manifest record, so the caller decides whether the run stops. */
class StageFailed extends Error {
  constructor(readonly record: StageRecord, readonly error: Error) {
    super(error.message, { cause: error });
  }
}

/** A stage ready to compute: everything its key and its run need. */
interface PreparedJob {
  stage: Stage;
  params: unknown;
  key: string;
  force: boolean;
  inputs: Record<string, Record<string, string>>;
  ctxInputs: Record<string, ArtifactSet | NotRun>;
  base: Omit<StageRecord, "status" | "inputs" | "outputs">;
}

/**
 * Runs a DAG of stages against an artifact store: each stage whose key is cached is a lookup; others are
 * computed, their outputs stored atomically, then their cache entry written. Holds the store lock
 * throughout; writes the manifest after every stage so an interrupted run is visible and resumable.
 *
 * With `jobs` > 1 and an executor, ready stages compute concurrently elsewhere (see runParallel below);
 * this process schedules, follows them and records the manifest. A failing stage then does not stop the
 * run: everything that does not need it finishes first; then the run throws the first failure, as a
 * sequential run would have (a UserError for the user's faults, else an internal error).
 */
export async function runPipeline(stages: readonly Stage[], opts: RunOptions): Promise<RunResult> {
  const order = topoSort(stages);
  const params = validateParams(order);
  const { visit, forced } = plan(order, opts);
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
  const executor = opts.executor;
  const parallel = !!executor && (jobs > 1 || !!opts.isolateAll);
  const store = new ArtifactStore(opts.storeRoot);
  const lock = await acquireStoreLock(opts.storeRoot, "reproduce");
  const runId = `${new Date().toISOString().replace(/[:.]/g, "-")}-${Deno.pid}`;
  let log: RunLog;
  try {
    await Deno.mkdir(`${opts.storeRoot}/logs`, { recursive: true });
    log = new RunLog(`${opts.storeRoot}/logs/${runId}.jsonl`, opts.quiet);
  } catch (e) {
    lock.release();
    throw asUserFsError(e, `cannot write the run log in ${opts.storeRoot}/logs`);
  }
  const digester = new CodeDigester(opts.projectRoot, opts.importMap);
  // Digest every stage's code now, while it matches the modules this process loaded: a file edited during a
  // long run must not lend its new digest to output made by the old code.
  const codeDigests = new Map(order.filter((s) => visit.has(s.name)).map((s) => [s.name, digester.digest(s.module)]));
  const manifest: Manifest = {
    runId,
    startedAt: new Date().toISOString(),
    state: "running",
    config: opts.config ?? null,
    configPath: opts.configPath,
    environment: captureEnvironment(opts.environment),
    stages: [],
  };
  // No signal listeners in a sequential run, on purpose: stages compute synchronously (TensorFlow.js), so a
  // listener would only run after the stage ends and Ctrl-C would appear ignored. The default action ends the
  // process at once; that is safe because every write is atomic and the lock of a dead process is taken
  // over. A manifest left in state "running" by a dead process is reported as interrupted (see
  // manifestState). A parallel run listens while its children compute (see runParallel).
  const result: RunResult = { manifest, computed: [], cached: [], notRun: [], warnings: store.warnings };
  const failed: { stage: string; error: Error }[] = [];
  const records = new Map<string, StageRecord>();
  const t0 = performance.now();
  try {
    const cleaned = await store.cleanTmp({ everywhere: lock.tookOver });
    if (cleaned) log.say(`removed ${cleaned} leftover temporary file(s) of an interrupted run`);
    log.event({
      event: "run-start",
      runId,
      stages: order.map((s) => s.name),
      jobs: parallel ? jobs : 1,
      executor: parallel ? executor!.name : "inline",
    });
    if (parallel) {
      await runParallel();
      if (failed.length) {
        manifest.state = "failed";
        const more = failed.length > 1
          ? ` (and ${failed.length - 1} more failed stage(s): ${failed.slice(1).map((f) => f.stage).join(", ")})`
          : "";
        const blocked = manifest.stages.filter((r) => r.status === "pending").length;
        log.say(
          `${failed.length} stage(s) failed: ${failed.map((f) => f.stage).join(", ")}; ` +
            `every stage that does not need them finished${blocked ? `, ${blocked} that do did not start` : ""}`,
        );
        const first = failed[0].error;
        if (more) first.message += more;
        // a stage that found the user's input wrong is the user's fault (exit 2); any other failure is the stage's
        throw first instanceof UserError ? first : new StagesFailed(failed.map((f) => f.stage), first);
      }
      manifest.state = "complete";
    } else {
      const total = order.filter((s) => visit.has(s.name)).length;
      const t0 = performance.now();
      let settled = 0;
      for (const stage of order) {
        if (!visit.has(stage.name)) continue;
        let rec: StageRecord;
        try {
          rec = await runRepairing(stage, forced.has(stage.name));
        } catch (e) {
          if (!(e instanceof StageFailed)) throw e;
          manifest.stages.push(e.record);
          throw e.error instanceof UserError ? e.error : new StagesFailed([stage.name], e.error);
        }
        records.set(stage.name, rec);
        manifest.stages.push(rec);
        settled++;
        // A cache hit changes nothing in the store: persisting progress is only needed after real work.
        if (rec.status !== "cached") {
          await writeManifest(opts.storeRoot, manifest);
          // the whole run's progress (ETA from the mean time per settled stage: rough, stages differ)
          const elapsed = (performance.now() - t0) / 1000;
          log.say(
            `[run] stage ${settled}/${total} elapsed ${formatDuration(elapsed)} ETA ~${
              formatDuration((elapsed * (total - settled)) / settled)
            }`,
          );
        }
      }
      manifest.state = "complete";
    }
  } catch (e) {
    manifest.state = "failed";
    throw e;
  } finally {
    manifest.finishedAt = new Date().toISOString();
    await writeManifest(opts.storeRoot, manifest).catch(() => {});
    for (const w of store.warnings) log.say(`warning: ${w}`);
    log.event({ event: "run-end", state: manifest.state, wallS: (performance.now() - t0) / 1000 });
    log.close();
    lock.release();
  }
  return result;

  /**
   * Runs a stage; when it fails because an input object was damaged (the store removed it as it was read),
   * recomputes the stage that produced that object, as on a cache miss, then tries again. A bounded number
   * of rounds, so that a disk that keeps corrupting data ends in a clear error instead of a loop.
   */
  async function runRepairing(stage: Stage, force: boolean, depth = 0): Promise<StageRecord> {
    for (let round = 0;; round++) {
      try {
        return await runOne(stage, force);
      } catch (e) {
        const damaged = store.takeDamaged();
        if (!damaged.length || e instanceof SkipStage) throw e;
        if (round >= 3 || depth > order.length) {
          throw new UserError(`stage '${stage.name}': its inputs keep reading back damaged; check the disk of ${opts.storeRoot}`);
        }
        for (const digest of damaged) await recomputeProducer(stage.name, digest, depth);
      }
    }
  }

  /** The record of the stage that produced an object in this run (the repair target), or a UserError. */
  function producerOf(reader: string, digest: string): StageRecord {
    const producer = [...records.values()].find((r) => Object.values(r.outputs).some((o) => o.digest === digest));
    if (!producer) throw new UserError(`stage '${reader}': input object ${digest} is damaged and no stage of this run produced it`);
    log.say(
      `[${reader}] input ${
        digest.slice(0, 12)
      } (from '${producer.stage}') was damaged and has been removed; recomputing '${producer.stage}'`,
    );
    log.event({ event: "object-damaged", stage: reader, digest, producer: producer.stage });
    return producer;
  }

  async function recomputeProducer(reader: string, digest: string, depth: number): Promise<void> {
    const producer = producerOf(reader, digest);
    if (producer.key) await store.dropRun(producer.key);
    const stage = order.find((s) => s.name === producer.stage)!;
    const rec = await runRepairing(stage, true, depth + 1);
    records.set(stage.name, rec);
    const i = manifest.stages.findIndex((r) => r.stage === stage.name);
    if (i >= 0) manifest.stages[i] = rec;
    result.cached = result.cached.filter((n) => n !== stage.name);
  }

  async function runOne(stage: Stage, force: boolean): Promise<StageRecord> {
    const prepared = await prepare(stage, force);
    return "record" in prepared ? prepared.record : await computeInline(prepared.job);
  }

  /**
   * Everything up to computing: the stage's inputs and key, then what needs no computing (an upstream that
   * did not run, a cache hit) as a finished record, else the job to compute.
   */
  async function prepare(stage: Stage, force: boolean): Promise<{ record: StageRecord } | { job: PreparedJob }> {
    const p = params.get(stage.name);
    const code = codeDigests.get(stage.name)!;
    const isVolatile = volatileTest(stage);
    const volatileOf = (outputs: Record<string, OutputRef>) => Object.keys(outputs).filter(isVolatile);
    const base = {
      stage: stage.name,
      params: p,
      codeDigest: code.digest,
      codeFiles: code.files,
      packages: code.packages,
      volatile: [] as string[],
    };
    const inputs: Record<string, Record<string, string>> = {};
    const ctxInputs: Record<string, ArtifactSet | NotRun> = {};
    for (const dep of stage.deps) {
      const up = records.get(dep.stage)!;
      if (up.status === "failed" || up.status === "pending") {
        // Only in a parallel run, which carries on past a failure: this stage cannot start.
        const reason = `not started: needs '${dep.stage}', which ${up.status === "failed" ? "failed" : "did not finish"}`;
        log.event({ event: "stage-blocked", stage: stage.name, reason });
        return { record: { ...base, status: "pending", inputs: {}, outputs: {}, reason } };
      }
      inputs[dep.stage] = inputRecord(up);
      if (up.status === "not-run") {
        if (!dep.optional) {
          const reason = `needs '${dep.stage}', which did not run: ${up.reason}`;
          log.say(`[${stage.name}] not run: ${reason}`);
          log.event({ event: "stage-not-run", stage: stage.name, reason });
          result.notRun.push({ stage: stage.name, reason });
          return { record: { ...base, status: "not-run", inputs, outputs: {}, reason } };
        }
        ctxInputs[dep.stage] = { stage: dep.stage, notRun: up.reason ?? "" };
      } else ctxInputs[dep.stage] = artifactSet(store, dep.stage, up.outputs);
    }
    const key = cacheKey({ stage: stage.name, params: p, inputs, code: code.digest });
    if (!force) {
      const hit = await store.readRun(key);
      if (hit) {
        log.event({ event: "stage-cached", stage: stage.name, key });
        result.cached.push(stage.name);
        return {
          record: { ...base, status: "cached", key, inputs, outputs: hit.outputs, volatile: volatileOf(hit.outputs), wallMs: hit.wallMs },
        };
      }
    }
    return { job: { stage, params: p, key, force, inputs, ctxInputs, base } };
  }

  /** Computes a prepared stage in this process. Throws StageFailed (with its record) when the stage fails. */
  async function computeInline(job: PreparedJob): Promise<StageRecord> {
    const { stage, key, inputs, base } = job;
    log.say(`[${stage.name}] running${job.force ? " (forced)" : ""}`);
    log.event({ event: "stage-start", stage: stage.name, key });
    try {
      const { outputs, wallMs } = await computeStage({ store, stage, params: job.params, inputs: job.ctxInputs, key, log });
      log.say(`[${stage.name}] done in ${formatDuration(wallMs / 1000)}`);
      log.event({ event: "stage-end", stage: stage.name, key, wallMs, outputs });
      result.computed.push(stage.name);
      return { ...base, status: "computed", key, inputs, outputs, volatile: Object.keys(outputs).filter(volatileTest(stage)), wallMs };
    } catch (e) {
      if (e instanceof SkipStage) {
        log.say(`[${stage.name}] not run: ${e.message}`);
        log.event({ event: "stage-not-run", stage: stage.name, reason: e.message });
        result.notRun.push({ stage: stage.name, reason: e.message });
        return { ...base, status: "not-run", key, inputs, outputs: {}, reason: e.message };
      }
      // A damaged input: not this stage's failure; runRepairing recomputes the input's producer.
      if (e instanceof DamagedObject || store.hasDamaged()) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      log.event({ event: "stage-failed", stage: stage.name, error: msg, stack: e instanceof Error ? e.stack : undefined });
      const record: StageRecord = { ...base, status: "failed", key, inputs, outputs: {}, reason: msg };
      if (e instanceof UserError) throw new StageFailed(record, new UserError(`stage '${stage.name}': ${msg}`));
      throw new StageFailed(record, new Error(`stage '${stage.name}' failed: ${msg}`, { cause: e }));
    }
  }

  /**
   * The parallel run: stages whose inputs are all settled are prepared here (cache hits and not-run
   * verdicts cost nothing); the rest go to the executor, at most `jobs` at a time, in topological order.
   * A stage that is the only one that can run while nothing runs is computed in this process, unless
   * `isolateAll`: no other stage could have run beside it. While children run, SIGINT and SIGTERM stop
   * every one of them, record the run as interrupted and release the lock.
   */
  async function runParallel(): Promise<void> {
    const ex = executor!;
    const specDir = `${store.tmpDir}/jobs-${runId}`;
    // The children run from a copy of the source (see snapshot.ts), taken when the first child is about to
    // start: a run whose stages all compute here (a chain) needs none. An edit made between the digests and
    // the copy makes the affected children refuse, never store under a wrong key.
    const codeRoot = `${store.tmpDir}/code-${runId}`;
    let snapshot: Promise<void> | undefined;
    const takeSnapshot = () =>
      snapshot ??= Deno.mkdir(specDir, { recursive: true }).then(() => snapshotSources(opts.projectRoot, codeRoot, [opts.storeRoot])).then(
        (files) => log.event({ event: "code-snapshot", path: codeRoot, files }),
        (e) => {
          throw asUserFsError(e, `cannot write the code snapshot ${codeRoot}`);
        },
      );
    const board = new RunBoard(log, order.filter((s) => visit.has(s.name)).map((s) => s.name), jobs, await previousWallTimes());
    const pending = order.filter((s) => visit.has(s.name));
    const ready: PreparedJob[] = [];
    const running = new Map<string, Promise<void>>();
    const handles = new Map<string, { cancel(): Promise<void> }>();
    let stopping = false;
    let manifestWrite: Promise<void> = Promise.resolve();
    let manifestWarned = false;
    let specCount = 0;
    /** Repairs in flight, by producer: two stages that read the same damaged object wait for one repair. */
    const repairs = new Map<string, Promise<void>>();
    const persist = () => {
      manifest.stages = order.filter((s) => records.has(s.name)).map((s) => records.get(s.name)!);
      manifestWrite = manifestWrite.then(() => writeManifest(opts.storeRoot, manifest)).catch((e) => {
        if (!manifestWarned) log.say(`warning: could not write the manifest: ${(e as Error).message}`);
        manifestWarned = true;
      });
      return manifestWrite;
    };
    const settle = async (rec: StageRecord) => {
      records.set(rec.stage, rec);
      board.settle(rec.stage, rec.status, !!rec.job);
      if (rec.status !== "cached") await persist();
    };
    const interrupt = (sig: "SIGINT" | "SIGTERM") => async () => {
      if (stopping) return;
      stopping = true;
      log.say(`${sig}: stopping ${handles.size} running stage(s)`);
      log.event({ event: "interrupt", signal: sig, running: [...handles.keys()] });
      await Promise.all([...handles.values()].map((h) => h.cancel().catch(() => {})));
      board.close();
      manifest.state = "interrupted";
      manifest.finishedAt = new Date().toISOString();
      await persist();
      log.event({ event: "run-end", state: manifest.state, wallS: (performance.now() - t0) / 1000 });
      log.close();
      await Deno.remove(specDir, { recursive: true }).catch(() => {});
      await Deno.remove(codeRoot, { recursive: true }).catch(() => {});
      lock.release();
      Deno.exit(sig === "SIGINT" ? 130 : 143);
    };
    const handlers = { SIGINT: interrupt("SIGINT"), SIGTERM: interrupt("SIGTERM") };
    let listening = false;
    const listen = (on: boolean) => {
      if (on === listening) return;
      listening = on;
      for (const [sig, h] of Object.entries(handlers)) {
        if (on) Deno.addSignalListener(sig as Deno.Signal, h);
        else Deno.removeSignalListener(sig as Deno.Signal, h);
      }
    };

    /** One try at a prepared stage: its record, or the digests of damaged inputs to repair first. */
    async function attempt(job: PreparedJob, inline: boolean): Promise<{ record: StageRecord } | { damaged: string[] }> {
      if (inline) {
        // Computing here blocks this process's event loop: listeners would only run afterwards, so Ctrl-C
        // takes its default action (end at once) meanwhile, as in a sequential run.
        listen(false);
        board.start(job.stage.name, `pid ${Deno.pid} (this process)`, false);
        try {
          return { record: await computeInline(job) };
        } catch (e) {
          if (e instanceof StageFailed) {
            failed.push({ stage: job.stage.name, error: e.error });
            return { record: e.record };
          }
          const damaged = store.takeDamaged();
          if (damaged.length) return { damaged };
          throw e;
        } finally {
          listen(true);
        }
      }
      return await attemptElsewhere(job);
    }

    async function attemptElsewhere(job: PreparedJob): Promise<{ record: StageRecord } | { damaged: string[] }> {
      const { stage, key, inputs, base } = job;
      const spec: StageJobSpec = {
        version: 1,
        runId,
        stage: stage.name,
        key,
        codeDigest: base.codeDigest!,
        config: opts.config ?? null,
        inputs: Object.fromEntries(stage.deps.map((d) => {
          const up = records.get(d.stage)!;
          return [d.stage, up.status === "not-run" ? { notRun: up.reason ?? "" } : { outputs: up.outputs }];
        })),
        force: job.force,
        lock: lock.holder,
      };
      await takeSnapshot();
      const specPath = `${specDir}/${key}-${specCount++}.json`;
      await writeFileAtomic(specPath, JSON.stringify(spec), { tmpDir: store.tmpDir });
      const handle = await ex.start({ stage: stage.name, key, specPath, storeRoot: opts.storeRoot, codeRoot }, {
        say: (line) => log.say(line),
        event: (ev) => log.event({ stage: stage.name, ...ev }),
        progress: (step, total, label) => board.progress(stage.name, step, total, label),
      });
      handles.set(stage.name, handle);
      if (stopping) void handle.cancel(); // interrupted while it was being started
      log.say(`[${stage.name}] running${job.force ? " (forced)" : ""} as ${handle.id}`);
      log.event({ event: "stage-start", stage: stage.name, key, executor: ex.name, job: handle.id });
      board.start(stage.name, handle.id);
      let rep: JobReport;
      try {
        rep = await handle.done;
      } finally {
        handles.delete(stage.name);
        await Deno.remove(specPath).catch(() => {});
      }
      const rec = { ...base, job: handle.id, key, inputs };
      if (stopping) return { record: { ...rec, status: "pending", outputs: {}, reason: "interrupted" } };
      switch (rep.status) {
        case "computed":
        case "cached": {
          // Trust the store, not the message: the entry must be there, with these very outputs. A store on NFS
          // may hide a file another node just made for a few seconds (negative lookup cache): look again.
          let entry = await store.readRun(key);
          for (let i = 0; !entry && ex.name !== "local" && i < 6; i++) {
            await new Promise((r) => setTimeout(r, 250 * 2 ** i));
            entry = await store.readRun(key);
          }
          if (!entry || digestOf(entry.outputs) !== digestOf(rep.outputs)) {
            rep = { status: "failed", message: `${handle.id} reported success, but its cache entry ${key} is missing or differs` };
            break;
          }
          log.say(`[${stage.name}] done in ${formatDuration(rep.wallMs / 1000)} (${handle.id})`);
          log.event({ event: "stage-end", stage: stage.name, key, wallMs: rep.wallMs, outputs: entry.outputs, job: handle.id });
          if (rep.status === "cached") result.cached.push(stage.name);
          else result.computed.push(stage.name);
          const volatile = Object.keys(entry.outputs).filter(volatileTest(stage));
          return { record: { ...rec, status: rep.status, outputs: entry.outputs, volatile, wallMs: rep.wallMs } };
        }
        case "not-run":
          log.say(`[${stage.name}] not run: ${rep.reason}`);
          log.event({ event: "stage-not-run", stage: stage.name, reason: rep.reason });
          result.notRun.push({ stage: stage.name, reason: rep.reason });
          return { record: { ...rec, status: "not-run", outputs: {}, reason: rep.reason } };
        case "damaged":
          return { damaged: rep.digests };
      }
      const msg = rep.message;
      log.say(`[${stage.name}] FAILED (${handle.id}): ${msg}${rep.log ? `\n${indent(rep.log)}` : ""}`);
      log.event({ event: "stage-failed", stage: stage.name, error: msg, stack: rep.stack, job: handle.id, log: rep.log });
      failed.push({ stage: stage.name, error: remoteError(stage.name, rep) });
      return { record: { ...rec, status: "failed", outputs: {}, reason: msg } };
    }

    /** Runs a prepared stage to a record, repairing damaged inputs (bounded), like runRepairing. */
    async function execute(job: PreparedJob, inline: boolean, depth = 0): Promise<StageRecord> {
      for (let round = 0;; round++) {
        const out = await attempt(job, inline);
        if ("record" in out) return out.record;
        if (round >= 3 || depth > order.length) {
          const msg = `its inputs keep reading back damaged; check the disk of ${opts.storeRoot}`;
          failed.push({ stage: job.stage.name, error: new UserError(`stage '${job.stage.name}': ${msg}`) });
          return { ...job.base, status: "failed", key: job.key, inputs: job.inputs, outputs: {}, reason: msg };
        }
        for (const digest of out.damaged) {
          const producer = producerOf(job.stage.name, digest);
          let repair = repairs.get(producer.stage);
          if (!repair) {
            repair = (async () => {
              if (producer.key) await store.dropRun(producer.key);
              const pstage = order.find((s) => s.name === producer.stage)!;
              const pp = await prepare(pstage, true);
              const rec = "record" in pp ? pp.record : await execute(pp.job, inline, depth + 1);
              result.cached = result.cached.filter((n) => n !== pstage.name);
              await settle(rec);
            })().finally(() => repairs.delete(producer.stage));
            repairs.set(producer.stage, repair);
          }
          await repair;
        }
        const again = await prepare(job.stage, job.force);
        if ("record" in again) return again.record;
        job = again.job;
      }
    }

    listen(true);
    try {
      schedule: for (;;) {
        // Settle everything that needs no computing, as far as it goes.
        for (let changed = true; changed;) {
          changed = false;
          for (let i = 0; i < pending.length; i++) {
            const s = pending[i];
            if (!s.deps.every((d) => records.has(d.stage))) continue;
            pending.splice(i--, 1);
            changed = true;
            const pr = await prepare(s, forced.has(s.name));
            if ("record" in pr) await settle(pr.record);
            else ready.push(pr.job);
          }
        }
        if (stopping) return await new Promise(() => {}); // the signal handler ends the process
        if (!ready.length && !running.size) break;
        while (ready.length && running.size < jobs) {
          const job = ready.shift()!;
          if (!opts.isolateAll && running.size === 0 && ready.length === 0) {
            await settle(await execute(job, true));
            continue schedule;
          }
          const name = job.stage.name;
          running.set(
            name,
            execute(job, false).then(settle).finally(() => running.delete(name)),
          );
        }
        if (running.size) await Promise.race(running.values());
      }
    } finally {
      listen(false);
      // An internal error here must not leave children computing into a store nobody holds.
      await Promise.all([...handles.values()].map((h) => h.cancel().catch(() => {})));
      board.close();
      await manifestWrite;
      await Deno.remove(specDir, { recursive: true }).catch(() => {});
      await Deno.remove(codeRoot, { recursive: true }).catch(() => {});
    }
    // Stages never reached (their inputs failed) are in records as "pending"; the manifest lists them.
    manifest.stages = order.filter((s) => records.has(s.name)).map((s) => records.get(s.name)!);
  }

  /** Wall times of the stages in the store's last manifest: the board's first estimates. */
  async function previousWallTimes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const text = await Deno.readTextFile(`${opts.storeRoot}/manifests/latest.json`);
      for (const r of (JSON.parse(text) as Manifest).stages ?? []) if (typeof r.wallMs === "number") out.set(r.stage, r.wallMs);
    } catch { /* no earlier run: the board learns as stages finish */ }
    return out;
  }
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
