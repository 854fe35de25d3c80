import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { RunBoard } from "../../../pipeline/exec/board.ts";
import type { EtaModel } from "../../../pipeline/plan/eta.ts";

/** A board over a fake ETA model that records what it is told, and an output that records lines and events. */
function board(stages = ["a", "b", "c", "d"], jobs = 2) {
  const said: string[] = [];
  const events: Record<string, unknown>[] = [];
  const observed: [string, number][] = [];
  const asked: { settled: Map<string, string>; running: Map<string, { elapsedMs: number; fraction?: number }> }[] = [];
  const model = {
    observe: (s: string, ms: number) => observed.push([s, ms]),
    remaining: (state: (typeof asked)[number], j: number) => {
      asked.push({ settled: new Map(state.settled), running: new Map(state.running) });
      assertEquals(j, jobs);
      return { lowMs: 60_000, ms: 90_000, highMs: 120_000 };
    },
  } as unknown as EtaModel;
  const b = new RunBoard({ out: { say: (l) => said.push(l), event: (e) => events.push(e) }, stages, jobs, eta: model });
  return { b, said, events, observed, asked };
}

Deno.test("board: the run's line counts settled, failed and running stages with their jobs and progress", () => {
  const { b, said, asked } = board();
  try {
    b.start("a", "job-1");
    assertMatch(said.at(-1)!, /^\[run\] 0\/4 stages settled; running 1\/2: a \(job-1\); elapsed \d+\.\ds, ETA 1-2 min$/);
    b.start("b", "job-2");
    b.progress("b", 1, 4);
    assertEquals(said.at(-1)!.startsWith("[b] 1/4 25% elapsed "), true, said.at(-1));
    assertEquals(b.remaining(), { lowMs: 60_000, ms: 90_000, highMs: 120_000 });
    assertEquals(asked.at(-1)!.running.get("b")!.fraction, 0.25, "the model sees how far a running stage is");
    assert(asked.at(-1)!.running.get("b")!.elapsedMs >= 0);
    assertEquals(asked.at(-1)!.running.get("a")!.fraction, undefined, "and nothing for one without progress");
    b.settle("a", "failed");
    assertMatch(said.at(-1)!, /^\[run\] 1\/4 stages settled, 1 failed; running 1\/2: b \(job-2 25%\);/);
    b.settle("b", "computed");
    assertMatch(said.at(-1)!, /^\[run\] 2\/4 stages settled, 1 failed; running 0\/2; elapsed/);
    assertEquals(asked.at(-1)!.settled.get("b"), "computed");
  } finally {
    b.close();
  }
});

Deno.test("board: a computed stage's wall time goes to the model; a cached one is neither observed nor announced", () => {
  const { b, said, observed } = board();
  try {
    b.start("a", "j");
    b.settle("a", "computed");
    assertEquals(observed.length, 1);
    assertEquals(observed[0][0], "a");
    assert(observed[0][1] >= 0);
    const lines = said.length;
    b.start("c", "j", false);
    b.settle("c", "cached");
    assertEquals(said.length, lines, "a cached stage prints nothing");
    assertEquals(observed.length, 1, "a cached stage's time is not a measurement");
    b.settle("never-started", "computed");
    assertEquals(observed.length, 1, "a stage the board never saw start has no time to observe");
  } finally {
    b.close();
  }
});

Deno.test("board: progress is logged at every step but printed at most ~2 a second per stage, the last step always", () => {
  const { b, said, events } = board();
  try {
    b.progress("ghost", 1, 2);
    assertEquals(events.length, 0, "progress of a stage not running is ignored");
    b.start("a", "j", false);
    for (let k = 1; k <= 50; k++) b.progress("a", k, 50, `step ${k}`);
    const prog = events.filter((e) => e.event === "progress");
    assertEquals(prog.length, 50);
    const printed = said.filter((l) => l.startsWith("[a] "));
    assert(printed.length >= 2 && printed.length <= 3, printed.join("\n"));
    assertMatch(printed.at(-1)!, /^\[a\] 50\/50 100% elapsed \d+\.\ds ETA 0\.0s step 50$/);
    // the run's line is throttled (5 s) when not forced: at most the one after the first printed step
    assertEquals(said.filter((l) => l.startsWith("[run]")).length, 1);
    b.summary(false);
    assertEquals(said.filter((l) => l.startsWith("[run]")).length, 1, "within 5 s a non-forced summary is skipped");
    b.summary(true);
    assertEquals(said.filter((l) => l.startsWith("[run]")).length, 2);
    const eta = events.filter((e) => e.event === "eta").at(-1)!;
    assertEquals([eta.lowMs, eta.ms, eta.highMs], [60_000, 90_000, 120_000]);
  } finally {
    b.close();
  }
});

Deno.test("board: a zero-step stage shows 0% and an unknown ETA, not NaN", () => {
  const { b, said } = board();
  try {
    b.start("a", "j", false);
    b.progress("a", 0, 0);
    assertMatch(said.at(-1)!.startsWith("[run]") ? said.at(-2)! : said.at(-1)!, /^\[a\] 0\/0 0% elapsed \d+\.\ds ETA \?$/);
    assert(!said.some((l) => l.includes("NaN")));
  } finally {
    b.close();
  }
});
