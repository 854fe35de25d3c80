// What HLS costs: a 40-model grid study on MNIST (5,000 / 2,500 / 10,000) without and with HLS, on the
// short (1 epoch) and long (10 epochs) budgets of configs/default.json, with the HLS time split into
// building LP (11), solving it, and the line search. Issue 14's goal: with HLS ≤ 1.2× without.
// With --microga, also the micro-GA's study without HLS, with HLS on every model, and on the promising ones only.
// Run: deno run -A bench/hls_cost.ts [--quick] [--top-only] [--microga] [--ga-only] [--ga-top K] [--only short|long] [--repeat R]
import { Rng } from "../data/rng.ts";
import { HlsOptions, type HlsResult, hyperLocalSearch, warmUpHls } from "../bilevel/hls/hls.ts";
import { SearchSpace } from "../search/space.ts";
import { GridSampler, MicroGaOptions } from "../search/samplers.ts";
import { TrainOptions } from "../nn/train.ts";
import { disposeStudyData, microGaStudy, trainGenomes } from "../search/study.ts";
import { hlsDataOf, hlsModelOf, rankingMetrics } from "../search/hls_step.ts";
import { lowestLoss } from "../search/train_genomes.ts";
import { median, printTable } from "./_util.ts";
import { mnistStudyData, wholeNumberArg } from "./_mnist_study.ts";
import { pairedEffect } from "../search/paired_stats.ts";

const quick = Deno.args.includes("--quick");
// --top-only: only the rows of HLS on the top k (what the default config runs), not on all 40 (nor, in the
// micro-GA, on every model)
const topOnly = Deno.args.includes("--top-only");
const data = await mnistStudyData();
const space = SearchSpace.parse({});
const budget = quick ? 8 : 40;
const genomes = GridSampler.points(space, budget);
const budgets = {
  short: TrainOptions.parse({ optimizer: "adam", learningRate: 0.001, epochs: 1, batchSize: 64 }),
  long: TrainOptions.parse({ optimizer: "adam", learningRate: 0.001, epochs: quick ? 2 : 10, batchSize: 128 }),
};
// the default config's HLS settings (criterion, block, solver, t grid) and its hlsTop
const defaults = JSON.parse(Deno.readTextFileSync(new URL("../configs/default.json", import.meta.url))).search;
const configHls = HlsOptions.parse(defaults.hls);
const variants: Record<string, { opts: ReturnType<typeof HlsOptions.parse>; top?: number }> = {
  "default config's HLS, all 40": { opts: configHls },
  "paper (linear, in-sample), all 40": { opts: HlsOptions.parse({ ...defaults.hls, preset: "paper", criterion: "loss" }) },
  // what the default config's grid and random search do (search.hlsTop): the rest ranked as trained
  [`default config's HLS, top ${defaults.hlsTop} only`]: { opts: configHls, top: defaults.hlsTop },
  ...(defaults.hlsTop === 5 ? {} : { "default config's HLS, top 5 only": { opts: configHls, top: 5 } }),
};
// --repeat R (default 3): each row is measured R times in this process; the first repetition is also shown
// apart, since it pays one-off costs (the JIT compiling the LP and Hessian code, tfjs kernels for new shapes,
// HiGHS's loading if a model needs it) that a pipeline run pays once, not per study.
const repeat = wholeNumberArg("--repeat", 3);
// --only short|long: that budget alone; --ga-only: the micro-GA's rows alone
const onlyAt = Deno.args.indexOf("--only");
const only = onlyAt >= 0 ? Deno.args[onlyAt + 1] : undefined;
if (only !== undefined && !(only in budgets)) throw new Error(`--only needs one of ${Object.keys(budgets).join(", ")}, got ${only}`);
const rows: Record<string, string | number>[] = [];
for (const [name, training] of Object.entries(budgets)) {
  if ((only && only !== name) || Deno.args.includes("--ga-only")) continue;
  const perVariant = new Map<string, { trainS: number; hlsS: number; costs: HlsResult["cost"][] }[]>();
  for (let rep = 0; rep < repeat; rep++) {
    warmUpHls(configHls); // as a study does: HiGHS (when the solver wants it) loads while the models train
    const t0 = performance.now();
    // as a study with hlsTop does: the validation set evaluated as its two held-out parts, so that ranking
    // the models not fine-tuned costs no pass of its own
    const trained = trainGenomes(genomes, {
      firstIndex: 0,
      data,
      training,
      rng: new Rng(1),
      batchRng: new Rng(2),
      heldOutFraction: configHls.heldOutFraction,
    });
    const trainS = (performance.now() - t0) / 1000;
    for (const [vname, { opts, top }] of Object.entries(variants)) {
      if (topOnly && top === undefined) continue;
      const costs = [];
      const t1 = performance.now();
      const tuned = lowestLoss(trained, top);
      if (top !== undefined) rankingMetrics(trained, data, opts);
      for (const t of trained.filter((_, i) => tuned.has(i))) {
        // exactly what a study's applyHls passes (the held-out halves, the scores as trained)
        const r = await hyperLocalSearch(hlsModelOf(t, space, opts), hlsDataOf(t, data, opts), opts);
        costs.push(r.cost);
      }
      const runs = perVariant.get(vname) ?? [];
      runs.push({ trainS, hlsS: (performance.now() - t1) / 1000, costs });
      perVariant.set(vname, runs);
    }
  }
  for (const [vname, runs] of perVariant) {
    const costs = (runs.length > 1 ? runs.slice(1) : runs).flatMap((r) => r.costs); // warm repetitions when there are any
    rows.push({
      budget: name,
      HLS: vname,
      models: budget,
      "training s (median)": median(runs.map((r) => r.trainS)),
      "HLS s (median)": median(runs.map((r) => r.hlsS)),
      "with HLS ÷ without (median)": median(runs.map((r) => (r.trainS + r.hlsS) / r.trainS)),
      "first repetition": (runs[0].trainS + runs[0].hlsS) / runs[0].trainS,
      "goal": 1.2,
      "median build LP ms": 1000 * median(costs.map((c) => c.buildSeconds)),
      "median solve LP ms": 1000 * median(costs.map((c) => c.lpSeconds)),
      "median line search ms": 1000 * median(costs.map((c) => c.lineSeconds)),
    });
  }
}
if (rows.length) printTable(`A ${budget}-model grid study on MNIST without and with HLS (output-layer block), ${repeat} repetitions`, rows);
if (Deno.args.includes("--microga")) {
  // the default config's micro-GA (population 10, 15 generations of 2 offspring) without HLS, with HLS on every
  // model, and with HLS only on models that rank among the best k as trained (gaHlsTop), the three alternating
  // (the machine's speed drifts over a minute). Each repetition is another seed: how many models the GA
  // fine-tunes depends on its trajectory (1-4 per study with k = 1), so one seed repeated would measure one
  // trajectory's luck, not what a study costs.
  const ga = MicroGaOptions.parse(defaults.ga ?? {});
  // --ga-top K: another gaHlsTop than the default config's
  const k = wholeNumberArg("--ga-top", defaults.gaHlsTop ?? 3);
  const gaRows: Record<string, string | number>[] = [];
  for (const [name, training] of Object.entries(budgets)) {
    if (only && only !== name) continue;
    const settings = { space, training, hls: configHls, hlsMode: "lamarckian" as const, budget, ga };
    const wall = async (seed: number, withHls: boolean, gaHlsTop?: number) => {
      const t0 = performance.now();
      await microGaStudy({
        data,
        settings: { ...settings, gaHlsTop },
        seed,
        withHls,
        rng: new Rng(seed).fork("microga"),
        onTrial: () => {},
      });
      return (performance.now() - t0) / 1000;
    };
    const runs = { without: [] as number[], every: [] as number[], top: [] as number[] };
    for (let rep = 0; rep < repeat; rep++) {
      runs.without.push(await wall(rep + 1, false));
      if (!topOnly) runs.every.push(await wall(rep + 1, true));
      runs.top.push(await wall(rep + 1, true, k));
    }
    for (const [what, times] of [["every model", runs.every], [`the ${k} best so far (gaHlsTop)`, runs.top]] as const) {
      if (!times.length) continue;
      // the GA's study time swings by up to a second between identical runs: the mean ratio with its interval
      const ratios = times.map((t, i) => t / runs.without[i]);
      const e = pairedEffect(ratios.map((r) => r - 1));
      gaRows.push({
        budget: name,
        "HLS on": what,
        "study without HLS s (median)": median(runs.without),
        "with HLS s (median)": median(times),
        "with HLS ÷ without (median of pairs)": median(ratios),
        "mean of pairs [95% t interval]": `${(1 + e.mean).toFixed(3)} [${(1 + e.lo).toFixed(3)}, ${(1 + e.hi).toFixed(3)}]`,
        "first repetition": ratios[0],
        goal: 1.2,
      });
    }
  }
  printTable(`The micro-GA (${budget} models) without and with HLS, seeds 1-${repeat}`, gaRows);
}
disposeStudyData(data);
