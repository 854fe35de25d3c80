// The standard normal's tails in log space, and the truncated normal TPE's Parzen estimators are made of.
// Written for TPE (search/tpe.ts): JavaScript has no erf, and a Parzen component's bounds can lie a hundred
// standard deviations out (the magic clip lets σ shrink to a hundredth of the range), where Φ underflows.

const SQRT1_2 = Math.SQRT1_2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** e^{x²} erfc(x) for x ≥ 2: the continued fraction erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))). */
function erfcxContinuedFraction(x: number): number {
  // modified Lentz on b0 + a1/(b1 + a2/(b2 + …)) with b = x, a_k = k/2
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / (f * Math.sqrt(Math.PI));
}

/** erf(x) for |x| < 2.5 by the series 2/√π e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (positive terms: no cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x, sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** The error function, to about 1e-15 relative. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < 2.5) return erfSeries(x);
  const tail = Math.exp(-x * x) * erfcxContinuedFraction(Math.abs(x));
  return x > 0 ? 1 - tail : tail - 1;
}

/** The complementary error function, accurate in the right tail (no 1 − erf there). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2.5) return Math.exp(-x * x) * erfcxContinuedFraction(x);
  if (x > -2.5) return 1 - erfSeries(x);
  return 2 - Math.exp(-x * x) * erfcxContinuedFraction(-x);
}

/** Φ(a), the standard normal CDF. */
export function ndtr(a: number): number {
  return 0.5 * erfc(-a * SQRT1_2);
}

/** log Φ(a), finite far into the left tail (a = −1000 included) and accurate near 0 in the right. */
export function logNdtr(a: number): number {
  if (Number.isNaN(a)) return NaN;
  if (a === Infinity) return 0;
  if (a === -Infinity) return -Infinity;
  if (a > 5) return Math.log1p(-0.5 * erfc(a * SQRT1_2));
  const x = -a * SQRT1_2;
  // Φ(a) = ½ e^{-x²} erfcx(x): the exponent is taken in log space, so nothing underflows
  if (x >= 2.5) return Math.log(0.5 * erfcxContinuedFraction(x)) - x * x;
  return Math.log(0.5 * erfc(x));
}

/** log(e^p − e^q) for p ≥ q. */
function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p));
}

/** log(e^p + e^q). */
function logSum(p: number, q: number): number {
  const m = Math.max(p, q);
  return m === -Infinity ? -Infinity : m + Math.log(Math.exp(p - m) + Math.exp(q - m));
}

/**
 * log of the standard normal's mass on [a, b] (a ≤ b). Worked in the left tail, by symmetry for an interval
 * right of 0, and as 1 − Φ(a) − Φ(−b) for one that straddles 0, where the mass is near 1.
 */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** The x with log Φ(x) = y (y ≤ 0): Newton's method on the concave log Φ, kept inside a bisection bracket. */
export function ndtriExp(y: number): number {
  if (y >= 0) return Infinity;
  if (y === -Infinity) return -Infinity;
  let lo = -1e3, hi = 40;
  // a start near the answer: the left tail's log Φ(x) ≈ −x²/2, the middle's Φ⁻¹ small
  let x = y < -2 ? -Math.sqrt(-2 * y) : 0;
  for (let i = 0; i < 200; i++) {
    const f = logNdtr(x) - y;
    if (f === 0) return x;
    if (f > 0) hi = x;
    else lo = x;
    // d/dx log Φ(x) = φ(x)/Φ(x)
    const slope = Math.exp(-0.5 * x * x - LOG_SQRT_2PI - logNdtr(x));
    let next = x - f / slope;
    if (!(next > lo && next < hi) || !Number.isFinite(next)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-15 * Math.max(1, Math.abs(x)) || hi - lo <= 1e-15 * Math.max(1, Math.abs(x))) return next;
    x = next;
  }
  return x;
}

/**
 * The q-quantile of the standard normal truncated to [a, b] (a < b), by inverting Φ in log space from the
 * side of the interval nearer −∞ (so a far-tail interval keeps its precision).
 */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (q <= 0) return a;
  if (q >= 1) return b;
  const mass = logGaussMass(a, b);
  const x = a < 0 ? ndtriExp(logSum(logNdtr(a), Math.log(q) + mass)) : -ndtriExp(logSum(logNdtr(-b), Math.log1p(-q) + mass));
  // rounding at the ends of a narrow far-tail interval must not leave it
  return Math.min(b, Math.max(a, x));
}

/** log density at x of the standard normal truncated to [a, b]; −∞ outside. */
export function truncnormLogPdf(x: number, a: number, b: number): number {
  if (x < a || x > b) return -Infinity;
  return -0.5 * x * x - LOG_SQRT_2PI - logGaussMass(a, b);
}

/** The standard normal's log density. */
export function normLogPdf(x: number): number {
  return -0.5 * x * x - LOG_SQRT_2PI;
}
