import type { StudyResult } from "./records.ts";

/** Mean and sample standard deviation. */
export function meanStd(xs: number[]): { mean: number; std: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** The Table II/III cell of one method: best model by validation loss, per seed, with and without HLS. */
export interface MethodSummary {
  method: string;
  perSeed: {
    seed: number;
    hls: boolean;
    valAcc: number;
    testAcc: number;
    valLoss: number;
    best: string;
    seconds: number;
    hlsSeconds: number;
    /** With HLS: how many models' λ HLS moved, how many of those ended on a bound of the space. */
    lambdaMoved?: number;
    lambdaOnBound?: number;
  }[];
  without: { valAcc: ReturnType<typeof meanStd>; testAcc: ReturnType<typeof meanStd>; valLoss: ReturnType<typeof meanStd> };
  with: { valAcc: ReturnType<typeof meanStd>; testAcc: ReturnType<typeof meanStd>; valLoss: ReturnType<typeof meanStd> };
  /** with − without, paired by seed. */
  pairedEffect: {
    valAcc: ReturnType<typeof meanStd>;
    testAcc: ReturnType<typeof meanStd>;
    valLoss: ReturnType<typeof meanStd>;
    seedsImproved: number;
  };
  /** micro-GA: best validation loss after init and each generation, per seed and HLS flag. */
  convergence?: { seed: number; hls: boolean; best: number[] }[];
}

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
