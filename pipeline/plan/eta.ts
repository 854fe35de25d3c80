// Remaining-time estimates for a run, and the order the parallel scheduler starts stages in.
//
// Each stage's duration comes from the recorded wall times of earlier runs in this store (the stage
// itself, else its family: the name with its numeric segments generalised, else its kind: the first
// segment), scaled by the declared work, corrected by how fast this run computes (the stages finished in
// this run against what the history predicted for them, a speed per executor the records were made by:
// a warm worker, a fresh process, the run's own process, Slurm), then from the declared resources, then a
// default. The run's remaining time is a list-scheduling simulation of the remaining DAG on the run's
// workers, started in the order the scheduler uses (longest remaining critical path first, as Snakemake
// and HEFT do). Its range combines each stage's spread with the confidence band of the speed, which the
// families finished so far give (see `speedBand`). Pure: the simulation is makespan.ts, the history
// wall_history.ts.
import { type EtaStage, simulateMakespan } from "./makespan.ts";
import { readWallHistory, type WallRecord } from "./wall_history.ts";

/** What the estimator knows of the run beyond its stages and history. */
export interface EtaOptions {
  /** How this run computes its stages (as in WallRecord.executor); undefined matches history without one. */
  executor?: string;
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
  /** Time since the run started: with the stages observed, how busy its job slots have actually been. */
  elapsedMs?: number;
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
/** The idle correction (see #idleFactor) waits for this many computed stages and this much run time, and is capped. */
const MIN_BUSY_STAGES = 20;
const MIN_BUSY_ELAPSED_MS = 60_000;
const MAX_IDLE_FACTOR = 1.25;
const LIGHT_MS = 200;
/** How many of the latest samples a family's estimate and the machine's speed are taken from. */
const RECENT = 8;
/**
 * The speed's band before 5 families of this run have finished: ×/÷ 1.5 against records of this run's
 * executor (a family's code changes between runs: in one store a family took 1.5× longer one run to the
 * next), ×/÷ 2 against another executor's (that, and a fresh process per stage took 1.6× a worker's
 * time on the same units).
 */
const SAME_REGIME_SPREAD = 1.5;
const OTHER_REGIME_SPREAD = 2;
/** How many of this run's latest families the machine's speed is taken from. */
const SPEED_FAMILIES = 12;
/** Student's t, one-sided 95%, by degrees of freedom 1, 2, …, 11 and more: the 90% band of a speed. */
const T95 = [6.31, 2.92, 2.35, 2.13, 2.02, 1.94, 1.89, 1.86, 1.83, 1.81, 1.8];

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
  /** The speed regime it was recorded in (an executor, "" unknown); undefined: this run's own stage, taken as it is. */
  regime?: string;
}

/** The speed of each regime of the history: its point, or one end of its confidence band. */
type Speeds = (regime: string) => number;

/** A speed and its confidence band: how much slower (> 1) or faster this run computes than the records say. */
export interface SpeedBand {
  speed: number;
  low: number;
  high: number;
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
  /** How this run computes its stages: the regime its own observations belong to. */
  readonly #executor: string;
  /** Wall time of the slot-holding stages this run has computed, and how many. */
  #busyMs = 0;
  #busyCount = 0;
  /** Per regime of the history: this run's wall times over what that regime's records predicted, in order. */
  readonly #ratios = new Map<string, { family: string; predMs: number; wallMs: number }[]>();
  #priorities?: Map<string, number>;

  constructor(stages: readonly EtaStage[], history: readonly WallRecord[] = [], options: EtaOptions = {}) {
    this.#executor = options.executor ?? "";
    for (const s of stages) {
      this.#stages.set(s.name, s);
      this.#children.set(s.name, []);
    }
    for (const s of stages) for (const d of s.deps) this.#children.get(d.stage)?.push(s.name);
    for (const r of history) this.#add(r.stage, { wallMs: r.wallMs, work: r.work, regime: r.executor ?? "" });
  }

  #add(stage: string, sample: Sample): void {
    if (!(sample.wallMs >= 0) || !Number.isFinite(sample.wallMs)) return;
    for (const [map, k] of [[this.#byStage, stage], [this.#byFamily, stageFamily(stage)], [this.#byKind, stageKind(stage)]] as const) {
      const list = map.get(k) ?? [];
      list.push(sample);
      map.set(k, list);
    }
    if (sample.regime !== undefined && !this.#ratios.has(sample.regime)) this.#ratios.set(sample.regime, []);
    this.#priorities = undefined;
  }

  /**
   * A stage of this run finished computing in `wallMs`: it sharpens its family's estimates and, against
   * each regime's records, that regime's speed. One computed another way than the run's stages
   * (`executor`: e.g. "inline", in the scheduling process) is a record of that regime and teaches no speed.
   */
  observe(stage: string, wallMs: number, executor?: string): void {
    const work = this.#stages.get(stage)?.work;
    if (!this.#stages.get(stage)?.light && wallMs > 0 && Number.isFinite(wallMs)) {
      this.#busyMs += wallMs;
      this.#busyCount++;
    }
    if (executor !== undefined && executor !== this.#executor) {
      this.#add(stage, { wallMs, work, regime: executor });
      return;
    }
    if (wallMs > 0 && Number.isFinite(wallMs)) {
      for (const [regime, ratios] of this.#ratios) {
        const before = this.#fromSamples(stage, { only: regime });
        // a kind's other families are too unlike this stage to tell the machine's speed by
        if (before && before.ms > 0 && before.basis !== "kind") ratios.push({ family: stageFamily(stage), predMs: before.ms, wallMs });
      }
    }
    this.#add(stage, { wallMs, work });
  }

  /** How much slower (> 1) or faster this run computes than the records of `regime` (default: this run's executor) say. */
  speed(regime: string = this.#executor): number {
    return this.speedBand(regime).speed;
  }

  /**
   * The speed against `regime`'s records (default: this run's executor's), with a 90% confidence band:
   * the ratio of this run's wall times to what those records predicted, summed over the stages of the
   * latest families (each ratio clamped to ¼-4: one absurd stage does not make the ETA absurd). A family's
   * stages share its error (its code changed, it runs cold in a fresh process), so the band is the ratio
   * estimator's with families as clusters, from Student's t. Before 5 families have finished, it is at least
   * ×/÷ 1.5 (×/÷ 2 against another executor's records); with none, the speed is 1.
   */
  speedBand(regime: string = this.#executor): SpeedBand {
    const clamp = (x: number) => Math.min(4, Math.max(0.25, x));
    const prior = regime === this.#executor ? SAME_REGIME_SPREAD : OTHER_REGIME_SPREAD;
    // the latest families only, each by its latest stages: a machine's load drifts during a long run
    const families = new Map<string, { wall: number; pred: number; n: number }>();
    const ratios = this.#ratios.get(regime) ?? [];
    for (let i = ratios.length - 1; i >= 0; i--) {
      const r = ratios[i];
      const f = families.get(r.family) ?? { wall: 0, pred: 0, n: 0 };
      if (!families.has(r.family) && families.size >= SPEED_FAMILIES) break;
      if (f.n < RECENT) {
        f.wall += r.predMs * clamp(r.wallMs / r.predMs);
        f.pred += r.predMs;
        f.n++;
      }
      families.set(r.family, f);
    }
    const fs = [...families.values()], n = fs.length;
    if (!n) return { speed: 1, low: 1 / prior, high: prior };
    const pred = fs.reduce((a, f) => a + f.pred, 0);
    const ratio = fs.reduce((a, f) => a + f.wall, 0) / pred;
    let low = ratio, high = ratio;
    if (n >= 2) {
      const se = Math.sqrt(fs.reduce((a, f) => a + (f.wall - ratio * f.pred) ** 2, 0) / (n * (n - 1))) / (pred / n);
      const w = Math.exp((T95[Math.min(n - 2, T95.length - 1)] * se) / ratio);
      [low, high] = [ratio / w, ratio * w];
    }
    if (n < 5) [low, high] = [Math.min(low, ratio / prior), Math.max(high, ratio * prior)];
    return { speed: clamp(ratio), low: clamp(low), high: clamp(high) };
  }

  /** Each regime's speed, or one end of its band, memoised for one estimate of the run. */
  #speeds(which: keyof SpeedBand): Speeds {
    const memo = new Map<string, number>();
    return (regime) => {
      let v = memo.get(regime);
      if (v === undefined) memo.set(regime, v = this.speedBand(regime)[which]);
      return v;
    };
  }

  /** A sample's wall time for a stage with `work`: scaled by work when both declare it, by its regime's speed when recorded. */
  #scaled(s: Sample, work: number | undefined, speeds: Speeds): number {
    const byWork = work !== undefined && s.work !== undefined && s.work > 0 ? (s.wallMs * work) / s.work : s.wallMs;
    return s.regime === undefined ? byWork : byWork * speeds(s.regime);
  }

  /** The estimate from recorded samples (stage, family, kind), or undefined; `only`: that regime's records, unscaled. */
  #fromSamples(name: string, o: { only?: string; speeds?: Speeds } = {}): StageEstimate | undefined {
    const work = this.#stages.get(name)?.work;
    const speeds = o.only !== undefined ? () => 1 : o.speeds ?? this.#speeds("speed");
    const levels: [EtaBasis, Sample[] | undefined, number, number][] = [
      ["stage", this.#byStage.get(name), 0.85, 1.25],
      ["family", this.#byFamily.get(stageFamily(name)), 0.8, 1.3],
      ["kind", this.#byKind.get(stageKind(name)), 0.6, 1.7],
    ];
    for (const [basis, all, lo, hi] of levels) {
      const samples = (all ?? []).filter((s) => o.only === undefined || s.regime === o.only);
      if (!samples.length) continue;
      // the stage itself: its latest time (as Ninja does)
      if (basis === "stage") {
        const ms = this.#scaled(samples[samples.length - 1], work, speeds);
        return { ms, lowMs: ms * lo, highMs: ms * hi, basis };
      }
      // the family's latest members (the machine's load drifts), their median and spread
      const xs = samples.slice(-RECENT).map((s) => this.#scaled(s, work, speeds)).sort((a, b) => a - b);
      const ms = quantile(xs, 0.5);
      return { ms, lowMs: Math.min(quantile(xs, 0.25), ms * lo), highMs: Math.max(quantile(xs, 0.75), ms * hi), basis };
    }
    return undefined;
  }

  /** Minutes of declared time limit to milliseconds of expected wall time, calibrated on the stages with both. */
  #resourceScale(speeds: Speeds): number {
    const ratios: number[] = [];
    for (const [name, samples] of this.#byStage) {
      const t = this.#stages.get(name)?.timeMin;
      if (t && samples.length) ratios.push(this.#scaled(samples[samples.length - 1], undefined, speeds) / (t * 60_000));
    }
    return ratios.length ? median(ratios) : 1 / RESOURCE_MARGIN;
  }

  /** The estimated duration of one stage. */
  estimate(name: string): StageEstimate {
    return this.#estimate(name, this.#speeds("speed"));
  }

  #estimate(name: string, speeds: Speeds): StageEstimate {
    const fromSamples = this.#fromSamples(name, { speeds });
    if (fromSamples) return fromSamples;
    const s = this.#stages.get(name);
    if (s?.light) return { ms: LIGHT_MS, lowMs: LIGHT_MS / 4, highMs: LIGHT_MS * 5, basis: "default" };
    if (s?.timeMin) {
      const ms = s.timeMin * 60_000 * this.#resourceScale(speeds);
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
    const speeds = this.#speeds("speed");
    const visit = (n: string): number => {
      const known = out.get(n);
      if (known !== undefined) return known;
      let tail = 0;
      for (const c of this.#children.get(n) ?? []) tail = Math.max(tail, visit(c));
      const v = this.#estimate(n, speeds).ms + tail;
      out.set(n, v);
      return v;
    };
    for (const n of [...this.#stages.keys()].reverse()) visit(n);
    this.#priorities = out;
    return out;
  }

  /**
   * The remaining time of a run on `jobs` workers: the simulated makespan with the point durations, and a
   * range from two independent sources of error whose log-widths add in quadrature: each stage's own
   * spread (every stage at its low, then its high estimate) and the machine's speed (every record scaled
   * by either end of its speed's confidence band), which no number of stages averages out.
   */
  remaining(state: RunState, jobs: number): Remaining {
    const prio = this.priorities();
    const run = (pick: "lowMs" | "ms" | "highMs", speeds: Speeds) => {
      const running = new Map<string, number>();
      for (const [name, r] of state.running) running.set(name, this.#runningLeft(name, r, speeds)[pick]);
      return simulateMakespan({
        stages: [...this.#stages.values()],
        duration: (n) => this.#estimate(n, speeds)[pick],
        settled: state.settled,
        running,
        jobs,
        priority: (n) => prio.get(n) ?? 0,
      });
    };
    const point = this.#speeds("speed");
    const idle = this.#idleFactor(state, jobs);
    const ms = run("ms", point) * idle;
    const spreadLow = run("lowMs", point) * idle, spreadHigh = run("highMs", point) * idle;
    const fast = run("ms", this.#speeds("low")) * idle, slow = run("ms", this.#speeds("high")) * idle;
    if (!(ms > 0)) return { ms: 0, lowMs: 0, highMs: Math.max(0, spreadHigh, slow) };
    const width = (a: number, b: number) => Math.hypot(Math.log(a / ms), Math.log(b / ms));
    return {
      ms,
      lowMs: Math.min(ms, ms * Math.exp(-width(Math.min(ms, spreadLow), Math.min(ms, fast)))),
      highMs: Math.max(ms, ms * Math.exp(width(Math.max(ms, spreadHigh), Math.max(ms, slow)))),
    };
  }

  /**
   * How much longer than the simulation the rest of the run will take because job slots sit idle between
   * stages (dispatch, the scheduling process's own work, a worker's restart), which the simulation counts
   * as zero: the run's slot time so far over the time its stages held slots, from 1 to MAX_IDLE_FACTOR. Only
   * once enough stages were computed in a run long enough to tell; a run limited by its DAG (fewer ready
   * stages than slots) would read as idle, so a run with fewer computed stages than MIN_BUSY_STAGES is not judged.
   */
  #idleFactor(state: RunState, jobs: number): number {
    const elapsed = state.elapsedMs;
    if (elapsed === undefined || elapsed < MIN_BUSY_ELAPSED_MS || this.#busyCount < MIN_BUSY_STAGES) return 1;
    let busy = this.#busyMs;
    for (const [name, r] of state.running) if (!this.#stages.get(name)?.light) busy += r.elapsedMs;
    const slotTime = elapsed * Math.max(1, Math.floor(jobs));
    return busy > 0 ? Math.min(MAX_IDLE_FACTOR, Math.max(1, slotTime / busy)) : 1;
  }

  /** A running stage's time left: from its estimate less what it has run, blended with its own progress rate. */
  #runningLeft(name: string, r: { elapsedMs: number; fraction?: number }, speeds: Speeds): Remaining {
    const e = this.#estimate(name, speeds);
    const t = r.elapsedMs;
    // past its estimate: it is slower than recorded, and how much slower is unknown
    const fromEst = { ms: Math.max(e.ms - t, 0.1 * t), lowMs: Math.max(e.lowMs - t, 0), highMs: Math.max(e.highMs - t, 0.5 * t) };
    const f = r.fraction;
    // all its steps done but not ended: in a phase its progress does not count, so by its estimate
    if (f === undefined || !(f > 0) || f >= 1) return fromEst;
    // the stage's own rate: trusted in proportion to how far it has gone
    const rate = (t * (1 - f)) / f;
    const mix = (x: number) => f * rate + (1 - f) * x;
    const ms = mix(fromEst.ms);
    return { ms, lowMs: Math.min(ms, mix(fromEst.lowMs)), highMs: Math.max(ms, mix(fromEst.highMs)) };
  }
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
 * are settled before it starts), their declared work and resources, the store's recorded history, and
 * how the run computes its stages (`options.executor`).
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
  options: EtaOptions = {},
): Promise<EtaModel> {
  const visited = stages.filter((s) => visit.has(s.name)).map((s): EtaStage => ({
    name: s.name,
    deps: s.deps.filter((d) => visit.has(d.stage)),
    work: declaredWork(s),
    timeMin: declaredWork(s),
    light: s.light,
  }));
  return new EtaModel(visited, await readWallHistory(storeRoot), options);
}
