import { assert, assertClose, assertEquals } from "../assert.ts";
import { historyPoints, searchFigures, slicePoints, trialsTable } from "../../report/search_figures.ts";
import { searchFacts } from "../../report/search_facts.ts";
import { ReportWriter, section } from "../../report/section.ts";
import type { ReportInput } from "../../report/build.ts";
import type { StudyResult } from "../../search/records.ts";
import { searchInput } from "../report_fixtures.ts";
import { Rng } from "../../data/rng.ts";

function input(searches: ReportInput["searches"]): ReportInput {
  return { title: "T", description: "", config: {}, splits: {}, environment: {}, stages: [], searches };
}

/** Searches whose trials come in a shuffled order, so that "by index" matters. */
function shuffledSearches(seed: number) {
  const rng = new Rng(seed);
  const searches = ["grid", "microga"].map((method, k) =>
    searchInput({ dataset: "mnist", split: "mnist", budget: "short", method, seeds: [1, 2, 3].slice(0, 1 + k * 2), models: 6, epochs: 1 })
  );
  for (const s of searches) {
    for (const r of s.studies!.results) {
      for (let i = r.trials.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [r.trials[i], r.trials[j]] = [r.trials[j], r.trials[i]];
      }
    }
  }
  return searches;
}

/** Best-so-far by trial index for one study, by its definition: min over the trials with index ≤ i, numbers only. */
function bestSoFar(r: StudyResult): number[] {
  const n = Math.max(...r.trials.map((t) => t.index)) + 1;
  return Array.from({ length: n }, (_, i) => {
    const xs = r.trials.filter((t) => t.index <= i).map((t) => t.final.val.loss).filter(Number.isFinite);
    return xs.length ? Math.min(...xs) : NaN;
  });
}

Deno.test("history: best-so-far by trial index, aggregated over seeds, matches a brute-force reference (trials shuffled)", () => {
  for (const seed of [1, 2, 3]) {
    const facts = searchFacts(input(shuffledSearches(seed)));
    const pts = historyPoints(facts);
    for (const f of facts) {
      for (const hls of [false, true]) {
        const curves = f.input.studies!.results.filter((r) => r.hls === hls).map(bestSoFar);
        const mine = pts.filter((p) =>
          p.panel === f.group && p.method === (f.method === "grid" ? "Grid search" : "micro-GA") &&
          p.run === (hls ? "with HLS" : "without HLS")
        );
        assertEquals(mine.map((p) => p.trial), curves[0].map((_, i) => i + 1));
        for (const p of mine) {
          const ys = curves.map((c) => c[p.trial - 1]);
          assertClose(p.mean, ys.reduce((a, b) => a + b, 0) / ys.length, 1e-12);
          assertEquals([p.lo, p.hi], [Math.min(...ys), Math.max(...ys)]);
        }
        for (let i = 1; i < mine.length; i++) assert(mine[i].hi <= mine[i - 1].hi, "the best so far never worsens");
      }
    }
  }
  assertEquals(historyPoints([]), []);
});

// A diverged model (StoredReal reads a null loss as NaN) must not end its seed's best-so-far curve: before the
// fix, Math.min turned the curve NaN from that trial on and every later point was dropped from the mean and band.
Deno.test({
  name: "history: a trial with a NaN validation loss does not erase the best so far",
  fn: () => {
    const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 5, epochs: 1 });
    const r = s.studies!.results.find((x) => !x.hls)!;
    r.trials[1].final = { ...r.trials[1].final, val: { loss: NaN, acc: NaN } };
    const pts = historyPoints(searchFacts(input([s]))).filter((p) => p.run === "without HLS");
    assertEquals(pts.length, 5, "one point per trial");
    assertEquals(pts.map((p) => p.mean), bestSoFar(r));
  },
});

Deno.test("slices: every finite trial lands in exactly one bin per hyperparameter; bins are nice widths or the values themselves", () => {
  const facts = searchFacts(input(shuffledSearches(4)));
  const pts = slicePoints(facts);
  const trials = facts.flatMap((f) => f.input.studies!.results.flatMap((r) => r.trials.map((t) => ({ hls: r.hls, t }))));
  for (const hp of ["log10 λ", "layers", "neurons"]) {
    for (const hls of [false, true]) {
      const mine = pts.filter((p) => p.hp === hp && p.run === (hls ? "with HLS" : "without HLS"));
      assertEquals(mine.reduce((a, p) => a + p.n, 0), trials.filter((x) => x.hls === hls).length, `${hp} ${hls}`);
      for (const p of mine) assert(p.lo <= p.mean + 1e-15 && p.mean <= p.hi + 1e-15 && p.n >= 1);
    }
  }
  // layers take at most 3 values: no binning, each marker sits beside its value (dodged by HLS flag)
  const layers = pts.filter((p) => p.hp === "layers");
  for (const p of layers) assert(Math.abs(p.x - Math.round(p.x)) < 0.1 && p.x !== Math.round(p.x), `x = ${p.x}`);
  // λ is binned: the bin centres (undodged) are odd multiples of half a 1-2-5 width
  const lam = pts.filter((p) => p.hp === "log10 λ");
  const xs = trials.map(({ t }) => t.genome.log10Lambda);
  const dodge = (Math.max(...xs) - Math.min(...xs)) * 0.015;
  const centres = lam.map((p) => p.x + (p.run === "with HLS" ? -dodge : dodge));
  const widths = [0.1, 0.2, 0.5, 1, 2];
  assert(widths.some((wd) => centres.every((c) => Math.abs(c / wd - 0.5 - Math.round(c / wd - 0.5)) < 1e-9)), centres.join(","));
  assertEquals(slicePoints([]), []);
});

Deno.test("slices: a non-finite accuracy or hyperparameter is left out, not averaged in", () => {
  const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 4, epochs: 1 });
  const [r] = s.studies!.results;
  r.trials[0].final = { ...r.trials[0].final, val: { loss: NaN, acc: NaN } };
  r.trials[1].genome = { ...r.trials[1].genome, log10Lambda: NaN };
  const pts = slicePoints(searchFacts(input([s]))).filter((p) => p.run === "without HLS");
  for (const p of pts) assert(Number.isFinite(p.mean), JSON.stringify(p));
  assertEquals(pts.filter((p) => p.hp === "layers").reduce((a, p) => a + p.n, 0), 3);
  assertEquals(pts.filter((p) => p.hp === "log10 λ").reduce((a, p) => a + p.n, 0), 2);
});

Deno.test("trials table: one row per trial of every study, non-finite numbers as empty cells", () => {
  const searches = shuffledSearches(5);
  const r0 = searches[0].studies!.results[0];
  r0.trials[0].final = { ...r0.trials[0].final, val: { loss: NaN, acc: 0.5 } };
  const t = trialsTable(searchFacts(input(searches)));
  const total = searches.reduce((a, s) => a + s.studies!.results.reduce((b, r) => b + r.trials.length, 0), 0);
  assertEquals(t.rows.length, total);
  for (const row of t.rows) assertEquals(row.length, t.head.length);
  const nanRow = t.rows.find((row) => row[5] === String(r0.trials[0].index) && row[2] === "grid" && row[4] === String(r0.hls))!;
  assertEquals(nanRow[t.head.indexOf("val_loss")], "");
  assertEquals(nanRow[t.head.indexOf("val_acc")], "0.5");
  const noHls = t.rows.filter((row) => row[4] === "false");
  for (const row of noHls) assertEquals(row.slice(-3), ["", "", ""]);
  assertEquals(trialsTable([]).rows, []);
});

Deno.test("search figures: each figure only when the artifacts allow it (no convergence without a micro-GA)", async () => {
  const grid = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2], models: 4, epochs: 1 });
  const w = new ReportWriter();
  await searchFigures(w, section("S"), searchFacts(input([grid])));
  assertEquals(Object.keys(w.figures), ["trial-history", "paired-hls", "slices"]);
  const ga = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "microga", seeds: [1], models: 6, epochs: 1 });
  const w2 = new ReportWriter();
  await searchFigures(w2, section("S"), searchFacts(input([{ ...ga, studies: undefined }])));
  assertEquals(Object.keys(w2.figures), ["paired-hls", "8-9"], "without the studies: no history, no slices");
  const w3 = new ReportWriter();
  await searchFigures(w3, section("S"), []);
  assertEquals(w3.figures, {});
});
