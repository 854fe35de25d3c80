// TPE's Parzen estimators (Bergstra et al. 2011), as Optuna 3.1 builds them: one mixture component per
// observation plus the prior, each a normal truncated to the parameter's range (integers: its mass on the
// unit cell around the integer), or for a categorical a smoothed one-hot row.
import type { Rng } from "../data/rng.ts";
import { logGaussMass, normLogPdf, truncnormPpf } from "./truncnorm.ts";

/**
 * One parameter of a TPE space, as Optuna's distributions describe it: a float or an integer on [low, high]
 * (`log`: searched in log space; `step`: a grid from low), or a categorical given by its number of choices
 * (values are the choice indices).
 */
export type TpeDist =
  | { kind: "float"; low: number; high: number; log?: boolean; step?: number }
  | { kind: "int"; low: number; high: number; log?: boolean; step?: number }
  | { kind: "categorical"; choices: number };

/** Settings of the Parzen estimators (Optuna's TPESampler arguments of the same names). */
export interface ParzenParams {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  /** Weights of n observations, oldest first. */
  weights: (n: number) => number[];
  /** One bandwidth per parameter from Scott's rule (multivariate TPE) instead of the neighbour distances. */
  multivariate: boolean;
  /**
   * Leave −log σ out of a continuous component's log density, as Optuna 3.1.0's truncnorm.logpdf did (its
   * issue 5109, fixed by pull request 5110 in a later release): off by default; the benchmark checks both.
   */
  optuna31LogPdf?: boolean;
}

/** Optuna's default weights: equal below 25 observations; from 25 on, a linear ramp from 1/n up for all but the newest 25. */
export function defaultWeights(n: number): number[] {
  if (n <= 0) return [];
  if (n < 25) return new Array(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (m - 1)));
  return [...ramp, ...new Array(25).fill(1)];
}

/** Optuna's default γ: how many of n observations are "good" (the below group), min(⌈0.1 n⌉, 25). */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** The interval a numeric parameter's estimator lives on (log space for log parameters) and its cell width q. */
export function parzenBounds(d: Exclude<TpeDist, { kind: "categorical" }>): { low: number; high: number; q?: number } {
  if (d.log) {
    // Optuna: a log integer is a continuous variable on [log(low − ½), log(high + ½)], rounded after exp
    return d.kind === "int"
      ? { low: Math.log(d.low - 0.5), high: Math.log(d.high + 0.5) }
      : { low: Math.log(d.low), high: Math.log(d.high) };
  }
  const q = d.kind === "int" ? (d.step ?? 1) : d.step;
  return q === undefined ? { low: d.low, high: d.high } : { low: d.low - 0.5 * q, high: d.high + 0.5 * q, q };
}

/** An external value in the estimator's space (log parameters: its natural log). */
export function toInternal(d: TpeDist, v: number): number {
  return d.kind !== "categorical" && d.log ? Math.log(v) : v;
}

/** Round half to even (numpy's round), so that a sample on a cell's edge lands where Optuna's would. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A sample of the estimator's space back as a value of the parameter: exp, rounded to its grid, clipped to its range. */
export function fromInternal(d: TpeDist, s: number): number {
  if (d.kind === "categorical") return s;
  const clip = (v: number) => Math.min(d.high, Math.max(d.low, v));
  if (d.kind === "float") {
    if (d.log) return Math.exp(s);
    return d.step === undefined ? s : clip(roundHalfEven((s - d.low) / d.step) * d.step + d.low);
  }
  if (d.log) return clip(roundHalfEven(Math.exp(s)));
  const step = d.step ?? 1;
  return clip(roundHalfEven((s - d.low) / step) * step + d.low);
}

interface NumericParams {
  kind: "numeric";
  low: number;
  high: number;
  q?: number;
  mus: number[];
  sigmas: number[];
  /** log of each component's mass on [low, high] (its truncation), computed once. */
  logAccept: number[];
}

interface CategoricalParams {
  kind: "categorical";
  /** One row of choice probabilities per component. */
  probs: number[][];
}

/**
 * A Parzen estimator over one or more parameters (more: multivariate TPE, whose components are products
 * over the parameters and share one mixture weight). `observations[p]` holds parameter p's external values,
 * oldest first.
 */
export class ParzenEstimator {
  readonly weights: number[];
  readonly #params: (NumericParams | CategoricalParams)[];
  readonly #dropLogSigma: boolean;

  constructor(observations: number[][], readonly dists: TpeDist[], p: ParzenParams) {
    const n = observations[0]?.length ?? 0;
    // Optuna: with no observation the prior is always used (it is then the whole mixture)
    const prior = p.considerPrior || n === 0;
    const w = p.weights(n).slice(0, n);
    if (w.length !== n || w.some((x) => !(x >= 0) || !Number.isFinite(x)) || (n > 0 && !(w.reduce((a, b) => a + b, 0) > 0))) {
      throw new Error(`TPE weights: expected ${n} finite non-negative weights with a positive sum, got [${w.join(", ")}]`);
    }
    const raw = prior ? [...w, p.priorWeight] : w;
    const total = raw.reduce((a, b) => a + b, 0);
    this.weights = raw.map((x) => x / total);
    this.#dropLogSigma = p.optuna31LogPdf ?? false;
    // Scott's rule for the multivariate bandwidth (BOHB's, Optuna's SIGMA0_MAGNITUDE 0.2)
    const sigma0 = 0.2 * Math.max(n, 1) ** (-1 / (dists.length + 4));
    this.#params = dists.map((d, j) => {
      const obs = observations[j].map((v) => toInternal(d, v));
      if (d.kind === "categorical") return categoricalParams(obs, d.choices, prior, p.priorWeight);
      return numericParams(obs, parzenBounds(d), { prior, p, sigma0 });
    });
  }

  /**
   * `size` draws from the mixture, as external values per parameter: each draw picks a component by weight
   * (one pick for all parameters), then samples it by its truncated normal's inverse CDF.
   */
  sample(rng: Rng, size: number): number[][] {
    const cdf: number[] = [];
    this.weights.reduce((acc, w, i) => (cdf[i] = acc + w), 0);
    const top = cdf[cdf.length - 1];
    const active = Array.from({ length: size }, () => {
      const u = rng.next() * top;
      // numpy's choice: the first component whose cumulative weight exceeds u
      let k = 0;
      while (k < cdf.length - 1 && cdf[k] <= u) k++;
      return k;
    });
    return this.#params.map((par, j) => {
      if (par.kind === "categorical") {
        return active.map((k) => {
          const u = rng.next();
          let acc = 0, c = 0;
          for (; c < par.probs[k].length - 1; c++) if ((acc += par.probs[k][c]) >= u) break;
          return c;
        });
      }
      const qs = active.map(() => rng.next());
      return active.map((k, i) => {
        const [mu, sigma] = [par.mus[k], par.sigmas[k]];
        const s = truncnormPpf(qs[i], (par.low - mu) / sigma, (par.high - mu) / sigma) * sigma + mu;
        return fromInternal(this.dists[j], s);
      });
    });
  }

  /** log density (log mass for a discretised or categorical parameter) of each sample, given as external values per parameter. */
  logPdf(samples: number[][]): number[] {
    const m = samples[0]?.length ?? 0;
    const logW = this.weights.map(Math.log);
    const out: number[] = [];
    for (let i = 0; i < m; i++) {
      // log Σ_k w_k Π_p f_kp(x_p)
      const terms = logW.slice();
      this.#params.forEach((par, j) => {
        const x = toInternal(this.dists[j], samples[j][i]);
        for (let k = 0; k < terms.length; k++) terms[k] += componentLogPdf(par, k, x, this.#dropLogSigma);
      });
      out.push(logSumExp(terms));
    }
    return out;
  }
}

function componentLogPdf(par: NumericParams | CategoricalParams, k: number, x: number, dropLogSigma: boolean): number {
  if (par.kind === "categorical") return Math.log(par.probs[k][x]);
  const [mu, sigma] = [par.mus[k], par.sigmas[k]];
  if (par.q === undefined) {
    if (x < par.low || x > par.high) return -Infinity;
    return normLogPdf((x - mu) / sigma) - (dropLogSigma ? 0 : Math.log(sigma)) - par.logAccept[k];
  }
  // a discretised value's mass: its cell [x − q/2, x + q/2] within the range
  const lo = Math.max(x - par.q / 2, par.low), hi = Math.min(x + par.q / 2, par.high);
  return logGaussMass((lo - mu) / sigma, (hi - mu) / sigma) - par.logAccept[k];
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

function categoricalParams(obs: number[], choices: number, prior: boolean, priorWeight: number): CategoricalParams {
  const n = obs.length;
  const rows = prior ? n + 1 : n;
  const fill = priorWeight / rows;
  const probs = Array.from({ length: rows }, (_, k) => {
    const row = new Array(choices).fill(fill);
    if (k < n) row[obs[k]] += 1;
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
  return { kind: "categorical", probs };
}

function numericParams(
  obs: number[],
  b: { low: number; high: number; q?: number },
  o: { prior: boolean; p: ParzenParams; sigma0: number },
): NumericParams {
  const { low, high } = b;
  const n = obs.length;
  const mus = o.prior ? [...obs, 0.5 * (low + high)] : obs.slice();
  let sigmas: number[];
  if (o.p.multivariate) sigmas = mus.map(() => o.sigma0 * (high - low));
  else {
    // each component's σ: the larger distance to its neighbours in sorted order (the range's ends as outer
    // neighbours); the prior's μ takes part in the sort. Tied μ's (integers) get different σ's, and with the
    // ramp's unequal weights which gets which matters: they are ordered as numpy's argsort orders them.
    const order = numpyArgsort(mus);
    const s = [low, ...order.map((i) => mus[i]), high];
    const sorted = order.map((_, r) => Math.max(s[r + 1] - s[r], s[r + 2] - s[r + 1]));
    if (!o.p.considerEndpoints && s.length >= 4) {
      // the outermost components look inward only
      sorted[0] = s[2] - s[1];
      sorted[sorted.length - 1] = s[s.length - 2] - s[s.length - 3];
    }
    sigmas = new Array(mus.length);
    order.forEach((i, r) => (sigmas[i] = sorted[r]));
  }
  const maxSigma = high - low;
  // the magic clip: no component narrower than range / min(100, components + 1)
  const minSigma = o.p.considerMagicClip ? (high - low) / Math.min(100, 1 + mus.length) : 1e-12;
  sigmas = sigmas.map((v) => Math.min(maxSigma, Math.max(minSigma, v)));
  if (o.prior) sigmas[n] = high - low;
  const logAccept = mus.map((mu, k) => logGaussMass((low - mu) / sigmas[k], (high - mu) / sigmas[k]));
  return { kind: "numeric", low, high, q: b.q, mus, sigmas, logAccept };
}

/**
 * The permutation numpy's argsort (kind "quicksort", numpy 1.24, float64) returns: an introsort with
 * median-of-three pivots and insertion sort below 16 elements, so ties among more than 16 values come out
 * in its order rather than in input order. (Its heapsort fallback needs a recursion depth of 2 log2 n,
 * which median-of-three partitions of a few hundred values do not reach; it is replaced by insertion sort.)
 */
export function numpyArgsort(v: number[]): number[] {
  const idx = v.map((_, i) => i);
  const less = (a: number, b: number) => a < b || (b !== b && a === a);
  const swap = (i: number, j: number) => ([idx[i], idx[j]] = [idx[j], idx[i]]);
  const stack: number[] = [];
  let pl = 0, pr = v.length - 1;
  for (;;) {
    while (pr - pl > 15) {
      const pm = pl + ((pr - pl) >> 1);
      if (less(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
      if (less(v[idx[pr]], v[idx[pm]])) swap(pr, pm);
      if (less(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
      const vp = v[idx[pm]];
      let pi = pl, pj = pr - 1;
      swap(pm, pj);
      for (;;) {
        do pi++; while (less(v[idx[pi]], vp));
        do pj--; while (less(vp, v[idx[pj]]));
        if (pi >= pj) break;
        swap(pi, pj);
      }
      swap(pi, pr - 1);
      // the larger part waits on the stack
      if (pi - pl < pr - pi) {
        stack.push(pi + 1, pr);
        pr = pi - 1;
      } else {
        stack.push(pl, pi - 1);
        pl = pi + 1;
      }
    }
    for (let i = pl + 1; i <= pr; i++) {
      const vi = idx[i], x = v[vi];
      let j = i;
      while (j > pl && less(x, v[idx[j - 1]])) {
        idx[j] = idx[j - 1];
        j--;
      }
      idx[j] = vi;
    }
    if (!stack.length) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
  }
  return idx;
}
