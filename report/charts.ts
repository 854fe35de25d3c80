import * as vega from "vega";
import * as vl from "vega-lite";

/** A Vega-Lite spec (kept loose: the library validates it). */
export type VlSpec = Record<string, unknown>;

/**
 * Renders a Vega-Lite spec to a standalone SVG string with Vega's headless renderer (no browser, no
 * network). Fonts are left to the viewer.
 */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const compiled = vl.compile({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...spec } as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const base = { config: { font: "Helvetica, Arial, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } } };

/** Line charts faceted into columns, one colour per series, independent y scales: the shape of several figures. */
function facetedLines(rows: Record<string, unknown>[], o: { x: string; y: string; xTitle: string; yTitle: string; xLog?: boolean; detail?: string; width?: number }): VlSpec {
  return {
    ...base,
    data: { values: rows },
    facet: { column: { field: "panel", type: "nominal", title: null } },
    spec: {
      width: o.width ?? 240,
      height: 200,
      mark: { type: "line", point: { size: 20 } },
      encoding: {
        x: { field: o.x, type: "quantitative", title: o.xTitle, ...(o.xLog ? { scale: { type: "log" } } : {}) },
        y: { field: o.y, type: "quantitative", scale: { zero: false }, title: o.yTitle },
        color: { field: "series", type: "nominal", title: null },
        ...(o.detail ? { detail: { field: o.detail, type: "nominal" } } : {}),
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/** Training and validation loss along the descent direction, one panel per grouping (paper Figs. 2-4). */
export function lossAlongDirectionSpec(rows: { grouping: string; t: number; loss: number; kind: string }[]): VlSpec {
  return facetedLines(rows.filter((r) => r.t > 0).map((r) => ({ panel: r.grouping, t: r.t, loss: r.loss, series: r.kind })), { x: "t", y: "loss", xTitle: "step t along (dλ, dw)", yTitle: "cross-entropy", xLog: true, width: 220 });
}

/** Accuracy against number of hyperparameters (paper Fig. 5). */
export function accuracyByHpSpec(rows: { hyperparameters: number; accuracy: number; set: string }[]): VlSpec {
  return {
    ...base,
    width: 320,
    height: 220,
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "hyperparameters", type: "ordinal", title: "number of hyperparameters (0 = base model)" },
      y: { field: "accuracy", type: "quantitative", scale: { zero: false } },
      color: { field: "set", type: "nominal", title: null },
    },
  };
}

/** Micro-GA best validation loss per generation, with and without HLS, one line per seed (Figs. 8-9). */
export function convergenceSpec(rows: { panel: string; generation: number; best: number; run: string; seed: number }[]): VlSpec {
  return facetedLines(rows.map((r) => ({ ...r, series: r.run })), { x: "generation", y: "best", xTitle: "generation", yTitle: "best validation loss", detail: "seed" });
}

/** Every trial: validation accuracy against parameter count, by method and λ. */
export function trialScatterSpec(rows: { panel: string; parameters: number; valAcc: number; method: string; log10Lambda: number; hls: string }[]): VlSpec {
  return {
    ...base,
    data: { values: rows },
    facet: { column: { field: "panel", type: "nominal", title: null } },
    spec: {
      width: 240,
      height: 200,
      mark: { type: "point", filled: true, opacity: 0.7 },
      encoding: {
        x: { field: "parameters", type: "quantitative", scale: { type: "log" }, title: "parameters" },
        y: { field: "valAcc", type: "quantitative", scale: { zero: false }, title: "validation accuracy" },
        color: { field: "log10Lambda", type: "quantitative", title: "log10 λ", scale: { scheme: "viridis" } },
        shape: { field: "method", type: "nominal" },
        column: undefined,
      },
    },
  };
}

/** Time per stage, split into training, HLS and other. */
export function timingSpec(rows: { stage: string; part: string; seconds: number }[]): VlSpec {
  return {
    ...base,
    width: 420,
    height: { step: 16 },
    data: { values: rows },
    mark: "bar",
    encoding: {
      y: { field: "stage", type: "nominal", sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field: "seconds", type: "quantitative", stack: "zero", title: "seconds" },
      color: { field: "part", type: "nominal", title: null },
    },
  };
}

/** A value over steps, one line per series, one panel per group (tuned hyperparameters over training). */
export function trajectorySpec(rows: { panel: string; step: number; value: number; series: string }[], xTitle: string, yTitle: string): VlSpec {
  return facetedLines(rows, { x: "step", y: "value", xTitle, yTitle, width: 260 });
}
