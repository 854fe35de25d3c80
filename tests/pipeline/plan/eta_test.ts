import { assert, assertClose, assertEquals } from "../../assert.ts";
import { EtaModel, formatEtaRange, stageFamily, stageKind } from "../../../pipeline/plan/eta.ts";
import { type EtaStage, simulateMakespan } from "../../../pipeline/plan/makespan.ts";
import { recordExecutors, type WallRecord, wallRecords } from "../../../pipeline/plan/wall_history.ts";
import { takeByPriority } from "../../../pipeline/exec/parallel.ts";
import { rng } from "../../fixtures/random.ts";

const none = new Map<string, never>();

/** A random DAG in topological order, with integer durations 1..20. */
function randomDag(r: () => number, n: number): { stages: EtaStage[]; d: Map<string, number> } {
  const stages: EtaStage[] = [];
  const d = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const deps = [];
    for (let j = 0; j < i; j++) if (r() < 0.2) deps.push({ stage: `s${j}` });
    stages.push({ name: `s${i}`, deps });
    d.set(`s${i}`, 1 + Math.floor(r() * 20));
  }
  return { stages, d };
}

/** The longest path through a DAG (the makespan on unlimited workers), by an independent forward pass. */
function longestPath(stages: EtaStage[], d: Map<string, number>): number {
  const finish = new Map<string, number>();
  for (const s of stages) finish.set(s.name, Math.max(0, ...s.deps.map((x) => finish.get(x.stage)!)) + d.get(s.name)!);
  return Math.max(0, ...finish.values());
}

Deno.test("simulateMakespan: one worker is the sum of durations, unlimited workers the longest path, any N within Graham's bounds", () => {
  const r = rng(7);
  for (let trial = 0; trial < 60; trial++) {
    const { stages, d } = randomDag(r, 1 + Math.floor(r() * 25));
    const sum = [...d.values()].reduce((a, b) => a + b, 0);
    const cp = longestPath(stages, d);
    const sim = (jobs: number) =>
      simulateMakespan({ stages, duration: (n) => d.get(n)!, settled: none, running: none, jobs, priority: () => 0 });
    assertEquals(sim(1), sum);
    assertEquals(sim(stages.length), cp);
    for (const jobs of [2, 3, 5]) {
      const m = sim(jobs);
      assert(
        m >= Math.max(cp, sum / jobs) - 1e-9 && m <= sum / jobs + cp + 1e-9,
        `makespan ${m} outside [max(${cp}, ${sum}/${jobs}), ${sum}/${jobs} + ${cp}]`,
      );
    }
  }
});

/** List scheduling as plainly as it can be written (every waiting stage rescanned at every event): the reference. */
function referenceMakespan(sim: Parameters<typeof simulateMakespan>[0]): number {
  const { stages, settled, running } = sim;
  const done = new Map<string, string>();
  for (const [n, st] of settled) done.set(n, st === "computed" || st === "cached" ? "ok" : "dead");
  const light = new Set(stages.filter((s) => s.light).map((s) => s.name));
  const busy = [...running].map(([name, left]) => ({ name, at: Math.max(0, left), slot: !light.has(name) }));
  const waiting = new Set(stages.map((s) => s.name).filter((n) => !done.has(n) && !running.has(n)));
  const byName = new Map(stages.map((s) => [s.name, s]));
  let t = 0, end = 0;
  for (;;) {
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
        if (!light.has(n) && busy.filter((b) => b.slot).length >= sim.jobs) continue;
        waiting.delete(n);
        busy.push({ name: n, at: t + Math.max(0, sim.duration(n)), slot: !light.has(n) });
        changed = true;
      }
    }
    if (!busy.length) return end;
    let i = 0;
    for (let k = 1; k < busy.length; k++) if (busy[k].at < busy[i].at) i = k;
    const [next] = busy.splice(i, 1);
    t = next.at;
    end = Math.max(end, t);
    done.set(next.name, "ok");
  }
}

Deno.test("simulateMakespan schedules as the plain rescan does: settled, failed, running, light and optional stages, ties", () => {
  const r = rng(23);
  for (let trial = 0; trial < 200; trial++) {
    const { stages, d } = randomDag(r, 1 + Math.floor(r() * 40));
    for (const s of stages) {
      s.light = r() < 0.1;
      for (const dep of s.deps) dep.optional = r() < 0.2;
    }
    // a prefix settled (some failed or not run), a few after it running; priorities with ties
    const cut = Math.floor(r() * stages.length);
    const settled = new Map(stages.slice(0, cut).map((s) => [s.name, r() < 0.15 ? "failed" : r() < 0.1 ? "not-run" : "computed"]));
    const running = new Map(stages.slice(cut, cut + 3).filter(() => r() < 0.5).map((s) => [s.name, r() * 20]));
    const prio = new Map(stages.map((s) => [s.name, Math.floor(r() * 4)]));
    const sim = {
      stages,
      duration: (n: string) => d.get(n)!,
      settled,
      running,
      jobs: 1 + Math.floor(r() * 4),
      priority: (n: string) => prio.get(n)!,
    };
    assertEquals(simulateMakespan(sim), referenceMakespan(sim), `trial ${trial}`);
  }
});

Deno.test("the estimate of a run with known durations equals its simulated makespan, counted by hand", () => {
  // a → b → d, a → c → d; e alone. Durations 4, 6, 3, 2, 5 on 2 workers, critical path first:
  // t0: a, e   t4: b (a done)   t5: c (e done)   t8: c done   t10: b done → d   t12 done
  const stages: EtaStage[] = [
    { name: "a", deps: [] },
    { name: "b", deps: [{ stage: "a" }] },
    { name: "c", deps: [{ stage: "a" }] },
    { name: "d", deps: [{ stage: "b" }, { stage: "c" }] },
    { name: "e", deps: [] },
  ];
  const ms: Record<string, number> = { a: 4000, b: 6000, c: 3000, d: 2000, e: 5000 };
  const model = new EtaModel(stages, Object.entries(ms).map(([stage, wallMs]) => ({ stage, wallMs })));
  const prio = model.priorities();
  assertEquals(Object.fromEntries(prio), { a: 12000, b: 8000, c: 5000, d: 2000, e: 5000 });
  const left = model.remaining({ settled: new Map(), running: new Map() }, 2);
  assertEquals(left.ms, 12000);
  assertEquals(
    left.ms,
    simulateMakespan({ stages, duration: (n) => ms[n], settled: none, running: none, jobs: 2, priority: (n) => prio.get(n)! }),
  );
  // the range brackets the point: the stage's own last time -15%/+25%, and the machine's speed, unknown
  // before a stage has finished (×/÷ 1.5): independent errors, their logarithms added in quadrature
  assertClose(left.lowMs, 12000 * Math.exp(-Math.hypot(Math.log(0.85), Math.log(1.5))), 1e-6);
  assertClose(left.highMs, 12000 * Math.exp(Math.hypot(Math.log(1.25), Math.log(1.5))), 1e-6);
  // halfway: a done, b running for 2 s, e running for 4 s: b has 4 s left, e 1 s; c starts at 1, ends at 4;
  // d starts when b ends (4) and ends at 6
  const mid = model.remaining({
    settled: new Map([["a", "computed"]]),
    running: new Map([["b", { elapsedMs: 2000 }], ["e", { elapsedMs: 4000 }]]),
  }, 2);
  assertEquals(mid.ms, 6000);
  // a stage that did not run stops what needs it: only e is left
  const blocked = model.remaining({ settled: new Map([["a", "not-run"]]), running: new Map() }, 2);
  assertEquals(blocked.ms, 5000);
});

Deno.test("critical-path ordering starts the long chain first, and beats the topological order", () => {
  // four short stages listed first, then a chain of three long ones; 2 workers
  const stages: EtaStage[] = [
    ...[1, 2, 3, 4].map((i) => ({ name: `short:${i}`, deps: [] })),
    { name: "long:1", deps: [] },
    { name: "long:2", deps: [{ stage: "long:1" }] },
    { name: "long:3", deps: [{ stage: "long:2" }] },
  ];
  const history: WallRecord[] = [
    ...[1, 2, 3, 4].map((i) => ({ stage: `short:${i}`, wallMs: 5000 })),
    ...[1, 2, 3].map((i) => ({ stage: `long:${i}`, wallMs: 10000 })),
  ];
  const model = new EtaModel(stages, history);
  const prio = model.priorities();
  const ready = stages.slice(0, 5).map((s) => ({ stage: s }));
  assertEquals(takeByPriority(ready, prio).stage.name, "long:1");
  assertEquals(ready.length, 4);
  assertEquals(takeByPriority(ready, prio).stage.name, "short:1", "ties go to the given (topological) order");
  const d = (n: string) => (n.startsWith("long") ? 10000 : 5000);
  const fifo = simulateMakespan({ stages, duration: d, settled: none, running: none, jobs: 2, priority: () => 0 });
  const cp = simulateMakespan({ stages, duration: d, settled: none, running: none, jobs: 2, priority: (n) => prio.get(n)! });
  assertEquals([fifo, cp], [40000, 30000]);
  assertEquals(model.remaining({ settled: new Map(), running: new Map() }, 2).ms, 30000);
});

Deno.test("families: seeds share their history; wall times scale by declared work; the stage's own time wins", () => {
  assertEquals(stageFamily("search-seed:mnist:long:grid:3"), "search-seed:mnist:long:grid:#");
  assertEquals(stageFamily("ga-lr-mom-wd:12"), "ga-lr-mom-wd:#");
  assertEquals(stageFamily("report"), "report");
  assertEquals(stageKind("search-seed:mnist:long:grid:3"), "search-seed/5");
  const stages: EtaStage[] = [
    { name: "unit:a:1", deps: [], work: 10 },
    { name: "unit:a:2", deps: [], work: 30 },
    { name: "unit:a:3", deps: [], work: 20 },
    { name: "unit:b:1", deps: [], work: 20 },
    { name: "other", deps: [] },
  ];
  // seed 1 took 1 s for 10 units of work; seed 3 ran before with 20 units in 2.6 s
  const model = new EtaModel(stages, [{ stage: "unit:a:1", wallMs: 1000, work: 10 }, { stage: "unit:a:3", wallMs: 2600, work: 20 }]);
  const a2 = model.estimate("unit:a:2");
  assertEquals(a2.basis, "family");
  // per unit of work: 100 and 130 ms → median 115 ms × 30
  assertEquals(Math.round(a2.ms), 3450);
  assert(a2.lowMs < a2.ms && a2.ms < a2.highMs);
  assertEquals(model.estimate("unit:a:3"), { ms: 2600, lowMs: 2600 * 0.85, highMs: 2600 * 1.25, basis: "stage" });
  // another family of the same kind: the kind's rate, with a wider range
  const b1 = model.estimate("unit:b:1");
  assertEquals(b1.basis, "kind");
  assertEquals(Math.round(b1.ms), 2300);
  assert(b1.highMs / b1.ms > a2.highMs / a2.ms);
  // history without work is taken as it is
  const plain = new EtaModel(stages, [{ stage: "unit:a:1", wallMs: 1000 }]);
  assertEquals(plain.estimate("unit:a:2").ms, 1000);
});

Deno.test("this run's finished stages correct the history for how fast the machine is now", () => {
  const stages: EtaStage[] = [1, 2, 3, 4].map((i) => ({ name: `u:${i}`, deps: [] }));
  const model = new EtaModel(stages, stages.map((s) => ({ stage: s.name, wallMs: 1000 })));
  assertEquals(model.speed(), 1);
  model.observe("u:1", 2000); // twice as slow as recorded
  assertEquals(model.speed(), 2);
  assertEquals(model.estimate("u:2").ms, 2000);
  assertEquals(model.estimate("u:1").ms, 2000, "its own time this run");
  // clamped: one absurd stage does not make the ETA absurd
  const m2 = new EtaModel(stages, stages.map((s) => ({ stage: s.name, wallMs: 1000 })));
  m2.observe("u:1", 1e9);
  assertEquals(m2.speed(), 4);
});

Deno.test("the range always holds the point estimate, whatever the history, the executors and the run's state", () => {
  const r = rng(11);
  const executors = ["worker", "process", "inline", undefined];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  for (let trial = 0; trial < 80; trial++) {
    // families of seeds ("f2:7"), each depending on some earlier stages
    const n = 1 + Math.floor(r() * 30);
    const stages: EtaStage[] = [];
    for (let i = 0; i < n; i++) {
      const deps = [];
      for (let j = 0; j < i; j++) if (r() < 0.15) deps.push({ stage: stages[j].name });
      stages.push({ name: `f${Math.floor(r() * 5)}:${i}`, deps, work: r() < 0.5 ? 1 + r() * 10 : undefined, light: r() < 0.1 });
    }
    const history: WallRecord[] = [];
    for (const s of stages) if (r() < 0.7) history.push({ stage: s.name, wallMs: r() * 5000, work: s.work, executor: pick(executors) });
    const model = new EtaModel(stages, history, { executor: pick(executors) });
    // a prefix finished (in topological order), at up to 4× or down to a tenth of its recorded time; the next few running
    const done = Math.floor(r() * n);
    const settled = new Map<string, string>();
    for (const s of stages.slice(0, done)) {
      if (r() < 0.8) model.observe(s.name, r() * 10000, r() < 0.2 ? pick(executors) : undefined);
      settled.set(s.name, r() < 0.9 ? "computed" : "cached");
    }
    const running = new Map<string, { elapsedMs: number; fraction?: number }>();
    for (const s of stages.slice(done, done + 2)) running.set(s.name, { elapsedMs: r() * 8000, fraction: r() < 0.5 ? r() : undefined });
    const left = model.remaining({ settled, running }, 1 + Math.floor(r() * 3));
    assert(
      Number.isFinite(left.highMs) && left.lowMs >= 0 && left.lowMs <= left.ms && left.ms <= left.highMs,
      `trial ${trial}: ${JSON.stringify(left)}`,
    );
    for (const s of stages) {
      const e = model.estimate(s.name);
      assert(e.lowMs <= e.ms && e.ms <= e.highMs, `${s.name}: ${JSON.stringify(e)}`);
    }
  }
});

/** Eight families of six seeds, each recorded at 1 s by `executor`; independent stages. */
function families(executor?: string) {
  const stages: EtaStage[] = [];
  for (let f = 0; f < 8; f++) for (let i = 1; i <= 6; i++) stages.push({ name: `fam${f}:${i}`, deps: [] });
  return { stages, history: stages.map((s): WallRecord => ({ stage: s.name, wallMs: 1000, executor })) };
}

Deno.test("finished stages at twice their recorded time: the point doubles and the range covers twice the records", () => {
  const { stages, history } = families("worker");
  const model = new EtaModel(stages, history, { executor: "worker" });
  const before = model.remaining({ settled: new Map(), running: new Map() }, 1);
  assertEquals(before.ms, 48 * 1000);
  // nothing has finished: the records' time is the point, and twice it is beyond the range
  assert(before.highMs < 2 * 48 * 1000, JSON.stringify(before));
  // the first three seeds of each family ran at about twice their records (1.7-2.3×)
  const settled = new Map<string, string>();
  for (let f = 0; f < 8; f++) {
    for (let i = 1; i <= 3; i++) {
      model.observe(`fam${f}:${i}`, 1000 * (2 + 0.1 * ((f + i) % 7) - 0.3));
      settled.set(`fam${f}:${i}`, "computed");
    }
  }
  const band = model.speedBand();
  assert(band.low < band.speed && band.speed < band.high && Math.abs(band.speed - 2) < 0.1, JSON.stringify(band));
  const after = model.remaining({ settled, running: new Map() }, 1);
  // 24 stages left at 2 s each, if they go on as the others did
  assertClose(after.ms, 24 * 2000, 24 * 200);
  assert(after.lowMs <= 24 * 2000 && 24 * 2000 <= after.highMs, JSON.stringify(after));
  assert(after.lowMs > 24 * 1000, `the records' time is no longer in the range: ${JSON.stringify(after)}`);
});

Deno.test("the speed's band: wide while few families have finished, wider when they disagree than when they agree", () => {
  const run = (ratio: (f: number) => number, nFamilies: number) => {
    const { stages, history } = families();
    const model = new EtaModel(stages, history);
    for (let f = 0; f < nFamilies; f++) {
      for (let i = 1; i <= 2; i++) model.observe(`fam${f}:${i}`, 1000 * ratio(f) * (i === 1 ? 0.95 : 1.05));
    }
    return model.speedBand();
  };
  const agree = run(() => 2, 8), disagree = run((f) => [1, 3, 1.5, 2.5, 1.2, 2.8, 1.8, 2.2][f], 8);
  assertClose(agree.speed, 2, 1e-9);
  assertClose(disagree.speed, 2, 1e-9);
  assert(agree.high / agree.low < 1.05, JSON.stringify(agree));
  assert(disagree.high / disagree.low > 1.3, JSON.stringify(disagree));
  // four families that agree still leave the band ×/÷ 1.5: a fifth may not
  const few = run(() => 2, 4);
  assertClose(few.low, 2 / 1.5, 1e-9);
  assertClose(few.high, 2 * 1.5, 1e-9);
});

Deno.test("history from another executor is a speed regime of its own: it does not set this run's speed", () => {
  const stages: EtaStage[] = ["w:1", "w:2", "p:1", "p:2", "x:1"].map((name) => ({ name, deps: [] }));
  const history: WallRecord[] = [
    { stage: "w:1", wallMs: 1000, executor: "worker" },
    { stage: "w:2", wallMs: 1000, executor: "worker" },
    { stage: "p:1", wallMs: 1000, executor: "process" },
    { stage: "p:2", wallMs: 1000, executor: "process" },
  ];
  const model = new EtaModel(stages, history, { executor: "worker" });
  // before anything finished: the records as they are, another executor's with a wider band
  assertEquals(model.speedBand(), { speed: 1, low: 1 / 1.5, high: 1.5 });
  assertEquals(model.speedBand("process"), { speed: 1, low: 0.5, high: 2 });
  // a stage recorded by fresh processes took 3× its record: only the process records are read slower
  model.observe("p:1", 3000);
  assertEquals([model.speed(), model.speed("worker"), model.speed("process")], [1, 1, 3]);
  assertEquals(model.estimate("w:2").ms, 1000);
  assertEquals(model.estimate("p:2").ms, 3000);
  // a stage computed in the scheduling process (inline) of this worker run teaches no speed
  model.observe("x:1", 50_000, "inline");
  assertEquals([model.speed(), model.speed("process")], [1, 3]);
  // the run's own executor: its records are read at its speed
  model.observe("w:1", 1500);
  assertEquals(model.speed(), 1.5);
  assertEquals(model.estimate("w:2").ms, 1500);
  assertEquals(model.estimate("p:2").ms, 3000);
});

Deno.test("recordExecutors: the record's own, else read from its job (a pid that computed several stages was a worker)", () => {
  const records = [
    { stage: "a", status: "computed", job: "pid 5", wallMs: 10 },
    { stage: "b", status: "computed", job: "pid 5", wallMs: 20 },
    { stage: "c", status: "computed", job: "pid 7", wallMs: 30 },
    { stage: "d", status: "computed", wallMs: 40 },
    { stage: "e", status: "computed", job: "slurm job 12", wallMs: 50 },
    { stage: "f", status: "computed", job: "pid 9", executor: "worker", wallMs: 60 },
    { stage: "g", status: "cached", job: "pid 7", wallMs: 70 },
    { stage: "h", status: "computed", job: "pid 11" },
  ];
  assertEquals(
    Object.fromEntries(recordExecutors(records)),
    { a: "worker", b: "worker", c: "process", d: "inline", e: "slurm", f: "worker", h: "process" },
  );
  // the wall times of computed stages only, each with its executor
  assertEquals(wallRecords(records).map((r) => `${r.stage} ${r.wallMs} ${r.executor}`), [
    "a 10 worker",
    "b 20 worker",
    "c 30 process",
    "d 40 inline",
    "e 50 slurm",
    "f 60 worker",
  ]);
});

Deno.test("without history: the declared resources (calibrated when the store has both), then a default; hostile records ignored", () => {
  const stages: EtaStage[] = [
    { name: "train", deps: [], timeMin: 3 },
    { name: "other", deps: [], timeMin: 30 },
    { name: "merge", deps: [{ stage: "train" }], light: true },
    { name: "bare", deps: [] },
  ];
  const fresh = new EtaModel(stages, [{ stage: "x", wallMs: NaN }, { stage: "x", wallMs: -5 }, { stage: "x", wallMs: Infinity }]);
  // 3 minutes declared with a 3× margin: 1 minute expected
  assertEquals(fresh.estimate("train"), { ms: 60000, lowMs: 30000, highMs: 120000, basis: "resources" });
  assertEquals(fresh.estimate("merge").basis, "default");
  assertEquals(fresh.estimate("bare"), { ms: 10000, lowMs: 3000, highMs: 30000, basis: "default" });
  // 'train' took 18 s against 3 min declared: 'other' (30 min declared) is expected in 180 s
  const calibrated = new EtaModel(stages, [{ stage: "train", wallMs: 18000 }]);
  assertEquals(Math.round(calibrated.estimate("other").ms), 180000);
});

Deno.test("a running stage: its estimate less its elapsed time, blended with its own progress; an overrun is never 0", () => {
  const stages: EtaStage[] = [{ name: "s", deps: [] }];
  const model = new EtaModel(stages, [{ stage: "s", wallMs: 10000 }]);
  const at = (elapsedMs: number, fraction?: number) =>
    model.remaining({ settled: new Map(), running: new Map([["s", { elapsedMs, fraction }]]) }, 1).ms;
  assertEquals(at(4000), 6000);
  // half done in 4 s: its rate says 4 s more, the history 6 s: weighted by the fraction done
  assertEquals(at(4000, 0.5), 5000);
  // 90% done after 18 s (slower than recorded): mostly its own rate
  assertEquals(Math.round(at(18000, 0.9)), Math.round(0.9 * 2000 + 0.1 * 1800));
  assert(at(30000) > 0, "an overrunning stage still has time left");
  // all its steps done but not ended (a last phase its progress does not count): by its estimate, not 0
  assertEquals(at(4000, 1), 6000);
});

Deno.test("formatEtaRange: seconds, minutes, hours; one figure when both ends agree; nonsense is '?'", () => {
  assertEquals(formatEtaRange(20_000, 35_000), "20-35 s");
  assertEquals(formatEtaRange(12 * 60_000, 16 * 60_000), "12-16 min");
  assertEquals(formatEtaRange(72 * 60_000, 96 * 60_000), "1.2-1.6 h");
  assertEquals(formatEtaRange(60_000, 61_000), "60-61 s");
  assertEquals(formatEtaRange(5 * 60_000, 5 * 60_000 + 10_000), "~5 min");
  assertEquals(formatEtaRange(NaN, 5), "?");
  assertEquals(formatEtaRange(10, 5), "?");
  assertEquals(formatEtaRange(-1, 5), "?");
});

Deno.test("slots idle between stages: the rest of the run is stretched by the run's own slot time over its stages' time, capped", () => {
  // 20 stages done, 20 left, each 1 s as recorded and as observed; 2 slots
  const stages: EtaStage[] = Array.from({ length: 40 }, (_, i) => ({ name: `u:${i}`, deps: [] }));
  const fresh = () => {
    const m = new EtaModel(stages, stages.map((s) => ({ stage: s.name, wallMs: 1000 })));
    for (let i = 0; i < 20; i++) m.observe(`u:${i}`, 1000);
    return m;
  };
  const settled = new Map(stages.slice(0, 20).map((s) => [s.name, "computed"]));
  const base = fresh().remaining({ settled, running: none }, 2);
  assertClose(base.ms, 10_000, 1e-6, "20 stages of 1 s on 2 slots, no elapsed time given: no correction");
  // 20 s of stage time took 80 s of the run (2 slots × 80 s = 160 slot-seconds, 8x): the correction is capped at 1.25
  assertClose(fresh().remaining({ settled, running: none, elapsedMs: 80_000 }, 2).ms, 12_500, 1e-6);
  // 20 s of stage time in 11 s of a 2-slot run: 22 slot-seconds over 20 busy is 1.1, but the run is too short to judge (< 60 s)
  assertClose(fresh().remaining({ settled, running: none, elapsedMs: 11_000 }, 2).ms, 10_000, 1e-6);
  // stages recorded and observed at 8 s each, in 88 s of a 2-slot run: 176 slot-seconds over 160 busy is 1.1
  const slow = new EtaModel(stages, stages.map((s) => ({ stage: s.name, wallMs: 8000 })));
  for (let i = 0; i < 20; i++) slow.observe(`u:${i}`, 8000);
  const r = slow.remaining({ settled, running: none, elapsedMs: 88_000 }, 2);
  assertClose(r.ms, 80_000 * 1.1, 1e-6, "176 slot-seconds for 160 s of stages: 1.1");
  assert(r.lowMs <= r.ms && r.ms <= r.highMs);
  // busier than the slots allow (a clock skew): never shortened
  assertClose(slow.remaining({ settled, running: none, elapsedMs: 60_000 }, 1).ms, 160_000, 1e-6);
  // fewer than 20 stages computed: not judged
  const few = new EtaModel(stages, stages.map((s) => ({ stage: s.name, wallMs: 1000 })));
  for (let i = 0; i < 19; i++) few.observe(`u:${i}`, 1000);
  const settled19 = new Map(stages.slice(0, 19).map((s) => [s.name, "computed"]));
  assertClose(
    few.remaining({ settled: settled19, running: none, elapsedMs: 500_000 }, 2).ms,
    11_000,
    1e-6,
    "21 stages of 1 s on 2 slots, uncorrected",
  );
});
