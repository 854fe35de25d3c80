// The one place where a search method becomes a sampler. A new method plugs in by adding its name to
// SEARCH_METHODS and one case to makeSampler; the config schema (stages/search.ts) and the stages take
// the list from here.
import { Rng } from "../data/rng.ts";
import type { Genome, SearchSpace } from "./space.ts";
import { GridSampler, type MicroGaOptions, MicroGaSampler, RandomSampler } from "./samplers.ts";
import { genomeTpeSampler } from "./tpe.ts";
import type { Observation, Sampler } from "./study_loop.ts";

/** The search methods a config may name. */
export const SEARCH_METHODS = ["grid", "random", "microga", "tpe"] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

/** What a search's sampler needs: the space, the model budget of a one-shot method, the micro-GA's settings. */
export interface SamplerSettings {
  space: SearchSpace;
  budget: number;
  ga: MicroGaOptions;
}

/** A method's sampler with what a study needs to know of it. */
export interface MethodSampler {
  sampler: Sampler<Genome>;
  /**
   * Whether HLS feeds back into what the sampler proposes. No (grid, random, or any method the protocol
   * runs with HLS after the search): every model is trained without HLS once (a population stage) and the
   * run with HLS fine-tunes the trained models afterwards. Yes (the micro-GA: Lamarckian or Baldwinian HLS
   * inside the loop): a run with HLS trains its own models after the first batch, which it shares.
   */
  hlsFeedsBack: boolean;
  /** Label of the stream (a fork of the method's) that orders the training batches of round `round`. */
  batchLabel(round: number): string;
  /** The generation the next batch belongs to (0: the initial population), for an evolutionary sampler. */
  generation?(): number;
  /** Fitnesses of the population the next batch competes with (HLS on the batch's best only, gaHlsTop). */
  populationFitness?(): number[];
  /** Best fitness after each round (the micro-GA's convergence). */
  bestByGeneration?(): number[];
}

/** Whether HLS feeds back into a method's proposals (MethodSampler.hlsFeedsBack), known without making its sampler. */
export function hlsFeedsBack(method: SearchMethod): boolean {
  return method === "microga";
}

/**
 * The one place the top-k rule is written: where HLS feeds back (the micro-GA) `gaHlsTop` applies (the offspring
 * that rank among the k best as trained), elsewhere `hlsTop` (the k best as trained, after the search).
 */
export function hlsTopOf(method: SearchMethod, s: { hlsTop?: number; gaHlsTop?: number }): number | undefined {
  return hlsFeedsBack(method) ? s.gaHlsTop : s.hlsTop;
}

/** The study setting that carries a method's top k (the inverse of hlsTopOf). */
export function hlsTopSetting(method: SearchMethod, top: number | undefined): { hlsTop?: number; gaHlsTop?: number } {
  return hlsFeedsBack(method) ? { gaHlsTop: top } : { hlsTop: top };
}

/** A search's stream for a method and seed: every draw of the run (proposals, initial weights, batch order) forks from it. */
export function methodStream(method: string, seed: number): Rng {
  return new Rng(seed).fork(method);
}

/** The sampler of `method`, drawing from `rng.fork("sampler")` where it draws at all. */
export function makeSampler(method: SearchMethod, s: SamplerSettings, rng: Rng): MethodSampler {
  switch (method) {
    case "grid":
      return { sampler: new GridSampler(s.space, s.budget), hlsFeedsBack: hlsFeedsBack(method), batchLabel: oneShotBatches };
    case "random":
      return {
        sampler: new RandomSampler(s.space, s.budget, rng.fork("sampler")),
        hlsFeedsBack: hlsFeedsBack(method),
        batchLabel: oneShotBatches,
      };
    case "tpe":
      // Optuna 3.1's TPESampler defaults, batch size 1 (search/tpe.ts, docs/method-choices.md)
      return {
        sampler: genomeTpeSampler(s.space, s.budget, rng.fork("sampler")),
        hlsFeedsBack: hlsFeedsBack(method),
        batchLabel: oneShotBatches,
      };
    case "microga": {
      const ga = new MicroGaSampler(s.space, s.ga, rng.fork("sampler"));
      return {
        sampler: ga,
        hlsFeedsBack: hlsFeedsBack(method),
        batchLabel: (round) => `batches-${round}`,
        generation: () => ga.generation + (ga.population.length ? 1 : 0),
        populationFitness: () => ga.population.map((o: Observation<Genome>) => o.fitness),
        bestByGeneration: () => ga.bestByGeneration,
      };
    }
    default:
      throw new Error(`unknown search method ${JSON.stringify(method satisfies never)}`);
  }
}

/** Models a run of `method` trains: the budget, or the micro-GA's population + generations × offspring. */
export function modelsOf(method: SearchMethod, s: SamplerSettings): number {
  return method === "microga" ? s.ga.population + s.ga.generations * s.ga.offspring : s.budget;
}

function oneShotBatches(round: number): string {
  return round === 0 ? "batches" : `batches-${round}`;
}
