// The state one run shares between its steps (preparing, computing, scheduling, recording), opened with
// the store lock held and closed with the manifest written and the lock released. Passed explicitly to
// every step, so each step says what it reads and writes.
import { ancestors, descendants, resolveStageNames, topoSort } from "../plan/dag.ts";
import { asUserFsError, UserError } from "../errors.ts";
import { type CodeDigest, CodeDigester } from "../plan/code_digest.ts";
import { validateParams } from "../plan/keys.ts";
import { acquireStoreLock, type StoreLock } from "../store/lock.ts";
import { captureEnvironment, type Manifest, type StageRecord, writeManifest } from "../store/manifest.ts";
import { RunLog } from "./progress.ts";
import { ArtifactStore } from "../store/store.ts";
import type { Stage } from "../stage.ts";
import type { StageExecutor } from "./executor.ts";
import type { RunInterrupt } from "./interrupt.ts";

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
   * Watch SIGINT, SIGTERM and SIGHUP for the run (default true): an interruption ends every child, records
   * the run as interrupted and says what it kept and how to resume (pipeline/exec/interrupt.ts).
   */
  signals?: boolean;
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

/** The state of one run, shared by its steps. */
export interface RunContext {
  readonly opts: RunOptions;
  /** Every stage, in topological order. */
  readonly order: Stage[];
  /** The stages this invocation visits (all, or `only` and what they need). */
  readonly visit: Set<string>;
  /** The stages it recomputes even when cached. */
  readonly forced: Set<string>;
  readonly params: Map<string, unknown>;
  /** Each visited stage's code digest, taken as the run opened (see openRun). */
  readonly codeDigests: Map<string, CodeDigest>;
  readonly store: ArtifactStore;
  readonly lock: StoreLock;
  readonly runId: string;
  readonly log: RunLog;
  readonly manifest: Manifest;
  readonly result: RunResult;
  /** Every settled stage's record, by name. */
  readonly records: Map<string, StageRecord>;
  /** The failures of a parallel run (which carries on past them), in the order they happened. */
  readonly failed: { stage: string; error: Error }[];
  /** When the run started (performance.now()). */
  readonly t0: number;
  /** The run's interruption state, set by the runner once its signal watch is up. */
  interrupt?: RunInterrupt;
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
 * Opens a run: validates the stages' parameters, plans what to visit, takes the store lock, opens the run
 * log and digests the code of every stage it visits. The caller must close it (closeRun).
 */
export async function openRun(stages: readonly Stage[], opts: RunOptions): Promise<RunContext> {
  const order = topoSort(stages);
  const params = validateParams(order);
  const { visit, forced } = plan(order, opts);
  const store = new ArtifactStore(opts.storeRoot);
  const lock = await acquireStoreLock(opts.storeRoot, "reproduce");
  const runId = `${new Date().toISOString().replace(/[:.]/g, "-")}-${Deno.pid}`;
  const log = openRunLog(opts, runId, lock);
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
  const result: RunResult = { manifest, computed: [], cached: [], notRun: [], warnings: store.warnings };
  const base = { opts, order, visit, forced, params, codeDigests, store, lock, runId, log, manifest, result };
  return { ...base, records: new Map(), failed: [], t0: performance.now() };
}

/** The run's JSON-lines log; without it the run cannot start (the lock is released again). */
function openRunLog(opts: RunOptions, runId: string, lock: StoreLock): RunLog {
  try {
    Deno.mkdirSync(`${opts.storeRoot}/logs`, { recursive: true });
    return new RunLog(`${opts.storeRoot}/logs/${runId}.jsonl`, opts.quiet);
  } catch (e) {
    lock.release();
    throw asUserFsError(e, `cannot write the run log in ${opts.storeRoot}/logs`);
  }
}

/** Closes a run, whatever its state: the manifest written a last time, the warnings said, the lock released. */
export async function closeRun(ctx: RunContext): Promise<void> {
  const { manifest, log } = ctx;
  manifest.finishedAt = new Date().toISOString();
  await writeManifest(ctx.opts.storeRoot, manifest).catch(() => {});
  for (const w of ctx.store.warnings) log.say(`warning: ${w}`);
  log.event({ event: "run-end", state: manifest.state, wallS: (performance.now() - ctx.t0) / 1000 });
  log.close();
  ctx.lock.release();
}

/** The record of the stage that produced an object in this run (the repair target), or a UserError. */
export function producerOf(ctx: RunContext, reader: string, digest: string): StageRecord {
  const producer = [...ctx.records.values()].find((r) => Object.values(r.outputs).some((o) => o.digest === digest));
  if (!producer) throw new UserError(`stage '${reader}': input object ${digest} is damaged and no stage of this run produced it`);
  ctx.log.say(
    `[${reader}] input ${digest.slice(0, 12)} (from '${producer.stage}') was damaged and has been removed; recomputing '${producer.stage}'`,
  );
  ctx.log.event({ event: "object-damaged", stage: reader, digest, producer: producer.stage });
  return producer;
}
