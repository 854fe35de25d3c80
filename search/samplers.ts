import { z } from "zod";
import type { Rng } from "../data/rng.ts";
import { fromBits, type Genome, type SearchSpace, toBits } from "./space.ts";
import { binaryCrossover, bitFlip, polynomialMutation, sbx } from "./operators.ts";
import type { Observation, Sampler } from "./study_loop.ts";

export type { Observation, Sampler } from "./study_loop.ts";

/** Grid search: a fixed grid of `budget` points, proposed in one batch. */
export class GridSampler implements Sampler<Genome> {
  readonly name = "grid";
  #done = false;
  constructor(private readonly space: SearchSpace, private readonly budget: number) {}

  /** The grid: no-hidden-layer models over λ, then layers × neurons × λ, trimmed to the budget. */
  static points(space: SearchSpace, budget: number): Genome[] {
    const lams = (k: number) =>
      Array.from({ length: k }, (_, i) => space.log10LambdaMin + ((space.log10LambdaMax - space.log10LambdaMin) * (i + 0.5)) / k);
    const layerVals = Array.from({ length: space.maxLayers }, (_, i) => i + 1);
    const neuronVals = [
      Math.ceil(space.maxNeurons / 4),
      Math.ceil(space.maxNeurons / 2),
      Math.ceil((3 * space.maxNeurons) / 4),
      space.maxNeurons,
    ];
    // choose the λ count so that |grid| is as close to the budget as possible without exceeding it
    let nl = 1;
    while ((nl + 1) * (1 + layerVals.length * neuronVals.length) <= budget) nl++;
    const hiddenGrid: Genome[] = [];
    for (const l of layerVals) {
      for (const n of neuronVals) for (const lam of lams(nl)) hiddenGrid.push({ layers: l, neurons: n, log10Lambda: lam });
    }
    const rest = Math.max(0, budget - hiddenGrid.length);
    const flat = lams(Math.max(rest, 1)).map((lam) => ({ layers: 0, neurons: 0, log10Lambda: lam })).slice(0, rest);
    return [...flat, ...hiddenGrid].slice(0, budget);
  }

  ask(): Genome[] {
    if (this.#done) return [];
    this.#done = true;
    return GridSampler.points(this.space, this.budget);
  }
  tell(): void {}
}

/** Random search: `budget` independent uniform draws (layers, neurons 1-15, log10 λ). */
export class RandomSampler implements Sampler<Genome> {
  readonly name = "random";
  #left: number;
  constructor(private readonly space: SearchSpace, budget: number, private readonly rng: Rng) {
    this.#left = budget;
  }
  ask(): Genome[] {
    const out: Genome[] = [];
    while (this.#left > 0) {
      this.#left--;
      out.push({
        layers: this.rng.int(this.space.maxLayers + 1),
        neurons: 1 + this.rng.int(this.space.maxNeurons),
        log10Lambda: this.rng.uniform(this.space.log10LambdaMin, this.space.log10LambdaMax),
      });
    }
    return out;
  }
  tell(): void {}
}

/** The micro-GA's settings; the paper lost its probabilities, these are our documented defaults. */
export const MicroGaOptions = z.strictObject({
  population: z.number().int().min(2).default(10),
  generations: z.number().int().min(0).default(15),
  offspring: z.number().int().min(1).default(2),
  crossoverProb: z.number().min(0).max(1).default(0.9),
  /** Per-bit flip probability for the 6 architecture bits. */
  bitFlipProb: z.number().min(0).max(1).default(1 / 6),
  /** Probability of polynomial mutation of log10 λ. */
  realMutationProb: z.number().min(0).max(1).default(0.5),
  sbxEta: z.number().positive().default(15),
  mutationEta: z.number().positive().default(20),
  tournament: z.number().int().min(1).default(2),
});
export type MicroGaOptions = z.infer<typeof MicroGaOptions>;

/**
 * Steady-state micro-GA (main paper, Section III): a random initial population, then each generation two
 * offspring from tournament-selected parents (binary crossover and bit-flip on the architecture bits, SBX
 * and polynomial mutation on log10 λ). Replacement: the offspring join the population and the worst
 * individuals are dropped so that its size stays constant ((μ + 2) steady state).
 */
export class MicroGaSampler implements Sampler<Genome> {
  readonly name = "microga";
  population: Observation<Genome>[] = [];
  generation = 0;
  /** Best fitness after initialisation and after each generation. */
  readonly bestByGeneration: number[] = [];
  #pendingInit = true;

  constructor(private readonly space: SearchSpace, private readonly o: MicroGaOptions, private readonly rng: Rng) {}

  ask(): Genome[] {
    if (this.#pendingInit) {
      this.#pendingInit = false;
      return Array.from({ length: this.o.population }, () => ({
        layers: this.rng.int(this.space.maxLayers + 1),
        neurons: 1 + this.rng.int(this.space.maxNeurons),
        log10Lambda: this.rng.uniform(this.space.log10LambdaMin, this.space.log10LambdaMax),
      }));
    }
    if (this.generation >= this.o.generations) return [];
    const kids: Genome[] = [];
    while (kids.length < this.o.offspring) {
      const a = this.#tournament(), b = this.#tournament();
      let [b1, b2] = [toBits(a.genome), toBits(b.genome)];
      let [l1, l2] = [a.genome.log10Lambda, b.genome.log10Lambda];
      if (this.rng.next() < this.o.crossoverProb) {
        [b1, b2] = binaryCrossover(b1, b2, this.rng);
        [l1, l2] = sbx([l1, l2], { lo: this.space.log10LambdaMin, hi: this.space.log10LambdaMax, eta: this.o.sbxEta }, this.rng);
      }
      for (const [bits, lam] of [[b1, l1], [b2, l2]] as const) {
        if (kids.length >= this.o.offspring) break;
        const mb = bitFlip(bits, this.o.bitFlipProb, this.rng);
        const ml = this.rng.next() < this.o.realMutationProb
          ? polynomialMutation(lam, { lo: this.space.log10LambdaMin, hi: this.space.log10LambdaMax, eta: this.o.mutationEta }, this.rng)
          : lam;
        kids.push(fromBits(mb, ml, this.space));
      }
    }
    return kids;
  }

  tell(obs: Observation<Genome>[]): void {
    const initial = this.population.length === 0;
    this.population = [...this.population, ...obs].sort((x, y) => x.fitness - y.fitness).slice(0, this.o.population);
    if (!initial) this.generation++;
    this.bestByGeneration.push(this.population[0].fitness);
  }

  #tournament(): Observation<Genome> {
    let best = this.population[this.rng.int(this.population.length)];
    for (let i = 1; i < this.o.tournament; i++) {
      const c = this.population[this.rng.int(this.population.length)];
      if (c.fitness < best.fitness) best = c;
    }
    return best;
  }
}

/**
 * Uniform points of the unit cube [0, 1]^dim, one per ask, `budget` in all (the random-search baseline of
 * seed 003, over rates the study scales).
 */
export class UnitCubeSampler implements Sampler<number[]> {
  readonly name = "random";
  #left: number;
  constructor(private readonly dim: number, budget: number, private readonly rng: Rng) {
    this.#left = budget;
  }
  ask(): number[][] {
    if (this.#left <= 0) return [];
    this.#left--;
    return [Array.from({ length: this.dim }, () => this.rng.next())];
  }
  tell(): void {}
}
