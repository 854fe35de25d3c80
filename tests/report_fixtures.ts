/** Report inputs shaped exactly as the stages write them: small hand-made ones, and one at the default config's scale. */
import type { ReportInput, SearchSummary } from "../report/build.ts";
import type { AblationOutput } from "../report/types.ts";
import { pairedEffect } from "../search/paired_stats.ts";
import { summariseMethod } from "../search/summary.ts";
import { TrainOptions } from "../nn/train_options.ts";
import type { StudyResult, TrialRecord } from "../search/records.ts";

/** A deterministic pseudo-random stream in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const m = (loss: number, acc: number) => ({ loss, acc });

/** A trial record with the fields the report reads. */
export function trial(
  index: number,
  o: { generation?: number; layers: number; neurons: number; log10Lambda: number; loss: number; acc: number; hls?: boolean },
): TrialRecord {
  return {
    index,
    generation: o.generation ?? 0,
    genome: { layers: o.layers, neurons: o.neurons, log10Lambda: o.log10Lambda },
    key: `${o.layers}x${o.neurons}@${o.log10Lambda.toFixed(4)}`,
    hidden: new Array(o.layers).fill(o.neurons),
    lambda: 10 ** o.log10Lambda,
    parameters: 784 * o.neurons + o.neurons * o.neurons * (o.layers - 1) + 10 * o.neurons + 10,
    trainSeconds: 0.5,
    base: { train: m(o.loss, o.acc), val: m(o.loss, o.acc), test: m(o.loss, o.acc) },
    hls: o.hls
      ? {
        improved: true,
        path: "highs",
        lambdaBefore: 10 ** o.log10Lambda,
        lambda: 10 ** (o.log10Lambda + 0.3),
        lambdaOnBound: false,
        dLambda: 0.3,
        t: 0.5,
        gradNormBefore: 1,
        gradNormAfter: 1.1,
        selection: "held-out",
        selectionVal: m(o.loss, o.acc),
        val: m(o.loss, o.acc),
        test: m(o.loss, o.acc),
        seconds: 0.1,
        lpSeconds: 0.01,
        notes: [],
      }
      : undefined,
    fitness: o.loss,
    final: { val: m(o.loss, o.acc), test: m(o.loss + 0.01, o.acc - 0.01) },
  } as TrialRecord;
}

/** One study: `models` trials (micro-GA: generations of `offspring` after a population), HLS lowering loss a little. */
function study(method: string, hls: boolean, seed: number, models: number, rnd: () => number): StudyResult {
  const population = method === "microga" ? Math.min(10, Math.ceil(models / 2)) : models;
  const trials = Array.from({ length: models }, (_, i) => {
    const acc = 0.5 + 0.3 * rnd() + (hls ? 0.02 : 0);
    return trial(i, {
      generation: i < population ? 0 : 1 + Math.floor((i - population) / 2),
      layers: 1 + Math.floor(rnd() * 3),
      neurons: 1 + Math.floor(rnd() * 15),
      log10Lambda: -5 + 4 * rnd(),
      loss: 2 - 1.5 * acc + 0.05 * rnd(),
      acc,
      hls,
    });
  });
  const best = trials.reduce((a, b) => (b.final.val.loss < a.final.val.loss ? b : a));
  const gens = method === "microga" ? Math.max(...trials.map((t) => t.generation)) + 1 : 0;
  return {
    method,
    hls,
    seed,
    trials,
    best,
    seconds: { total: 10, training: 8, hls: hls ? 2 : 0 },
    bestByGeneration: gens
      ? Array.from({ length: gens }, (_, g) => Math.min(...trials.filter((t) => t.generation <= g).map((t) => t.final.val.loss)))
      : undefined,
  };
}

/** A search stage's artifacts: summary (as search/summary.ts makes it) and studies. */
export function searchInput(
  o: { dataset: string; split: string; budget: string; method: string; seeds: number[]; models: number; epochs: number },
): ReportInput["searches"][number] {
  const rnd = lcg(o.seeds.length * 7919 + o.models + o.method.length);
  const results = o.seeds.flatMap((seed) => [false, true].map((hls) => study(o.method, hls, seed, o.models, rnd)));
  const summary: SearchSummary = {
    ...summariseMethod(o.method, results),
    dataset: o.dataset,
    split: o.split,
    budget: o.budget,
    backend: "wasm",
    training: TrainOptions.parse({ optimizer: "adam", learningRate: 0.001, epochs: o.epochs, batchSize: 64 }),
    // the paper's HLS, every model: the protocol section names no HLS difference
    hls: { lambdaScale: "linear", selection: "in-sample", criterion: "loss" },
  };
  return { stage: `search:${o.split}:${o.budget}:${o.method}`, summary, studies: { results } };
}

const VARIANTS = [
  "paper",
  "log",
  "log-heldout",
  "log-heldout-acc",
  "log-heldout-stationary",
  "log-heldout-topk",
  "microga-lamarckian",
  "microga-baldwinian",
];

/** An hls-ablation stage's output with paired t summaries. */
export function ablationInput(o: { dataset: string; budget: string; seeds: number; models: number; variants?: string[] }): AblationOutput {
  const rnd = lcg(o.seeds * 31 + o.models);
  const names = o.variants ?? VARIANTS;
  const variants = names.map((name) => ({
    name,
    description: `variant ${name}`,
    kind: name.startsWith("microga") ? "microga" : "one-shot",
    hlsMode: "lamarckian",
    hls: {},
  }));
  const chosen = (acc: number) => ({ key: "1x8@-3.0000", valAcc: acc, valLoss: 2 - acc, testAcc: acc - 0.01 });
  const seeds = Array.from({ length: o.seeds }, (_, k) => ({
    seed: k + 1,
    reference: { "one-shot": chosen(0.7), microga: chosen(0.72) },
    variants: Object.fromEntries(names.map((n, i) => [n, {
      chosen: chosen(0.7 + (i % 3 - 1) * 0.01 + 0.02 * rnd()),
      meanModelTestAccDelta: 0.01,
      moved: o.models,
      onBound: 1,
      models: o.models,
      seconds: 12,
      referenceSeconds: 10,
    }])),
  }));
  const summary = variants.map((v) => {
    const d = (f: (c: ReturnType<typeof chosen>) => number) =>
      seeds.map((s) => f(s.variants[v.name].chosen) - f(s.reference[v.kind as "one-shot"]));
    return {
      name: v.name,
      description: v.description,
      kind: v.kind,
      testAcc: pairedEffect(d((c) => c.testAcc)),
      valAcc: pairedEffect(d((c) => c.valAcc)),
      valLoss: pairedEffect(d((c) => c.valLoss), { higherIsBetter: false }),
      meanModelTestAccDelta: 0.01,
      seconds: 12 * o.seeds,
      referenceSeconds: 10 * o.seeds,
      moved: o.models * o.seeds,
      onBound: o.seeds,
      models: o.models * o.seeds,
    };
  });
  return {
    backend: "wasm",
    dataset: o.dataset,
    split: o.dataset,
    budget: o.budget,
    training: TrainOptions.parse({ epochs: 1 }),
    models: o.models,
    variants: variants as AblationOutput["variants"],
    seeds: seeds as AblationOutput["seeds"],
    summary: summary as AblationOutput["summary"],
  };
}

/** lp-finetune's output: three groupings, a line search of `points` steps from 1e-3 to 100 where the loss explodes past t = 1. */
export function finetuneInput(points = 12, bestT = 0.5): NonNullable<ReportInput["finetune"]> {
  const line = Array.from({ length: points + 1 }, (_, i) => {
    const t = i === 0 ? 0 : 10 ** (-3 + (5 * (i - 1)) / (points - 1));
    const bump = t > 1 ? t * t : 0;
    return {
      t,
      lambdas: [0.5 * t],
      train: m(1 - 0.02 * Math.min(t, 1) + bump, 0.7),
      val: m(1.1 - 0.05 * Math.min(t, 1) + bump, 0.68),
      test: m(1.1, 0.67),
    };
  });
  const best = { t: bestT, lambdas: [0.5 * bestT], train: m(0.99, 0.7), val: m(1.07, 0.69), test: m(1.1, 0.68) };
  return {
    cases: (["1HP", "2HP", "perLayer"] as const).map((g, i) => ({
      grouping: g,
      hyperparameters: [1, 2, 6][i],
      improved: true,
      verdict: "validation loss 1.1000 -> 1.0700",
      path: "highs",
      lpStatus: "optimal",
      notes: [],
      blockSize: 10,
      boxActive: 0,
      lambdaScale: "linear",
      dLambda: [1],
      lambdas: [0.5],
      gradNormBefore: 1,
      gradNormAfter: 1.1,
      before: line[0],
      best,
      line,
      cost: { seconds: 1, hvps: 10, buildSeconds: 0.5, lpSeconds: 0.2, lineSeconds: 0.3 },
    })),
  };
}

/** The reason chain a stage gets when the fetch it depends on (through subsample) did not run. */
export function blockedBy(fetchReason: string, ...chain: string[]): string {
  return chain.map((s) => `needs '${s}', which did not run: `).join("") + fetchReason;
}

/** The fetch stage's reason as it is written (data/fetch.ts names each source as configured, so a parallel run's snapshot path never shows). */
export const CIFAR_REASON =
  "data not available: cifar10 (tried: archive data/cifar-10-binary.tar.gz: no such file; dir data/cifar-10-batches-bin: data_batch_1.bin not found; URL https://www.cs.toronto.edu/~kriz/: not reachable (fetch failed)). To provide it: download cifar-10-binary.tar.gz and place it at data/cifar-10-binary.tar.gz, then rerun";

/** The not-run stages of CIFAR-10 in a config with `budgets`, the three methods and `seeds`. */
export function cifarNotRun(budgets: string[], seeds: number[]): ReportInput["stages"] {
  const out: ReportInput["stages"] = [{ name: "fetch:cifar10", notRun: CIFAR_REASON, digests: {} }];
  for (const b of budgets) {
    for (const me of ["grid", "random", "microga"]) {
      for (const s of seeds) {
        out.push({
          name: `search-seed:cifar10:${b}:${me}:${s}`,
          notRun: blockedBy(CIFAR_REASON, "subsample:cifar10", "fetch:cifar10"),
          digests: {},
        });
      }
      out.push({
        name: `search:cifar10:${b}:${me}`,
        notRun: blockedBy(CIFAR_REASON, `search-seed:cifar10:${b}:${me}:1`, "subsample:cifar10", "fetch:cifar10"),
        digests: {},
      });
    }
  }
  return out;
}

const hex = (i: number) => i.toString(16).padStart(2, "0").repeat(32);

/**
 * The default config's scale: MNIST and Fashion-MNIST (and CIFAR-10 when asked), two budgets, three methods,
 * 3 seeds, 40 models; a 10-seed ablation; CIFAR-10 not run unless asked.
 */
export function defaultScaleInput(o: { cifar10?: boolean } = {}): ReportInput {
  const splits = o.cifar10 ? ["mnist", "cifar10", "fashion"] : ["mnist", "fashion"];
  const searches = splits.flatMap((split) =>
    ["short", "long"].flatMap((budget) =>
      ["grid", "random", "microga"].map((method) =>
        searchInput({
          dataset: split === "fashion" ? "fashion-mnist" : split,
          split,
          budget,
          method,
          seeds: [1, 2, 3],
          models: 40,
          epochs: budget === "short" ? 1 : 10,
        })
      )
    )
  );
  const ablations = ["mnist", "fashion-mnist"].flatMap((d) =>
    ["short", "long"].map((b) => ablationInput({ dataset: d, budget: b, seeds: 10, models: 40 }))
  );
  const ran = [
    "fetch:mnist",
    "fetch:fashion-mnist",
    "baseline-train",
    "lp-finetune",
    ...searches.flatMap((s) => [1, 2, 3].map((k) => `${s.stage.replace("search:", "search-seed:")}:${k}`).concat(s.stage)),
    ...["mnist", "fashion"].flatMap((d) =>
      ["short", "long"].flatMap((
        b,
      ) => [...Array.from({ length: 10 }, (_, k) => `hls-ablation-seed:${d}:${b}:${k + 1}`), `hls-ablation:${d}:${b}`])
    ),
  ];
  const splitDefs = {
    mnist: { dataset: "mnist", nTrain: 5000, nVal: 2500, seed: 1 },
    cifar10: { dataset: "cifar10", nTrain: 5000, nVal: 2500, seed: 1 },
    fashion: { dataset: "fashion-mnist", nTrain: 5000, nVal: 2500, seed: 1 },
  };
  return {
    title: "Hyperparameter tuning as a bilevel program: reproduction report",
    description: "The main paper's protocol (Sections II and IV) on MNIST and CIFAR-10, with Fashion-MNIST as a third data set.",
    config: {
      splits: splitDefs,
      search: { splits: ["mnist", "cifar10", "fashion"], methods: ["grid", "random", "microga"], seeds: [1, 2, 3], budget: 40 },
    },
    splits: splitDefs,
    searchBudget: 40,
    environment: { backend: "wasm", deno: "2.x", cpu: "Some CPU", "cpu cores": "2" },
    stages: [
      ...ran.map((name, i) => ({ name, digests: { "out.json": hex(i % 256), "out.volatile.json": hex((i + 7) % 256) } })),
      ...(o.cifar10 ? [] : cifarNotRun(["short", "long"], [1, 2, 3])),
    ],
    baseline: { backend: "wasm", seconds: 30, steps: 0, history: [] },
    finetune: finetuneInput(30),
    searches,
    ablations,
  };
}
