import { z } from "zod";
import type { Rng } from "../data/rng.ts";
import type { Observation, Sampler } from "./study_loop.ts";
import { Metrics, StoredReal } from "../nn/train_options.ts";

/** Seed 001's genome: SGD learning rate, momentum and weight decay. */
export const SgdGenome = z.strictObject({ lr: z.number(), momentum: z.number(), weightDecay: z.number() });
export type SgdGenome = z.infer<typeof SgdGenome>;

/** baseline: one model with fixed SGD settings; ga: the GA over them. */
const RunMode = z.enum(["baseline", "ga"]);

/**
 * What a ga-lr-mom-wd stage stores (result.json) and the report reads: the run's identity, then the study's
 * result (search/ga_lr_mom_wd_study.ts gaLrMomWdStudy). Here, apart from the study's code, so that the report
 * can check a stored result without loading TensorFlow.js.
 */
export const GaLrMomWdRecord = z.strictObject({
  run: z.string(),
  mode: RunMode,
  backend: z.string(),
  /** Whether the config shrinks the document's protocol, and how (its note). */
  reduced: z.boolean(),
  reducedNote: z.string().optional(),
  /** The last generation's mean final training loss over its individuals that did not diverge. */
  meanFinalTrainLoss: StoredReal,
  diverged: z.number().int().min(0),
  bestValLoss: StoredReal,
  best: z.strictObject({ genome: SgdGenome, val: Metrics }),
  seconds: z.number(),
  modelsTrained: z.number().int().min(1),
  generations: z.array(z.strictObject({
    generation: z.number().int(),
    bestValLoss: StoredReal,
    individuals: z.array(z.strictObject({ genome: SgdGenome, trainLoss: StoredReal, val: Metrics })),
  })),
});
export type GaLrMomWdRecord = z.output<typeof GaLrMomWdRecord>;

/** Seed 001's GA settings; initial ranges as the document gives them. */
export const LrMomWdGaOptions = z.strictObject({
  population: z.number().int().min(2).default(10),
  generations: z.number().int().min(1).default(3),
  /** Probability that each gene of a child is resampled uniformly from its initial range. */
  mutationRate: z.number().min(0).max(1).default(0.1),
  ranges: z.strictObject({
    lr: z.tuple([z.number().positive(), z.number().positive()]).default([0.0001, 1.0]),
    momentum: z.tuple([z.number().min(0), z.number().max(1)]).default([0, 0.9]),
    weightDecay: z.tuple([z.number().min(0), z.number().min(0)]).default([0, 0.1]),
  }).default({ lr: [0.0001, 1.0], momentum: [0, 0.9], weightDecay: [0, 0.1] }),
});
export type LrMomWdGaOptions = z.infer<typeof LrMomWdGaOptions>;

/**
 * What one run of seed 001's experiment is: the GA, or one model with fixed SGD settings
 * (ga_lr_mom_wd_study.ts gaLrMomWdStudy). The ga-lr-mom-wd stage's parameters take these fields, adding their
 * defaults.
 */
export const GaLrMomWdRun = z.strictObject({
  mode: RunMode,
  ga: LrMomWdGaOptions,
  /** Baseline mode: the one model's SGD settings. */
  baseline: z.strictObject({ lr: z.number().positive(), momentum: z.number().min(0).max(1), weightDecay: z.number().min(0) }),
  epochs: z.number().int().min(1),
  batchSize: z.number().int().min(1),
  /** StepLR's gamma, applied every epoch. */
  stepGamma: z.number().positive(),
  /** The CNN's layers (nn/cnn.ts CnnSpec): channels of the two conv layers, the hidden width, the two dropout rates. */
  cnn: z.strictObject({
    conv1: z.number().int().min(1),
    conv2: z.number().int().min(1),
    hidden: z.number().int().min(1),
    dropout: z.tuple([z.number().min(0).max(0.95), z.number().min(0).max(0.95)]),
  }),
  seed: z.number().int(),
});
export type GaLrMomWdRun = z.infer<typeof GaLrMomWdRun>;

const GENES = ["lr", "momentum", "weightDecay"] as const;

/** A uniform draw from the initial ranges. */
export function randomSgdGenome(o: LrMomWdGaOptions, rng: Rng): SgdGenome {
  return {
    lr: rng.uniform(...o.ranges.lr),
    momentum: rng.uniform(...o.ranges.momentum),
    weightDecay: rng.uniform(...o.ranges.weightDecay),
  };
}

/** Uniform crossover: each gene from a randomly chosen parent. */
export function uniformCrossover(a: SgdGenome, b: SgdGenome, rng: Rng): SgdGenome {
  const child = { ...a };
  for (const g of GENES) child[g] = rng.next() < 0.5 ? a[g] : b[g];
  return child;
}

/** Resamples each gene uniformly from its range with probability `rate`. */
export function resampleMutation(g: SgdGenome, o: LrMomWdGaOptions, rng: Rng): SgdGenome {
  const out = { ...g };
  for (const k of GENES) if (rng.next() < o.mutationRate) out[k] = rng.uniform(...o.ranges[k]);
  return out;
}

/**
 * The next generation (seed 001): keep the top half by fitness (lower is better), then fill the rest with
 * children of two parents drawn from the survivors (uniform crossover, then resample mutation).
 */
export function nextGeneration<T extends { genome: SgdGenome; fitness: number }>(
  scored: T[],
  o: LrMomWdGaOptions,
  rng: Rng,
): { survivors: T[]; children: SgdGenome[] } {
  const sorted = [...scored].sort((a, b) => a.fitness - b.fitness);
  const survivors = sorted.slice(0, Math.max(1, Math.floor(sorted.length / 2)));
  const children: SgdGenome[] = [];
  while (survivors.length + children.length < o.population) {
    const a = survivors[rng.int(survivors.length)].genome, b = survivors[rng.int(survivors.length)].genome;
    children.push(resampleMutation(uniformCrossover(a, b, rng), o, rng));
  }
  return { survivors, children };
}

/**
 * Seed 001's GA as a sampler: a random initial population, then each generation the top half survives and
 * children of survivors fill the rest (nextGeneration). Its population holds the very observations told,
 * so a study's records come back as survivors; `generations` lists the population after each tell.
 */
export class LrMomWdGaSampler<O extends Observation<SgdGenome>> implements Sampler<SgdGenome, O> {
  readonly name = "ga-lr-mom-wd";
  population: O[] = [];
  readonly generations: O[][] = [];
  #survivors: O[] = [];

  constructor(private readonly o: LrMomWdGaOptions, private readonly rng: Rng) {}

  ask(): SgdGenome[] {
    if (this.generations.length === 0) return Array.from({ length: this.o.population }, () => randomSgdGenome(this.o, this.rng));
    if (this.generations.length >= this.o.generations) return [];
    const { survivors, children } = nextGeneration(this.population, this.o, this.rng);
    this.#survivors = survivors;
    return children;
  }

  tell(observations: O[]): void {
    this.population = this.generations.length === 0 ? observations : [...this.#survivors, ...observations];
    this.generations.push(this.population);
  }
}
