// The progress board of a parallel run: every running stage (its job, step k of n, ETA) and the whole
// run (stages settled k of N, elapsed, ETA), printed as plain lines (logs and pipes read them as well as a
// terminal does).
import { type EtaModel, formatEtaRange, type Remaining } from "../plan/eta.ts";
import { formatDuration } from "./progress.ts";

interface Running {
  job: string;
  start: number;
  step?: number;
  total?: number;
  lastPrint: number;
}

/** The lines the board prints go through this (a RunLog). */
export interface BoardOut {
  say(line: string): void;
  event(event: Record<string, unknown>): void;
}

/** What a board tracks and where it prints. */
export interface BoardOptions {
  out: BoardOut;
  /** Every stage the run visits. */
  stages: string[];
  /** How many run at once. */
  jobs: number;
  /** The stages' estimated durations (from the store's history) and the run's simulation (pipeline/plan/eta.ts). */
  eta: EtaModel;
  /** How often the run's line is printed while stages run (default 15 s). */
  summaryEveryMs?: number;
}

/**
 * Tracks a parallel run. The ETA of the run is a range: the remaining DAG scheduled on the run's jobs with
 * each stage's estimated duration (its family's recorded wall times in this store, scaled by its work;
 * running stages less their elapsed time, blended with their progress), see pipeline/plan/eta.ts.
 */
export class RunBoard {
  readonly #running = new Map<string, Running>();
  readonly #settled = new Map<string, string>();
  readonly #t0 = performance.now();
  #lastSummary = -Infinity;
  readonly #timer: ReturnType<typeof setInterval>;

  readonly out: BoardOut;
  readonly stages: string[];
  readonly jobs: number;
  readonly model: EtaModel;

  constructor(o: BoardOptions) {
    this.out = o.out;
    this.stages = o.stages;
    this.jobs = o.jobs;
    this.model = o.eta;
    this.#timer = setInterval(() => {
      if (this.#running.size) this.summary(true);
    }, o.summaryEveryMs ?? 15000);
    Deno.unrefTimer(this.#timer);
  }

  /** A stage started; `announce` prints the run's line (a stage computed in the parent needs none). */
  start(stage: string, job: string, announce = true): void {
    this.#running.set(stage, { job, start: performance.now(), lastPrint: -Infinity });
    if (announce) this.summary(true);
  }

  /** A running stage's progress: printed like a sequential run's line, at most ~2 a second per stage. */
  progress(stage: string, step: number, total: number, label?: string): void {
    const r = this.#running.get(stage);
    if (!r) return;
    r.step = step;
    r.total = total;
    const now = performance.now();
    const elapsed = (now - r.start) / 1000;
    this.out.event({ event: "progress", stage, step, total, label, elapsedS: +elapsed.toFixed(3) });
    if (now - r.lastPrint < 500 && step < total) return;
    r.lastPrint = now;
    const eta = step > 0 ? (elapsed * (total - step)) / step : NaN;
    const pct = total > 0 ? Math.floor((100 * step) / total) : 0;
    this.out.say(
      `[${stage}] ${step}/${total} ${pct}% elapsed ${formatDuration(elapsed)} ETA ${formatDuration(eta)}${label ? " " + label : ""}`,
    );
    this.summary(false);
  }

  /** A stage settled; `announce` prints the run's line; `executor`: how it was computed (the record's). */
  settle(stage: string, status: string, announce = true, executor?: string): void {
    const r = this.#running.get(stage);
    this.#running.delete(stage);
    this.#settled.set(stage, status);
    if (r && status === "computed") this.model.observe(stage, performance.now() - r.start, executor);
    if (announce && status !== "cached") this.summary(true);
  }

  /** The estimated time left for the whole run (milliseconds, with a range). */
  remaining(): Remaining {
    const now = performance.now();
    const running = new Map<string, { elapsedMs: number; fraction?: number }>();
    for (const [s, r] of this.#running) {
      running.set(s, { elapsedMs: now - r.start, fraction: r.step !== undefined && r.total ? r.step / r.total : undefined });
    }
    return this.model.remaining({ settled: this.#settled, running, elapsedMs: now - this.#t0 }, this.jobs);
  }

  /** Prints the run's line: settled k/N, what runs (job, %), elapsed, ETA. Throttled unless forced. */
  summary(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.#lastSummary < 5000) return;
    this.#lastSummary = now;
    const running = [...this.#running].map(([s, r]) => {
      const pct = r.step !== undefined && r.total ? ` ${Math.floor((100 * r.step) / r.total)}%` : "";
      return `${s} (${r.job}${pct})`;
    });
    const failed = [...this.#settled.values()].filter((v) => v === "failed").length;
    const left = this.remaining();
    this.out.event({ event: "eta", lowMs: Math.round(left.lowMs), ms: Math.round(left.ms), highMs: Math.round(left.highMs) });
    this.out.say(
      `[run] ${this.#settled.size}/${this.stages.length} stages settled${failed ? `, ${failed} failed` : ""}; ` +
        `running ${running.length}/${this.jobs}${running.length ? ": " + running.join(", ") : ""}; ` +
        `elapsed ${formatDuration((now - this.#t0) / 1000)}, ETA ${formatEtaRange(left.lowMs, left.highMs)}`,
    );
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
