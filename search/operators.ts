import type { Rng } from "../data/rng.ts";

/** A real gene's interval [lo, hi] and the operator's distribution index η. */
export interface RealOperatorOptions {
  lo: number;
  hi: number;
  eta: number;
}

/**
 * Simulated binary crossover (Deb and Agrawal 1995) of two reals within [lo, hi], distribution index η:
 * children are symmetric about the parents' mean, and concentrate nearer the parents as η grows.
 * Bounded variant as in Deb's reference code (and DEAP's cxSimulatedBinaryBounded).
 */
export function sbx([p1, p2]: [number, number], { lo, hi, eta }: RealOperatorOptions, rng: Rng): [number, number] {
  if (Math.abs(p1 - p2) < 1e-14) return [p1, p2];
  const y1 = Math.min(p1, p2), y2 = Math.max(p1, p2);
  const u = rng.next();
  const spread = (beta: number) => {
    const alpha = 2 - Math.pow(beta, -(eta + 1));
    return u <= 1 / alpha ? Math.pow(u * alpha, 1 / (eta + 1)) : Math.pow(1 / (2 - u * alpha), 1 / (eta + 1));
  };
  const bq1 = spread(1 + (2 * (y1 - lo)) / (y2 - y1));
  const bq2 = spread(1 + (2 * (hi - y2)) / (y2 - y1));
  const c1 = Math.min(hi, Math.max(lo, 0.5 * (y1 + y2 - bq1 * (y2 - y1))));
  const c2 = Math.min(hi, Math.max(lo, 0.5 * (y1 + y2 + bq2 * (y2 - y1))));
  return rng.next() < 0.5 ? [c2, c1] : [c1, c2];
}

/** Unbounded SBX (the textbook form), used by tests of its symmetry and spread. */
export function sbxUnbounded(p1: number, p2: number, eta: number, rng: Rng): [number, number] {
  const u = rng.next();
  const beta = u <= 0.5 ? Math.pow(2 * u, 1 / (eta + 1)) : Math.pow(1 / (2 * (1 - u)), 1 / (eta + 1));
  return [0.5 * ((1 + beta) * p1 + (1 - beta) * p2), 0.5 * ((1 - beta) * p1 + (1 + beta) * p2)];
}

/** Polynomial mutation (Deb), bounded form: the result always lies in [lo, hi]. */
export function polynomialMutation(x: number, { lo, hi, eta }: RealOperatorOptions, rng: Rng): number {
  const d1 = (x - lo) / (hi - lo), d2 = (hi - x) / (hi - lo);
  const u = rng.next();
  const pow = 1 / (eta + 1);
  let dq: number;
  if (u < 0.5) dq = Math.pow(2 * u + (1 - 2 * u) * Math.pow(1 - d1, eta + 1), pow) - 1;
  else dq = 1 - Math.pow(2 * (1 - u) + 2 * (u - 0.5) * Math.pow(1 - d2, eta + 1), pow);
  return Math.min(hi, Math.max(lo, x + dq * (hi - lo)));
}

/** Uniform binary crossover: each bit of each child comes from one parent (the other child gets the other). */
export function binaryCrossover(a: number[], b: number[], rng: Rng): [number[], number[]] {
  const c1: number[] = [], c2: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (rng.next() < 0.5) {
      c1.push(a[i]);
      c2.push(b[i]);
    } else {
      c1.push(b[i]);
      c2.push(a[i]);
    }
  }
  return [c1, c2];
}

/** Flips each bit with probability p. */
export function bitFlip(bits: number[], p: number, rng: Rng): number[] {
  return bits.map((b) => (rng.next() < p ? 1 - b : b));
}
