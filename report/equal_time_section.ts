/**
 * Equal wall time beside equal model count: what each method reached, without and with HLS, after the same
 * elapsed training + HLS time, from the per-model times the search results record (issue 29).
 */
import { meanStd } from "../search/summary.ts";
import { pairedEffect } from "../search/paired_stats.ts";
import type { StudyResult } from "../search/records.ts";
import { effectCi, fmt, pm, type Table } from "./format.ts";
import { byGroup, searchFacts } from "./search_facts.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import { methodName, type ReportInput } from "./types.ts";

/** A model of a run as it becomes available: when (elapsed seconds), its fitness (lower is better) and its accuracies. */
export interface TimedModel {
  at: number;
  fitness: number;
  valAcc: number;
  testAcc: number;
}

/**
 * When each model of a run became available, from its recorded training and HLS seconds. In a run whose HLS
 * feeds back (the micro-GA) a model is ready after its training and its HLS, in the order trained. In a run
 * with HLS after the search (grid, random, TPE: HLS on the hlsTop best as trained) every model is first
 * ready as trained, scored as the run without HLS scores it; from the end of training (`own.from`) the run's
 * own scores count: the models left as trained at once, each fine-tuned one when its HLS ends (until then it stays there as trained).
 */
export interface RunTimeline {
  models: TimedModel[];
  own?: { from: number; models: TimedModel[] };
}

/** The run's timeline (see RunTimeline). */
export function timeline(r: StudyResult): RunTimeline {
  const hlsAfter = r.hls && r.method !== "microga";
  let t = 0;
  const models = r.trials.map((m) => {
    t += m.trainSeconds + (hlsAfter ? 0 : m.hls?.seconds ?? 0);
    return hlsAfter
      ? { at: t, fitness: m.base.val.loss, valAcc: m.base.val.acc, testAcc: m.base.test.acc }
      : { at: t, fitness: m.fitness, valAcc: m.final.val.acc, testAcc: m.final.test.acc };
  });
  if (!hlsAfter) return { models };
  const from = t;
  const own = r.trials.map((m) => {
    if (m.hls) t += m.hls.seconds;
    return { at: m.hls ? t : from, fitness: m.fitness, valAcc: m.final.val.acc, testAcc: m.final.test.acc };
  });
  return { models, own: { from, models: own } };
}

/** The best model (lowest fitness; a NaN loss never beats a number) ready at `seconds`, or undefined when none is. */
export function bestAt(tl: RunTimeline, seconds: number): TimedModel | undefined {
  // after training, a model whose HLS has not ended yet is still there as trained
  const pool = tl.own && seconds >= tl.own.from ? tl.own.models.map((m, i) => (m.at <= seconds ? m : tl.models[i])) : tl.models;
  let best: TimedModel | undefined;
  for (const m of pool) {
    if (m.at > seconds) continue;
    if (!best || m.fitness < best.fitness || (Number.isNaN(best.fitness) && !Number.isNaN(m.fitness))) best = m;
  }
  return best;
}

/** The run's best ready at `seconds`. */
export function runBestAt(r: StudyResult, seconds: number): TimedModel | undefined {
  return bestAt(timeline(r), seconds);
}

/** The elapsed training + HLS seconds of a whole run. */
export function runSeconds(r: StudyResult): number {
  return r.trials.reduce((a, m) => a + m.trainSeconds + (m.hls?.seconds ?? 0), 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One group's table: each method ± HLS at the equal time T and at its whole budget, and Δ test acc against the micro-GA with HLS. */
function groupTable(k: string, runs: StudyResult[]): Table | undefined {
  const kinds = [...new Map(runs.map((r) => [`${r.method}|${r.hls}`, { method: r.method, hls: r.hls }])).values()];
  if (!kinds.length) return undefined;
  const of = (kind: { method: string; hls: boolean }) => runs.filter((r) => r.method === kind.method && r.hls === kind.hls);
  const medians = kinds.map((kind) => median(of(kind).map(runSeconds)));
  // the equal time: what the quickest method ± HLS needs for its whole budget (median over seeds)
  const T = Math.min(...medians);
  // each run's best model ready at T, found once
  const atT = new Map(runs.map((r) => [r, runBestAt(r, T)]));
  const ref = runs.some((r) => r.method === "microga" && r.hls) ? { method: "microga", hls: true } : undefined;
  const refRuns = ref ? of(ref) : [];
  const refT = new Map(refRuns.map((r) => [r.seed, atT.get(r)?.testAcc]));
  const refAll = new Map(refRuns.map((r) => [r.seed, r.best.final.test.acc]));
  const delta = (list: StudyResult[], value: (r: StudyResult) => number | undefined, refs: Map<number, number | undefined>) => {
    const d = list.flatMap((r) => {
      const [a, b] = [value(r), refs.get(r.seed)];
      return a === undefined || b === undefined ? [] : [a - b];
    });
    return d.length >= 2 ? effectCi(pairedEffect(d)) : "–";
  };
  const rows = kinds.map((kind, i) => {
    const list = of(kind);
    const got = list.map((r) => atT.get(r)).filter((m): m is TimedModel => m !== undefined);
    const isRef = ref && kind.method === ref.method && kind.hls === ref.hls;
    return [
      `${methodName(kind.method)} ${kind.hls ? "with" : "without"} HLS`,
      fmt(medians[i], 1),
      got.length ? `${pm(meanStd(got.map((m) => m.valAcc)))} / ${pm(meanStd(got.map((m) => m.testAcc)))}` : "–",
      fmt(meanStd(list.map((r) => timeline(r).models.filter((m) => m.at <= T).length)).mean, 1),
      isRef ? "(reference)" : delta(list, (r) => atT.get(r)?.testAcc, refT),
      `${pm(meanStd(list.map((r) => r.best.final.val.acc)))} / ${pm(meanStd(list.map((r) => r.best.final.test.acc)))}`,
      isRef ? "(reference)" : delta(list, (r) => r.best.final.test.acc, refAll),
    ];
  });
  return {
    id: `equal-time-${k}`,
    caption: `${k}: at equal time (T = ${fmt(T, 1)} s of training + HLS) and at equal model count`,
    head: [
      "method",
      "median s for the whole budget",
      `at T: val / test acc`,
      "models ready at T (mean)",
      "at T: Δ test acc vs micro-GA with HLS [95% CI]",
      "whole budget: val / test acc",
      "whole budget: Δ test acc vs micro-GA with HLS [95% CI]",
    ],
    rows,
    note: "T is the median time the quickest method ± HLS needs for its whole budget, summed from the per-model training and HLS " +
      "seconds the runs record (not the wall time of the stages, which adds evaluation and data handling). At T each run keeps its best " +
      "model so far by its own validation loss. A run with HLS after the search (grid, random, TPE) is, until its training ends, the run " +
      "without HLS; the micro-GA's HLS is inside its loop. Δ: paired by seed, 95% t interval, not in the report's Holm family of verdicts.",
  };
}

/** The equal-time section, when the searches carry their trials. */
export function equalTimeSection(w: ReportWriter, inp: ReportInput): SectionParts | undefined {
  const groups = byGroup(searchFacts(inp));
  const sec = section("Equal wall time and equal model count", "equal-time");
  w.text(
    sec,
    "From measured times: which model a run had ready at T depends on the wall times this run measured, so this section lives in the " +
      "volatile appendix and verify --rerun does not check it (another run measures other times). Its accuracies are those of models " +
      "whose every number is verified in the report's table-trials.csv; the selection at T is not.",
    "note",
  );
  let any = false;
  for (const [k, list] of groups) {
    const runs = list.flatMap((f) => f.input.studies?.results ?? []).filter((r) => r.trials.length);
    const t = groupTable(k, runs);
    if (!t) continue;
    w.table(sec, t);
    any = true;
  }
  return any ? sec : undefined;
}
