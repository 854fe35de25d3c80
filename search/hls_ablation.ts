import { HlsOptions } from "../bilevel/hls_options.ts";
import type { AblationVariant } from "./hls_variants.ts";
import { Rng } from "../data/rng.ts";
import { type PairedEffect, pairedEffect } from "./paired_stats.ts";
import { RandomSampler } from "./samplers.ts";
import { genomeKey } from "./space.ts";
import {
  applyHls,
  type HlsRecord,
  lowestLoss,
  microGaStudy,
  rankingMetrics,
  type StudyData,
  type StudySettings,
  type TrainedGenome,
  trainGenomes,
} from "./study.ts";
import type { Metrics } from "../nn/train.ts";

export { AblationVariant, DEFAULT_VARIANTS, HLS_PAPER } from "./hls_variants.ts";

/** The model a run ends with: its scores on the run's ranking data and on test. */
export interface Chosen {
  key: string;
  valAcc: number;
  valLoss: number;
  testAcc: number;
}

/** One variant in one seed. */
export interface VariantSeed {
  chosen: Chosen;
  /** one-shot only: mean over all models of (test accuracy after HLS − before): the per-model effect. */
  meanModelTestAccDelta?: number;
  moved: number;
  onBound: number;
  models: number;
  seconds: number;
  /** The reference run's time (training, for one-shot; the micro-GA without HLS, for microga). */
  referenceSeconds: number;
}

/** Every variant for one seed. */
export interface AblationSeed {
  seed: number;
  reference: { "one-shot": Chosen; microga?: Chosen };
  variants: Record<string, VariantSeed>;
}

const chosenOf = (key: string, val: Metrics, test: Metrics): Chosen => ({ key, valAcc: val.acc, valLoss: val.loss, testAcc: test.acc });

function bestBy<T>(xs: T[], loss: (x: T) => number): T {
  return xs.reduce((a, b) => (loss(b) < loss(a) ? b : a));
}

/**
 * One seed of the ablation: `budget` random models trained once and fine-tuned by every one-shot variant
 * (paired model by model), and, when asked, the micro-GA without HLS and with each microga variant.
 */
export async function ablationSeed(a: {
  data: StudyData;
  settings: StudySettings;
  seed: number;
  variants: AblationVariant[];
  /** Parts done of the seed's total (training, each variant, the micro-GA reference), with a label. */
  onProgress?: (done: number, total: number, label: string) => void;
}): Promise<AblationSeed> {
  const { data, settings: s, seed } = a;
  const rng = new Rng(seed);
  const parts = a.variants.length + (a.variants.some((v) => v.kind === "microga") ? 2 : 1);
  let done = 0;
  const report = (label: string, next = false) => a.onProgress?.(next ? ++done : done, parts, label);
  const oneShotRng = rng.fork("ablation-one-shot");
  const genomes = new RandomSampler(s.space, s.budget, oneShotRng.fork("sampler")).ask();
  const t0 = performance.now();
  const trained = trainGenomes(genomes, {
    firstIndex: 0,
    data,
    training: s.training,
    rng: oneShotRng,
    batchRng: oneShotRng.fork("batches"),
    onStep: (l) => report(l),
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const keyOf = (i: number) => genomeKey(genomes[i]);
  const ref = bestBy(trained.map((t, i) => ({ t, i })), (x) => x.t.base.val.loss);
  const out: AblationSeed = { seed, reference: { "one-shot": chosenOf(keyOf(ref.i), ref.t.base.val, ref.t.base.test) }, variants: {} };
  for (const v of a.variants.filter((v) => v.kind === "one-shot")) {
    report(`variant ${v.name}`, true);
    out.variants[v.name] = await oneShotVariant({ trained, keyOf, data, settings: s, variant: v, trainSeconds });
  }
  const gaVariants = a.variants.filter((v) => v.kind === "microga");
  if (gaVariants.length) {
    report("micro-GA without HLS", true);
    const none = await microGaStudy({ data, settings: s, seed, withHls: false, rng: rng.fork("ablation-microga"), onTrial: () => {} });
    out.reference.microga = chosenOf(none.best.key, none.best.final.val, none.best.final.test);
    for (const v of gaVariants) {
      report(`variant ${v.name}`, true);
      const r = await microGaStudy({
        data,
        settings: { ...s, hls: HlsOptions.parse({ ...s.hls, ...v.hls }), hlsMode: v.hlsMode, gaHlsTop: v.top },
        seed,
        withHls: true,
        rng: rng.fork("ablation-microga"),
        onTrial: () => {},
      });
      out.variants[v.name] = {
        chosen: chosenOf(r.best.key, r.best.final.val, r.best.final.test),
        ...movedCounts(r.trials.flatMap((t) => (t.hls ? [t.hls] : []))),
        seconds: r.seconds.total,
        referenceSeconds: none.seconds.total,
      };
    }
  }
  return out;
}

function movedCounts(h: HlsRecord[]): { moved: number; onBound: number; models: number } {
  return {
    moved: h.filter((x) => x.improved && x.lambda !== x.lambdaBefore).length,
    onBound: h.filter((x) => x.improved && x.lambdaOnBound).length,
    models: h.length,
  };
}

async function oneShotVariant(a: {
  trained: TrainedGenome[];
  keyOf: (i: number) => string;
  data: StudyData;
  settings: StudySettings;
  variant: AblationVariant;
  trainSeconds: number;
}): Promise<VariantSeed> {
  const opts = HlsOptions.parse({ ...a.settings.hls, ...a.variant.hls });
  const t0 = performance.now();
  const tuned = lowestLoss(a.trained, a.variant.top);
  // every model is ranked on the variant's ranking data: fine-tuned at its chosen t, the others as trained
  const asTrained = tuned.size < a.trained.length ? rankingMetrics(a.trained, a.data, opts) : [];
  const recs: HlsRecord[] = [];
  const scored: { i: number; val: Metrics; test: Metrics }[] = [];
  for (const [i, t] of a.trained.entries()) {
    if (!tuned.has(i)) {
      scored.push({ i, val: asTrained[i], test: t.base.test });
      continue;
    }
    const h = await applyHls(t, a.data, opts, a.settings.space);
    recs.push(h);
    scored.push({ i, val: h.val, test: h.test });
  }
  const best = bestBy(scored, (x) => x.val.loss);
  const tunedList = [...tuned].sort((x, y) => x - y);
  return {
    chosen: chosenOf(a.keyOf(best.i), best.val, best.test),
    // over the models fine-tuned
    meanModelTestAccDelta: recs.reduce((s, h, j) => s + h.test.acc - a.trained[tunedList[j]].base.test.acc, 0) / recs.length,
    ...movedCounts(recs),
    seconds: a.trainSeconds + (performance.now() - t0) / 1000,
    referenceSeconds: a.trainSeconds,
  };
}

/** One variant's paired effects over seeds. */
export interface VariantSummary {
  name: string;
  description: string;
  kind: AblationVariant["kind"];
  testAcc: PairedEffect;
  /** On each run's own ranking data (the held-out half for held-out variants, the whole set otherwise). */
  valAcc: PairedEffect;
  valLoss: PairedEffect;
  meanModelTestAccDelta?: number;
  /** Wall time of the variant's runs and of their references, summed over seeds (their ratio is HLS's cost). */
  seconds: number;
  referenceSeconds: number;
  moved: number;
  onBound: number;
  models: number;
}

/** Paired differences (variant − no HLS of the same kind and seed) with 95% paired t intervals. */
export function summariseAblation(seeds: AblationSeed[], variants: AblationVariant[]): VariantSummary[] {
  return variants.map((v) => {
    const rows = seeds.filter((s) => s.variants[v.name] && s.reference[v.kind]).map((s) => ({
      v: s.variants[v.name],
      r: s.reference[v.kind]!,
    }));
    const diff = (f: (c: Chosen) => number) => rows.map(({ v, r }) => f(v.chosen) - f(r));
    const sum = (f: (x: VariantSeed) => number) => rows.reduce((a, { v }) => a + f(v), 0);
    const perModel = rows.map(({ v }) => v.meanModelTestAccDelta).filter((x): x is number => x !== undefined);
    return {
      name: v.name,
      description: v.description,
      kind: v.kind,
      testAcc: pairedEffect(diff((c) => c.testAcc)),
      valAcc: pairedEffect(diff((c) => c.valAcc)),
      valLoss: pairedEffect(diff((c) => c.valLoss), { higherIsBetter: false }),
      meanModelTestAccDelta: perModel.length ? perModel.reduce((a, b) => a + b, 0) / perModel.length : undefined,
      seconds: sum((x) => x.seconds),
      referenceSeconds: sum((x) => x.referenceSeconds),
      moved: sum((x) => x.moved),
      onBound: sum((x) => x.onBound),
      models: sum((x) => x.models),
    };
  });
}
