import { assert, assertEquals } from "../../assert.ts";
import {
  EtaModel,
  type EtaStage,
  formatEtaRange,
  simulateMakespan,
  stageFamily,
  stageKind,
  type WallRecord,
} from "../../../pipeline/plan/eta.ts";
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
  // the range brackets the point: the stage's own last time ±15-25%
  assertEquals([left.lowMs, left.highMs], [12000 * 0.85, 12000 * 1.25]);
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
