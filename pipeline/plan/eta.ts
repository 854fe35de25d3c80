// Remaining-time estimates for a run, and the order the parallel scheduler starts stages in.
//
// Each stage's duration comes from the recorded wall times of earlier runs in this store (the stage
// itself, else its family: the name with its numeric segments generalised, else its kind: the first
// segment), scaled by the declared work, corrected by how fast this machine runs now (the stages finished
// in this run against what the history predicted for them), then from the declared resources, then a
// default. The run's remaining time is a list-scheduling simulation of the remaining DAG on the run's
// workers, started in the order the scheduler uses (longest remaining critical path first, as Snakemake
// and HEFT do), once with the low, the point and the high durations: a range. Pure: no I/O here but
// `readWallHistory`.
import { listManifests } from "../store/manifest.ts";

/** What the estimator needs of a stage. */
export interface EtaStage {
  name: string;
  deps: readonly { stage: string; optional?: boolean }[];
  /** Declared work, in a unit shared by a family (see declaredWork): recorded durations scale with it. */
  work?: number;
  /** Declared time limit (resources.timeMin, minutes, with a margin): the estimate when nothing was recorded. */
  timeMin?: number;
  /** Computed in the scheduling process, without a job slot (a merge). */
  light?: boolean;
}

/** One recorded wall time of a computed stage. */
export interface WallRecord {
  stage: string;
  wallMs: number;
  work?: number;
}

/** Where an estimate came from, most trusted first. */
export type EtaBasis = "stage" | "family" | "kind" | "resources" | "default";

/** One stage's estimated duration, with a range. */
export interface StageEstimate {
  ms: number;
  lowMs: number;
  highMs: number;
  basis: EtaBasis;
}

/** A run's state as the estimator reads it. */
export interface RunState {
  /** Settled stages by status ("computed", "cached", "not-run", "failed", "pending"). */
  settled: ReadonlyMap<string, string>;
  /** Running stages: time since they started and, if they report it, the fraction done. */
  running: ReadonlyMap<string, { elapsedMs: number; fraction?: number }>;
}

/** Remaining time of a run, with a range. */
export interface Remaining {
  ms: number;
  lowMs: number;
  highMs: number;
}

/** The resources' time limits carry a margin of about 3× (stages/_resources.ts): the uncalibrated guess. */
const RESOURCE_MARGIN = 3;
const DEFAULT_MS = 10_000;
const LIGHT_MS = 200;
/** How many of the latest samples a family's estimate and the machine's speed are taken from. */
const RECENT = 8;

/**
 * The family of a stage: its name with every numeric segment (a seed, a run number) generalised, so that
 * the seeds of one unit share their history.
 *
 * @example
 * ```ts
 * stageFamily("search-seed:mnist:long:grid:3"); // "search-seed:mnist:long:grid:#"
 * ```
 */
export function stageFamily(name: string): string {
  return name.split(":").map((seg) => (/^\d+$/.test(seg) ? "#" : seg)).join(":");
}

/** The kind of a stage: its first name segment with the number of segments ("search-seed/5"). */
export function stageKind(name: string): string {
  const segs = name.split(":");
  return `${segs[0]}/${segs.length}`;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

interface Sample {
  wallMs: number;
  work?: number;
  /** Recorded in an earlier run (scaled by the machine's current speed) or observed in this one. */
  past: boolean;
}

/**
 * Estimates stage durations from a store's history and what this run has finished, and the remaining
 * time of a run by simulating the scheduler.
 */
export class EtaModel {
  readonly #stages = new Map<string, EtaStage>();
  readonly #children = new Map<string, string[]>();
  readonly #byStage = new Map<string, Sample[]>();
  readonly #byFamily = new Map<string, Sample[]>();
  readonly #byKind = new Map<string, Sample[]>();
  /** This run's wall time over the history's prediction, per stage finished: how fast the machine is now. */
  readonly #ratios: number[] = [];
  #priorities?: Map<string, number>;

  constructor(stages: readonly EtaStage[], history: readonly WallRecord[] = []) {
    for (const s of stages) {
      this.#stages.set(s.name, s);
      this.#children.set(s.name, []);
    }
    for (const s of stages) for (const d of s.deps) this.#children.get(d.stage)?.push(s.name);
    for (const r of history) this.#add(r.stage, { wallMs: r.wallMs, work: r.work, past: true });
  }

  #add(stage: string, sample: Sample): void {
    if (!(sample.wallMs >= 0) || !Number.isFinite(sample.wallMs)) return;
    for (const [map, k] of [[this.#byStage, stage], [this.#byFamily, stageFamily(stage)], [this.#byKind, stageKind(stage)]] as const) {
      const list = map.get(k) ?? [];
      list.push(sample);
      map.set(k, list);
    }
    this.#priorities = undefined;
  }

  /** A stage of this run finished computing in `wallMs`: it sharpens its family's estimates and the machine's speed. */
  observe(stage: string, wallMs: number): void {
    const before = this.#fromSamples(stage, true);
    if (before && before.ms > 0 && wallMs > 0) this.#ratios.push(wallMs / before.ms);
    const work = this.#stages.get(stage)?.work;
    this.#add(stage, { wallMs, work, past: false });
  }

  /** How much slower (> 1) or faster this run computes than the history says: the median ratio, clamped. */
  speed(): number {
    if (!this.#ratios.length) return 1;
    // the latest stages only: a machine's load changes during a long run
    return Math.min(4, Math.max(0.25, median(this.#ratios.slice(-RECENT))));
  }

  /** A sample's wall time for a stage with `work`: scaled by work when both declare it, by speed when it is past. */
  #scaled(s: Sample, work: number | undefined, speed: number): number {
    const byWork = work !== undefined && s.work !== undefined && s.work > 0 ? (s.wallMs * work) / s.work : s.wallMs;
    return s.past ? byWork * speed : byWork;
  }

  /** The estimate from recorded samples (stage, family, kind), or undefined. */
  #fromSamples(name: string, pastOnly = false): StageEstimate | undefined {
    const work = this.#stages.get(name)?.work;
    const speed = pastOnly ? 1 : this.speed();
    const levels: [EtaBasis, Sample[] | undefined, number, number][] = [
      ["stage", this.#byStage.get(name), 0.85, 1.25],
      ["family", this.#byFamily.get(stageFamily(name)), 0.8, 1.3],
      ["kind", this.#byKind.get(stageKind(name)), 0.6, 1.7],
    ];
    for (const [basis, all, lo, hi] of levels) {
      const samples = (all ?? []).filter((s) => !pastOnly || s.past);
      if (!samples.length) continue;
      // the stage itself: its latest time (as Ninja does)
      if (basis === "stage") {
        const ms = this.#scaled(samples[samples.length - 1], work, speed);
        return { ms, lowMs: ms * lo, highMs: ms * hi, basis };
      }
      // the family's latest members (the machine's load drifts), their median and spread
      const xs = samples.slice(-RECENT).map((s) => this.#scaled(s, work, speed)).sort((a, b) => a - b);
      const ms = quantile(xs, 0.5);
      return { ms, lowMs: Math.min(quantile(xs, 0.25), ms * lo), highMs: Math.max(quantile(xs, 0.75), ms * hi), basis };
    }
    return undefined;
  }

  /** Minutes of declared time limit to milliseconds of expected wall time, calibrated on the stages with both. */
  #resourceScale(): number {
    const ratios: number[] = [];
    const speed = this.speed();
    for (const [name, samples] of this.#byStage) {
      const t = this.#stages.get(name)?.timeMin;
      if (t && samples.length) ratios.push(this.#scaled(samples[samples.length - 1], undefined, speed) / (t * 60_000));
    }
    return ratios.length ? median(ratios) : 1 / RESOURCE_MARGIN;
  }

  /** The estimated duration of one stage. */
  estimate(name: string): StageEstimate {
    const fromSamples = this.#fromSamples(name);
    if (fromSamples) return fromSamples;
    const s = this.#stages.get(name);
    if (s?.light) return { ms: LIGHT_MS, lowMs: LIGHT_MS / 4, highMs: LIGHT_MS * 5, basis: "default" };
    if (s?.timeMin) {
      const ms = s.timeMin * 60_000 * this.#resourceScale();
      return { ms, lowMs: ms / 2, highMs: ms * 2, basis: "resources" };
    }
    const all = [...this.#byStage.values()].flatMap((xs) => xs.map((x) => x.wallMs));
    const ms = all.length ? median(all) : DEFAULT_MS;
    return { ms, lowMs: ms * 0.3, highMs: ms * 3, basis: "default" };
  }

  /**
   * Each stage's remaining critical path: its own estimated duration plus the longest such path among the
   * stages that need it. The scheduler starts the ready stage with the largest first.
   */
  priorities(): Map<string, number> {
    if (this.#priorities) return this.#priorities;
    const out = new Map<string, number>();
    const visit = (n: string): number => {
      const known = out.get(n);
      if (known !== undefined) return known;
      let tail = 0;
      for (const c of this.#children.get(n) ?? []) tail = Math.max(tail, visit(c));
      const v = this.estimate(n).ms + tail;
      out.set(n, v);
      return v;
    };
    for (const n of [...this.#stages.keys()].reverse()) visit(n);
    this.#priorities = out;
    return out;
  }

  /** The remaining time of a run on `jobs` workers: the simulated makespan with low, point and high durations. */
  remaining(state: RunState, jobs: number): Remaining {
    const prio = this.priorities();
    const run = (pick: "lowMs" | "ms" | "highMs") => {
      const running = new Map<string, number>();
      for (const [name, r] of state.running) running.set(name, this.#runningLeft(name, r)[pick]);
      return simulateMakespan({
        stages: [...this.#stages.values()],
        duration: (n) => this.estimate(n)[pick],
        settled: state.settled,
        running,
        jobs,
        priority: (n) => prio.get(n) ?? 0,
      });
    };
    const ms = run("ms");
    return { ms, lowMs: Math.min(ms, run("lowMs")), highMs: Math.max(ms, run("highMs")) };
  }

  /** A running stage's time left: from its estimate less what it has run, blended with its own progress rate. */
  #runningLeft(name: string, r: { elapsedMs: number; fraction?: number }): Remaining {
    const e = this.estimate(name);
    const t = r.elapsedMs;
    // past its estimate: it is slower than recorded, and how much slower is unknown
    const fromEst = { ms: Math.max(e.ms - t, 0.1 * t), lowMs: Math.max(e.lowMs - t, 0), highMs: Math.max(e.highMs - t, 0.5 * t) };
    const f = r.fraction;
    if (f === undefined || !(f > 0) || f > 1) return fromEst;
    // the stage's own rate: trusted in proportion to how far it has gone
    const rate = (t * (1 - f)) / f;
    const mix = (x: number) => f * rate + (1 - f) * x;
    const ms = mix(fromEst.ms);
    return { ms, lowMs: Math.min(ms, mix(fromEst.lowMs)), highMs: Math.max(ms, mix(fromEst.highMs)) };
  }
}

/** What `simulateMakespan` schedules. */
export interface Simulation {
  stages: readonly EtaStage[];
  duration: (name: string) => number;
  /** Settled stages by status: they take no time; a stage that needs a not-run, failed or pending one never runs. */
  settled: ReadonlyMap<string, string>;
  /** Running stages and their time left: each holds a worker (a light one holds none) until then. */
  running: ReadonlyMap<string, number>;
  jobs: number;
  /** Larger starts first among the ready stages. */
  priority: (name: string) => number;
}

/**
 * The makespan of list scheduling: whenever a worker is free, the ready stage of highest priority starts
 * on it. Light stages run beside the workers without holding one. Stages that cannot run (they need one
 * that did not run or failed) take no time, as in the runner.
 *
 * @example
 * ```ts
 * const stages = [{ name: "a", deps: [] }, { name: "b", deps: [] }, { name: "c", deps: [{ stage: "a" }] }];
 * const d = new Map([["a", 3], ["b", 2], ["c", 4]]);
 * simulateMakespan({ stages, duration: (n) => d.get(n)!, settled: new Map(), running: new Map(), jobs: 2, priority: (n) => n === "b" ? 2 : 7 });
 * // 7: a then c on one worker, b on the other
 * ```
 */
export function simulateMakespan(sim: Simulation): number {
  const { stages, settled, running } = sim;
  const jobs = Math.max(1, Math.floor(sim.jobs));
  const done = new Map<string, "ok" | "dead">();
  for (const [n, st] of settled) done.set(n, st === "computed" || st === "cached" ? "ok" : "dead");
  const light = new Set(stages.filter((s) => s.light).map((s) => s.name));
  /** finish time → stages: the event queue (small: a linear scan for the minimum is enough). */
  const busy: { name: string; at: number; slot: boolean }[] = [];
  for (const [n, left] of running) busy.push({ name: n, at: Math.max(0, left), slot: !light.has(n) });
  const waiting = new Set(stages.map((s) => s.name).filter((n) => !done.has(n) && !running.has(n)));
  const byName = new Map(stages.map((s) => [s.name, s]));
  let t = 0;
  let end = 0;
  for (;;) {
    // settle what needs no time, start what is ready (by priority) while a worker is free
    for (let changed = true; changed;) {
      changed = false;
      const ready: string[] = [];
      for (const n of waiting) {
        const s = byName.get(n)!;
        if (!s.deps.every((d) => done.has(d.stage))) continue;
        if (s.deps.some((d) => !d.optional && done.get(d.stage) === "dead")) {
          waiting.delete(n);
          done.set(n, "dead");
          changed = true;
        } else ready.push(n);
      }
      ready.sort((a, b) => sim.priority(b) - sim.priority(a));
      for (const n of ready) {
        const slot = !light.has(n);
        if (slot && busy.filter((b) => b.slot).length >= jobs) continue;
        waiting.delete(n);
        busy.push({ name: n, at: t + Math.max(0, sim.duration(n)), slot });
        changed = true;
      }
    }
    if (!busy.length) break;
    let i = 0;
    for (let k = 1; k < busy.length; k++) if (busy[k].at < busy[i].at) i = k;
    const [next] = busy.splice(i, 1);
    t = next.at;
    end = Math.max(end, t);
    done.set(next.name, "ok");
  }
  return end;
}

/**
 * The recorded wall times of computed stages in a store's run manifests, oldest first (the most recent
 * `maxRuns` runs; default 20). A store with no readable manifest has none.
 */
export async function readWallHistory(storeRoot: string, maxRuns = 20): Promise<WallRecord[]> {
  let manifests: Awaited<ReturnType<typeof listManifests>>;
  try {
    manifests = await listManifests(storeRoot);
  } catch {
    return [];
  }
  const out: WallRecord[] = [];
  for (const { manifest } of manifests.slice(-maxRuns)) {
    for (const r of manifest.stages) {
      if (r.status === "computed" && typeof r.wallMs === "number") out.push({ stage: r.stage, wallMs: r.wallMs, work: r.work });
    }
  }
  return out;
}

/**
 * A remaining-time range as a person plans by: "20-35 s", "12-16 min", "1.2-1.6 h" (one figure when both
 * ends round alike).
 */
export function formatEtaRange(lowMs: number, highMs: number): string {
  if (!Number.isFinite(lowMs) || !Number.isFinite(highMs) || lowMs < 0 || highMs < lowMs) return "?";
  const hi = highMs / 1000;
  const [unit, div, digits] = hi < 90 ? ["s", 1, 0] : hi < 90 * 60 ? ["min", 60, 0] : ["h", 3600, 1];
  const a = ((lowMs / 1000) / div).toFixed(digits), b = (hi / div).toFixed(digits);
  return a === b ? `~${a} ${unit}` : `${a}-${b} ${unit}`;
}

/**
 * A stage's declared work: its declared time limit (`resources.timeMin`), which the experiment scales by
 * the training the stage does (stages/_resources.ts: base + per epoch × epochs), so that the members of a
 * family with different budgets scale against each other. Recorded in the manifest with each stage.
 */
export function declaredWork(stage: { resources?: { timeMin?: number } }): number | undefined {
  const t = stage.resources?.timeMin;
  return typeof t === "number" && t > 0 && Number.isFinite(t) ? t : undefined;
}

/**
 * The model of one run: the stages it visits (dependencies on stages it does not visit left out, as they
 * are settled before it starts), their declared work and resources, and the store's recorded history.
 */
export async function etaModelForRun(
  stages: readonly {
    name: string;
    deps: readonly { stage: string; optional?: boolean }[];
    light?: boolean;
    resources?: { timeMin?: number };
  }[],
  visit: ReadonlySet<string>,
  storeRoot: string,
): Promise<EtaModel> {
  const visited = stages.filter((s) => visit.has(s.name)).map((s): EtaStage => ({
    name: s.name,
    deps: s.deps.filter((d) => visit.has(d.stage)),
    work: declaredWork(s),
    timeMin: declaredWork(s),
    light: s.light,
  }));
  return new EtaModel(visited, await readWallHistory(storeRoot));
}
