/** Vega-Lite specs of the search views: convergence, trial history, paired with/without HLS, hyperparameter slices. */
import { base, SHAPES, type VlSpec } from "./charts.ts";

const HLS_DASH = {
  field: "run",
  type: "nominal",
  title: null,
  scale: { domain: ["with HLS", "without HLS"], range: [[1, 0], [5, 3]] },
  legend: { symbolType: "stroke", symbolStrokeWidth: 2, symbolSize: 300 },
};
const HLS_COLOR = {
  field: "run",
  type: "nominal",
  title: null,
  scale: { domain: ["with HLS", "without HLS"], range: ["#1f4e96", "#d9730d"] },
};
/** Seeds in numeric order (a nominal scale would put 10 before 2). */
const seedOrder = (rows: { seed: string | number }[]) => [...new Set(rows.map((r) => r.seed))].sort((a, b) => Number(a) - Number(b));
/** Panels in the order they first appear (a facet would sort them alphabetically). */
const inOrder = (rows: { panel: string }[]) => [...new Set(rows.map((r) => r.panel))];
/** The shared look without horizontal grid lines: small multiples read well without them, and stay small. */
const small = { config: { ...base.config, axisY: { grid: false } } };
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Micro-GA best validation loss per generation (Figs. 8-9): seeds by colour and shape, with/without HLS by
 * dash. Markers sit on about six generations of each line (the first, the last, and evenly between) so that
 * long runs stay small.
 */
export function convergenceSpec(rows: { panel: string; generation: number; best: number; run: string; seed: number }[]): VlSpec {
  const last = Math.max(0, ...rows.map((r) => r.generation));
  const every = Math.max(1, Math.ceil(last / 5));
  const enc = {
    x: { field: "generation", type: "quantitative", title: "generation", axis: { tickMinStep: 1 } },
    y: { field: "best", type: "quantitative", scale: { zero: false }, title: "best validation loss" },
    color: { field: "seed", type: "nominal", title: "seed", sort: seedOrder(rows) },
  };
  return {
    ...base,
    data: {
      values: rows.filter((r) => Number.isFinite(r.best)).map((r) => ({
        ...r,
        best: round(r.best),
        marker: r.generation % every === 0 || r.generation === last,
      })),
    },
    // two panels a row, so that the figure stays readable when a phone scales it down
    facet: { field: "panel", type: "nominal", title: null, sort: inOrder(rows) },
    columns: 2,
    spec: {
      width: 120,
      height: 150,
      layer: [
        { mark: { type: "line", strokeWidth: 1.3 }, encoding: { ...enc, strokeDash: HLS_DASH, detail: { field: "run" } } },
        {
          transform: [{ filter: "datum.marker" }],
          mark: { type: "point", size: 26, filled: true, opacity: 1 },
          encoding: { ...enc, shape: { field: "seed", type: "nominal", title: "seed", scale: { range: SHAPES }, sort: seedOrder(rows) } },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}

/** One point of a search's trial history, already aggregated over seeds. */
export interface HistoryPoint {
  panel: string;
  method: string;
  run: string;
  trial: number;
  mean: number;
  lo: number;
  hi: number;
}

/**
 * Trial history (as Optuna's): the best validation loss seen so far against the trial index, mean over seeds
 * (line) and range over seeds (band), with and without HLS; one row of panels per data set and budget.
 */
export function trialHistorySpec(points: HistoryPoint[]): VlSpec {
  const x = { field: "trial", type: "quantitative", title: "trial", axis: { tickMinStep: 1 } };
  return {
    ...small,
    data: { values: points.map((p) => ({ ...p, mean: round(p.mean), lo: round(p.lo), hi: round(p.hi) })) },
    facet: {
      row: { field: "panel", type: "nominal", title: null, sort: inOrder(points) },
      column: { field: "method", type: "nominal", title: null, sort: [...new Set(points.map((p) => p.method))] },
    },
    spec: {
      width: 72,
      height: 110,
      layer: [
        {
          // a field of its own, so that the band's fill scale does not merge with (and hide) the lines' legend
          transform: [{ calculate: "datum.run", as: "band" }],
          mark: { type: "area", opacity: 0.18 },
          encoding: {
            x,
            y: { field: "lo", type: "quantitative" },
            y2: { field: "hi" },
            fill: { ...HLS_COLOR, field: "band", legend: null },
          },
        },
        {
          mark: { type: "line", strokeWidth: 1.6 },
          encoding: {
            x,
            y: { field: "mean", type: "quantitative", scale: { zero: false }, title: "best val loss" },
            color: HLS_COLOR,
            strokeDash: HLS_DASH,
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * Paired by seed, one panel per data set and budget: for each method a slope from the chosen model's test
 * accuracy without HLS (left) to with HLS (right), one line per seed (colour and shape).
 */
export function pairedHlsSpec(rows: { panel: string; method: string; seed: string; run: string; testAcc: number }[]): VlSpec {
  const methods = [...new Set(rows.map((r) => r.method))];
  const x = {
    field: "x",
    type: "quantitative",
    title: ["each method:", "without HLS (left)", "→ with HLS (right)"],
    scale: { domain: [-0.5, methods.length - 0.5], nice: false, zero: false },
    axis: {
      values: methods.map((_, i) => i),
      labelExpr: `${JSON.stringify(methods)}[datum.value]`,
      grid: false,
      ticks: false,
      labelOverlap: false,
    },
  };
  return {
    ...small,
    data: {
      values: rows.filter((r) => Number.isFinite(r.testAcc)).map((r) => ({
        panel: r.panel,
        seed: r.seed,
        pair: `${r.seed}|${r.method}`,
        x: methods.indexOf(r.method) + (r.run === "with HLS" ? 0.25 : -0.25),
        testAcc: round(r.testAcc),
      })),
    },
    facet: { field: "panel", type: "nominal", title: null, sort: inOrder(rows) },
    columns: 2,
    spec: {
      width: 34 * methods.length + 16,
      height: 150,
      mark: { type: "line", point: { size: 36, filled: true }, strokeWidth: 1.2 },
      encoding: {
        x,
        y: { field: "testAcc", type: "quantitative", scale: { zero: false }, title: "test accuracy" },
        color: { field: "seed", type: "nominal", title: "seed", sort: seedOrder(rows) },
        shape: { field: "seed", type: "nominal", title: "seed", scale: { range: SHAPES }, sort: seedOrder(rows) },
        detail: { field: "pair" },
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/** One aggregated mark of a hyperparameter slice: the mean, min and max accuracy of the trials in a bin. */
export interface SlicePoint {
  panel: string;
  hp: string;
  x: number;
  run: string;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/**
 * Hyperparameter slices (as Optuna's, aggregated so the page stays small): validation accuracy of every trial
 * against each hyperparameter, as the mean per bin (markers: filled = with HLS, open = without) and the range
 * over the trials of each bin (a grey band per series, darker where the two overlap).
 */
export function slicesSpec(points: SlicePoint[]): VlSpec {
  const x = { field: "x", type: "quantitative", title: null, scale: { zero: false, nice: false, padding: 8 }, axis: { tickMinStep: 1 } };
  const run = HLS_COLOR;
  const legendRun = { ...run, legend: { symbolFillColor: "white", symbolStrokeWidth: 1.5 } };
  // the markers' fill uses a field of its own, so that its scale (without a legend) does not hide the legend
  const own = (field: string, range: string[]) => ({
    field,
    type: "nominal",
    scale: { domain: ["with HLS", "without HLS"], range },
    legend: null,
  });
  return {
    ...small,
    data: {
      values: points.map((p) => ({
        ...p,
        x: round(p.x, 3),
        mean: round(p.mean),
        lo: round(p.lo),
        hi: round(p.hi),
        face: p.run,
      })),
    },
    facet: {
      row: { field: "panel", type: "nominal", title: null, sort: inOrder(points) },
      column: { field: "hp", type: "nominal", title: null, sort: [...new Set(points.map((p) => p.hp))] },
    },
    spec: {
      width: 68,
      height: 110,
      layer: [
        {
          // the range over the bins as one band per series (a rule per bin costs ten times the bytes)
          mark: { type: "area", opacity: 0.12, color: "#555" },
          encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, detail: { field: "run" } },
        },
        {
          mark: { type: "point", size: 34, strokeWidth: 1.5, opacity: 1 },
          encoding: {
            x,
            y: { field: "mean", type: "quantitative", scale: { zero: false }, title: "val accuracy" },
            color: legendRun,
            shape: { ...run, scale: { domain: ["with HLS", "without HLS"], range: ["circle", "square"] } },
            fill: own("face", [run.scale.range[0], "white"]),
          },
        },
      ],
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}
