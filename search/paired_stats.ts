/**
 * Paired comparisons with a Student t confidence interval: the mean of per-seed differences
 * (variant − reference) ± t_{1−α/2, n−1} · s/√n. Seeds are the independent units; models within a seed are
 * not (they share the data split and the batch order).
 */
import { z } from "zod";
import { StoredReal } from "../nn/train_options.ts";

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const num of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF, to 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`t quantile needs 0 < p < 1 and df > 0, got p = ${p}, df = ${df}`);
  let lo = -1e3, hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A paired difference summarised with its confidence interval (NaN where it has none: stored as null). */
export const PairedEffect = z.strictObject({
  n: z.number().int().min(0),
  mean: StoredReal,
  /** Sample standard deviation of the differences. */
  sd: StoredReal,
  lo: StoredReal,
  hi: StoredReal,
  level: z.number(),
  method: z.literal("paired t"),
  /** helps: the interval lies above 0; hurts: below 0; unclear: it contains 0 (or n < 2). */
  verdict: z.enum(["helps", "hurts", "unclear"]),
});
export type PairedEffect = z.output<typeof PairedEffect>;

/**
 * The paired t interval of differences. `higherIsBetter` says which sign is good (true for accuracy,
 * false for loss), so that the verdict reads the same for both.
 */
export function pairedEffect(diffs: number[], opts: { level?: number; higherIsBetter?: boolean } = {}): PairedEffect {
  const level = opts.level ?? 0.95;
  const n = diffs.length;
  const mean = n ? diffs.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1)) : NaN;
  const half = n > 1 ? studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n)) : NaN;
  const [lo, hi] = [mean - half, mean + half];
  const up = opts.higherIsBetter ?? true;
  const verdict = !(n > 1) || !(lo > 0 || hi < 0) ? "unclear" : (lo > 0) === up ? "helps" : "hurts";
  return { n, mean, sd, lo, hi, level, method: "paired t", verdict };
}
