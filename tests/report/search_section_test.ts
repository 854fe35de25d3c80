import { assert, assertClose, assertEquals } from "../assert.ts";
import { groupTable, searchSection } from "../../report/search_section.ts";
import { byGroup, searchFacts } from "../../report/search_facts.ts";
import { ReportWriter } from "../../report/section.ts";
import type { ReportInput } from "../../report/build.ts";
import type { StudyResult } from "../../search/records.ts";
import { Rng } from "../../data/rng.ts";
import { defaultScaleInput, searchInput } from "../report_fixtures.ts";

function input(searches: ReportInput["searches"], splits: ReportInput["splits"] = {}): ReportInput {
  return { title: "T", description: "", config: {}, splits, environment: {}, stages: [], searches };
}

/** CSV text to rows of cells (cells here hold no quotes or commas except in the note-free data rows). */
const rowsOf = (csv: string) => csv.trimEnd().split("\r\n").slice(1).map((l) => l.split(","));

Deno.test("search section: absent without searches", async () => {
  assertEquals(await searchSection(new ReportWriter(), input([])), undefined);
});

Deno.test("search section: per group the main, by-accuracy and per-seed tables, and every trial in the CSV", async () => {
  const searches = ["grid", "microga"].map((method) =>
    searchInput({ dataset: "mnist", split: "mnist", budget: "short", method, seeds: [1, 2, 3], models: 6, epochs: 1 })
  );
  const w = new ReportWriter();
  const sec = (await searchSection(w, input(searches)))!;
  assertEquals(sec.id, "search");
  for (const id of ["search-mnist-short", "search-mnist-short-by-accuracy", "search-mnist-short-per-seed", "trials"]) {
    assert(id in w.tables, id);
  }
  assertEquals(rowsOf(w.tables["search-mnist-short-per-seed"]).length, 2 * 3 * 2, "methods × seeds × with/without");
  assert(sec.md.join("").includes(`(${2 * 3 * 2 * 6} rows) is in table-trials.csv`));
});

/** Best by validation accuracy, paired by seed: the by-accuracy table's "mean Δ" by its definition. */
function byAccDelta(results: StudyResult[], of: (t: StudyResult["best"]) => number): number {
  const best = (r: StudyResult) => [...r.trials].sort((a, b) => b.final.val.acc - a.final.val.acc)[0];
  const ds = results.filter((r) => !r.hls).map((a) => of(best(results.find((b) => b.hls && b.seed === a.seed)!)) - of(best(a)));
  return ds.reduce((x, y) => x + y, 0) / ds.length;
}

Deno.test("search section: the by-accuracy table picks the best by validation accuracy and pairs by seed (studies shuffled)", async () => {
  const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "random", seeds: [1, 2, 3, 4], models: 8, epochs: 1 });
  s.studies!.results.reverse(); // the with-HLS runs first: pairing must go by seed
  // accuracy independent of loss, so that "best by accuracy" and "best by loss" pick different models
  const rng = new Rng(9);
  for (const r of s.studies!.results) {
    for (const t of r.trials) t.final = { val: { loss: t.final.val.loss, acc: rng.next() }, test: { loss: 1, acc: rng.next() } };
  }
  const w = new ReportWriter();
  await searchSection(w, input([s]));
  const [row] = rowsOf(w.tables["search-mnist-short-by-accuracy"]);
  assertEquals(row[0], "Random search");
  assertClose(Number(row[3].replace("−", "-")), byAccDelta(s.studies!.results, (t) => t.final.val.acc), 5e-5);
  assertClose(Number(row[4].replace("−", "-")), byAccDelta(s.studies!.results, (t) => t.final.test.acc), 5e-5);
  // no studies: no by-accuracy table, the rest stays
  const w2 = new ReportWriter();
  await searchSection(w2, input([{ ...s, studies: undefined }]));
  assert(!("search-mnist-short-by-accuracy" in w2.tables) && "search-mnist-short" in w2.tables);
  assert(!("trials" in w2.tables));
});

Deno.test("group table: the paper's columns only under its protocol; otherwise the note says why they are missing", () => {
  const facts = searchFacts(defaultScaleInput());
  for (const [k, list] of byGroup(facts)) {
    const t = groupTable(k, list);
    for (const r of t.rows) assertEquals(r.length, t.head.length);
    const paper = list.some((f) => f.paper);
    assertEquals(t.head.includes("the paper's without HLS"), paper, k);
    if (paper) assert(t.note!.includes("The paper's columns are its Table II"), t.note);
    else if (list[0].differences.length) assert(t.note!.includes("The paper's numbers are not shown: this run differs"), t.note);
    assert(t.caption.startsWith(`${k}: best model of 40 by validation loss`), t.caption);
    assert(t.note!.includes("micro-GA: the first 10, then each batch of 2 offspring") || !list.some((f) => f.method === "microga"), t.note);
  }
  // mixed model counts are shown as such
  const mixed = ["grid", "random"].map((method, i) =>
    searchInput({ dataset: "x", split: "x", budget: "b", method, seeds: [1], models: 3 + i, epochs: 2 })
  );
  const t = groupTable("x · b", searchFacts(input(mixed)));
  assert(t.caption.includes("best model of 3 or 4"), t.caption);
  assert(t.note!.includes("Grid search: all 3; Random search: all 4"), t.note);
});
