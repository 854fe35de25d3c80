import { z } from "zod";

/** The paper's Section IV search space. */
export const SearchSpace = z.strictObject({
  maxLayers: z.number().int().min(0).max(3).default(3),
  maxNeurons: z.number().int().min(1).max(15).default(15),
  /** log10 bounds of the L2 coefficient λ. */
  log10LambdaMin: z.number().default(-5),
  log10LambdaMax: z.number().default(-1),
});
export type SearchSpace = z.infer<typeof SearchSpace>;

/**
 * A candidate: number of hidden layers (0-3), neurons per hidden layer (0-15, shared by the layers) and
 * log10 λ. A neuron count of 0 means no hidden layer (logistic regression), whatever the layer count.
 */
export const Genome = z.strictObject({
  layers: z.number().int(),
  neurons: z.number().int(),
  log10Lambda: z.number(),
});
export type Genome = z.infer<typeof Genome>;

/** Hidden layer widths of a genome. */
export function hiddenOf(g: Genome): number[] {
  return g.neurons === 0 ? [] : new Array(g.layers).fill(g.neurons);
}

/** Bits of the binary-coded discrete genes: 2 for layers, 4 for neurons (paper Figure 7). */
export const LAYER_BITS = 2;
export const NEURON_BITS = 4;

/** Encodes the discrete genes as a bit string (layers then neurons, most significant bit first). */
export function toBits(g: Genome): number[] {
  const bits: number[] = [];
  for (let i = LAYER_BITS - 1; i >= 0; i--) bits.push((g.layers >> i) & 1);
  for (let i = NEURON_BITS - 1; i >= 0; i--) bits.push((g.neurons >> i) & 1);
  return bits;
}

/** Decodes a bit string, clamping to the space's maxima. */
export function fromBits(bits: number[], log10Lambda: number, space: SearchSpace): Genome {
  let layers = 0, neurons = 0;
  for (let i = 0; i < LAYER_BITS; i++) layers = (layers << 1) | bits[i];
  for (let i = 0; i < NEURON_BITS; i++) neurons = (neurons << 1) | bits[LAYER_BITS + i];
  return { layers: Math.min(layers, space.maxLayers), neurons: Math.min(neurons, space.maxNeurons), log10Lambda };
}

/** A stable text key of a genome (for duplicates and reporting). */
export function genomeKey(g: Genome): string {
  return `${g.layers}x${g.neurons}@${g.log10Lambda.toFixed(4)}`;
}
