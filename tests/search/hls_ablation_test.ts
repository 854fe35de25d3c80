// The HLS ablation's statistics and summaries: Student t against published quantiles, paired intervals
// against hand computations, verdicts on crafted differences, and the report section's rendering.
import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import { incompleteBeta, pairedEffect, studentTCdf, studentTQuantile } from "../../search/paired_stats.ts";
import { type AblationSeed, type AblationVariant, DEFAULT_VARIANTS, summariseAblation } from "../../search/hls_ablation.ts";
import { ablationTable, ablationVerdict, pairedDifferenceSpec } from "../../report/ablation_section.ts";
import type { AblationOutput } from "../../report/types.ts";
import { renderSvg } from "../../report/charts.ts";
import { Rng } from "../../data/rng.ts";
import type { StudyResult } from "../../search/records.ts";
import { TrainOptions } from "../../nn/train_options.ts";

Deno.test("Student t quantiles equal the published table to 1e-5 (df 1-120), and the CDF inverts them", () => {
  // t_{0.975, df} and t_{0.995, df} from standard tables (e.g. NIST/SEMATECH e-Handbook, Table 1.3.6.7.2)
  const table: [number, number, number][] = [
    [1, 12.70620, 63.65674],
    [2, 4.30265, 9.92484],
    [3, 3.18245, 5.84091],
    [5, 2.57058, 4.03214],
    [9, 2.26216, 3.24984],
    [10, 2.22814, 3.16927],
    [19, 2.09302, 2.86093],
    [29, 2.04523, 2.75639],
    [60, 2.00030, 2.66028],
    [120, 1.97993, 2.61742],
  ];
  for (const [df, q975, q995] of table) {
    assertClose(studentTQuantile(0.975, df), q975, 1e-5, `df ${df}`);
    assertClose(studentTQuantile(0.995, df), q995, 1e-4, `df ${df}`);
    assertClose(studentTCdf(q975, df), 0.975, 1e-6);
    assertClose(studentTQuantile(0.025, df), -q975, 1e-5, "symmetric");
  }
  // I_x(a, b) against closed forms: I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 − (1 − x)^b
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const x = rng.next(), a = 0.5 + 5 * rng.next();
    assertClose(incompleteBeta(x, 1, 1), x, 1e-12);
    assertClose(incompleteBeta(x, a, 1), Math.pow(x, a), 1e-10);
    assertClose(incompleteBeta(x, 1, a), 1 - Math.pow(1 - x, a), 1e-10);
  }
});

Deno.test("paired t interval: hand-computed example; verdicts by sign for accuracy and loss; n < 2 is unclear", () => {
  const d = [0.01, 0.02, 0.03, 0.02, 0.02];
  const e = pairedEffect(d);
  // mean 0.02, sd = sqrt(0.0002/4) = 0.0070711, half = 2.776445 · 0.0070711 / √5 = 0.0087796
  assertClose(e.mean, 0.02, 1e-15);
  assertClose(e.sd, Math.sqrt(0.0002 / 4), 1e-12);
  assertClose(e.hi - e.mean, 2.776445 * (Math.sqrt(0.0002 / 4) / Math.sqrt(5)), 1e-6);
  assertEquals(e.verdict, "helps");
  assertEquals(pairedEffect(d.map((x) => -x)).verdict, "hurts");
  assertEquals(pairedEffect(d, { higherIsBetter: false }).verdict, "hurts", "a higher loss is worse");
  assertEquals(pairedEffect([0.05, -0.04, 0.01]).verdict, "unclear");
  assertEquals(pairedEffect([0.05]).verdict, "unclear");
  assertEquals(pairedEffect([0, 0, 0]).verdict, "unclear");
});

/** A crafted ablation: variant 'a' adds +0.01 test accuracy in every seed, 'b' −0.02 ± noise, 'c' noise only. */
function craftedAblation(): { seeds: AblationSeed[]; variants: AblationVariant[] } {
  const variants: AblationVariant[] = ["a", "b", "c"].map((name) => ({
    name,
    description: name,
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: {},
  }));
  const rng = new Rng(9);
  const chosen = (testAcc: number) => ({ key: "k", valAcc: testAcc, valLoss: 1 - testAcc, testAcc });
  const seeds: AblationSeed[] = Array.from({ length: 10 }, (_, i) => {
    const ref = 0.8 + 0.01 * rng.normal();
    const shift = { a: 0.01, b: -0.02 + 0.002 * rng.normal(), c: 0.01 * rng.normal() };
    return {
      seed: i + 1,
      reference: { "one-shot": chosen(ref) },
      variants: Object.fromEntries(
        Object.entries(shift).map((
          [k, s],
        ) => [k, { chosen: chosen(ref + s), moved: 3, onBound: 1, models: 40, seconds: 12, referenceSeconds: 10 }]),
      ),
    };
  });
  return { seeds, variants };
}

Deno.test("ablation summary: paired differences per variant, verdicts, counts and time ratio; the report states them", async () => {
  const { seeds, variants } = craftedAblation();
  const s = summariseAblation(seeds, variants);
  assertEquals(s.map((v) => v.testAcc.verdict), ["helps", "hurts", "unclear"]);
  assertClose(s[0].testAcc.mean, 0.01, 1e-12);
  assertClose(s[0].testAcc.hi - s[0].testAcc.lo, 0, 1e-12, "a constant difference has a zero-width interval");
  assertEquals(s[1].valLoss.verdict, "hurts", "crafted loss = 1 − acc: +0.02 loss is worse");
  assertEquals([s[2].moved, s[2].onBound, s[2].models], [30, 10, 400]);
  assertClose(s[0].seconds / s[0].referenceSeconds, 1.2, 1e-12);
  const out: AblationOutput = {
    backend: "wasm",
    dataset: "toy",
    split: "toy",
    budget: "short",
    training: TrainOptions.parse({}),
    models: 40,
    variants,
    seeds,
    summary: s,
  };
  const verdict = ablationVerdict(out);
  assert(/helps: a \+0\.010/.test(verdict), verdict);
  assert(/hurts: b −0\.0/.test(verdict), verdict);
  assert(/cannot be told apart from no HLS: c/.test(verdict), verdict);
  const table = ablationTable(out);
  assertEquals(table.rows.length, 3);
  assertEquals(table.rows[0][2], "helps", "verdict (Holm over this ablation's variants); the time ratio is in the timing appendix");
  const svg = await renderSvg(pairedDifferenceSpec([out]));
  assert(svg.startsWith("<svg") && svg.includes("Δ test accuracy"), "the paired-difference figure renders");
});

Deno.test("default variants: the paper's HLS and each change are present, names unique, micro-GA modes both", () => {
  const names = DEFAULT_VARIANTS.map((v) => v.name);
  assertEquals(new Set(names).size, names.length);
  const paper = DEFAULT_VARIANTS.find((v) => v.name === "paper")!;
  assertEquals([paper.hls.lambdaScale, paper.hls.selection], ["linear", "in-sample"]);
  assert(DEFAULT_VARIANTS.some((v) => v.kind === "microga" && v.hlsMode === "lamarckian"));
  assert(DEFAULT_VARIANTS.some((v) => v.kind === "microga" && v.hlsMode === "baldwinian"));
  assert(DEFAULT_VARIANTS.some((v) => v.hls.block === "topk") && DEFAULT_VARIANTS.some((v) => v.hls.selection === "held-out"));
});

Deno.test("one unit per variant: a variant's settings, and its seed's outcome from its run and the reference run alone", async () => {
  const { variantSettings, ablationSeedOf, variantMethod } = await import("../../search/hls_ablation.ts");
  const { HlsOptions } = await import("../../bilevel/hls/hls_options.ts");
  const { MicroGaOptions } = await import("../../search/samplers.ts");
  const { SearchSpace } = await import("../../search/space.ts");
  const { TrainOptions } = await import("../../nn/train_options.ts");
  const base = {
    space: SearchSpace.parse({}),
    training: TrainOptions.parse({}),
    hls: HlsOptions.parse({ points: 7 }),
    hlsMode: "baldwinian" as const,
    budget: 4,
    ga: MicroGaOptions.parse({}),
    hlsTop: 9,
    gaHlsTop: 9,
  };
  const byName = (n: string) => DEFAULT_VARIANTS.find((v) => v.name === n)!;
  const top3 = variantSettings(base, byName("log-heldout-acc-top3"));
  assertEquals([top3.hlsTop, top3.gaHlsTop, top3.hlsMode, top3.hls.criterion, top3.hls.points], [
    3,
    undefined,
    "lamarckian",
    "accuracy",
    7,
  ]);
  const gaTop = variantSettings(base, byName("microga-lamarckian-top1"));
  assertEquals([gaTop.hlsTop, gaTop.gaHlsTop], [undefined, 1], "the micro-GA's top is gaHlsTop; the base's tops never leak in");
  const paper = variantSettings(base, byName("paper"));
  assertEquals([paper.hlsTop, paper.gaHlsTop, paper.hls.lambdaScale, paper.hls.selection], [undefined, undefined, "linear", "in-sample"]);
  assertEquals([variantMethod(byName("paper")), variantMethod(byName("microga-baldwinian"))], ["random", "microga"]);
  // crafted runs: trial i scores acc 0.5 + i/100 as trained; HLS on trials 1 and 2 adds 0.1 and 0.3 to test accuracy
  const m = (acc: number) => ({ loss: 1 - acc, acc });
  const trial = (i: number, hls?: number) => {
    const base = { train: m(0.5), val: m(0.5 + i / 100), test: m(0.5 + i / 100) };
    const h = hls === undefined ? undefined : {
      improved: true,
      lambda: 0.01,
      lambdaBefore: i === 1 ? 0.01 : 0.001,
      lambdaOnBound: i === 2,
      val: m(0.9 + i / 100),
      test: m(0.5 + i / 100 + hls),
    };
    const final = h ? { val: h.val, test: h.test } : { val: base.val, test: base.test };
    return { index: i, key: `k${i}`, base, hls: h, fitness: final.val.loss, final } as unknown as StudyResult["trials"][number];
  };
  const run = (trials: StudyResult["trials"], seconds: number): StudyResult =>
    ({
      method: "random",
      hls: trials.some((t) => t.hls),
      seed: 4,
      trials,
      best: trials.reduce((a, b) => (b.fitness < a.fitness ? b : a)),
      seconds: { total: seconds, training: 0, hls: 0 },
    }) as StudyResult;
  const reference = run([trial(0), trial(1), trial(2)], 2);
  const tuned = run([trial(0), trial(1, 0.1), trial(2, 0.3)], 5);
  const v = byName("log-heldout-acc-top3");
  const seed = ablationSeedOf({ seed: 4, variants: [v], oneShotReference: reference, runs: { [v.name]: tuned } });
  assertEquals(seed.reference["one-shot"], { key: "k2", valAcc: 0.52, valLoss: 1 - 0.52, testAcc: 0.52 });
  const out = seed.variants[v.name];
  assertEquals(out.chosen.key, "k2");
  assertClose(out.meanModelTestAccDelta!, 0.2, 1e-12, "over the fine-tuned models only");
  assertEquals([out.moved, out.onBound, out.models, out.seconds, out.referenceSeconds], [1, 1, 2, 5, 2]);
  assertThrows(
    () => ablationSeedOf({ seed: 4, variants: [v, byName("microga-baldwinian")], oneShotReference: reference, runs: { [v.name]: tuned } }),
    /microga-baldwinian/,
  );
});
