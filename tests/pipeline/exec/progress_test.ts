import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { formatDuration, RunLog } from "../../../pipeline/exec/progress.ts";

Deno.test("formatDuration: seconds, minutes and hours at their boundaries; anything not a duration is '?'", () => {
  const cases: [number, string][] = [
    [0, "0.0s"],
    [4.2, "4.2s"],
    [59.9, "59.9s"],
    [60, "1m00s"],
    [61, "1m01s"],
    [185, "3m05s"],
    [3599, "59m59s"],
    [3600, "1h00m"],
    [3720, "1h02m"],
    [86400, "24h00m"],
    [360000, "100h00m"],
  ];
  for (const [s, want] of cases) assertEquals(formatDuration(s), want, `${s} s`);
  for (const bad of [-1, -0.001, NaN, Infinity, -Infinity]) assertEquals(formatDuration(bad), "?", String(bad));
  assertEquals(formatDuration(-0), "0.0s");
});

// Rounding to the precision shown must happen before the split into fields (it did not: 119.5 s read 1m60s).
Deno.test({
  name: "formatDuration: the seconds field never reads 60 (was 1m60s, 59m60s, 60.0s)",
  fn: () => {
    for (let s = 0; s < 7200; s += 0.05) {
      const f = formatDuration(s);
      assert(!/(^|m)60(\.\d)?s$/.test(f), `${s.toFixed(2)} s printed as ${f}`);
    }
    assertEquals(formatDuration(119.5), "2m00s");
    assertEquals(formatDuration(59.95), "1m00s");
  },
});

Deno.test("formatDuration: monotone — a longer duration never prints as a shorter one (minutes and hours parsed back)", () => {
  const parse = (f: string) => {
    const m = /^(?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|(\d+\.\d)s)$/.exec(f)!;
    assert(m, f);
    return m[1] ? 3600 * +m[1] + 60 * +m[2] : m[3] ? 60 * +m[3] + +m[4] : +m[5];
  };
  let prev = -1;
  for (let s = 0; s < 20000; s += 0.37) {
    const v = parse(formatDuration(s));
    assert(v >= prev - 1e-9, `${s}: ${formatDuration(s)} after ${prev}`);
    // within the precision of the format: 0.05 s, 0.5 s, or 60 s
    assert(Math.abs(v - s) <= (s < 60 ? 0.05 : s < 3600 ? 0.5 : 60) + 1e-9, `${s} → ${formatDuration(s)}`);
    prev = Math.max(prev, v);
  }
});

Deno.test("run log: events are JSON lines with a timestamp, appended; progress is throttled but always logs the last step", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/run.jsonl`;
    Deno.writeTextFileSync(path, "");
    const log = new RunLog(path, true);
    log.event({ event: "start", stage: "a\u001b[2J" });
    const p = log.progressFor("s");
    for (let k = 1; k <= 100; k++) p(k, 100, k === 100 ? "done" : undefined);
    log.close();
    const lines = Deno.readTextFileSync(path).trimEnd().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines[0].event, "start");
    assertEquals(lines[0].stage, "a\u001b[2J", "the log keeps the name as it is (escaping is for the terminal)");
    assertMatch(lines[0].t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const prog = lines.filter((l) => l.event === "progress");
    assert(prog.length >= 2 && prog.length <= 3, `${prog.length} progress events for 100 quick steps`);
    assertEquals([prog[0].step, prog[prog.length - 1].step, prog[prog.length - 1].label], [1, 100, "done"]);
    for (const e of prog) assert(e.elapsedS >= 0 && e.total === 100 && e.stage === "s");
    // a second log on the same file appends
    const again = new RunLog(path, true);
    again.event({ event: "x" });
    again.close();
    assertEquals(Deno.readTextFileSync(path).trimEnd().split("\n").length, lines.length + 1);
    // no path: nothing is written anywhere, and nothing throws
    const none = new RunLog(undefined, true);
    none.event({ event: "y" });
    none.progressFor("t")(1, 0);
    none.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
