/**
 * The coordinates in which hyper local search moves λ.
 *
 * The paper's LP bounds dλ to [−1, 1] in raw λ units. The search samples λ log-uniformly in
 * [10^min, 10^max] (1e-5 … 0.1 by default), so a raw step of size 1 is ten times the whole space and the
 * line search drove λ to 0 in almost every model. In the `log10` scale the LP's variable is
 * dℓ with ℓ = log10 λ: H_wℓ = H_wλ · dλ/dℓ = H_wλ · λ ln 10, the box on dℓ is in decades, and the line search
 * projects ℓ + t·dℓ onto [min, max]. The `linear` scale is the paper's (and the only one that can start
 * from λ = 0, as Section II does): bounds in raw λ units, [0, ∞) by default.
 */
export interface LambdaSpace {
  scale: "linear" | "log10";
  /** Lower bound in the scale's own units (log10 λ for `log10`). */
  min: number;
  /** Upper bound in the scale's own units. */
  max: number;
}

/** Raw λ ≥ 0 without an upper bound: the paper's Section II setting. */
export const LINEAR_NONNEGATIVE: LambdaSpace = { scale: "linear", min: 0, max: Infinity };

/** The coordinate of λ in the space's scale. Throws for λ ≤ 0 on the log scale (no such coordinate). */
export function toCoordinate(space: LambdaSpace, lambda: number): number {
  if (space.scale === "linear") return lambda;
  if (!(lambda > 0)) throw new RangeError(`λ = ${lambda} has no log10 coordinate; use the linear scale for λ = 0`);
  return Math.log10(lambda);
}

/** λ at a coordinate. */
export function fromCoordinate(space: LambdaSpace, c: number): number {
  return space.scale === "linear" ? c : Math.pow(10, c);
}

/** dλ/dc at λ: how one unit of the coordinate moves λ (the chain-rule factor on H_wλ's columns). */
export function lambdaPerCoordinate(space: LambdaSpace, lambda: number): number {
  return space.scale === "linear" ? 1 : lambda * Math.LN10;
}

/** The coordinate clipped into [min, max]. */
export function projectCoordinate(space: LambdaSpace, c: number): number {
  return Math.min(space.max, Math.max(space.min, c));
}

/**
 * The LP's box on dc at coordinate c: [−box, box], closed on the side of a bound that c already sits on,
 * so that the direction never asks the line search to leave the space.
 */
export function coordinateBox(space: LambdaSpace, c: number, box: number): { lo: number; hi: number } {
  return { lo: c <= space.min ? 0 : -box, hi: c >= space.max ? 0 : box };
}

/** Whether λ sits on a bound of the space (within a relative 1e-9 of the coordinate range's ends). */
export function onBound(space: LambdaSpace, lambda: number): boolean {
  if (space.scale === "log10" && !(lambda > 0)) return true;
  const c = toCoordinate(space, lambda);
  const tol = 1e-9 * Math.max(1, Math.abs(c));
  return c <= space.min + tol || c >= space.max - tol;
}
