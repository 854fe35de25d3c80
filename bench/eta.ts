// How good is the run's ETA? Replays recorded runs: at 10%, 25%, 50%, 75% and 90% of each run's wall
// time, the state of the run then (stages settled, running with their elapsed time and progress) is
// rebuilt from its JSON-lines log, and the remaining time is estimated by the new estimator (pipeline/plan/eta.ts:
// the store's earlier runs plus the stages finished so far, simulated on the run's jobs) and by the old
// one (the peer: the mean of the stages finished so far, the stage's time in the previous manifest, the
// work over the jobs), against the time that was actually left.
//
//   deno run -A bench/eta.ts                          # runs configs/smoke.json into a fresh store, replays it
//   deno run -A bench/eta.ts --store DIR [--all]      # replays DIR's latest run (--all: every run in it)
//   options: --config FILE (with no --store), --jobs N (default 2), --run ID (that run only, by id prefix),
//            --declared now (each stage's declared work from this checkout, not as the run recorded it),
//            --explain P (each unsettled stage's estimate, basis and actual time at P% of the run)
//
// The DAG is read from the manifest (each record's inputs name what it needs), so a run recorded by older
// code replays as it ran, and so is how each stage was computed (its record's executor, else read from its
// job: pipeline/plan/eta.ts recordExecutors). Goal (issue 25): within ±30% from 10% of the run on, the
// actual time inside the range; high/low is the range's width, and the last line sums up every point.
import { reproduceInto } from "./_util.ts";
import { parseArgs } from "node:util";
import { declaredWork, EtaModel, formatEtaRange } from "../pipeline/plan/eta.ts";
import type { EtaStage } from "../pipeline/plan/makespan.ts";
import { recordExecutors, type WallRecord, wallRecords } from "../pipeline/plan/wall_history.ts";
import { listManifests, type Manifest } from "../pipeline/store/manifest.ts";
import { formatDuration } from "../pipeline/exec/progress.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    store: { type: "string" },
    config: { type: "string", default: "configs/smoke.json" },
    jobs: { type: "string", default: "2" },
    quick: { type: "boolean" }, // (bench/run_all.ts passes it on; the smoke config is already quick)
    all: { type: "boolean" },
    explain: { type: "string" },
    run: { type: "string" },
    // "now": each stage's declared work from this checkout's stages, not the manifest's record (to price a change of declarations)
    declared: { type: "string" },
  },
});
const POINTS = [0.1, 0.25, 0.5, 0.75, 0.9];

interface Ev {
  t: number;
  event: string;
  stage?: string;
  step?: number;
  total?: number;
  jobs?: number;
}

/** A recorded run: its manifest and its log's events, times in ms since the run started. */
interface Recorded {
  manifest: Manifest;
  events: Ev[];
  jobs: number;
  wallMs: number;
  /** How each computed stage was computed, and how most were: the run's executor. */
  executors: Map<string, string>;
  executor?: string;
}

async function readRun(store: string, manifest: Manifest): Promise<Recorded | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${store}/logs/${manifest.runId}.jsonl`);
  } catch {
    return undefined;
  }
  const raw = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Ev & { t: string });
  const start = raw.find((e) => e.event === "run-start");
  const end = raw.findLast((e) => e.event === "run-end");
  if (!start || !end) return undefined;
  const t0 = Date.parse(start.t);
  const events = raw.map((e) => ({ ...e, t: Date.parse(e.t) - t0 }));
  const executors = recordExecutors(manifest.stages);
  const counts = new Map<string, number>();
  for (const e of executors.values()) counts.set(e, (counts.get(e) ?? 0) + 1);
  const executor = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { manifest, events, jobs: start.jobs ?? 1, wallMs: Date.parse(end.t) - t0, executors, executor };
}

/** The state of a recorded run at time `at`, and the wall times of the stages finished by then, in order. */
function stateAt(run: Recorded, at: number) {
  const settled = new Map<string, string>();
  const starts = new Map<string, number>();
  const progress = new Map<string, number>();
  const finished: { stage: string; ms: number }[] = [];
  for (const e of run.events) {
    if (e.t > at || !e.stage) continue;
    if (e.event === "stage-start") starts.set(e.stage, e.t);
    else if (e.event === "progress" && e.total) progress.set(e.stage, e.step! / e.total);
    else if (e.event === "stage-end") {
      settled.set(e.stage, "computed");
      finished.push({ stage: e.stage, ms: e.t - (starts.get(e.stage) ?? e.t) });
    } else if (e.event === "stage-cached") settled.set(e.stage, "cached");
    else if (e.event === "stage-not-run") settled.set(e.stage, "not-run");
    else if (e.event === "stage-failed") settled.set(e.stage, "failed");
  }
  const running = new Map<string, { elapsedMs: number; fraction?: number }>();
  for (const [s, t] of starts) if (!settled.has(s)) running.set(s, { elapsedMs: at - t, fraction: progress.get(s) });
  return { settled, running, finished };
}

/** The new estimator at time `at`: the store's earlier runs as history, this run's finished stages observed. */
function newEta(run: Recorded, stages: EtaStage[], history: WallRecord[], at: number) {
  const { settled, running, finished } = stateAt(run, at);
  const model = modelAt(run, stages, history, finished);
  return model.remaining({ settled, running, elapsedMs: at }, run.jobs);
}

/** The model as the run had it: its executor, and the stages finished so far observed, each as it was computed. */
function modelAt(run: Recorded, stages: EtaStage[], history: WallRecord[], finished: { stage: string; ms: number }[]): EtaModel {
  const model = new EtaModel(stages, history, { executor: run.executor });
  for (const f of finished) model.observe(f.stage, f.ms, run.executors.get(f.stage));
  return model;
}

/** The old estimator (pipeline/exec/board.ts before issue 25; sequential.ts's for one job). */
function oldEta(run: Recorded, stages: EtaStage[], previous: Map<string, number>, at: number): number {
  const { settled, running, finished } = stateAt(run, at);
  if (run.jobs === 1) {
    const done = settled.size;
    return done ? (at * (stages.length - done)) / done : NaN;
  }
  const computed = finished.map((f) => f.ms);
  const mean = computed.length
    ? computed.reduce((a, b) => a + b, 0) / computed.length
    : [...previous.values()].reduce((a, b) => a + b, 0) / Math.max(1, previous.size);
  const guess = (s: string) => previous.get(s) ?? mean;
  let work = 0, longest = 0;
  for (const [s, r] of running) {
    const left = r.fraction ? (r.elapsedMs * (1 - r.fraction)) / r.fraction : Math.max(0, guess(s) - r.elapsedMs);
    work += left;
    longest = Math.max(longest, left);
  }
  for (const s of stages) if (!settled.has(s.name) && !running.has(s.name)) work += guess(s.name);
  return Math.max(longest, work / run.jobs);
}

/**
 * The run's DAG from its manifest: each record's inputs name the stages it read. What a record does not
 * say (a merge is light, the declared resources of a run recorded before manifests held them) is taken
 * from this checkout's stages of the same name, when the recorded config still builds.
 */
async function dagOf(m: Manifest): Promise<EtaStage[]> {
  const names = new Set(m.stages.map((r) => r.stage));
  const now = new Map<string, { light?: boolean; resources?: { timeMin?: number } }>();
  try {
    const { ExperimentConfig } = await import("../stages/config.ts");
    const { buildStages } = await import("../stages/registry.ts");
    for (const s of buildStages(ExperimentConfig.parse(m.config))) now.set(s.name, s);
  } catch (e) {
    console.log(`(the recorded config does not build with this checkout: ${(e as Error).message.split("\n")[0]}; the manifest alone)`);
  }
  const recorded = (r: Manifest["stages"][number]) => (values.declared === "now" ? undefined : r.work);
  return m.stages.map((r) => ({
    name: r.stage,
    deps: Object.keys(r.inputs).filter((d) => names.has(d)).map((stage) => ({ stage })),
    work: recorded(r) ?? declaredWork(now.get(r.stage) ?? {}),
    timeMin: recorded(r) ?? declaredWork(now.get(r.stage) ?? {}),
    light: now.get(r.stage)?.light,
  }));
}

/** Each stage not yet settled at `p` of the run: its estimate, the basis, and what it actually took. */
function explain(run: Recorded, stages: EtaStage[], history: WallRecord[], p: number): void {
  const at = p * run.wallMs;
  const { settled, running, finished } = stateAt(run, at);
  const model = modelAt(run, stages, history, finished);
  const took = stateAt(run, run.wallMs).finished;
  const speeds = [...new Set(history.map((h) => h.executor ?? ""))].map((r) => {
    const b = model.speedBand(r);
    return `${r || "?"} ${b.speed.toFixed(2)} [${b.low.toFixed(2)}, ${b.high.toFixed(2)}]`;
  });
  console.log(`at ${p * 100}%: speed against the records of each executor: ${speeds.join("; ")}`);
  console.log("stage, basis, estimate, actual (running: elapsed)");
  for (const s of stages) {
    if (settled.has(s.name)) continue;
    const e = model.estimate(s.name);
    const actual = took.find((f) => f.stage === s.name)?.ms;
    const r = running.get(s.name);
    console.log(
      `  ${s.name} ${e.basis} ${formatDuration(e.ms / 1000)} [${formatDuration(e.lowMs / 1000)}, ${formatDuration(e.highMs / 1000)}] ` +
        `actual ${actual === undefined ? "?" : formatDuration(actual / 1000)}${
          r ? ` (running ${formatDuration(r.elapsedMs / 1000)})` : ""
        }`,
    );
  }
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(0)}%`;

async function replay(store: string, all: boolean): Promise<void> {
  const manifests = (await listManifests(store)).map((x) => x.manifest);
  const targets = values.run ? manifests.filter((m) => m.runId.startsWith(values.run!)) : all ? manifests : manifests.slice(-1);
  let points = 0, inside = 0;
  const errors: number[] = [], widths: number[] = [];
  for (const m of targets) {
    const run = await readRun(store, m);
    if (!run) {
      console.log(`run ${m.runId}: no complete log, skipped`);
      continue;
    }
    const earlier = manifests.filter((x) => x.startedAt < m.startedAt);
    const history: WallRecord[] = earlier.flatMap((x) => wallRecords(x.stages));
    const previous = new Map<string, number>();
    for (const r of earlier.at(-1)?.stages ?? []) if (typeof r.wallMs === "number") previous.set(r.stage, r.wallMs);
    const stages = await dagOf(m);
    const computed = m.stages.filter((r) => r.status === "computed").length;
    const regimes = new Map<string, number>();
    for (const h of history) regimes.set(h.executor ?? "?", (regimes.get(h.executor ?? "?") ?? 0) + 1);
    console.log(
      `\nrun ${m.runId} (${m.configPath ?? "?"}): ${formatDuration(run.wallMs / 1000)}, --jobs ${run.jobs}, ${m.stages.length} stages ` +
        `(${computed} computed, executor ${run.executor ?? "?"}); history: ${earlier.length} earlier run(s), ${history.length} recorded ` +
        `stage times (${[...regimes].map(([k, n]) => `${n} ${k}`).join(", ")})`,
    );
    console.log("| at  | actually left | old ETA (error) | new ETA point (error) | new range       | high/low | actual in range |");
    console.log("| --- | ------------- | --------------- | --------------------- | --------------- | -------- | --------------- |");
    if (values.explain) explain(run, stages, history, Number(values.explain) / 100);
    for (const p of POINTS) {
      const at = p * run.wallMs;
      const actual = run.wallMs - at;
      const old = oldEta(run, stages, previous, at);
      const nu = newEta(run, stages, history, at);
      const inRange = actual >= nu.lowMs && actual <= nu.highMs;
      points++;
      if (inRange) inside++;
      errors.push(Math.abs(nu.ms / actual - 1));
      if (nu.lowMs > 0) widths.push(nu.highMs / nu.lowMs);
      console.log(
        `| ${String(p * 100).padStart(2)}% | ${formatDuration(actual / 1000).padEnd(13)} | ` +
          `${`${formatDuration(old / 1000)} (${pct(old / actual - 1)})`.padEnd(15)} | ` +
          `${`${formatDuration(nu.ms / 1000)} (${pct(nu.ms / actual - 1)})`.padEnd(21)} | ${
            formatEtaRange(nu.lowMs, nu.highMs).padEnd(15)
          } | ${`×${(nu.highMs / nu.lowMs).toFixed(2)}`.padEnd(8)} | ` +
          `${(inRange ? "yes" : "no").padEnd(15)} |`,
      );
    }
  }
  if (points > 1) {
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
      `\nin range at ${inside} of ${points} points; median |error| ${(100 * mid(errors)).toFixed(0)}%; ` +
        `median high/low ×${mid(widths).toFixed(2)} (of the ${widths.length} ranges that do not start at 0)`,
    );
  }
}

let store = values.store;
let made: string | undefined;
if (!store) {
  made = store = Deno.makeTempDirSync({ prefix: "hpo-bench-eta-" });
  console.log(`bench/eta: running ${values.config} with --jobs ${values.jobs} into ${store} (about a minute or two)`);
  await reproduceInto({ config: values.config!, store, jobs: values.jobs! });
}
try {
  console.log(`bench/eta: the ETA's error on recorded runs of ${store} (load average ${Deno.readTextFileSync("/proc/loadavg").trim()})`);
  await replay(store, !!values.all);
} finally {
  if (made) Deno.removeSync(made, { recursive: true });
}
