import type { Rng } from "../data/rng.ts";
import type { Observation, Sampler } from "./study_loop.ts";

/**
 * Bayesian optimisation with a Gaussian process (Matérn 5/2 kernel, fixed length scale on the unit cube,
 * small noise) and expected improvement maximised over random candidates, as a sampler: one point per ask,
 * `budget` in all. Hand-written: no maintained GP library runs under Deno here. Minimises.
 */
export class GpBo implements Sampler<number[]> {
  readonly name = "bo";
  readonly xs: number[][] = [];
  readonly ys: number[] = [];
  private readonly dim: number;
  private readonly rng: Rng;
  private readonly lengthScale: number;
  private readonly noise: number;
  private readonly candidates: number;
  #left: number;

  constructor(o: {
    dim: number;
    rng: Rng;
    /** Points to propose (default: unlimited). */
    budget?: number;
    lengthScale?: number;
    noise?: number;
    /** Random candidates the expected improvement is maximised over. */
    candidates?: number;
  }) {
    this.dim = o.dim;
    this.rng = o.rng;
    this.#left = o.budget ?? Infinity;
    this.lengthScale = o.lengthScale ?? 0.25;
    this.noise = o.noise ?? 1e-4;
    this.candidates = o.candidates ?? 2000;
  }

  /** Matérn 5/2 covariance. */
  static kernel(a: number[], b: number[], ls: number): number {
    let d2 = 0;
    for (let i = 0; i < a.length; i++) d2 += (a[i] - b[i]) ** 2;
    const r = Math.sqrt(5 * d2) / ls;
    return (1 + r + (r * r) / 3) * Math.exp(-r);
  }

  /** Posterior mean and standard deviation at x (on standardised y). */
  posterior(x: number[]): { mean: number; std: number } {
    const n = this.xs.length;
    const mu = this.ys.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(this.ys.reduce((a, b) => a + (b - mu) ** 2, 0) / n) || 1;
    const y = this.ys.map((v) => (v - mu) / sd);
    const K = this.xs.map((a, i) => this.xs.map((b, j) => GpBo.kernel(a, b, this.lengthScale) + (i === j ? this.noise : 0)));
    const L = cholesky(K);
    const alpha = cholSolve(L, y);
    const k = this.xs.map((a) => GpBo.kernel(a, x, this.lengthScale));
    const mean = k.reduce((s, ki, i) => s + ki * alpha[i], 0);
    const v = forwardSub(L, k);
    const variance = Math.max(1e-12, 1 - v.reduce((s, vi) => s + vi * vi, 0));
    return { mean: mean * sd + mu, std: Math.sqrt(variance) * sd };
  }

  /** Expected improvement (for minimisation) at x. */
  expectedImprovement(x: number[]): number {
    const best = Math.min(...this.ys);
    const { mean, std } = this.posterior(x);
    const z = (best - mean) / std;
    return (best - mean) * normCdf(z) + std * normPdf(z);
  }

  /** The next batch: one point, or none when the budget is spent. */
  ask(): number[][] {
    if (this.#left <= 0) return [];
    this.#left--;
    return [this.propose()];
  }

  /** Learns the observed points (a non-finite loss counts as the worst seen, at least 10). */
  tell(observations: Observation<number[]>[]): void {
    for (const o of observations) this.observe(o.genome, o.fitness);
  }

  /** The next point in [0, 1]^dim: random for the first two, then the best EI over random candidates. */
  propose(): number[] {
    const rand = () => Array.from({ length: this.dim }, () => this.rng.next());
    if (this.xs.length < 2) return rand();
    let best = rand(), bestEi = -Infinity;
    for (let i = 0; i < this.candidates; i++) {
      const c = rand();
      const ei = this.expectedImprovement(c);
      if (ei > bestEi) [best, bestEi] = [c, ei];
    }
    return best;
  }

  /** Adds one observation. */
  observe(x: number[], y: number): void {
    this.xs.push(x);
    this.ys.push(Number.isFinite(y) ? y : Math.max(...this.ys.filter(Number.isFinite), 10));
  }
}

/** Lower Cholesky factor of a symmetric positive definite matrix. */
export function cholesky(A: number[][]): number[][] {
  const n = A.length;
  const L = A.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (s <= 0) throw new Error("cholesky: matrix is not positive definite");
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return L;
}

function forwardSub(L: number[][], b: number[]): number[] {
  const x = new Array(b.length).fill(0);
  for (let i = 0; i < b.length; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i][k] * x[k];
    x[i] = s / L[i][i];
  }
  return x;
}

function cholSolve(L: number[][], b: number[]): number[] {
  const y = forwardSub(L, b);
  const n = b.length;
  const x = new Array(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k][i] * x[k];
    x[i] = s / L[i][i];
  }
  return x;
}

function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
