// Do the block LP's two solvers fine-tune to the same models? The dense simplex (`hls.solver: "simplex"`, the
// default) and HiGHS (`"highs"`) on the same trained models: a 40-model grid study on MNIST per seed, the
// default config's HLS on its top 3, both budgets. Prints, per budget, how many fine-tuned models got the
// same step t and the same test accuracy, the largest test-accuracy difference, whether the study chose the
// same model, and the LP time of each solver.
// Run: deno run -A bench/hls_solvers.ts [--seeds N] [--quick]
import { Rng } from "../data/rng.ts";
import { HlsOptions } from "../bilevel/hls/hls.ts";
import { SearchSpace } from "../search/space.ts";
import { GridSampler } from "../search/samplers.ts";
import { TrainOptions } from "../nn/train.ts";
import { disposeStudyData, trainGenomes } from "../search/study.ts";
import { applyHls, rankingMetrics } from "../search/hls_step.ts";
import type { HlsRecord } from "../search/records.ts";
import { lowestLoss } from "../search/train_genomes.ts";
import { median, printTable } from "./_util.ts";
import { mnistStudyData, wholeNumberArg } from "./_mnist_study.ts";

const quick = Deno.args.includes("--quick");
const seedCount = wholeNumberArg("--seeds", quick ? 2 : 10);
const data = await mnistStudyData();
const space = SearchSpace.parse({});
const genomes = GridSampler.points(space, quick ? 8 : 40);
const defaults = JSON.parse(Deno.readTextFileSync(new URL("../configs/default.json", import.meta.url))).search;
const solvers = {
  simplex: HlsOptions.parse({ ...defaults.hls, solver: "simplex" }),
  highs: HlsOptions.parse({ ...defaults.hls, solver: "highs" }),
};
const top = defaults.hlsTop ?? 3;
const rows: Record<string, string | number>[] = [];
for (const [name, raw] of Object.entries(defaults.budgets as Record<string, unknown>)) {
  const training = TrainOptions.parse({ ...(raw as object), ...(quick ? { epochs: 1 } : {}) });
  let models = 0, sameT = 0, sameTest = 0, sameChoice = 0, maxTestDiff = 0, fallbacks = 0;
  const lpMs: Record<string, number[]> = { simplex: [], highs: [] };
  for (let seed = 1; seed <= seedCount; seed++) {
    const trained = trainGenomes(genomes, {
      firstIndex: 0,
      data,
      training,
      rng: new Rng(seed),
      batchRng: new Rng(1000 + seed),
      heldOutFraction: solvers.simplex.heldOutFraction,
    });
    const tuned = [...lowestLoss(trained, top)];
    const asTrained = rankingMetrics(trained, data, solvers.simplex);
    const chosen: Record<string, number> = {};
    const results: Record<string, HlsRecord[]> = {};
    for (const [solver, opts] of Object.entries(solvers)) {
      const recs: HlsRecord[] = [];
      for (const i of tuned) recs.push(await applyHls(trained[i], data, opts, space));
      recs.forEach((r) => lpMs[solver].push(1000 * r.lpSeconds));
      results[solver] = recs;
      // the study's choice: the lowest ranking loss, fine-tuned models at their chosen t, the rest as trained
      const val = asTrained.map((m, i) => (tuned.includes(i) ? recs[tuned.indexOf(i)].val : m).loss);
      chosen[solver] = val.indexOf(Math.min(...val));
    }
    results.simplex.forEach((a, j) => {
      const b = results.highs[j];
      models++;
      if (a.path !== "simplex") fallbacks++;
      if (a.t === b.t) sameT++;
      if (a.test.acc === b.test.acc) sameTest++;
      maxTestDiff = Math.max(maxTestDiff, Math.abs(a.test.acc - b.test.acc));
    });
    if (chosen.simplex === chosen.highs) sameChoice++;
  }
  rows.push({
    budget: name,
    seeds: seedCount,
    "models fine-tuned": models,
    "same t": sameT,
    "same test accuracy": sameTest,
    "largest test-accuracy difference (points)": 100 * maxTestDiff,
    "same model chosen (seeds)": sameChoice,
    "dense simplex handed to HiGHS": fallbacks,
    "median LP ms, dense simplex": median(lpMs.simplex),
    "median LP ms, HiGHS": median(lpMs.highs),
  });
}
printTable(`The block LP's two solvers on the same trained models (MNIST, ${genomes.length}-model grid, HLS on the top ${top})`, rows);
disposeStudyData(data);
