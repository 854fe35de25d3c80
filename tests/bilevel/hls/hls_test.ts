// Hyper local search: the λ scale, held-out selection, the t criterion and the stationarity limit.
import { assert, assertClose, assertEquals, assertThrows } from "../../assert.ts";
import { Rng } from "../../../data/rng.ts";
import { useBackend } from "../../../nn/backend.ts";
import { disposePart, splitPart, toTensorPart } from "../../../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../../../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../../../nn/train.ts";
import { HlsOptions, hyperLocalSearch } from "../../../bilevel/hls/hls.ts";
import { rankByCriterion } from "../../../bilevel/hls/hls_line.ts";
import {
  coordinateBox,
  fromCoordinate,
  lambdaPerCoordinate,
  type LambdaSpace,
  onBound,
  projectCoordinate,
  toCoordinate,
} from "../../../bilevel/hls/lambda_scale.ts";

const LOG: LambdaSpace = { scale: "log10", min: -5, max: -1 };

Deno.test("λ scale: coordinates round-trip, projection stays inside, the box closes on the bound λ sits on", () => {
  const rng = new Rng(3);
  for (let i = 0; i < 2000; i++) {
    const c = rng.uniform(-8, 2);
    const lam = fromCoordinate(LOG, c);
    assertClose(toCoordinate(LOG, lam), c, 1e-12);
    const p = projectCoordinate(LOG, c);
    assert(p >= LOG.min && p <= LOG.max);
    // chain rule factor: dλ/dc = λ ln 10, against a central difference
    const h = 1e-6;
    assertClose(lambdaPerCoordinate(LOG, lam), (fromCoordinate(LOG, c + h) - fromCoordinate(LOG, c - h)) / (2 * h), 1e-6 * lam + 1e-300);
  }
  assertEquals(coordinateBox(LOG, -5, 1), { lo: 0, hi: 1 });
  assertEquals(coordinateBox(LOG, -1, 0.5), { lo: -0.5, hi: 0 });
  assertEquals(coordinateBox(LOG, -3, 2), { lo: -2, hi: 2 });
  assert(onBound(LOG, 1e-5) && onBound(LOG, 0.1) && !onBound(LOG, 1e-3));
  assertThrows(() => toCoordinate(LOG, 0), undefined, "λ = 0 has no log coordinate");
});

Deno.test("t criterion: loss picks the lowest loss; accuracy the highest accuracy, loss breaking ties; ties keep t = 0", () => {
  const m = [{ loss: 1, acc: 0.5 }, { loss: 0.9, acc: 0.5 }, { loss: 0.95, acc: 0.6 }, { loss: 0.8, acc: 0.6 }, { loss: 0.8, acc: 0.6 }];
  assertEquals(rankByCriterion(m, "loss")[0], 3);
  assertEquals(rankByCriterion(m, "accuracy")[0], 3);
  assertEquals(rankByCriterion([{ loss: 1, acc: 0.5 }, { loss: 1, acc: 0.5 }], "loss")[0], 0);
  assertEquals(rankByCriterion([{ loss: 1, acc: 0.7 }, { loss: 0.5, acc: 0.6 }], "accuracy")[0], 0);
});

Deno.test("splitPart: two disjoint random parts that together hold every row, the same for the same seed", async () => {
  await useBackend("cpu");
  const n = 101;
  const x = new Uint8Array(n * 2).map((_, i) => (i >> 1) % 256); // row r holds (r, r)
  const p = toTensorPart({ x, y: new Uint8Array(n).map((_, i) => i % 3) }, 3);
  const [a, b] = splitPart(p, 40, 7);
  const rows = (q: typeof a) => Array.from(q.x.dataSync()).filter((_, i) => i % 2 === 0).map((v) => Math.round(v * 255));
  const [ra, rb] = [rows(a), rows(b)];
  assertEquals(ra.length, 40);
  assertEquals(rb.length, 61);
  assertEquals([...ra, ...rb].sort((u, v) => u - v), Array.from({ length: n }, (_, i) => i));
  assert(ra.some((r) => r > 60), "not simply the first rows");
  const [a2] = splitPart(p, 40, 7);
  assertEquals(rows(a2), ra);
  [p, a, b, a2].forEach(disposePart);
});

/** A small trained MLP on random data, shared by the HLS tests below. */
async function trainedToy(lambda: number) {
  await useBackend("cpu");
  const rng = new Rng(11);
  const mk = (k: number) => {
    const y = new Uint8Array(k).map(() => rng.int(3));
    const x = new Uint8Array(k * 20).map((_, i) => rng.int(120) + (Math.floor((i % 20) / 7) === y[Math.floor(i / 20)] ? 100 : 0));
    return toTensorPart({ x, y }, 3);
  };
  const [train, val, test] = [mk(300), mk(200), mk(200)];
  const spec = { input: 20, hidden: [8], classes: 3 };
  const sizes = layerSizes(spec);
  const t = trainMlp({
    init: initWeights(spec, new Rng(1)),
    shapes: mlpShapes(sizes),
    train,
    objective: { groups: [0, 0], lambdas: [lambda] },
    training: TrainOptions.parse({ epochs: 3, batchSize: 32, learningRate: 0.01 }),
    rng: new Rng(3),
  });
  return { sizes, weights: t.weights, train, val, test, dispose: () => [train, val, test].forEach(disposePart) };
}

Deno.test("log10 HLS keeps every λ of the line inside [10^min, 10^max], also from a bound; records stationarity", async () => {
  for (const lambda of [1e-5, 1e-3, 0.1]) {
    const m = await trainedToy(lambda);
    try {
      const r = await hyperLocalSearch(
        { sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [lambda], space: LOG },
        { train: m.train, val: m.val, test: m.test },
        HlsOptions.parse({ tMin: 1e-3, tMax: 100, points: 12, selection: "in-sample" }),
        { trace: true },
      );
      assertEquals(r.lambdaScale, "log10");
      for (const p of r.line) {
        assert(p.lambdas[0] >= 1e-5 * (1 - 1e-12) && p.lambdas[0] <= 0.1 * (1 + 1e-12), `λ ${p.lambdas[0]} at t ${p.t}`);
      }
      if (lambda === 0.1) assert(r.dLambda[0] <= 0, "at the upper bound dλ may not increase");
      if (lambda === 1e-5) assert(r.dLambda[0] >= 0, "at the lower bound dλ may not decrease");
      assert(r.gradNormBefore > 0 && Number.isFinite(r.gradNormAfter));
      if (!r.improved) assertEquals(r.gradNormAfter, r.gradNormBefore);
      assert(r.line.every((p) => p.train && p.test && p.rank), "a traced line has every part at every t");
    } finally {
      m.dispose();
    }
  }
});

Deno.test("linear HLS from λ = 0 never makes λ negative; log10 at λ = 0 falls back to linear and says so", async () => {
  const m = await trainedToy(0);
  try {
    const r = await hyperLocalSearch(
      { sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [0] },
      { train: m.train, val: m.val },
      HlsOptions.parse({ tMax: 100, points: 8 }),
    );
    assertEquals(r.lambdaScale, "linear");
    assert(r.notes.some((n) => /linear scale/.test(n)), r.notes.join("; "));
    assert(r.line.every((p) => p.lambdas[0] >= 0));
  } finally {
    m.dispose();
  }
});

Deno.test("held-out selection: t is the best on the selection half; the ranking half is scored at t = 0 and the chosen t", async () => {
  const m = await trainedToy(1e-3);
  try {
    const opts = HlsOptions.parse({ tMin: 1e-3, tMax: 10, points: 10, selection: "held-out", heldOutFraction: 0.4 });
    const r = await hyperLocalSearch({ sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [1e-3], space: LOG }, {
      train: m.train,
      val: m.val,
      test: m.test,
    }, opts);
    const minSel = Math.min(...r.line.map((p) => p.val.loss));
    assertEquals(r.best.val.loss, minSel);
    assert(r.before.rank && r.best.rank && r.best.test, "ranking and test metrics at the chosen t");
    assert(r.before.rank!.loss !== r.before.val.loss, "the ranking half is not the selection half");
    // the ranking half has 200 − 80 = 120 rows: accuracies are multiples of 1/120
    assertClose(r.before.rank!.acc * 120, Math.round(r.before.rank!.acc * 120), 1e-6);
    // accuracy as criterion: the chosen t has the highest selection accuracy
    const acc = await hyperLocalSearch({ sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [1e-3], space: LOG }, {
      train: m.train,
      val: m.val,
    }, { ...opts, criterion: "accuracy" });
    assertEquals(acc.best.val.acc, Math.max(...acc.line.map((p) => p.val.acc)));
    // scores as given for t = 0 are taken as they are; the chosen t is scored afresh and the choice unchanged
    const given = { rank: { loss: 123, acc: 0.5 }, test: { loss: 456, acc: 0.25 } };
    const withGiven = await hyperLocalSearch({ sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [1e-3], space: LOG }, {
      train: m.train,
      val: m.val,
      test: m.test,
      asGiven: given,
    }, opts);
    assertEquals(withGiven.before.rank, given.rank);
    assertEquals(withGiven.before.test, given.test);
    assertEquals(withGiven.best.t, r.best.t);
    if (r.best.t > 0) {
      assertClose(withGiven.best.rank!.loss, r.best.rank!.loss, 1e-6, "the chosen t's ranking loss");
      assertClose(withGiven.best.test!.acc, r.best.test!.acc, 1e-12, "the chosen t's test accuracy");
    }
  } finally {
    m.dispose();
  }
});

Deno.test("stationarity limit: a chosen t > 0 keeps ‖∇_w f‖ within the stated multiple of its value at t = 0", async () => {
  const m = await trainedToy(1e-3);
  try {
    for (const ratio of [0.5, 1, 1.5, 4]) {
      const r = await hyperLocalSearch(
        { sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [1e-3], space: LOG },
        { train: m.train, val: m.val },
        HlsOptions.parse({ tMin: 1e-2, tMax: 100, points: 10, selection: "in-sample", maxStationarityRatio: ratio }),
      );
      if (r.improved) {
        assert(r.gradNormAfter <= ratio * r.gradNormBefore * (1 + 1e-9), `ratio ${ratio}: ${r.gradNormAfter} vs ${r.gradNormBefore}`);
      }
    }
  } finally {
    m.dispose();
  }
});

Deno.test("presets: 'paper' is one setting away (raw λ, in-sample, loss); explicit fields win; unknown keys refused", () => {
  const paper = HlsOptions.parse({ preset: "paper" });
  assertEquals([paper.lambdaScale, paper.selection, paper.criterion], ["linear", "in-sample", "loss"]);
  const honest = HlsOptions.parse({});
  assertEquals([honest.preset, honest.lambdaScale, honest.selection], ["honest", "log10", "held-out"]);
  assertEquals(HlsOptions.parse({ preset: "paper", selection: "held-out" }).selection, "held-out");
  assert(!HlsOptions.safeParse({ preset: "papr" }).success);
  assert(!HlsOptions.safeParse({ lambdaScal: "log10" }).success, "a typo is refused, not ignored");
});

Deno.test("whole network by the matrix-free LP: solver pdlp on block all gives a feasible direction with its certificate; auto picks it above maxLpWeights", async () => {
  const m = await trainedToy(1e-3);
  try {
    for (const o of [{ solver: "pdlp", block: "all" }, { solver: "auto", block: "all", maxLpWeights: 50 }] as const) {
      const r = await hyperLocalSearch(
        { sizes: m.sizes, weights: m.weights, groups: [0, 0], lambdas: [1e-3], space: LOG },
        { train: m.train, val: m.val },
        HlsOptions.parse({ ...o, tMin: 1e-3, tMax: 10, points: 8, selection: "in-sample", timeLimitS: 3 }),
      );
      assertEquals(r.path, "pdlp", r.notes.join("; "));
      assertEquals(r.blockSize, 195);
      assert(r.certificate && r.certificate.hvps > 0, "PDLP reports its certificate and HVP count");
      // the gap certifies how far from optimal the (feasible) direction is: within [0, 1] by construction
      assert(r.certificate!.relativeGap >= 0 && r.certificate!.relativeGap <= 1, `certified gap ${r.certificate!.relativeGap}`);
      assert(r.certificate!.primalResidual <= 1e-3, `rows hold to float32 noise: ${r.certificate!.primalResidual}`);
      assert(r.best.val.loss <= r.before.val.loss);
      assert(r.lambdas[0] >= 1e-5 && r.lambdas[0] <= 0.1);
    }
  } finally {
    m.dispose();
  }
});

Deno.test("ablation, top-k one-shot variant: fine-tunes only the k best as trained, ranks the rest as trained; k ≥ budget is the full variant", async () => {
  await useBackend("cpu");
  const { ablationSeed } = await import("../../../search/hls_ablation.ts");
  const { DEFAULT_VARIANTS } = await import("../../../search/hls_variants.ts");
  const { disposeStudyData } = await import("../../../search/study.ts");
  const { SearchSpace } = await import("../../../search/space.ts");
  const { MicroGaOptions } = await import("../../../search/samplers.ts");
  const rng = new Rng(21);
  const mk = (k: number) => {
    const y = new Uint8Array(k).map(() => rng.int(3));
    const x = new Uint8Array(k * 20).map((_, i) => rng.int(120) + (Math.floor((i % 20) / 7) === y[Math.floor(i / 20)] ? 100 : 0));
    return toTensorPart({ x, y }, 3);
  };
  const data = { train: mk(240), val: mk(120), test: mk(120), input: 20, classes: 3 };
  try {
    const full = DEFAULT_VARIANTS.find((v) => v.name === "log-heldout-acc")!;
    const variants = [full, { ...full, name: "top-2", top: 2 }, { ...full, name: "top-all", top: 50 }];
    const settings = {
      space: SearchSpace.parse({ maxLayers: 1, maxNeurons: 6 }),
      training: TrainOptions.parse({ epochs: 1, batchSize: 32, learningRate: 0.01 }),
      hls: HlsOptions.parse({ tMin: 1e-2, tMax: 3, points: 4 }),
      hlsMode: "lamarckian" as const,
      budget: 6,
      ga: MicroGaOptions.parse({}),
    };
    const r = await ablationSeed({ data, settings, seed: 2, variants });
    assertEquals([r.variants["log-heldout-acc"].models, r.variants["top-2"].models, r.variants["top-all"].models], [6, 2, 6]);
    assertEquals(r.variants["top-all"].chosen, r.variants["log-heldout-acc"].chosen, "k ≥ budget changes nothing");
    assertEquals(r.variants["top-all"].meanModelTestAccDelta, r.variants["log-heldout-acc"].meanModelTestAccDelta);
    // the chosen model's scores are on held-out ranking data, fine-tuned or not
    const c = r.variants["top-2"].chosen;
    assert(Number.isFinite(c.valLoss) && c.testAcc >= 0 && c.testAcc <= 1);
  } finally {
    disposeStudyData(data);
  }
});
