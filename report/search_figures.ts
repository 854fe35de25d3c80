/** The search figures (trial history, paired with/without HLS, micro-GA convergence, hyperparameter slices) and the trials CSV. */
import type { TrialRecord } from "../search/records.ts";
import { convergenceSpec, type HistoryPoint, pairedHlsSpec, type SlicePoint, slicesSpec, trialHistorySpec } from "./charts_search.ts";
import type { Table } from "./format.ts";
import type { SearchFacts } from "./search_facts.ts";
import type { ReportWriter, SectionParts } from "./section.ts";
import { methodName } from "./types.ts";

const runOf = (hls: boolean) => (hls ? "with HLS" : "without HLS");

/** Best-so-far validation loss by trial index, aggregated over seeds (mean, min, max) per search and HLS flag. */
export function historyPoints(facts: SearchFacts[]): HistoryPoint[] {
  return facts.flatMap((f) =>
    [false, true].flatMap((hls) => {
      const curves = (f.input.studies?.results ?? []).filter((r) => r.hls === hls).map((r) => {
        let best = Infinity;
        // a diverged trial (NaN loss) neither beats nor erases the best so far (Math.min would turn it into NaN for good)
        return [...r.trials].sort((a, b) => a.index - b.index).map((t) => (best = t.final.val.loss < best ? t.final.val.loss : best));
      });
      const n = Math.max(0, ...curves.map((c) => c.length));
      return Array.from({ length: n }, (_, i) => {
        const ys = curves.map((c) => c[i]).filter((y) => Number.isFinite(y));
        return {
          panel: f.group,
          method: methodName(f.method),
          run: runOf(hls),
          trial: i + 1,
          mean: ys.reduce((a, b) => a + b, 0) / ys.length,
          lo: Math.min(...ys),
          hi: Math.max(...ys),
        };
      }).filter((p) => Number.isFinite(p.mean));
    })
  );
}

/** A bin width of about a tenth of the range, rounded to 1, 2 or 5 × 10^k. */
function niceWidth(range: number): number {
  if (!(range > 0)) return 1;
  const raw = range / 7, p = 10 ** Math.floor(Math.log10(raw)), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

const HPS: { name: string; of: (t: TrialRecord) => number; discrete: boolean }[] = [
  { name: "log10 λ", of: (t) => t.genome.log10Lambda, discrete: false },
  { name: "layers", of: (t) => t.genome.layers, discrete: true },
  { name: "neurons", of: (t) => t.genome.neurons, discrete: true },
];

/** Hyperparameter slices: per data set and budget, each hyperparameter binned, validation accuracy aggregated per bin and HLS flag. */
export function slicePoints(facts: SearchFacts[]): SlicePoint[] {
  const out: SlicePoint[] = [];
  const panels = new Map<string, { hls: boolean; t: TrialRecord }[]>();
  for (const f of facts) {
    const list = panels.get(f.group) ?? [];
    for (const r of f.input.studies?.results ?? []) for (const t of r.trials) list.push({ hls: r.hls, t });
    panels.set(f.group, list);
  }
  for (const [panel, trials] of panels) {
    for (const hp of HPS) {
      const xs = trials.map(({ t }) => hp.of(t)).filter(Number.isFinite);
      if (!xs.length) continue;
      const [min, max] = [Math.min(...xs), Math.max(...xs)];
      const distinct = new Set(xs).size;
      const width = hp.discrete && distinct <= 8 ? 0 : niceWidth(max - min);
      const dodge = (max - min || 1) * 0.015;
      const bins = new Map<string, { x: number; hls: boolean; ys: number[] }>();
      for (const { hls, t } of trials) {
        const v = hp.of(t), y = t.final.val.acc;
        if (!Number.isFinite(v) || !Number.isFinite(y)) continue;
        const x = width ? (Math.floor(v / width) + 0.5) * width : v;
        const key = `${x}|${hls}`;
        if (!bins.has(key)) bins.set(key, { x, hls, ys: [] });
        bins.get(key)!.ys.push(y);
      }
      for (const b of bins.values()) {
        out.push({
          panel,
          hp: hp.name,
          x: b.x + (b.hls ? dodge : -dodge),
          run: runOf(b.hls),
          mean: b.ys.reduce((a, c) => a + c, 0) / b.ys.length,
          lo: Math.min(...b.ys),
          hi: Math.max(...b.ys),
          n: b.ys.length,
        });
      }
    }
  }
  return out;
}

/** Every trial of every search as one table (for the CSV beside the report). */
export function trialsTable(facts: SearchFacts[]): Table {
  const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "" : String(x));
  return {
    id: "trials",
    caption: "Every trial of every search",
    head: [
      "dataset",
      "budget",
      "method",
      "seed",
      "hls",
      "trial",
      "generation",
      "layers",
      "neurons",
      "log10_lambda",
      "lambda",
      "parameters",
      "val_loss",
      "val_acc",
      "test_loss",
      "test_acc",
      "hls_t",
      "hls_lambda_before",
      "hls_improved",
    ],
    rows: facts.flatMap((f) =>
      (f.input.studies?.results ?? []).flatMap((r) =>
        r.trials.map((t) => [
          f.dataset,
          f.budget,
          f.method,
          String(r.seed),
          String(r.hls),
          String(t.index),
          String(t.generation),
          String(t.genome.layers),
          String(t.genome.neurons),
          num(t.genome.log10Lambda),
          num(t.lambda),
          String(t.parameters),
          num(t.final.val.loss),
          num(t.final.val.acc),
          num(t.final.test.loss),
          num(t.final.test.acc),
          num(t.hls?.t),
          num(t.hls?.lambdaBefore),
          t.hls ? String(t.hls.improved) : "",
        ])
      )
    ),
  };
}

/** Adds the search figures that the artifacts allow to a section. */
export async function searchFigures(w: ReportWriter, sec: SectionParts, facts: SearchFacts[]): Promise<void> {
  const history = historyPoints(facts);
  if (history.length) {
    await w.figure(
      sec,
      "trial-history",
      trialHistorySpec(history),
      "Trial history: the best validation loss seen so far against the trial index, mean over seeds (line) and range over seeds (band), with HLS (solid) and without (dashed)",
    );
  }
  const paired = facts.flatMap((f) =>
    f.input.summary.perSeed.map((p) => ({
      panel: f.group,
      method: f.method === "microga" ? "micro-GA" : f.method,
      seed: String(p.seed),
      run: runOf(p.hls),
      testAcc: p.testAcc,
    }))
  );
  if (paired.length) {
    await w.figure(
      sec,
      "paired-hls",
      pairedHlsSpec(paired),
      "Paired by seed: the chosen model's test accuracy without and with HLS, one line per seed (seeds by colour and shape)",
    );
  }
  const conv = facts.flatMap((f) =>
    (f.input.summary.convergence ?? []).flatMap((c) =>
      c.best.map((best, generation) => ({ panel: f.group, generation, best, run: runOf(c.hls), seed: c.seed }))
    )
  );
  if (conv.length) {
    await w.figure(
      sec,
      "8-9",
      convergenceSpec(conv),
      "micro-GA: best validation loss after the initial population (generation 0) and each generation, with HLS (solid) and without (dashed), seeds by colour and shape (paper Figures 8-9)",
    );
  }
  const slices = slicePoints(facts);
  if (slices.length) {
    await w.figure(
      sec,
      "slices",
      slicesSpec(slices),
      "Hyperparameter slices: validation accuracy of every trial (all methods) against each hyperparameter as sampled (λ before HLS), binned: the markers are the means of the bins (filled: with HLS, open: without), the grey bands their ranges (darker where the two overlap)",
    );
  }
}
