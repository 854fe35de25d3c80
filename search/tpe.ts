// The Tree-structured Parzen Estimator (Bergstra et al. 2011) with Optuna 3.1's TPESampler defaults, behind
// the project's Sampler interface. Batches by Optuna's constant liar. docs/method-choices.md (TPE) lists
// every value the literature leaves open and where this follows or leaves Optuna.
import { z } from "zod";
import type { Rng } from "../data/rng.ts";
import type { Genome, SearchSpace } from "./space.ts";
import type { Observation, Sampler } from "./study_loop.ts";
import { defaultGamma, defaultWeights, ParzenEstimator, type ParzenParams, type TpeDist } from "./tpe_parzen.ts";

export { defaultGamma, defaultWeights, type TpeDist } from "./tpe_parzen.ts";

/** TPE's settings as a config states them (Optuna 3.1's TPESampler defaults, and the batch size). */
export const TpeOptions = z.strictObject({
  /**
   * Proposals per ask after the start-up trials (which come as one batch: they use no history). Pending
   * proposals enter the model by Optuna's constant liar. 1: exactly sequential TPE.
   */
  batchSize: z.number().int().min(1).default(1),
  /** Multivariate TPE (one joint Parzen estimator, Scott's-rule bandwidths) instead of one per parameter. */
  multivariate: z.boolean().default(false),
  /** Random proposals before the model is used: while fewer than this many trials are told. */
  nStartup: z.number().int().min(0).default(10),
  /** Candidates drawn from l(x) per proposal; the one of greatest log l − log g wins. */
  nEiCandidates: z.number().int().min(1).default(24),
  considerPrior: z.boolean().default(true),
  priorWeight: z.number().positive().default(1),
  considerMagicClip: z.boolean().default(true),
  considerEndpoints: z.boolean().default(false),
  /** Optuna 3.1.0's continuous log density without −log σ (its issue 5109); off: the correct density. */
  optuna31LogPdf: z.boolean().default(false),
});
export type TpeOptions = z.infer<typeof TpeOptions>;

/** TpeOptions and the two functions Optuna takes as arguments (γ and the weights), for code that needs other ones. */
export type TpeSettings = TpeOptions & { gamma: (n: number) => number; weights: (n: number) => number[] };

/** The settings with every default filled in. */
export function tpeSettings(o: Partial<TpeSettings> = {}): TpeSettings {
  return { ...TpeOptions.parse({}), gamma: defaultGamma, weights: defaultWeights, ...o };
}

/** A told trial as TPE sees it: the parameters' values (external: a log parameter as itself) and the loss, lower is better. */
export interface TpeObservation {
  x: number[];
  y: number;
}

/** A loss to rank by: NaN (a diverged model) as the worst, like +∞, so that ranking stays a total order. */
function rankable(y: number): number {
  return Number.isNaN(y) ? Infinity : y;
}

/**
 * Optuna's split of the told trials into the γ(n) best (below, l) and the rest (above, g), both in the order
 * told; ties by that order. Pending proposals (the constant liar) join above after every told trial, and do
 * not count in n.
 */
export function splitBelowAbove(ys: number[], nBelow: number): { below: number[]; above: number[] } {
  const order = ys.map((_, i) => i).sort((i, j) => {
    const [a, b] = [rankable(ys[i]), rankable(ys[j])];
    return (a < b ? -1 : a > b ? 1 : 0) || i - j;
  });
  return { below: order.slice(0, nBelow).sort((a, b) => a - b), above: order.slice(nBelow).sort((a, b) => a - b) };
}

/** Whether a parameter has a single value (Optuna then asks no sampler). */
function single(d: TpeDist): boolean {
  return d.kind === "categorical" ? d.choices === 1 : d.low === d.high;
}

/** A uniform draw of one parameter, as Optuna's RandomSampler makes it. */
function randomValue(d: TpeDist, rng: Rng): number {
  if (d.kind === "categorical") return rng.int(d.choices);
  if (d.log) {
    const [lo, hi] = d.kind === "int" ? [d.low - 0.5, d.high + 0.5] : [d.low, d.high];
    const v = Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
    return d.kind === "int" ? Math.min(d.high, Math.max(d.low, Math.round(v))) : v;
  }
  const step = d.kind === "int" ? (d.step ?? 1) : d.step;
  if (step === undefined) return rng.uniform(d.low, d.high);
  return d.low + step * rng.int(Math.floor((d.high - d.low) / step + 1e-9) + 1);
}

/** One model-based group of parameters: every parameter alone (independent TPE) or all together (multivariate). */
export interface TpeGroup {
  params: number[];
  below: ParzenEstimator;
  above: ParzenEstimator;
}

/** The inputs of one proposal: the space, the told trials, the pending proposals and the settings. */
export interface TpeState {
  dists: TpeDist[];
  told: TpeObservation[];
  pending?: number[][];
  settings: TpeSettings;
}

/** The Parzen estimators l (below) and g (above) TPE would propose from, group by group; null during start-up. */
export function tpeGroups(s: TpeState): TpeGroup[] | null {
  const { dists, told, settings: o } = s;
  const n = told.length;
  if (n < o.nStartup) return null;
  const { below, above } = splitBelowAbove(told.map((t) => t.y), o.gamma(n));
  const pending = s.pending ?? [];
  const params: ParzenParams = {
    considerPrior: o.considerPrior,
    priorWeight: o.priorWeight,
    considerMagicClip: o.considerMagicClip,
    considerEndpoints: o.considerEndpoints,
    weights: o.weights,
    multivariate: o.multivariate,
    optuna31LogPdf: o.optuna31LogPdf,
  };
  const free = dists.map((_, p) => p).filter((p) => !single(dists[p]));
  const groups = o.multivariate ? (free.length ? [free] : []) : free.map((p) => [p]);
  return groups.map((ps) => {
    const ds = ps.map((p) => dists[p]);
    const valuesOf = (rows: number[][]) => ps.map((p) => rows.map((x) => x[p]));
    const belowX = below.map((i) => told[i].x), aboveX = [...above.map((i) => told[i].x), ...pending];
    return {
      params: ps,
      below: new ParzenEstimator(valuesOf(belowX), ds, params),
      above: new ParzenEstimator(valuesOf(aboveX), ds, params),
    };
  });
}

/** A group's 24 (nEiCandidates) candidates drawn from l, their scores log l − log g, and the index of the best. */
export function scoreCandidates(g: TpeGroup, rng: Rng, n: number): { candidates: number[][]; scores: number[]; best: number } {
  const candidates = g.below.sample(rng, n);
  const ll = g.below.logPdf(candidates), lg = g.above.logPdf(candidates);
  const scores = ll.map((l, i) => l - lg[i]);
  // the first maximum (numpy's argmax); a NaN score (both densities 0) never wins
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best] || Number.isNaN(scores[best])) best = i;
  return { candidates, scores, best };
}

/**
 * One TPE proposal, as external values: random (from `rng.startup`) while fewer than nStartup trials are
 * told, otherwise, group by group, the best of nEiCandidates draws from l by log l − log g (from `rng.model`).
 */
export function proposeTpe(s: TpeState, rng: { startup: Rng; model: Rng }): number[] {
  const groups = tpeGroups(s);
  const x = s.dists.map((d) => (single(d) ? (d.kind === "categorical" ? 0 : d.low) : NaN));
  if (!groups) return s.dists.map((d, p) => (single(d) ? x[p] : randomValue(d, rng.startup)));
  for (const g of groups) {
    const { candidates, best } = scoreCandidates(g, rng.model, s.settings.nEiCandidates);
    g.params.forEach((p, j) => (x[p] = candidates[j][best]));
  }
  return x;
}

/** How a sampler's points map to TPE's parameters and back. */
export interface TpeCodec<P> {
  dists: TpeDist[];
  encode(p: P): number[];
  decode(x: number[]): P;
}

/**
 * TPE as a sampler: `budget` proposals in all. The first ask returns the start-up trials together (random:
 * they use no history, so batching them changes no proposal); each later ask `batchSize` proposals, made one
 * after the other with the ones before still pending (Optuna's constant liar: ranked worse than every told
 * trial, in g only, not counted in n). Random draws come from two streams forked from `rng` ("startup",
 * "model"), as Optuna keeps a RandomSampler beside TPE's own generator.
 */
export class TpeSampler<P> implements Sampler<P> {
  readonly name = "tpe";
  readonly told: TpeObservation[] = [];
  readonly settings: TpeSettings;
  readonly #codec: TpeCodec<P>;
  readonly #rng: { startup: Rng; model: Rng };
  #pending: number[][] = [];
  #left: number;

  constructor(o: { codec: TpeCodec<P>; budget: number; rng: Rng; settings?: Partial<TpeSettings> }) {
    for (const d of o.codec.dists) {
      const bad = d.kind === "categorical"
        ? !(Number.isInteger(d.choices) && d.choices >= 1)
        : !(d.low <= d.high) || (d.log === true && !(d.low > 0));
      if (bad) throw new Error(`TPE: invalid parameter ${JSON.stringify(d)}`);
    }
    this.#codec = o.codec;
    this.#left = o.budget;
    this.settings = tpeSettings(o.settings);
    this.#rng = { startup: o.rng.fork("startup"), model: o.rng.fork("model") };
  }

  ask(): P[] {
    const o = this.settings;
    const startupLeft = o.nStartup - this.told.length - this.#pending.length;
    const k = Math.min(this.#left, Math.max(o.batchSize, startupLeft));
    const out: P[] = [];
    for (let j = 0; j < k; j++) {
      const x = proposeTpe({ dists: this.#codec.dists, told: this.told, pending: this.#pending, settings: o }, this.#rng);
      this.#pending.push(x);
      out.push(this.#codec.decode(x));
    }
    this.#left -= k;
    return out;
  }

  /** Learns the observations (the genomes as told: a Lamarckian study's rewritten ones); they answer the oldest pending proposals. */
  tell(observations: Observation<P>[]): void {
    for (const ob of observations) this.told.push({ x: this.#codec.encode(ob.genome), y: ob.fitness });
    this.#pending.splice(0, observations.length);
  }
}

/**
 * The search space as TPE's parameters: layers an integer 0..maxLayers, neurons an integer 1..maxNeurons
 * (as random search draws them), log10 λ a float on its range. λ is already log-scaled in the genome, so it
 * is searched as a plain float: the same as Optuna's log=True on λ itself (TPE is unchanged by rescaling a
 * parameter, and ln λ = ln 10 · log10 λ).
 */
export function genomeTpeCodec(space: SearchSpace): TpeCodec<Genome> {
  const layers = { kind: "int", low: 0, high: space.maxLayers } as const;
  const neurons = { kind: "int", low: 1, high: space.maxNeurons } as const;
  const lambda = { kind: "float", low: space.log10LambdaMin, high: space.log10LambdaMax } as const;
  // a told genome outside the space (a grid's 0 neurons, a λ moved past a bound) is learnt at the nearest point inside
  const inside = (v: number, d: { low: number; high: number }, what: string) => {
    if (!Number.isFinite(v)) throw new Error(`TPE: a told genome's ${what} is ${v}; expected a finite number`);
    return Math.min(d.high, Math.max(d.low, v));
  };
  return {
    dists: [layers, neurons, lambda],
    encode: (
      g,
    ) => [inside(g.layers, layers, "layers"), inside(g.neurons, neurons, "neurons"), inside(g.log10Lambda, lambda, "log10Lambda")],
    decode: (x) => ({ layers: x[0], neurons: x[1], log10Lambda: x[2] }),
  };
}

/** A TPE sampler over the search space's genomes. */
export function genomeTpeSampler(space: SearchSpace, budget: number, rng: Rng, options: Partial<TpeSettings> = {}): TpeSampler<Genome> {
  return new TpeSampler({ codec: genomeTpeCodec(space), budget, rng, settings: options });
}
