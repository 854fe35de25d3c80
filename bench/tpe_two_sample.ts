// Two-sample tests for bench/tpe_vs_optuna.ts: Mann-Whitney U and Kolmogorov-Smirnov, two-sided, with the
// large-sample p-values (normal approximation with tie correction; Kolmogorov's limiting distribution).
import { erfc } from "../search/truncnorm.ts";

/** Mid-ranks (1-based) of the pooled values, and Σ(t³ − t) over tie groups. */
function midRanks(pooled: number[]): { ranks: number[]; tieTerm: number } {
  const order = pooled.map((_, i) => i).sort((i, j) => pooled[i] - pooled[j]);
  const ranks = new Array<number>(pooled.length);
  let tieTerm = 0;
  for (let s = 0; s < order.length;) {
    let e = s;
    while (e + 1 < order.length && pooled[order[e + 1]] === pooled[order[s]]) e++;
    const t = e - s + 1;
    for (let k = s; k <= e; k++) ranks[order[k]] = (s + e) / 2 + 1;
    tieTerm += t ** 3 - t;
    s = e + 1;
  }
  return { ranks, tieTerm };
}

/**
 * Mann-Whitney U test, two-sided: U of the first sample and its p-value by the normal approximation with
 * the tie correction and a continuity correction of ½ (scipy.stats.mannwhitneyu's method="asymptotic").
 */
export function mannWhitneyU(x: number[], y: number[]): { u: number; p: number } {
  const [n1, n2] = [x.length, y.length];
  if (!n1 || !n2) throw new Error("mannWhitneyU: both samples must be non-empty");
  if ([...x, ...y].some((v) => Number.isNaN(v))) throw new Error("mannWhitneyU: NaN in a sample");
  const { ranks, tieTerm } = midRanks([...x, ...y]);
  const r1 = ranks.slice(0, n1).reduce((a, b) => a + b, 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, p: 1 };
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, erfc(Math.max(z, 0) / Math.SQRT2)) };
}

/** Kolmogorov's limiting survival function P(K > x) = 2 Σ (−1)^{k−1} e^{−2k²x²}. */
export function kolmogorovSf(x: number): number {
  // below 0.2 the alternating series cancels badly, and 1 − P(K > x) < 1e-12 there
  if (x < 0.2) return 1;
  let s = 0;
  for (let k = 1; k < 200; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    s += (k % 2 ? 1 : -1) * term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/** Two-sample Kolmogorov-Smirnov test, two-sided: D and its p-value by Kolmogorov's limiting law at D √(mn/(m+n)). */
export function ks2Sample(x: number[], y: number[]): { d: number; p: number } {
  const [n1, n2] = [x.length, y.length];
  if (!n1 || !n2) throw new Error("ks2Sample: both samples must be non-empty");
  const [a, b] = [[...x].sort((p, q) => p - q), [...y].sort((p, q) => p - q)];
  let i = 0, j = 0, d = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(a[i], b[j]);
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    d = Math.max(d, Math.abs(i / n1 - j / n2));
  }
  return { d, p: kolmogorovSf(d * Math.sqrt((n1 * n2) / (n1 + n2))) };
}
