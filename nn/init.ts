import type { Rng } from "../data/rng.ts";

/**
 * The one weight initialiser: uniform in ±limit from a seeded generator (bit-reproducible), zero biases.
 * Fans of a weight tensor: fan-out is its last dimension (a dense layer's outputs, a kernel's output
 * channels) and fan-in the product of the others (inputs, or k·k·C_in for a kernel).
 */
export type InitScheme = "glorot" | "he";

/** Fan-in and fan-out of a weight tensor of `shape` (see InitScheme). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  const fanOut = shape[shape.length - 1];
  return { fanIn: shape.reduce((a, b) => a * b, 1) / fanOut, fanOut };
}

/** The uniform limit of a scheme: Glorot √(6/(fan-in + fan-out)), He √(6/fan-in). */
export function initLimit(shape: number[], scheme: InitScheme = "glorot"): number {
  const { fanIn, fanOut } = fans(shape);
  return scheme === "glorot" ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
}

/** `n` draws uniform in [−limit, limit), in order from `rng`. */
export function uniformArray(n: number, limit: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-limit, limit));
}

/**
 * Initial parameters [W1, b1, W2, b2, …] for `shapes` in that order: every even slot (weights, kernels)
 * uniform at the scheme's limit, every odd slot (biases) zero.
 *
 * @example
 * ```ts
 * const w = initParams([[784, 15], [15], [15, 10], [10]], new Rng(1), "glorot");
 * ```
 */
export function initParams(shapes: number[][], rng: Rng, scheme: InitScheme = "glorot"): Float32Array[] {
  return shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return i % 2 === 1 ? new Float32Array(n) : uniformArray(n, initLimit(shape, scheme), rng);
  });
}
