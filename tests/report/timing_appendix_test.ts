import { assert, assertClose, assertEquals } from "../assert.ts";
import { buildTimingAppendix, timingRows } from "../../report/timing_appendix.ts";
import type { ReportInput } from "../../report/build.ts";
import { isTimingOutput } from "../../report/timing_names.ts";
import { ablationInput, finetuneInput, searchInput } from "../report_fixtures.ts";
import { Rng } from "../../data/rng.ts";

function input(o: Partial<ReportInput> = {}): ReportInput {
  return { title: "T", description: "", config: {}, splits: {}, environment: {}, stages: [], searches: [], ...o };
}

Deno.test("timing rows: training counts once per trained model (the with-HLS run reuses the one-shot training), HLS always", () => {
  const rng = new Rng(11);
  for (const method of ["grid", "random", "microga"]) {
    const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method, seeds: [1, 2, 3], models: 4, epochs: 1 });
    for (const p of s.summary.perSeed) {
      p.hlsSeconds = p.hls ? Math.round(rng.next() * 100) / 10 : 0;
      p.seconds = p.hlsSeconds + Math.round(rng.next() * 1000) / 10;
    }
    const rows = timingRows(input({ searches: [s] }));
    assertEquals(rows.map((r) => [r.stage, r.part]), [[s.stage, "training and evaluation"], [s.stage, "HLS"]]);
    const ps = s.summary.perSeed;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const trainOf = (rs: typeof ps) => sum(rs.map((p) => p.seconds - p.hlsSeconds));
    // micro-GA: HLS changes the search, so both studies train their own models; one-shot: HLS runs on the trained models
    const train = method === "microga" ? trainOf(ps) : trainOf(ps.filter((p) => !p.hls));
    assertClose(rows[0].seconds, train, 1e-9, method);
    assertClose(rows[1].seconds, sum(ps.map((p) => p.hlsSeconds)), 1e-9, method);
  }
});

Deno.test("timing rows: fine-tuning splits LP from the rest; a baseline without recorded seconds is left out, not NaN", () => {
  const ft = finetuneInput(5);
  ft.cases.forEach((c, i) => c.cost = { ...c.cost, seconds: 10 * (i + 1), lpSeconds: i + 1 });
  const rows = timingRows(
    input({ finetune: ft, baseline: { backend: "wasm", steps: 0, history: [] } as unknown as ReportInput["baseline"] }),
  );
  assertEquals(rows, [
    { stage: "lp-finetune", part: "HLS: LP solve", seconds: 6 },
    { stage: "lp-finetune", part: "HLS: derivatives and line search", seconds: 54 },
  ]);
  const withBase = timingRows(input({ baseline: { backend: "wasm", seconds: 30, steps: 0, history: [] } }));
  assertEquals(withBase, [{ stage: "baseline-train", part: "training and evaluation", seconds: 30 }]);
  assertEquals(timingRows(input()), []);
});

Deno.test("timing appendix: only timing-prefixed files, each table linked by its prefixed name, and paths made relative", async () => {
  const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2], models: 3, epochs: 1 });
  const inp = input({
    title: "Run at /abs/root/x",
    baseline: { backend: "wasm", seconds: 12, steps: 0, history: [] },
    finetune: finetuneInput(5),
    searches: [s],
    ablations: [ablationInput({ dataset: "mnist", budget: "short", seeds: 2, models: 3, variants: ["paper"] })],
    stages: [{ name: "report", digests: {}, volatileDigests: { "timing.json": "ab".repeat(32) } }],
  });
  const r = await buildTimingAppendix(inp, { "/abs/root": "." });
  assertEquals(Object.keys(r.figures), ["timing"]);
  assertEquals(Object.keys(r.tables).sort(), [
    "ablation-mnist-short",
    "artifacts",
    "equal-time-mnist-short",
    "finetune",
    "search-per-seed",
    "timing",
    "trials",
  ]);
  for (const k of Object.keys(r.tables)) assert(isTimingOutput(`timing-table-${k}.csv`), k);
  assert(r.markdown.includes("](timing-table-timing.csv)"), "tables linked with the appendix's prefix");
  assert(r.markdown.includes("](timing-figure-timing.svg)"));
  assert(!r.html.includes("/abs/root") && !r.markdown.includes("/abs/root"), "absolute roots replaced");
  assert(r.markdown.startsWith("# Run at x: timing appendix"), r.markdown.slice(0, 60));
  // every trial's training time, one CSV row each (header included)
  const trialRows = r.tables.trials.trimEnd().split("\r\n");
  assertEquals(trialRows.length, 1 + s.studies!.results.reduce((a, x) => a + x.trials.length, 0));
  assert(r.markdown.includes(`(${trialRows.length - 1} rows) is in timing-table-trials.csv`));
  assertEquals(r.tables.artifacts.trimEnd().split("\r\n")[1], `report,timing.json,${"ab".repeat(32)}`);
});

Deno.test("timing appendix: a run with nothing timed has its note and no figure or tables", async () => {
  const r = await buildTimingAppendix(input());
  assertEquals(r.figures, {});
  assertEquals(r.tables, {});
  assert(r.markdown.includes("## Where the time went"));
});
