// The one study loop of this project, and the sampler interface every search method implements.

/**
 * A trial's outcome as a sampler sees it: the point it proposed (`genome`: an architecture and λ, an SGD
 * setting, a point of the unit cube) and its fitness, lower is better (a validation loss).
 */
export interface Observation<P> {
  genome: P;
  fitness: number;
}

/**
 * The sampler lifecycle (after Optuna's): `ask()` proposes the next batch of points (empty when the budget
 * is spent); the study evaluates each and calls `tell()` with the observations, whose genomes a step of the
 * study (Lamarckian HLS) may have rewritten. Samplers are seeded through the Rng they are built with. `O`
 * lets a sampler keep the study's own records (its population holds the very objects told).
 */
export interface Sampler<P, O extends Observation<P> = Observation<P>> {
  readonly name: string;
  ask(): P[];
  tell(observations: O[]): void;
}

/**
 * Runs a study: ask a batch, evaluate it, tell, until the sampler has nothing more to ask. `evaluate` is the
 * study's: it trains each proposal and applies whatever steps the study takes after training (hyper local
 * search, with the genome written back or not). Returns every observation, in the order evaluated.
 *
 * @example
 * ```ts
 * const sampler = new RandomSampler(SearchSpace.parse({}), 40, new Rng(1));
 * const trials = await runStudy(sampler, (genomes) => genomes.map((genome) => ({ genome, fitness: score(genome) })));
 * ```
 */
export async function runStudy<P, O extends Observation<P>>(
  // O comes from what `evaluate` returns: a sampler that only reads genome and fitness takes richer records
  sampler: Sampler<P, NoInfer<O>> | Sampler<P, Observation<P>>,
  evaluate: (batch: P[], round: number) => O[] | Promise<O[]>,
): Promise<O[]> {
  const all: O[] = [];
  for (let round = 0, batch = sampler.ask(); batch.length; batch = sampler.ask(), round++) {
    const observed = await evaluate(batch, round);
    sampler.tell(observed);
    all.push(...observed);
  }
  return all;
}
