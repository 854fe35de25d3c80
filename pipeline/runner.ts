import { ancestors, descendants, resolveStageNames, topoSort } from "./dag.ts";
import { asUserFsError, DamagedObject, SkipStage, UserError } from "./errors.ts";
import { digestOf } from "./hash.ts";
import { CodeDigester } from "./code_digest.ts";
import { acquireStoreLock } from "./lock.ts";
import { captureEnvironment, type Manifest, type StageRecord, writeManifest } from "./manifest.ts";
import { formatDuration, RunLog } from "./progress.ts";
import { ArtifactStore, type OutputRef } from "./store.ts";
import type { ArtifactSet, NotRun, Stage } from "./stage.ts";

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
}

/** What happened to each stage in a run. */
export interface RunResult {
  manifest: Manifest;
  computed: string[];
  cached: string[];
  notRun: { stage: string; reason: string }[];
  warnings: string[];
}

/** Validated parameters of every stage, or a UserError naming the stage and the field. */
export function validateParams(stages: readonly Stage[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const s of stages) {
    const r = s.schema.safeParse(s.params);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = issue.path.length ? issue.path.join(".") : "(whole)";
      throw new UserError(`invalid parameter for stage '${s.name}': field '${field}': ${issue.message}`);
    }
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
function plan(order: Stage[], opts: RunOptions): { visit: Set<string>; forced: Set<string> } {
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
 * Runs a DAG of stages against an artifact store: each stage whose key is cached is a lookup; others are
 * computed, their outputs stored atomically, then their cache entry written. Holds the store lock
 * throughout; writes the manifest after every stage so an interrupted run is visible and resumable.
 */
export async function runPipeline(stages: readonly Stage[], opts: RunOptions): Promise<RunResult> {
  const order = topoSort(stages);
  const params = validateParams(order);
  const { visit, forced } = plan(order, opts);
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
  // No signal listeners, on purpose: stages compute synchronously (TensorFlow.js), so a listener would only
  // run after the stage ends and Ctrl-C would appear ignored. The default action ends the process at once;
  // that is safe because every write is atomic and the lock of a dead process is taken over. A manifest
  // left in state "running" by a dead process is reported as interrupted (see manifestState).
  const result: RunResult = { manifest, computed: [], cached: [], notRun: [], warnings: store.warnings };
  const records = new Map<string, StageRecord>();
  const t0 = performance.now();
  try {
    const cleaned = await store.cleanTmp();
    if (cleaned) log.say(`removed ${cleaned} leftover temporary file(s) of an interrupted run`);
    log.event({ event: "run-start", runId, stages: order.map((s) => s.name) });
    for (const stage of order) {
      if (!visit.has(stage.name)) continue;
      const rec = await runRepairing(stage, forced.has(stage.name));
      records.set(stage.name, rec);
      manifest.stages.push(rec);
      // A cache hit changes nothing in the store: persisting progress is only needed after real work.
      if (rec.status !== "cached") await writeManifest(opts.storeRoot, manifest);
    }
    manifest.state = "complete";
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
        return await runOne(stage, params.get(stage.name), records, force);
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

  async function recomputeProducer(reader: string, digest: string, depth: number): Promise<void> {
    const producer = [...records.values()].find((r) => Object.values(r.outputs).some((o) => o.digest === digest));
    if (!producer) throw new UserError(`stage '${reader}': input object ${digest} is damaged and no stage of this run produced it`);
    log.say(
      `[${reader}] input ${
        digest.slice(0, 12)
      } (from '${producer.stage}') was damaged and has been removed; recomputing '${producer.stage}'`,
    );
    log.event({ event: "object-damaged", stage: reader, digest, producer: producer.stage });
    if (producer.key) await store.dropRun(producer.key);
    const stage = order.find((s) => s.name === producer.stage)!;
    const rec = await runRepairing(stage, true, depth + 1);
    records.set(stage.name, rec);
    const i = manifest.stages.findIndex((r) => r.stage === stage.name);
    if (i >= 0) manifest.stages[i] = rec;
    result.cached = result.cached.filter((n) => n !== stage.name);
  }

  async function runOne(stage: Stage, p: unknown, done: Map<string, StageRecord>, force: boolean): Promise<StageRecord> {
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
      const up = done.get(dep.stage)!;
      inputs[dep.stage] = inputRecord(up);
      if (up.status === "not-run") {
        if (!dep.optional) {
          const reason = `needs '${dep.stage}', which did not run: ${up.reason}`;
          log.say(`[${stage.name}] not run: ${reason}`);
          log.event({ event: "stage-not-run", stage: stage.name, reason });
          result.notRun.push({ stage: stage.name, reason });
          return { ...base, status: "not-run", inputs, outputs: {}, reason };
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
        return { ...base, status: "cached", key, inputs, outputs: hit.outputs, volatile: volatileOf(hit.outputs), wallMs: hit.wallMs };
      }
    }
    log.say(`[${stage.name}] running${force ? " (forced)" : ""}`);
    log.event({ event: "stage-start", stage: stage.name, key });
    const scratchDir = `${store.tmpDir}/scratch-${key.slice(0, 16)}-${Deno.pid}`;
    await Deno.mkdir(scratchDir, { recursive: true });
    const start = performance.now();
    try {
      const produced = await stage.run({
        params: p,
        inputs: ctxInputs,
        progress: log.progressFor(stage.name),
        log: (ev) => log.event({ stage: stage.name, ...ev }),
        scratchDir,
      });
      const outputs: Record<string, OutputRef> = {};
      for (const [name, bytes] of Object.entries(produced)) outputs[name] = await store.putObject(bytes);
      const wallMs = performance.now() - start;
      await store.writeRun({ key, stage: stage.name, outputs, wallMs, createdAt: new Date().toISOString() });
      log.say(`[${stage.name}] done in ${formatDuration(wallMs / 1000)}`);
      log.event({ event: "stage-end", stage: stage.name, key, wallMs, outputs });
      result.computed.push(stage.name);
      return { ...base, status: "computed", key, inputs, outputs, volatile: volatileOf(outputs), wallMs };
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
      manifest.stages.push({ ...base, status: "failed", key, inputs, outputs: {}, reason: msg });
      if (e instanceof UserError) throw new UserError(`stage '${stage.name}': ${msg}`);
      throw new Error(`stage '${stage.name}' failed: ${msg}`, { cause: e });
    } finally {
      await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
    }
  }
}
