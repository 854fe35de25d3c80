// A method's summary over seeds (Tables II-III), as the search merge stores it (summary.json) and the report
// reads it. The schemas list fields in the order summariseMethod writes them, so a summary read back writes the
// same bytes.
import { z } from "zod";
import { StoredReal, TrainOptions } from "../nn/train_options.ts";
import { HlsOptionsFields } from "../bilevel/hls/hls_options.ts";
import type { StudyResult } from "./records.ts";

/** Mean and sample standard deviation. */
export function meanStd(xs: number[]): { mean: number; std: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** What meanStd returns, as a summary stores it. */
export const MeanStd = z.strictObject({ mean: StoredReal, std: StoredReal, n: z.number().int().min(0) });

/** Validation and test accuracy and validation loss, each over seeds. */
const Stats = z.strictObject({ valAcc: MeanStd, testAcc: MeanStd, valLoss: MeanStd });

/** The Table II/III cell of one method: best model by validation loss, per seed, with and without HLS. */
export const MethodSummary = z.strictObject({
  method: z.string(),
  perSeed: z.array(z.strictObject({
    seed: z.number().int(),
    hls: z.boolean(),
    valAcc: StoredReal,
    testAcc: StoredReal,
    valLoss: StoredReal,
    best: z.string(),
    seconds: z.number(),
    hlsSeconds: z.number(),
    /** With HLS: how many models' λ HLS moved, how many of those ended on a bound of the space. */
    lambdaMoved: z.number().int().min(0).optional(),
    lambdaOnBound: z.number().int().min(0).optional(),
  })),
  without: Stats,
  with: Stats,
  /** with − without, paired by seed. */
  pairedEffect: Stats.extend({ seedsImproved: z.number().int().min(0) }),
  /** micro-GA: best validation loss after init and each generation, per seed and HLS flag. */
  convergence: z.array(z.strictObject({ seed: z.number().int(), hls: z.boolean(), best: z.array(StoredReal) })).optional(),
});
export type MethodSummary = z.output<typeof MethodSummary>;

/** The choices of an HLS run that the paper's protocol fixes (HlsOptions'), and how many models it fine-tuned. */
export const HlsProtocol = HlsOptionsFields.pick({ lambdaScale: true, selection: true, criterion: true }).extend({
  /** Fine-tuned only this many models (absent: every model). */
  top: z.number().int().min(1).optional(),
});
export type HlsProtocol = z.output<typeof HlsProtocol>;

/**
 * What a search merge writes in `summary.json` (stages/search.ts) and the report reads: where and how the
 * method ran, then its summary over seeds.
 */
export const SearchSummary = z.strictObject({
  backend: z.string(),
  dataset: z.string(),
  split: z.string(),
  budget: z.string(),
  training: TrainOptions,
  /** How the run with HLS fine-tuned. */
  hls: HlsProtocol,
  ...MethodSummary.shape,
});
export type SearchSummary = z.output<typeof SearchSummary>;

/** Summarises the studies of one method. */
export function summariseMethod(method: string, results: StudyResult[]): MethodSummary {
  const perSeed = results.map((r) => ({
    seed: r.seed,
    hls: r.hls,
    valAcc: r.best.final.val.acc,
    testAcc: r.best.final.test.acc,
    valLoss: r.best.final.val.loss,
    best: r.best.key,
    seconds: r.seconds.total,
    hlsSeconds: r.seconds.hls,
    ...(r.hls
      ? {
        lambdaMoved: r.trials.filter((t) => t.hls?.improved && t.hls.lambda !== t.hls.lambdaBefore).length,
        lambdaOnBound: r.trials.filter((t) => t.hls?.improved && t.hls.lambdaOnBound).length,
      }
      : {}),
  }));
  const pick = (h: boolean) => perSeed.filter((p) => p.hls === h);
  const stats = (rows: typeof perSeed) => ({
    valAcc: meanStd(rows.map((r) => r.valAcc)),
    testAcc: meanStd(rows.map((r) => r.testAcc)),
    valLoss: meanStd(rows.map((r) => r.valLoss)),
  });
  const pairs = pick(false).map((w) => [w, pick(true).find((x) => x.seed === w.seed)!] as const).filter(([, x]) => x);
  const conv = results.filter((r) => r.bestByGeneration).map((r) => ({ seed: r.seed, hls: r.hls, best: r.bestByGeneration! }));
  return {
    method,
    perSeed,
    without: stats(pick(false)),
    with: stats(pick(true)),
    pairedEffect: {
      valAcc: meanStd(pairs.map(([a, b]) => b.valAcc - a.valAcc)),
      testAcc: meanStd(pairs.map(([a, b]) => b.testAcc - a.testAcc)),
      valLoss: meanStd(pairs.map(([a, b]) => b.valLoss - a.valLoss)),
      seedsImproved: pairs.filter(([a, b]) => b.valLoss < a.valLoss).length,
    },
    convergence: conv.length ? conv : undefined,
  };
}
