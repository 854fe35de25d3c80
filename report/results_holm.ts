/**
 * Recomputes the Holm-corrected verdicts of docs/results.md's HLS ablation from the numbers recorded there
 * (mean paired difference in test accuracy of the chosen model, its 95% paired t interval, 10 seeds), for
 * the family the report now corrects over: 14 variants × 4 cells = 56 comparisons. No store of those runs
 * is at hand, so the spread is recovered from the interval: se = (hi − lo) / (2 · t_{0.975, 9}).
 *
 * The recorded numbers are rounded (3 decimals of accuracy, or 2 decimals of points), so each verdict is also
 * computed with every number pushed to the edge of its rounding in the direction that weakens, and that
 * strengthens, all the effects at once: a verdict that differs between the two is marked "borderline".
 *
 * Run: deno run report/results_holm.ts (prints a Markdown table).
 */
import { holmAdjust } from "../search/holm.ts";
import { studentTQuantile } from "../search/paired_stats.ts";
import { minimalDetectableEffect, pairedTTest } from "../search/paired_tests.ts";

/** One recorded comparison: cell, variant, mean [lo, hi] in the units of `scale` (1: accuracy, 0.01: points). */
interface Recorded {
  cell: string;
  variant: string;
  mean: number;
  lo: number;
  hi: number;
  /** Multiplier to accuracy units, and the half unit of the last recorded digit (in those units). */
  scale: number;
  rounding: number;
}

const N = 10;
const CELLS = ["MNIST short", "MNIST long", "Fashion-MNIST short", "Fashion-MNIST long"];

/** The main four tables of docs/results.md ("HLS ablation (issue 14)"), accuracy with 3 decimals. */
const MAIN: [string, [number, number, number][]][] = [
  ["paper", [[-0.036, -0.051, -0.021], [0.001, -0.002, 0.003], [0.006, -0.002, 0.014], [0.004, 0.002, 0.005]]],
  ["log", [[-0.036, -0.051, -0.021], [0.001, -0.001, 0.003], [0.010, 0.001, 0.019], [0.004, 0.003, 0.006]]],
  ["log-heldout", [[-0.045, -0.057, -0.034], [-0.002, -0.005, 0.001], [0.005, -0.006, 0.015], [0.003, -0.001, 0.006]]],
  ["log-heldout-acc", [[-0.010, -0.027, 0.007], [-0.001, -0.004, 0.003], [0.008, -0.000, 0.017], [0.004, 0.001, 0.006]]],
  ["log-heldout-stationary", [[-0.028, -0.041, -0.016], [0.001, -0.002, 0.003], [0.001, -0.006, 0.008], [0.004, -0.000, 0.008]]],
  ["log-heldout-topk", [[-0.011, -0.023, 0.000], [0.000, -0.001, 0.002], [0.006, -0.001, 0.012], [0.002, 0.000, 0.004]]],
  ["microga-lamarckian", [[-0.036, -0.055, -0.017], [-0.002, -0.007, 0.002], [0.008, -0.002, 0.017], [0.002, -0.002, 0.006]]],
  ["microga-baldwinian", [[-0.033, -0.049, -0.016], [-0.002, -0.007, 0.003], [0.007, 0.001, 0.014], [0.003, -0.000, 0.006]]],
];

/** The later tables (k = 1, 3, 5; the micro-GA's top 3 and top 1; HLS on every model), points with 2 decimals. */
const LATER: [string, [number, number, number][]][] = [
  ["log-heldout-acc-top5", [[0.27, -0.37, 0.91], [-0.06, -0.42, 0.30], [0.49, -0.17, 1.15], [0.44, 0.10, 0.77]]],
  ["log-heldout-acc-top3", [[0.39, -0.11, 0.89], [-0.06, -0.42, 0.30], [0.43, -0.22, 1.09], [0.33, -0.07, 0.72]]],
  ["log-heldout-acc-top1", [[0.26, -0.26, 0.78], [-0.10, -0.29, 0.09], [0.21, -0.39, 0.81], [0.31, -0.08, 0.71]]],
  ["microga-lamarckian-acc", [[-0.22, -1.01, 0.58], [-0.03, -0.49, 0.44], [1.20, 0.59, 1.82], [0.18, -0.18, 0.53]]],
  ["microga-lamarckian-top3", [[-0.05, -0.78, 0.67], [0.19, -0.23, 0.61], [0.71, -0.42, 1.85], [0.27, -0.03, 0.57]]],
  ["microga-lamarckian-top1", [[0.36, -0.17, 0.90], [0.02, -0.32, 0.37], [0.70, -0.21, 1.61], [0.44, 0.04, 0.85]]],
];

/** Every recorded comparison of the family. */
export function recorded(): Recorded[] {
  const rows = (list: typeof MAIN, scale: number, rounding: number) =>
    list.flatMap(([variant, cells]) => cells.map(([mean, lo, hi], i) => ({ cell: CELLS[i], variant, mean, lo, hi, scale, rounding })));
  return [...rows(MAIN, 1, 0.0005), ...rows(LATER, 0.01, 0.00005)];
}

/** mean and sd (accuracy units) from a recorded mean and 95% interval; `push` moves them by the rounding: +1 stronger, −1 weaker. */
export function recover(r: Recorded, push = 0): { n: number; mean: number; sd: number } {
  const q = studentTQuantile(0.975, N - 1);
  const mean = r.mean * r.scale, half = ((r.hi - r.lo) * r.scale) / 2;
  const m = Math.sign(mean) * Math.max(0, Math.abs(mean) + push * r.rounding);
  const h = Math.max(1e-9, half - push * r.rounding);
  return { n: N, mean: m, sd: (h / q) * Math.sqrt(N) };
}

/** The Holm verdicts of the family, with every number as recorded (push 0) or pushed to its rounding's edge. */
export function verdicts(push = 0): { r: Recorded; p: number; pHolm: number; verdict: string; mde: number }[] {
  const rs = recorded();
  const samples = rs.map((r) => recover(r, push));
  const ps = samples.map((s) => pairedTTest(s).p);
  const adj = holmAdjust(ps);
  return rs.map((r, i) => ({
    r,
    p: ps[i],
    pHolm: adj[i],
    verdict: adj[i] <= 0.05 ? (samples[i].mean > 0 ? "helps" : "hurts") : "cannot tell apart",
    mde: minimalDetectableEffect({ n: N, sd: samples[i].sd, alpha: 0.05 / rs.length }),
  }));
}

if (import.meta.main) {
  const nominal = verdicts(0), weak = verdicts(-1), strong = verdicts(1);
  const pts = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(2)}`;
  console.log(
    `Family: ${nominal.length} comparisons (14 variants × 4 cells), Holm at 0.05; MDE at 80% power, two-sided α = 0.05/${nominal.length}.\n`,
  );
  console.log("| cell | variant | Δ test [95% CI], points | p | p (Holm) | verdict (Holm) | uncorrected | MDE, points |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  nominal.forEach((v, i) => {
    const { r } = v;
    const unc = (r.lo > 0 || r.hi < 0) ? (r.mean > 0 ? "helps" : "hurts") : "cannot tell apart";
    const robust = weak[i].verdict === v.verdict && strong[i].verdict === v.verdict;
    const verdict = robust ? v.verdict : `${v.verdict} (borderline: ${weak[i].verdict} / ${strong[i].verdict} at the rounding's edges)`;
    console.log(
      `| ${r.cell} | ${r.variant} | ${pts(r.mean * r.scale)} [${pts(r.lo * r.scale)}, ${pts(r.hi * r.scale)}] | ${v.p.toPrecision(2)} | ${
        v.pHolm.toPrecision(2)
      } | ${verdict} | ${unc} | ${v.verdict === "cannot tell apart" ? `±${(v.mde * 100).toFixed(2)}` : "–"} |`,
    );
  });
}
