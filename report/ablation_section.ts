import type { AblationSeed, AblationVariant, VariantSummary } from "../search/hls_ablation.ts";
import type { PairedEffect } from "../search/paired_stats.ts";
import type { VlSpec } from "./charts.ts";
import { esc, fmt, signed, type Table } from "./format.ts";

/** What an hls-ablation stage writes (ablation.json, timings merged back in). */
export interface AblationOutput {
  dataset: string;
  split: string;
  budget: string;
  training: Record<string, unknown>;
  models: number;
  variants: AblationVariant[];
  seeds: AblationSeed[];
  summary: VariantSummary[];
}

/** A report section's parts (as report/build.ts assembles them). */
export interface SectionParts {
  title: string;
  html: string[];
  md: string[];
}

type Figure = (name: string, spec: VlSpec, caption: string) => Promise<{ html: string; md: string }>;

const ci = (
  e: PairedEffect,
  digits = 4,
) => (e.n > 1 ? `${signed(e.mean, digits)} [${signed(e.lo, digits)}, ${signed(e.hi, digits)}]` : signed(e.mean, digits));

/** The table of one ablation stage: each variant's paired effect against no HLS, with 95% paired t intervals. */
export function ablationTable(a: AblationOutput): Table {
  return {
    caption:
      `HLS ablation, ${a.dataset} · budget '${a.budget}': best of ${a.models} models, variant − no HLS, paired by seed (${a.seeds.length} seeds); mean [95% paired t interval]`,
    head: [
      "variant",
      "Δ test acc",
      "verdict (test acc)",
      "Δ val acc",
      "Δ val loss",
      "per-model Δ test acc",
      "λ moved / on a bound / models",
      "time × no HLS",
    ],
    rows: a.summary.map((v) => [
      `${v.name}: ${v.description}`,
      ci(v.testAcc),
      v.testAcc.verdict === "unclear" ? "cannot tell apart" : v.testAcc.verdict,
      ci(v.valAcc),
      ci(v.valLoss),
      fmt(v.meanModelTestAccDelta),
      `${v.moved} / ${v.onBound} / ${v.models}`,
      fmt(v.seconds / v.referenceSeconds, 2),
    ]),
    note:
      `Training budget: ${
        JSON.stringify(a.training)
      }. one-shot variants fine-tune the same ${a.models} random models of each seed; micro-GA variants are compared with the micro-GA without HLS from the same initial population. ` +
      "Validation metrics are on each run's own ranking data: the held-out half for held-out variants, the whole validation set otherwise, so Δ val compares different data and only test accuracy is comparable across all rows. " +
      "'per-model Δ test acc' is the mean change over all models before selection. Time: the variant's wall time over its reference's (training only, for one-shot).",
  };
}

/** One sentence per ablation: which variants help, hurt, or cannot be told apart on test accuracy. */
export function ablationVerdict(a: AblationOutput): string {
  const by = (v: PairedEffect["verdict"]) => a.summary.filter((s) => s.testAcc.verdict === v).map((s) => `${s.name} ${ci(s.testAcc, 3)}`);
  const parts: [string, string[]][] = [["helps", by("helps")], ["hurts", by("hurts")], ["cannot be told apart from no HLS", by("unclear")]];
  const said = parts.filter(([, xs]) => xs.length).map(([w, xs]) => `${w}: ${xs.join(", ")}`);
  return `${a.dataset}, budget '${a.budget}', ${a.seeds.length} seeds, Δ test accuracy of the chosen model [95% CI]. ${said.join("; ")}.`;
}

/** Per-seed paired differences in test accuracy (points, one shape per seed) with each variant's mean and 95% interval. */
export function pairedDifferenceSpec(ablations: AblationOutput[]): VlSpec {
  const points = ablations.flatMap((a) =>
    a.seeds.flatMap((s) =>
      a.variants.filter((v) => s.variants[v.name]).map((v) => ({
        panel: `${a.dataset} · ${a.budget}`,
        variant: v.name,
        seed: String(s.seed),
        delta: s.variants[v.name].chosen.testAcc - (s.reference[v.kind]?.testAcc ?? NaN),
      }))
    )
  );
  const intervals = ablations.flatMap((a) =>
    a.summary.map((v) => ({
      panel: `${a.dataset} · ${a.budget}`,
      variant: v.name,
      mean: v.testAcc.mean,
      lo: v.testAcc.lo,
      hi: v.testAcc.hi,
    }))
  );
  const y = { field: "variant", type: "nominal", title: null, sort: null };
  return {
    config: { font: "Helvetica, Arial, sans-serif" },
    facet: { row: { field: "panel", type: "nominal", title: null } },
    data: { values: [...points.map((p) => ({ ...p, layer: "seed" })), ...intervals.map((i) => ({ ...i, layer: "ci" }))] },
    spec: {
      width: 420,
      layer: [
        { mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
        {
          transform: [{ filter: "datum.layer === 'ci'" }],
          mark: { type: "rule", strokeWidth: 2, color: "black" },
          encoding: { y, x: { field: "lo", type: "quantitative", title: "Δ test accuracy (variant − no HLS)" }, x2: { field: "hi" } },
        },
        {
          transform: [{ filter: "datum.layer === 'ci'" }],
          mark: { type: "tick", thickness: 3, color: "black" },
          encoding: { y, x: { field: "mean", type: "quantitative" } },
        },
        {
          transform: [{ filter: "datum.layer === 'seed'" }],
          mark: { type: "point", filled: false, size: 40, opacity: 0.8 },
          encoding: {
            y: { ...y, axis: null },
            yOffset: { field: "seed", type: "nominal" },
            x: { field: "delta", type: "quantitative" },
            shape: { field: "seed", type: "nominal" },
            color: { field: "seed", type: "nominal" },
          },
        },
      ],
    },
  };
}

/** The report section of the HLS ablation: a verdict per data set and budget, the tables, and the plot. */
export async function ablationSection(
  ablations: AblationOutput[],
  figure: Figure,
  addTable: (sec: SectionParts, t: Table) => void,
): Promise<SectionParts> {
  const sec: SectionParts = { title: "Does hyper local search help? The paired ablation", html: [], md: [] };
  const verdicts = ablations.map(ablationVerdict);
  sec.html.push(`<ul>${verdicts.map((v) => `<li>${esc(v)}</li>`).join("")}</ul>`);
  sec.md.push(verdicts.map((v) => `- ${v}`).join("\n") + "\n");
  for (const a of ablations) addTable(sec, ablationTable(a));
  const f = await figure(
    "hls-ablation",
    pairedDifferenceSpec(ablations),
    "Paired differences in test accuracy of the chosen model, variant minus no HLS: one marker per seed; the black bar is the mean with its 95% paired t interval; the dashed line is no effect",
  );
  sec.html.push(f.html);
  sec.md.push(f.md);
  return sec;
}
