import { HlsOptions } from "../bilevel/hls/hls_options.ts";
import type { AblationVariant } from "./hls_variants.ts";
import { pairedEffect } from "./paired_stats.ts";
import type { AblationSeed, Chosen, VariantSeed, VariantSummary } from "./ablation_records.ts";
import type { HlsRecord, StudyResult } from "./records.ts";
import { runSearch, type TrainedBatch } from "./population.ts";
import { methodStream } from "./sampler_factory.ts";
import { searchStudy } from "./study.ts";
import { oneShotHls } from "./hls_step.ts";
import type { StudySettings } from "./study_settings.ts";
import type { StudyData } from "./train_genomes.ts";

export { AblationVariant, DEFAULT_VARIANTS, HLS_PAPER, variantMethod } from "./hls_variants.ts";
// what the ablation records, as it stores them (a module apart, so that the report checks them without TensorFlow.js)
export type { AblationSeed, Chosen, VariantSeed, VariantSummary } from "./ablation_records.ts";

/**
 * The settings of a variant's run: the base HLS options with the variant's overrides, its mode, and its
 * `top` as the one-shot hlsTop or the micro-GA's gaHlsTop.
 */
export function variantSettings(base: StudySettings, v: AblationVariant): StudySettings {
  const { hlsTop: _h, gaHlsTop: _g, ...rest } = base;
  const top = v.top === undefined ? {} : v.kind === "one-shot" ? { hlsTop: v.top } : { gaHlsTop: v.top };
  return { ...rest, hls: HlsOptions.parse({ ...base.hls, ...v.hls }), hlsMode: v.hlsMode, ...top };
}

const chosenOf = (r: StudyResult): Chosen => ({
  key: r.best.key,
  valAcc: r.best.final.val.acc,
  valLoss: r.best.final.val.loss,
  testAcc: r.best.final.test.acc,
});

/**
 * A variant's outcome in one seed from its run with HLS and the reference run without HLS of the same
 * kind (one-shot: the population ranked as trained; micro-GA: the micro-GA without HLS).
 */
export function variantSeedOf(v: AblationVariant, run: StudyResult, reference: StudyResult): VariantSeed {
  const tuned = run.trials.filter((t) => t.hls);
  const recs = tuned.map((t) => t.hls!);
  return {
    chosen: chosenOf(run),
    // one-shot: over the models fine-tuned
    ...(v.kind === "one-shot"
      ? { meanModelTestAccDelta: tuned.reduce((s, t) => s + t.hls!.test.acc - t.base.test.acc, 0) / tuned.length }
      : {}),
    ...movedCounts(recs),
    seconds: run.seconds.total,
    referenceSeconds: reference.seconds.total,
  };
}

/** One seed of the ablation from its references and its variants' runs (by variant name). */
export function ablationSeedOf(a: {
  seed: number;
  variants: AblationVariant[];
  oneShotReference: StudyResult;
  microgaReference?: StudyResult;
  runs: Record<string, StudyResult>;
}): AblationSeed {
  const out: AblationSeed = { seed: a.seed, reference: { "one-shot": chosenOf(a.oneShotReference) }, variants: {} };
  if (a.microgaReference) out.reference.microga = chosenOf(a.microgaReference);
  for (const v of a.variants) {
    const ref = v.kind === "one-shot" ? a.oneShotReference : a.microgaReference;
    if (!ref) throw new Error(`variant ${v.name}: no micro-GA reference run`);
    const run = a.runs[v.name];
    if (!run) throw new Error(`variant ${v.name}: no run`);
    out.variants[v.name] = variantSeedOf(v, run, ref);
  }
  return out;
}

/** A trained batch whose models a run may annotate (HLS's held-out scores) without touching another run's. */
function ownCopy(b: TrainedBatch): TrainedBatch {
  return { genomes: b.genomes, trained: b.trained.map((t) => ({ ...t })) };
}

/**
 * One seed of the ablation in one process, as the pipeline's stages compute it unit by unit: random search's
 * `budget` models trained once and fine-tuned by every one-shot variant (paired model by model), and, when
 * asked, the micro-GA without HLS and with each microga variant from the same initial population.
 */
export async function ablationSeed(a: {
  data: StudyData;
  settings: StudySettings;
  seed: number;
  variants: AblationVariant[];
}): Promise<AblationSeed> {
  const { data, settings: s, seed } = a;
  const none = () => {};
  const population = (method: "random" | "microga") =>
    runSearch({ data, method, seed, rng: methodStream(method, seed), settings: s, onTrial: none });
  const oneShot = await population("random");
  const runs: Record<string, StudyResult> = {};
  for (const v of a.variants.filter((v) => v.kind === "one-shot")) {
    runs[v.name] = await oneShotHls({
      method: "random",
      seed,
      population: ownCopy(oneShot.first),
      data,
      settings: variantSettings(s, v),
      trainingSeconds: oneShot.result.seconds.total,
      onTrial: none,
    });
  }
  const gaVariants = a.variants.filter((v) => v.kind === "microga");
  const ga = gaVariants.length ? await population("microga") : undefined;
  for (const v of gaVariants) {
    runs[v.name] = await searchStudy({
      data,
      method: "microga",
      settings: variantSettings(s, v),
      seed,
      withHls: true,
      rng: methodStream("microga", seed),
      reuse: ownCopy(ga!.first),
      onTrial: none,
    });
  }
  return ablationSeedOf({ seed, variants: a.variants, oneShotReference: oneShot.result, microgaReference: ga?.result, runs });
}

function movedCounts(h: HlsRecord[]): { moved: number; onBound: number; models: number } {
  return {
    moved: h.filter((x) => x.improved && x.lambda !== x.lambdaBefore).length,
    onBound: h.filter((x) => x.improved && x.lambdaOnBound).length,
    models: h.length,
  };
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
