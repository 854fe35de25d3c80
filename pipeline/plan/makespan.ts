// The list-scheduling simulation the ETA runs: the makespan of the remaining DAG on a run's job slots.

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
  const byName = new Map(stages.map((s) => [s.name, s]));
  const light = new Set(stages.filter((s) => s.light).map((s) => s.name));
  /** finish time → stages: the event queue (small: a linear scan for the minimum is enough). */
  const busy: { name: string; at: number; slot: boolean }[] = [];
  let slots = 0;
  for (const [n, left] of running) {
    busy.push({ name: n, at: Math.max(0, left), slot: !light.has(n) });
    if (!light.has(n)) slots++;
  }
  // each waiting stage's count of unsettled dependencies, and who waits on whom: a run's estimate
  // simulates every remaining stage several times, so nothing here rescans the waiting stages
  const missing = new Map<string, number>();
  const waitsOn = new Map<string, string[]>();
  const order = new Map<string, number>();
  /** Ready stages, best last: higher priority, then earlier in the given (topological) order. */
  const ready: { name: string; priority: number; i: number; light: boolean }[] = [];
  let lightReady = 0;
  const better = (a: { priority: number; i: number }, b: { priority: number; i: number }) =>
    a.priority > b.priority || (a.priority === b.priority && a.i < b.i);
  let t = 0;
  let end = 0;
  const settle = (n: string, status: "ok" | "dead"): void => {
    done.set(n, status);
    for (const c of waitsOn.get(n) ?? []) {
      const left = missing.get(c)! - 1;
      missing.set(c, left);
      if (!left) becomeReady(c);
    }
  };
  const becomeReady = (n: string): void => {
    // a stage that needs one that did not run never runs, and takes no time
    if (byName.get(n)!.deps.some((d) => !d.optional && done.get(d.stage) === "dead")) return settle(n, "dead");
    const r = { name: n, priority: sim.priority(n), i: order.get(n)!, light: light.has(n) };
    if (r.light) lightReady++;
    let lo = 0, hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (better(r, ready[mid])) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, r);
  };
  stages.forEach((s, i) => order.set(s.name, i));
  const waiting = stages.filter((s) => !done.has(s.name) && !running.has(s.name));
  for (const s of waiting) {
    let k = 0;
    for (const d of s.deps) {
      if (done.has(d.stage)) continue;
      k++;
      const list = waitsOn.get(d.stage) ?? [];
      list.push(s.name);
      waitsOn.set(d.stage, list);
    }
    missing.set(s.name, k);
  }
  // (those ready at the start taken first: a failed one's cascade makes others ready as it goes)
  for (const s of waiting.filter((s) => !missing.get(s.name))) becomeReady(s.name);
  for (;;) {
    // start what is ready, best first, while a worker is free; a light stage needs none
    for (let k = ready.length - 1; k >= 0 && (slots < jobs || lightReady); k--) {
      const r = ready[k];
      if (!r.light && slots >= jobs) continue;
      ready.splice(k, 1);
      busy.push({ name: r.name, at: t + Math.max(0, sim.duration(r.name)), slot: !r.light });
      if (r.light) lightReady--;
      else slots++;
    }
    if (!busy.length) break;
    let i = 0;
    for (let k = 1; k < busy.length; k++) if (busy[k].at < busy[i].at) i = k;
    const [next] = busy.splice(i, 1);
    t = next.at;
    end = Math.max(end, t);
    if (next.slot) slots--;
    settle(next.name, "ok");
  }
  return end;
}
