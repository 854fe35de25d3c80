/**
 * The verdicts the report states, under one correction for multiplicity. The family is every "helps / hurts /
 * cannot tell apart" the report gives: the change in the chosen model's test accuracy of each ablation variant
 * in each cell, and of each search method with HLS against without. Each is a two-sided paired t test over
 * seeds; Holm's step-down correction keeps the chance of even one false verdict in the family at 5%.
 * Comparisons with fewer than MIN_SEEDS seeds get numbers but no verdict, and are not in the family.
 */
import { holmAdjust } from "../search/holm.ts";
import type { PairedEffect } from "../search/paired_stats.ts";
import { minimalDetectableEffect, pairedTTest } from "../search/paired_tests.ts";
import { joinAnd, plural } from "./format.ts";
import { searchFacts } from "./search_facts.ts";
import { methodName, type ReportInput } from "./types.ts";

/** The family-wise error rate the verdicts control. */
export const FAMILY_ALPHA = 0.05;

/**
 * Fewer seeds than this: no verdict. With n ≤ 4 the paired t test has at most 3 degrees of freedom: its
 * p-value leans wholly on the differences being normal, which so few seeds cannot show, and at the family's
 * corrected level the effect it could detect is many times the spread (n = 3, 60 tests: about 30 sd).
 */
export const MIN_SEEDS = 5;

/** The power at which the minimal detectable effect is stated. */
export const MDE_POWER = 0.8;

/** One comparison's verdict. */
export interface Verdict {
  /** "ablation|mnist|short|log-heldout-acc" or "search|mnist|short|grid". */
  key: string;
  /** "mnist · short: log-heldout-acc". */
  label: string;
  effect: PairedEffect;
  /** In the family (n ≥ MIN_SEEDS, finite numbers). */
  tested: boolean;
  /** Unadjusted two-sided paired t p-value (tested comparisons only). */
  p?: number;
  /** Holm-adjusted p-value (tested comparisons only). */
  pHolm?: number;
  verdict: "helps" | "hurts" | "cannot tell apart" | "no verdict";
  /** For "cannot tell apart": the effect the test would detect with 80% power at the level α/m. */
  mde?: number;
}

/** The family and every comparison's verdict. */
export interface Verdicts {
  alpha: number;
  /** Comparisons in the family (m). */
  m: number;
  /** The two-sided level of the minimal detectable effect: α/m, the level Holm's first step applies. */
  mdeAlpha: number;
  all: Verdict[];
  get(key: string): Verdict | undefined;
}

/** The key of an ablation variant's comparison. */
export function ablationKey(dataset: string, budget: string, variant: string): string {
  return `ablation|${dataset}|${budget}|${variant}`;
}

/** The key of a search's HLS comparison. */
export function searchKey(dataset: string, budget: string, method: string): string {
  return `search|${dataset}|${budget}|${method}`;
}

const cache = new WeakMap<ReportInput, Verdicts>();

/** The verdicts of a report's input (computed once per input object). */
export function verdictsOf(inp: ReportInput): Verdicts {
  let v = cache.get(inp);
  if (!v) cache.set(inp, v = judge(comparisonsOf(inp)));
  return v;
}

/** The comparisons a report makes, in page order: the searches' HLS effects, then each ablation's variants. */
export function comparisonsOf(inp: ReportInput): { key: string; label: string; effect: PairedEffect }[] {
  const out: { key: string; label: string; effect: PairedEffect }[] = [];
  for (const f of searchFacts(inp)) {
    out.push({ key: searchKey(f.dataset, f.budget, f.method), label: `${f.group}: ${methodName(f.method)}`, effect: f.testAcc });
  }
  for (const a of inp.ablations ?? []) {
    for (const s of a.summary) {
      out.push({ key: ablationKey(a.dataset, a.budget, s.name), label: `${a.dataset} · ${a.budget}: ${s.name}`, effect: s.testAcc });
    }
  }
  return out;
}

/**
 * Judges a family: each comparison with at least MIN_SEEDS seeds is tested (paired t, two-sided), the p-values
 * are Holm-adjusted together, and the sign of the mean says helps or hurts (accuracy: higher is better).
 */
export function judge(list: { key: string; label: string; effect: PairedEffect }[], alpha = FAMILY_ALPHA): Verdicts {
  const testable = (e: PairedEffect) => e.n >= MIN_SEEDS && Number.isFinite(e.mean) && Number.isFinite(e.sd);
  const tested = list.filter((c) => testable(c.effect));
  const ps = tested.map((c) => pairedTTest(c.effect).p);
  const adj = holmAdjust(ps);
  const m = tested.length;
  const mdeAlpha = m ? alpha / m : alpha;
  const byKey = new Map<string, Verdict>();
  const all = list.map((c): Verdict => {
    const i = tested.indexOf(c);
    if (i < 0) return { ...c, tested: false, verdict: "no verdict" };
    const reject = adj[i] <= alpha;
    const verdict = !reject ? "cannot tell apart" : c.effect.mean > 0 ? "helps" : "hurts";
    const mde = verdict === "cannot tell apart"
      ? minimalDetectableEffect({ n: c.effect.n, sd: c.effect.sd, alpha: mdeAlpha, power: MDE_POWER })
      : undefined;
    return { ...c, tested: true, p: ps[i], pHolm: adj[i], verdict, mde };
  });
  for (const v of all) byKey.set(v.key, v);
  return { alpha, m, mdeAlpha, all, get: (k) => byKey.get(k) };
}

/** The verdict cell of a table: "helps", "cannot tell apart (MDE ±0.012)", "no verdict (3 seeds < 5)". */
export function verdictCell(v: Verdict | undefined, digits = 3): string {
  if (!v) return "–";
  if (v.verdict === "no verdict") return `no verdict (${plural(v.effect.n, "seed")} < ${MIN_SEEDS})`;
  if (v.verdict === "cannot tell apart" && v.mde !== undefined && Number.isFinite(v.mde)) {
    return `cannot tell apart (detectable: ±${v.mde.toFixed(digits)})`;
  }
  return v.verdict;
}

/** A p-value for a table: 3 significant digits, "< 1e-6" below that. */
export function pCell(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return "–";
  if (p < 1e-6) return "< 1e-6";
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** The family stated once: which comparisons, how many, the correction, the seed rule and the MDE's level. */
export function familyStatement(v: Verdicts): string {
  const searches = v.all.filter((x) => x.key.startsWith("search|"));
  const abl = v.all.filter((x) => x.key.startsWith("ablation|"));
  const cells = new Set(abl.map((x) => x.key.split("|").slice(1, 3).join("|"))).size;
  const parts = [
    searches.length ? `${plural(searches.length, "search", "searches")} with HLS against without` : "",
    abl.length ? `${plural(abl.length, "ablation variant")} against no HLS (${plural(cells, "cell")})` : "",
  ].filter(Boolean);
  const untested = v.all.filter((x) => !x.tested);
  return `How verdicts are reached: each compares the chosen model's test accuracy with and without HLS by a two-sided paired t test over seeds. ` +
    `The report makes ${plural(v.all.length, "such comparison")} (${joinAnd(parts)}); ` +
    (v.m
      ? `the ${
        plural(v.m, "comparison")
      } with at least ${MIN_SEEDS} seeds form one family, whose p-values are corrected together by Holm's step-down method, so that the chance of even one false "helps" or "hurts" in the family is at most ${v.alpha}. `
      : `none has the ${MIN_SEEDS} seeds a verdict needs. `) +
    (untested.length
      ? `${plural(untested.length, "comparison")} with fewer than ${MIN_SEEDS} seeds show numbers without a verdict. `
      : "") +
    (v.m
      ? `Beside each "cannot tell apart" stands the smallest effect the test would detect with ${
        MDE_POWER * 100
      }% power, from that comparison's own paired spread, at the two-sided level α/m = ${
        v.mdeAlpha.toPrecision(2)
      } (Holm's first step; exact noncentral t). Intervals are the per-comparison 95% paired t intervals, not adjusted.`
      : "");
}
