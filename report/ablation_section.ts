import { base, SHAPES, type VlSpec } from "./charts.ts";
import { effectCi, fmt, type Table } from "./format.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import type { AblationOutput, ReportInput } from "./types.ts";
import { ablationKey, judge, MIN_SEEDS, pCell, type Verdict, verdictCell, type Verdicts, verdictsOf } from "./verdicts.ts";

const ci = effectCi;
const MIN_SEEDS_TEXT = String(MIN_SEEDS);

/** The verdicts of one ablation judged as a family of its own (for a table shown without the rest of a report). */
function alone(a: AblationOutput): Verdicts {
  return judge(a.summary.map((s) => ({ key: ablationKey(a.dataset, a.budget, s.name), label: s.name, effect: s.testAcc })));
}

/** The table of one ablation stage: each variant's paired effect against no HLS, its Holm-adjusted p-value and verdict. */
export function ablationTable(a: AblationOutput, v: Verdicts = alone(a)): Table {
  const of = (name: string) => v.get(ablationKey(a.dataset, a.budget, name));
  return {
    id: `ablation-${a.dataset}-${a.budget}`,
    caption:
      `HLS ablation, ${a.dataset} · budget '${a.budget}': best of ${a.models} models, variant − no HLS, paired by seed (${a.seeds.length} seeds); mean [95% paired t interval]`,
    head: [
      "variant",
      "Δ test acc [95% CI]",
      "verdict (test acc, Holm)",
      "p (Holm)",
      "Δ val acc",
      "Δ val loss",
      "per-model Δ test acc",
      "λ moved / on a bound / models",
    ],
    rows: a.summary.map((s) => [
      `${s.name}: ${s.description}`,
      ci(s.testAcc),
      verdictCell(of(s.name)),
      pCell(of(s.name)?.pHolm),
      ci(s.valAcc),
      ci(s.valLoss),
      fmt(s.meanModelTestAccDelta),
      `${s.moved} / ${s.onBound} / ${s.models}`,
    ]),
    note:
      `Training budget: ${
        JSON.stringify(a.training)
      }. one-shot variants fine-tune the same ${a.models} random models of each seed; micro-GA variants are compared with the micro-GA without HLS from the same initial population. ` +
      "Validation metrics are on each run's own ranking data: the held-out half for held-out variants, the whole validation set otherwise, so Δ val compares different data and only test accuracy is comparable across all rows. " +
      "'per-model Δ test acc' is the mean change over all models before selection. Verdicts and p-values are corrected for the whole family of comparisons (see the findings); 'detectable' is the minimal detectable effect at 80% power. " +
      "Each variant's time against no HLS is in the timing appendix.",
  };
}

/** One sentence per ablation: which variants help, hurt, or cannot be told apart on test accuracy (Holm-corrected). */
export function ablationVerdict(a: AblationOutput, v: Verdicts = alone(a)): string {
  const judged = a.summary.map((s) => ({ s, j: v.get(ablationKey(a.dataset, a.budget, s.name)) }));
  const by = (w: Verdict["verdict"]) => judged.filter(({ j }) => j?.verdict === w).map(({ s }) => `${s.name} ${ci(s.testAcc, 3)}`);
  const parts: [string, string[]][] = [
    ["helps", by("helps")],
    ["hurts", by("hurts")],
    ["cannot be told apart from no HLS", by("cannot tell apart")],
    [`no verdict (fewer than ${MIN_SEEDS_TEXT} seeds)`, by("no verdict")],
  ];
  const said = parts.filter(([, xs]) => xs.length).map(([w, xs]) => `${w}: ${xs.join(", ")}`);
  return `${a.dataset}, budget '${a.budget}', ${a.seeds.length} seeds, Δ test accuracy of the chosen model [95% CI], verdicts corrected by Holm. ${
    said.join("; ")
  }.`;
}

/** The plot's rows: each seed's paired difference (spread a little within its variant's row) and each variant's interval. */
function pairedDifferenceRows(ablations: AblationOutput[], names: string[]): Record<string, unknown>[] {
  const row = (name: string) => names.indexOf(name);
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const points = ablations.flatMap((a) =>
    a.seeds.flatMap((s, k) =>
      a.variants.filter((v) => s.variants[v.name] && names.includes(v.name)).map((v) => ({
        panel: `${a.dataset} · ${a.budget}`,
        seed: String(s.seed),
        y: r4(row(v.name) + (a.seeds.length > 1 ? -0.25 + (0.5 * k) / (a.seeds.length - 1) : 0)),
        delta: r4(s.variants[v.name].chosen.testAcc - (s.reference[v.kind]?.testAcc ?? NaN)),
        layer: "seed",
      }))
    )
  );
  const intervals = ablations.flatMap((a) =>
    a.summary.map((v) => ({
      panel: `${a.dataset} · ${a.budget}`,
      y: row(v.name),
      mean: r4(v.testAcc.mean),
      lo: r4(v.testAcc.lo),
      hi: r4(v.testAcc.hi),
      layer: "ci",
    }))
  );
  return [...points, ...intervals];
}

/**
 * Per-seed paired differences in test accuracy (points: colour and shape per seed, spread a little within the
 * variant's row) with each variant's mean and 95% interval. Rows are numbered and labelled by variant.
 */
export function pairedDifferenceSpec(ablations: AblationOutput[]): VlSpec {
  const names = [...new Set(ablations.flatMap((a) => a.summary.map((v) => v.name)))];
  const values = pairedDifferenceRows(ablations, names);
  const y = {
    field: "y",
    type: "quantitative",
    title: null,
    scale: { domain: [-0.6, names.length - 0.4], reverse: true, nice: false, zero: false },
    axis: { values: names.map((_, i) => i), labelExpr: `${JSON.stringify(names)}[datum.value]`, grid: false, labelLimit: 260 },
  };
  const ci = { filter: "datum.layer === 'ci'" };
  const seedOrder = [...new Set(values.filter((v) => v.layer === "seed").map((v) => String(v.seed)))].sort((a, b) => Number(a) - Number(b));
  return {
    ...base,
    facet: { row: { field: "panel", type: "nominal", title: null } },
    data: { values },
    spec: {
      width: 135,
      height: 18 * names.length,
      layer: [
        { data: { values: [{}] }, mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
        {
          transform: [ci],
          mark: { type: "rule", strokeWidth: 2, color: "black" },
          encoding: { y, x: { field: "lo", type: "quantitative", title: ["Δ test accuracy", "(variant − no HLS)"] }, x2: { field: "hi" } },
        },
        {
          transform: [ci],
          mark: { type: "point", shape: "stroke", size: 120, strokeWidth: 3, color: "black", angle: 90 },
          encoding: { y, x: { field: "mean", type: "quantitative" } },
        },
        {
          transform: [{ filter: "datum.layer === 'seed'" }],
          mark: { type: "point", filled: false, size: 36, strokeWidth: 1.3, opacity: 1 },
          encoding: {
            y,
            x: { field: "delta", type: "quantitative" },
            shape: { field: "seed", type: "nominal", title: "seed", scale: { range: SHAPES }, sort: seedOrder },
            color: { field: "seed", type: "nominal", title: "seed", sort: seedOrder },
          },
        },
      ],
    },
  };
}

/** The report section of the HLS ablation: a verdict per data set and budget, the tables, and the plot. */
export async function ablationSection(w: ReportWriter, inp: ReportInput): Promise<SectionParts | undefined> {
  const ablations = inp.ablations;
  if (!ablations?.length) return undefined;
  const v = verdictsOf(inp);
  const sec = section("Does hyper local search help? The paired ablation", "ablation");
  w.list(sec, ablations.map((a) => ablationVerdict(a, v)));
  w.text(
    sec,
    v.m
      ? `Verdicts are Holm-corrected over the report's one family of ${v.m} tested comparisons (stated under the findings); "detectable" is the smallest effect the test would catch with 80% power.`
      : `No comparison here has the ${MIN_SEEDS} seeds a verdict needs: the numbers stand without verdicts.`,
    "note",
  );
  for (const a of ablations) w.table(sec, ablationTable(a, v));
  await w.figure(
    sec,
    "hls-ablation",
    pairedDifferenceSpec(ablations),
    "Paired differences in test accuracy of the chosen model, variant minus no HLS: one marker per seed (colour and shape); the black bar is the mean with its 95% paired t interval; the dashed line is no effect",
  );
  return sec;
}
