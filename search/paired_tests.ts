/**
 * Paired t tests over seeds: the exact two-sided p-value of a mean paired difference, the power of the test
 * against a true effect (the noncentral t distribution, integrated numerically), and from it the minimal
 * detectable effect. Kept apart from paired_stats.ts (which the ablation stage imports), so that adding
 * tests does not change the code digest, and so the cached results, of the stages that compute intervals.
 */
import { incompleteBeta, studentTQuantile } from "./paired_stats.ts";

/** What a test needs of a paired effect: the number of pairs, the mean difference and its sample sd. */
export interface PairedSample {
  n: number;
  mean: number;
  sd: number;
}

/** A paired t test: the statistic, its degrees of freedom and the exact two-sided p-value. */
export interface PairedTTest {
  t: number;
  df: number;
  p: number;
}

/**
 * The two-sided paired t test of "mean difference = 0": p = P(|T_{n−1}| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2),
 * computed from the regularised incomplete beta function directly (no 1 − CDF, so tiny p-values keep their
 * digits). Needs n ≥ 2; a zero spread gives p = 0 for a non-zero mean and p = 1 for a zero one.
 */
export function pairedTTest(s: PairedSample): PairedTTest {
  if (!(s.n >= 2) || !Number.isFinite(s.mean) || !Number.isFinite(s.sd) || s.sd < 0) {
    throw new RangeError(`a paired t test needs n ≥ 2 and a finite mean and sd, got n = ${s.n}, mean = ${s.mean}, sd = ${s.sd}`);
  }
  const df = s.n - 1;
  if (s.sd === 0) return { t: s.mean === 0 ? 0 : Math.sign(s.mean) * Infinity, df, p: s.mean === 0 ? 1 : 0 };
  const t = s.mean / (s.sd / Math.sqrt(s.n));
  return { t, df, p: Math.min(1, incompleteBeta(df / (df + t * t), df / 2, 0.5)) };
}

/** The standard normal CDF Φ(x) (Chebyshev fit of erfc, relative error below 1.2e-7 everywhere, tails included). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(
    -z * z - 1.26551223 +
      t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
                          t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

function logGammaHalfInt(k: number): number {
  // ln Γ(k/2) for whole k ≥ 1, exactly by recurrence (Γ(1) = 1, Γ(1/2) = √π)
  let g = k % 2 === 0 ? 0 : 0.5 * Math.log(Math.PI);
  for (let x = k % 2 === 0 ? 1 : 0.5; x < k / 2 - 1e-9; x++) g += Math.log(x);
  return g;
}

/**
 * Power of the two-sided paired t test at level `alpha` when the true mean difference is `effect` and the
 * differences' sd is `sd`, with `n` pairs: P(|T'| > c), T' noncentral t with df = n − 1 and noncentrality
 * λ = effect·√n/sd, c = t_{1−α/2, df}. Computed as E_V[Φ(λ − c√(V/df)) + Φ(−λ − c√(V/df))] over V ~ χ²_df,
 * by Simpson's rule in u = √V (smooth for every df ≥ 1), to about 1e-7.
 */
export function pairedTPower(o: { n: number; effect: number; sd: number; alpha: number }): number {
  const df = o.n - 1;
  if (!(df >= 1) || !(o.sd > 0) || !(o.alpha > 0 && o.alpha < 1)) {
    throw new RangeError(`power needs n ≥ 2, sd > 0 and 0 < alpha < 1, got n = ${o.n}, sd = ${o.sd}, alpha = ${o.alpha}`);
  }
  return powerAt(df, studentTQuantile(1 - o.alpha / 2, df), (Math.abs(o.effect) * Math.sqrt(o.n)) / o.sd);
}

function powerAt(df: number, c: number, lambda: number): number {
  const logNorm = (df / 2) * Math.log(2) + logGammaHalfInt(df);
  const u = Math.sqrt(df + 20 * Math.sqrt(2 * df) + 60);
  const steps = 4000;
  const h = u / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const x = i * h;
    // χ²_df density at v = x², times dv/dx = 2x
    const dens = x === 0 ? (df === 1 ? 2 * Math.exp(-logNorm) : 0) : 2 * Math.exp((df - 1) * Math.log(x) - (x * x) / 2 - logNorm);
    const s = (c * x) / Math.sqrt(df);
    const f = (normalCdf(lambda - s) + normalCdf(-lambda - s)) * dens;
    sum += f * (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2);
  }
  return Math.min(1, (sum * h) / 3);
}

/**
 * The minimal detectable effect: the smallest true mean difference that the two-sided paired t test at level
 * `alpha` detects with probability `power` (default 0.8), given n pairs whose differences have sd `sd`: the
 * exact noncentral t power solved for the effect by bisection. NaN when n < 2; 0 when sd is 0.
 */
export function minimalDetectableEffect(o: { n: number; sd: number; alpha: number; power?: number }): number {
  const power = o.power ?? 0.8;
  if (!(o.n >= 2) || !Number.isFinite(o.sd)) return NaN;
  if (!(power > o.alpha && power < 1)) throw new RangeError(`power must lie in (alpha, 1), got ${power}`);
  if (o.sd === 0) return 0;
  const df = o.n - 1;
  const c = studentTQuantile(1 - o.alpha / 2, df);
  let lo = 0, hi = c + 4;
  while (powerAt(df, c, hi) < power) hi *= 2;
  for (let i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (powerAt(df, c, mid) < power) lo = mid;
    else hi = mid;
  }
  return (((lo + hi) / 2) * o.sd) / Math.sqrt(o.n);
}
