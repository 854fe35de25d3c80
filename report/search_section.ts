/** Section IV: each search with and without HLS: tables per data set and budget, then the search figures. */
import { meanStd } from "../search/summary.ts";
import type { StudyResult } from "../search/records.ts";
import { effectCi, fmt, pm, signed, type Table } from "./format.ts";
import { budgetLabel, byGroup, type SearchFacts, searchFacts } from "./search_facts.ts";
import { searchFigures, trialsTable } from "./search_figures.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import { methodName, type ReportInput } from "./types.ts";

/** How the runs of a group were trained, from the studies: batch sizes of proposals (grid/random: all; micro-GA: population, then offspring). */
function batchNote(list: SearchFacts[]): string {
  const parts = list.map((f) => {
    const r = f.input.studies?.results[0];
    if (!r) return undefined;
    // TPE as the protocol runs it (search/tpe.ts defaults): its random start-up together, then one proposal at a time
    if (f.method === "tpe") return `TPE: the first ${Math.min(10, r.trials.length)} (random start-up), then one at a time`;
    if (f.method !== "microga") return `${methodName(f.method)}: all ${r.trials.length}`;
    const init = r.trials.filter((t) => t.generation === 0).length;
    const next = r.trials.filter((t) => t.generation === 1).length;
    return `micro-GA: the first ${init}, then each batch of ${next} offspring`;
  }).filter(Boolean);
  return parts.length
    ? ` Each batch of proposals (${
      parts.join("; ")
    }) is trained together with one shared, seeded batch order; each model keeps its own initialisation.`
    : "";
}

/** The main table of a group: best of N by validation loss, without and with HLS, the paired effects (and the paper's numbers under its protocol). */
export function groupTable(k: string, list: SearchFacts[]): Table {
  const withPaper = list.some((f) => f.paper);
  const s0 = list[0].input.summary;
  const models = [...new Set(list.map((f) => f.protocol.models ?? "?"))].join(" or ");
  return {
    id: `search-${k}`,
    caption: `${k}: best model of ${models} by validation loss, validation / test accuracy (mean ± sd over seeds)`,
    head: [
      "method",
      ...(withPaper ? ["the paper's without HLS", "the paper's with HLS"] : []),
      "without HLS",
      "with HLS",
      "Δ val acc [95% CI]",
      "Δ test acc [95% CI]",
      "Δ val loss [95% CI]",
      "seeds where HLS lowered val loss",
    ],
    rows: list.map((f) => {
      const s = f.input.summary;
      const paper = (x?: [number, number]) => (x ? `${fmt(x[0])} / ${fmt(x[1])}` : "–");
      return [
        methodName(s.method),
        ...(withPaper ? [paper(f.paper?.without), paper(f.paper?.with)] : []),
        `${pm(s.without.valAcc)} / ${pm(s.without.testAcc)}`,
        `${pm(s.with.valAcc)} / ${pm(s.with.testAcc)}`,
        effectCi(f.valAcc),
        effectCi(f.testAcc),
        effectCi(f.valLoss),
        `${s.pairedEffect.seedsImproved} of ${s.pairedEffect.valLoss.n}`,
      ];
    }),
    note: `Training budget ${budgetLabel(s0.budget, s0.training)}: ${JSON.stringify(s0.training)}. ` +
      "Grid and random search score the same trained models without and with HLS (a paired comparison); the micro-GA runs twice from the same seed." +
      batchNote(list) +
      (withPaper
        ? ` The paper's columns are its ${list.find((f) => f.paper)!.paper!.table} (validation / test accuracy).`
        : list[0].differences.length
        ? ` The paper's numbers are not shown: this run differs from its protocol (${list[0].differences.join("; ")}).`
        : ""),
  };
}

/** The same runs with the best model chosen by validation accuracy (the paper does not say which rule it used). */
function byAccuracyTable(k: string, list: SearchFacts[]): Table | undefined {
  const best = (r: StudyResult) => r.trials.reduce((a, b) => (b.final.val.acc > a.final.val.acc ? b : a));
  const rows = list.filter((f) => f.input.studies?.results.length).map((f) => {
    const pick = (h: boolean) =>
      f.input.studies!.results.filter((r) => r.hls === h && r.trials.length).map((r) => ({ seed: r.seed, t: best(r) }));
    const [wo, wi] = [pick(false), pick(true)];
    const paired = wo.flatMap((a) => wi.filter((b) => b.seed === a.seed).map((b) => [a, b] as const));
    const d = (g: (t: StudyResult["best"]) => number) => signed(meanStd(paired.map(([a, b]) => g(b.t) - g(a.t))).mean);
    const cell = (xs: typeof wo) => `${pm(meanStd(xs.map((x) => x.t.final.val.acc)))} / ${pm(meanStd(xs.map((x) => x.t.final.test.acc)))}`;
    return [methodName(f.method), cell(wo), cell(wi), d((t) => t.final.val.acc), d((t) => t.final.test.acc)];
  });
  if (!rows.length) return undefined;
  return {
    id: `search-${k}-by-accuracy`,
    caption: `${k}: the same runs, best model chosen by validation accuracy instead of validation loss`,
    head: ["method", "without HLS: val / test acc", "with HLS: val / test acc", "mean Δ val acc", "mean Δ test acc"],
    rows,
    note:
      "The paper does not say whether 'best' means lowest validation loss or highest validation accuracy. HLS minimises validation loss; the two criteria can disagree.",
  };
}

/** Every seed of every method of a group. */
function perSeedTable(k: string, list: SearchFacts[]): Table {
  return {
    id: `search-${k}-per-seed`,
    caption: `${k}: per seed`,
    head: [
      "method",
      "seed",
      "HLS",
      "best model (layers x neurons @ log10 λ)",
      "val acc",
      "test acc",
      "val loss",
      "λ moved / on a bound",
    ],
    rows: list.flatMap(({ input: { summary: s } }) =>
      s.perSeed.map((p) => [
        methodName(s.method),
        String(p.seed),
        p.hls ? "with" : "without",
        p.best,
        fmt(p.valAcc),
        fmt(p.testAcc),
        fmt(p.valLoss),
        p.lambdaMoved === undefined ? "–" : `${p.lambdaMoved} / ${p.lambdaOnBound}`,
      ])
    ),
  };
}

/** Section IV, or undefined when no search ran. */
export async function searchSection(w: ReportWriter, inp: ReportInput): Promise<SectionParts | undefined> {
  if (!inp.searches.length) return undefined;
  const sec = section("Section IV: search with and without hyper local search (Tables II-III, Figures 8-9)", "search");
  const facts = searchFacts(inp);
  for (const [k, list] of byGroup(facts)) {
    w.table(sec, groupTable(k, list));
    const acc = byAccuracyTable(k, list);
    if (acc) w.table(sec, acc);
    w.table(sec, perSeedTable(k, list));
  }
  await searchFigures(w, sec, facts);
  const trials = trialsTable(facts);
  if (trials.rows.length) {
    w.csv(trials);
    w.text(sec, `Every trial of every search (${trials.rows.length} rows) is in table-${trials.id}.csv beside this report.`, "note");
  }
  return sec;
}
