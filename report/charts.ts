import type * as VegaLite from "vega-lite";

/** A Vega-Lite spec (kept loose: the library validates it). */
export type VlSpec = Record<string, unknown>;

/**
 * Renders a Vega-Lite spec to a standalone SVG string with Vega's headless renderer (no browser, no
 * network). Fonts are left to the viewer.
 */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // loaded on first use: they are a sixth of the CLI's start-up, and only the report stage draws
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const compiled = vl.compile({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...spec } as VegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const GEOMETRY = /\s(d|transform|x|y|x1|x2|y1|y2|width|height|points|cx|cy|r|rx|ry|stroke-width|viewBox)="([^"]*)"/g;
const roundIn = (s: string) =>
  s.replace(/-?\d*\.\d+(?:e-?\d+)?/g, (n) => {
    const r = Math.round(Number(n) * 10) / 10;
    return String(Object.is(r, -0) ? 0 : r);
  });

/**
 * A path of straight segments only (M, L, Z: Vega's lines and areas) written with relative moves, and without
 * the middle points of horizontal or vertical runs (a best-so-far curve is mostly flat). Other paths are
 * returned as they are. Coordinates must already be rounded, so relative steps add up exactly.
 */
export function polyline(d: string): string {
  if (!/^M[-\d.,LMZ]*$/.test(d) || d.length < 40) return d;
  const out: string[] = [];
  for (const sub of d.split(/(?=M)/)) {
    const closed = sub.endsWith("Z");
    const pts = sub.replace(/Z$/, "").slice(1).split("L").map((p) => p.split(",").map(Number));
    if (pts.some((p) => p.length !== 2 || p.some((v) => !Number.isFinite(v)))) return d;
    const keep = pts.filter((p, i) => {
      if (i === 0 || i === pts.length - 1) return true;
      const [a, b] = [pts[i - 1], pts[i + 1]];
      return !((a[1] === p[1] && p[1] === b[1]) || (a[0] === p[0] && p[0] === b[0]));
    });
    const r = (v: number) => String(Math.round(v * 10) / 10);
    out.push(
      `M${r(keep[0][0])},${r(keep[0][1])}` + keep.slice(1).map((p, i) => `l${r(p[0] - keep[i][0])},${r(p[1] - keep[i][1])}`).join("") +
        (closed ? "Z" : ""),
    );
  }
  return out.join("");
}

/**
 * Makes Vega's SVG small enough to inline many of them: drops what only an interactive view uses (ARIA
 * labels of every mark, classes, roles, empty background and hidden foreground paths, `opacity="1"`),
 * rounds geometry to 0.1 px (text is left as it is), sets the font once on the root, and prefixes ids so that
 * several SVGs in one page do not share clip paths.
 */
export function compactSvg(svg: string, idPrefix: string): string {
  return renumberIds(svg)
    .replace(/<path class="(background|foreground)"[^>]*\/>/g, "")
    .replace(/\s(class|role|aria-roledescription|aria-label|aria-hidden|pointer-events)="[^"]*"/g, "")
    .replace(/\s(opacity|fill-opacity|stroke-opacity)="1"/g, "")
    .replace(/\sstroke-miterlimit="10"/g, "")
    .replace(/\sfont-family="[^"]*"/g, "")
    .replace(/<svg /, `<svg role="img" font-family="Helvetica, Arial, sans-serif" `)
    .replace(GEOMETRY, (_m, k, v) => ` ${k}="${k === "d" ? polyline(roundIn(v)) : roundIn(v)}"`)
    .replace(/\sid="([^"]+)"/g, ` id="${idPrefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${idPrefix}-$1)`)
    .replace(/(<line[^>]*?)\s(?:x1|x2|y1|y2)="0"/g, "$1")
    .replace(/(<line[^>]*?)\s(?:x1|x2|y1|y2)="0"/g, "$1")
    .replace(/(<text[^>]*?)\sfont-size="11px"/g, "$1")
    .replace(/<svg /, '<svg font-size="11px" ')
    .replace(/<g>\s*<\/g>/g, "")
    .replace(/<\/?g\b[^>]*>/g, unwrapBareGroups())
    .replace(/^[\s\S]*$/, (all) => shareSymbols(all, idPrefix));
}

/**
 * Vega numbers clip paths from a counter global to the process (clip1, then clip10 in the next figure), so the
 * same figure drawn twice in one process would differ; ids renumbered in order of appearance make the SVG a
 * function of the spec alone (the report is verified byte for byte).
 */
function renumberIds(svg: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) if (!ids.has(m[1])) ids.set(m[1], `c${ids.size}`);
  return svg
    .replace(/\sid="([^"]+)"/g, (_m, id) => ` id="${ids.get(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (all, id) => (ids.has(id) ? `url(#${ids.get(id)})` : all));
}

const SYMBOL = /<path transform="translate\(([^,()]+),([^,()]+)\)" d="([^"]{1,160})"([^>]*)\/>/g;

/**
 * Draws repeated marks (the same symbol at many places) as `<use>` of one path in `<defs>`: the path's `d`
 * is written once, each mark keeps its position and its own fill and stroke (which the used path inherits).
 */
function shareSymbols(svg: string, prefix: string): string {
  const counts = new Map<string, number>();
  for (const m of svg.matchAll(SYMBOL)) counts.set(m[3], (counts.get(m[3]) ?? 0) + 1);
  const ids = new Map<string, string>();
  for (const [d, n] of counts) if (n >= 3) ids.set(d, `${prefix}-p${ids.size}`);
  if (!ids.size) return svg;
  const body = svg.replace(SYMBOL, (all, x, y, d, rest) => (ids.has(d) ? `<use href="#${ids.get(d)}" x="${x}" y="${y}"${rest}/>` : all));
  const defs = `<defs>${[...ids].map(([d, id]) => `<path id="${id}" d="${d}"/>`).join("")}</defs>`;
  return body.replace(/<svg[^>]*>/, (open) => open + defs);
}

/** A replacer that drops every attribute-less `<g>` and its matching `</g>` (a stack of open groups). */
function unwrapBareGroups(): (tag: string) => string {
  const bare: boolean[] = [];
  return (tag) => {
    if (tag.startsWith("</")) return bare.pop() ? "" : tag;
    if (tag.endsWith("/>")) return tag === "<g/>" ? "" : tag;
    bare.push(tag === "<g>");
    return tag === "<g>" ? "" : tag;
  };
}

/** Tick values at powers of ten spanning positive values (for log axes, which otherwise draw a tick per unit of each decade). */
export function decades(xs: number[]): number[] {
  const pos = xs.filter((x) => x > 0 && Number.isFinite(x));
  if (!pos.length) return [];
  const lo = Math.floor(Math.log10(Math.min(...pos))), hi = Math.ceil(Math.log10(Math.max(...pos)));
  const step = Math.max(1, Math.ceil((hi - lo) / 6));
  const out: number[] = [];
  for (let k = lo; k <= hi; k += step) out.push(10 ** k);
  return out;
}

/** Shared look: readable on paper and in black and white (shapes and dashes carry what colour does). */
export const base = {
  config: {
    font: "Helvetica, Arial, sans-serif",
    axis: { labelFontSize: 11, titleFontSize: 12 },
    axisX: { grid: false },
    // legends below the plot, stacked one above the other (side by side they would widen a phone-sized figure)
    legend: {
      labelFontSize: 11,
      orient: "bottom",
      direction: "horizontal",
      columns: 5,
      titleFontSize: 11,
      layout: { bottom: { anchor: "start", direction: "vertical", margin: 4 } },
    },
    header: { labelFontSize: 11 },
    range: { category: { scheme: "tableau10" } },
  },
};

/** Shapes for series, in an order whose first few are told apart in black and white. */
export const SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-right", "triangle-left"];

/**
 * Training and validation loss along the descent direction (paper Figs. 2-4): every t > 0 of the line search on
 * a log axis, the chosen t marked (dotted rule, open diamond). The y axis spans the losses up to `yMax` (e.g.
 * twice the base model's): where the loss explodes, the line leaves the plot at the top.
 */
export function lossAlongDirectionSpec(
  rows: { grouping: string; t: number; loss: number; kind: string }[],
  chosen: { grouping: string; t: number; loss: number }[],
  yMax: number,
): VlSpec {
  const ok = (r: { t: number; loss: number }) => r.t > 0 && Number.isFinite(r.loss);
  const series = { field: "series", type: "nominal", title: null };
  const shown = rows.filter(ok);
  const yMin = Math.min(...shown.map((r) => r.loss), ...chosen.filter(ok).map((c) => c.loss));
  const y = {
    field: "loss",
    type: "quantitative",
    title: "cross-entropy",
    scale: { domain: [Math.max(0, yMin - 0.05 * (yMax - yMin)), yMax], nice: false },
  };
  const x = {
    field: "t",
    type: "quantitative",
    scale: { type: "log" },
    title: ["step t along", "(dλ, dw)"],
    axis: { values: decades(shown.map((r) => r.t)), format: "~g" },
  };
  return {
    ...base,
    data: {
      values: [
        ...shown.map((r) => ({ panel: r.grouping, t: r.t, loss: Math.round(r.loss * 1e4) / 1e4, series: r.kind, layer: "line" })),
        ...chosen.filter(ok).map((c) => ({ panel: c.grouping, t: c.t, loss: c.loss, layer: "chosen" })),
      ],
    },
    // panels wrap two to a row, so that the figure stays under about 440 px and its text readable on a phone
    facet: { field: "panel", type: "nominal", title: null },
    columns: 2,
    spec: {
      width: 125,
      height: 150,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'line'" }],
          mark: { type: "line", strokeWidth: 1.6, clip: true },
          encoding: {
            x,
            y,
            color: series,
            strokeDash: { ...series, legend: { symbolType: "stroke", symbolStrokeWidth: 2, symbolSize: 300 } },
          },
        },
        {
          transform: [{ filter: "datum.layer === 'chosen'" }],
          mark: { type: "rule", color: "black", strokeDash: [2, 2] },
          encoding: { x },
        },
        {
          transform: [{ filter: "datum.layer === 'chosen'" }],
          mark: { type: "point", shape: "diamond", size: 110, color: "black", filled: false, strokeWidth: 2, clip: true },
          encoding: { x, y },
        },
      ],
    },
  };
}

/** Accuracy against number of hyperparameters (paper Fig. 5), validation and test told apart by shape and dash. */
export function accuracyByHpSpec(rows: { hyperparameters: number; accuracy: number; set: string }[]): VlSpec {
  const set = { field: "set", type: "nominal", title: null };
  return {
    ...base,
    width: 260,
    height: 200,
    data: { values: rows.filter((r) => Number.isFinite(r.accuracy)) },
    mark: { type: "line", point: { size: 40, filled: true } },
    encoding: {
      x: { field: "hyperparameters", type: "ordinal", title: "number of hyperparameters (0 = base model)", axis: { labelAngle: 0 } },
      y: { field: "accuracy", type: "quantitative", scale: { zero: false } },
      color: set,
      shape: set,
      strokeDash: set,
    },
  };
}

/** The parts of a stage's time, in stacking order. */
export const TIMING_PARTS = ["training and evaluation", "HLS", "HLS: LP solve", "HLS: derivatives and line search"];

/** Time per stage, split into training and HLS. */
export function timingSpec(rows: { stage: string; part: string; seconds: number }[]): VlSpec {
  return {
    ...base,
    width: 300,
    height: { step: 14 },
    data: { values: rows.map((r) => ({ ...r, seconds: Math.round(r.seconds * 10) / 10 })) },
    mark: "bar",
    encoding: {
      y: { field: "stage", type: "nominal", sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field: "seconds", type: "quantitative", stack: "zero", title: "seconds" },
      color: {
        field: "part",
        type: "nominal",
        title: null,
        scale: { domain: TIMING_PARTS, range: ["#4c78a8", "#f58518", "#b5470b", "#f8c58f"] },
        legend: { columns: 2, labelLimit: 300 },
      },
    },
  };
}

/** A value over steps, one line per series (colour, shape and dash), one panel per group. */
export function trajectorySpec(
  rows: { panel: string; step: number; value: number; series: string }[],
  xTitle: string,
  yTitle: string,
): VlSpec {
  const series = { field: "series", type: "nominal", title: null };
  return {
    ...base,
    data: { values: rows.filter((r) => Number.isFinite(r.value)) },
    facet: { field: "panel", type: "nominal", title: null },
    columns: 2,
    spec: {
      width: 160,
      height: 160,
      mark: { type: "line", point: { size: 18, filled: true } },
      encoding: {
        x: { field: "step", type: "quantitative", title: xTitle },
        y: { field: "value", type: "quantitative", scale: { zero: false }, title: yTitle },
        color: series,
        shape: series,
        strokeDash: series,
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}
