import { assert, assertClose, assertEquals } from "../assert.ts";
import { Rng } from "../../data/rng.ts";
import { binaryCrossover, bitFlip, polynomialMutation, sbx, sbxUnbounded } from "../../search/operators.ts";
import { GridSampler, MicroGaOptions, MicroGaSampler, RandomSampler } from "../../search/samplers.ts";
import { fromBits, hiddenOf, SearchSpace, toBits } from "../../search/space.ts";
import { meanStd } from "../../search/summary.ts";
import { useBackend } from "../../nn/backend.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { disposeStudyData, microGaStudy, oneShotStudies, trainGenomes } from "../../search/study.ts";
import { heldOutOf, rankingMetrics } from "../../search/hls_step.ts";
import type { StudySettings } from "../../search/study_settings.ts";
import { amongBest, pooledMetrics } from "../../search/train_genomes.ts";
import { evaluateMlps } from "../../nn/train_mlps.ts";
import { TrainOptions } from "../../nn/train.ts";
import { HlsOptions } from "../../bilevel/hls/hls.ts";

const space = SearchSpace.parse({});

Deno.test("SBX: children symmetric about the parents' mean; spread shrinks as η grows", () => {
  const rng = new Rng(1);
  const spread = (eta: number) => {
    let s = 0;
    for (let i = 0; i < 4000; i++) {
      const [c1, c2] = sbxUnbounded(1, 3, eta, rng);
      assertClose((c1 + c2) / 2, 2, 1e-12, "mean preserved");
      s += Math.abs(c2 - c1);
    }
    return s / 4000;
  };
  const [s2, s10, s50] = [spread(2), spread(10), spread(50)];
  assert(s2 > s10 && s10 > s50, `spreads ${s2} ${s10} ${s50}`);
  // bounded SBX stays in bounds
  for (let i = 0; i < 2000; i++) {
    const [a, b] = sbx([-4.9, -1.2], { lo: -5, hi: -1, eta: 15 }, rng);
    assert(a >= -5 && a <= -1 && b >= -5 && b <= -1);
  }
});

Deno.test("polynomial mutation stays within bounds and moves the value", () => {
  const rng = new Rng(2);
  let moved = 0;
  for (let i = 0; i < 3000; i++) {
    const x = rng.uniform(-5, -1);
    const y = polynomialMutation(x, { lo: -5, hi: -1, eta: 20 }, rng);
    assert(y >= -5 && y <= -1);
    if (y !== x) moved++;
  }
  assert(moved > 2900);
});

Deno.test("binary crossover keeps each bit from a parent; bit flip at p=0 and p=1", () => {
  const rng = new Rng(3);
  const a = [0, 1, 1, 0, 1, 0], b = [1, 1, 0, 0, 0, 1];
  for (let k = 0; k < 100; k++) {
    const [c1, c2] = binaryCrossover(a, b, rng);
    for (let i = 0; i < a.length; i++) {
      assert(c1[i] === a[i] || c1[i] === b[i]);
      assertEquals(c1[i] + c2[i], a[i] + b[i]); // complementary children
    }
  }
  assertEquals(bitFlip(a, 0, rng), a);
  assertEquals(bitFlip(a, 1, rng), a.map((x) => 1 - x));
  assertEquals(toBits({ layers: 2, neurons: 13, log10Lambda: -3 }), [1, 0, 1, 1, 0, 1]);
  assertEquals(fromBits([1, 1, 1, 1, 1, 1], -3, space), { layers: 3, neurons: 15, log10Lambda: -3 });
  assertEquals(hiddenOf({ layers: 3, neurons: 0, log10Lambda: -2 }), []);
});

Deno.test("grid and random samplers propose exactly the budget, inside the space; random is seeded", () => {
  for (const budget of [6, 40, 55]) {
    const g = new GridSampler(space, budget).ask();
    assertEquals(g.length, budget);
    assertEquals(new Set(g.map((x) => JSON.stringify(x))).size, budget);
  }
  const r1 = new RandomSampler(space, 40, new Rng(4)).ask();
  const r2 = new RandomSampler(space, 40, new Rng(4)).ask();
  assertEquals(r1, r2);
  assert(
    r1.every((x) => x.layers >= 0 && x.layers <= 3 && x.neurons >= 1 && x.neurons <= 15 && x.log10Lambda >= -5 && x.log10Lambda <= -1),
  );
});

Deno.test("micro-GA: 10 + 15×2 = 40 proposals; steady state keeps the size and never loses the best", () => {
  const ga = new MicroGaSampler(space, MicroGaOptions.parse({}), new Rng(5));
  const f = (x: { layers: number; neurons: number; log10Lambda: number }) =>
    Math.abs(x.log10Lambda + 3) + 0.1 * Math.abs(x.neurons - 8) + 0.01 * x.layers;
  let proposals = 0;
  let prevBest = Infinity;
  for (let batch = ga.ask(); batch.length; batch = ga.ask()) {
    proposals += batch.length;
    ga.tell(batch.map((genome) => ({ genome, fitness: f(genome) })));
    assertEquals(ga.population.length, 10);
    assert(ga.population[0].fitness <= prevBest);
    prevBest = ga.population[0].fitness;
  }
  assertEquals(proposals, 40);
  assertEquals(ga.bestByGeneration.length, 16);
  assert(ga.bestByGeneration.every((b, i) => i === 0 || b <= ga.bestByGeneration[i - 1]));
});

Deno.test("meanStd", () => {
  const s = meanStd([1, 2, 3, 4]);
  assertClose(s.mean, 2.5, 1e-12);
  assertClose(s.std, Math.sqrt(5 / 3), 1e-12);
});

Deno.test("end to end on tiny data: 40-model budgets, seeded determinism, in-sample HLS never worse, held-out HLS stays in the λ space", async () => {
  await useBackend("cpu");
  const rng = new Rng(6);
  // a separable toy problem: class = argmax of 3 pixel blocks
  const mk = (n: number) => {
    const x = new Uint8Array(n * 12).map(() => rng.int(100));
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(3);
      y[i] = c;
      for (let j = 0; j < 4; j++) x[i * 12 + c * 4 + j] += 120;
    }
    return toTensorPart({ x, y }, 3);
  };
  const data = { train: mk(120), val: mk(60), test: mk(60), input: 12, classes: 3 };
  const settings = {
    space: SearchSpace.parse({ maxNeurons: 6 }),
    training: TrainOptions.parse({ epochs: 1, batchSize: 40, learningRate: 0.01 }),
    hls: HlsOptions.parse({ points: 5 }),
    hlsMode: "lamarckian" as const,
    budget: 40,
    ga: MicroGaOptions.parse({}),
  };
  // the paper's in-sample selection ranks on the data that chose t: never worse there, by construction
  const inSample = { ...settings, hls: HlsOptions.parse({ points: 5, selection: "in-sample" }) };
  const oneShot = (st: StudySettings) =>
    oneShotStudies({ method: "random", data, settings: st, seed: 1, rng: new Rng(1), onTrial: () => {} });
  const [a, b] = await oneShot(inSample);
  assertEquals(a.trials.length, 40);
  for (let i = 0; i < 40; i++) assert(b.trials[i].fitness <= a.trials[i].fitness + 1e-12, "HLS is paired and never worse");
  // held-out selection: the fitness is the ranking half's loss, which HLS may worsen; λ stays in the space
  const [, h] = await oneShot(settings);
  for (const t of h.trials) {
    assertEquals(t.fitness, t.hls!.val.loss);
    assert(t.hls!.lambda >= 1e-5 * (1 - 1e-12) && t.hls!.lambda <= 0.1 * (1 + 1e-12), `λ ${t.hls!.lambda} left [1e-5, 0.1]`);
  }
  assert(h.trials.some((t) => t.hls!.val.loss !== t.hls!.selectionVal.loss), "ranking and selection data differ");
  // hlsTop: HLS on the 5 of lowest validation loss as trained, the others scored as trained on the same ranking half
  const [w5, top] = await oneShot({ ...settings, hlsTop: 5 });
  const byBase = [...w5.trials].sort((x, y) => x.base.val.loss - y.base.val.loss || x.index - y.index).slice(0, 5).map((t) => t.index);
  assertEquals(top.trials.filter((t) => t.hls).map((t) => t.index).sort((x, y) => x - y), byBase.sort((x, y) => x - y));
  for (const t of top.trials.filter((t) => t.hls)) {
    assertEquals([t.fitness, t.final, t.hls!.lambda], [h.trials[t.index].fitness, h.trials[t.index].final, h.trials[t.index].hls!.lambda]);
  }
  assert(
    top.trials.filter((t) => !t.hls).every((t) => t.final.val.loss !== t.base.val.loss),
    "untuned models are ranked on the ranking half",
  );
  const [, all] = await oneShot({ ...settings, hlsTop: 40 });
  assertEquals(all.trials.map((t) => t.fitness), h.trials.map((t) => t.fitness), "hlsTop ≥ budget is HLS on every model");
  // gaHlsTop: HLS only on the models that as trained rank among the k best of the population and their batch
  const gaTop = await microGaStudy({
    data,
    settings: { ...settings, gaHlsTop: 2 },
    seed: 1,
    withHls: true,
    rng: new Rng(9),
    onTrial: () => {},
  });
  assertEquals(gaTop.trials.length, 40);
  assertEquals(gaTop.trials.filter((t) => t.generation === 0 && t.hls).length, 2, "the initial population's 2 best as trained");
  const tunedLater = gaTop.trials.filter((t) => t.generation > 0 && t.hls).length;
  assert(tunedLater < 30, `${tunedLater} of 30 offspring fine-tuned`);
  for (const t of gaTop.trials.filter((t) => !t.hls)) {
    assert(t.fitness !== t.base.val.loss, "the rest ranked as trained on the ranking half");
  }
  const g1 = await microGaStudy({ data, settings, seed: 1, withHls: true, rng: new Rng(9), onTrial: () => {} });
  const g2 = await microGaStudy({ data, settings, seed: 1, withHls: true, rng: new Rng(9), onTrial: () => {} });
  assertEquals(g1.trials.length, 40);
  assertEquals(g1.trials.map((t) => t.fitness), g2.trials.map((t) => t.fitness));
  [data.train, data.val, data.test].forEach(disposePart);
});

Deno.test("trained with the held-out split: the ranking half's scores are a plain evaluation of it, the pooled validation score the whole set's", async () => {
  await useBackend("cpu");
  const rng = new Rng(11);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 8).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const data = { train: mk(90), val: mk(61), test: mk(30), input: 8, classes: 3 };
  const genomes = new RandomSampler(SearchSpace.parse({ maxNeurons: 5 }), 6, new Rng(2)).ask();
  const training = TrainOptions.parse({ epochs: 1, batchSize: 30, learningRate: 0.01 });
  const args = () => ({ firstIndex: 0, data, training, rng: new Rng(3), batchRng: new Rng(4) });
  const plain = trainGenomes(genomes, args());
  const split = trainGenomes(genomes, { ...args(), heldOutFraction: 0.5 });
  const [sel, rank] = heldOutOf(data, 0.5);
  const direct = evaluateMlps(split.map((t) => t.sizes), split.map((t) => t.weights), rank);
  const opts = HlsOptions.parse({});
  assertEquals(rankingMetrics(split, data, opts), direct, "the ranking half's scores as trained");
  split.forEach((t, j) => {
    assertEquals(t.weights, plain[j].weights, "the split changes no training");
    assertClose(t.base.val.loss, plain[j].base.val.loss, 1e-6);
    assertEquals(t.base.val.acc, plain[j].base.val.acc, "pooled accuracy is exact (correct counts)");
    assertEquals(t.heldOutVal!.selection, evaluateMlps([t.sizes], [t.weights], sel)[0]);
  });
  // another fraction than the one trained with: evaluated afresh
  const other = HlsOptions.parse({ heldOutFraction: 0.25 });
  assertEquals(
    rankingMetrics(split, data, other),
    evaluateMlps(split.map((t) => t.sizes), split.map((t) => t.weights), heldOutOf(data, 0.25)[1]),
  );
  assertEquals(pooledMetrics([[{ loss: 1, acc: 0.5 }, 2], [{ loss: 4, acc: 1 }, 1]]), { loss: 2, acc: 2 / 3 });
  disposeStudyData(data);
});

Deno.test("amongBest: the batch's scores among the k lowest of population and batch; ties go to the population, then batch order", () => {
  assertEquals([...amongBest([5, 1, 3], [2, 4], 2)], [1]);
  assertEquals([...amongBest([5, 1, 3], [2, 4], 4)].sort(), [1, 2]);
  assertEquals([...amongBest([3, 1, 2], [], 2)].sort(), [1, 2]);
  assertEquals([...amongBest([2], [2], 1)], []);
  assertEquals([...amongBest([2, 2], [], 1)], [0]);
  assertEquals([...amongBest([9, 8], [1, 2, 3], 3)], []);
  // a diverged model (NaN loss) ranks last instead of breaking the order
  assertEquals([...amongBest([NaN, 5, NaN, 1], [3], 2)].sort(), [3]);
  assertEquals([...amongBest([NaN, 5, NaN, 1], [], 3)].sort(), [1, 3, 0].sort());
});

Deno.test("population stage path: models stored by the weights codec and read back give the same runs with HLS as training in one process; the micro-GA's reused initial population changes nothing", async () => {
  await useBackend("cpu");
  const { runSearch, encodeBatch, decodeBatch } = await import("../../search/population.ts");
  const { searchStudy } = await import("../../search/study.ts");
  const { oneShotHls } = await import("../../search/hls_step.ts");
  const { methodStream } = await import("../../search/sampler_factory.ts");
  const { splitVolatile } = await import("../../util/volatile.ts");
  const rng = new Rng(31);
  const mk = (n: number) => {
    const y = new Uint8Array(n).map(() => rng.int(3));
    const x = new Uint8Array(n * 12).map((_, i) => rng.int(100) + (Math.floor((i % 12) / 4) === y[Math.floor(i / 12)] ? 120 : 0));
    return toTensorPart({ x, y }, 3);
  };
  const data = { train: mk(120), val: mk(60), test: mk(60), input: 12, classes: 3 };
  const settings: StudySettings = {
    space: SearchSpace.parse({ maxNeurons: 6 }),
    training: TrainOptions.parse({ epochs: 1, batchSize: 40, learningRate: 0.01 }),
    hls: HlsOptions.parse({ points: 4 }),
    hlsMode: "lamarckian",
    budget: 8,
    ga: MicroGaOptions.parse({ population: 4, generations: 2, offspring: 2 }),
    hlsTop: 3,
    gaHlsTop: 2,
  };
  const stable = (x: unknown) => JSON.stringify(splitVolatile(x).stable);
  try {
    // one process, as before the split: the pair of runs sharing their models
    const [without, withHls] = await oneShotStudies({
      method: "random",
      data,
      settings,
      seed: 5,
      rng: methodStream("random", 5),
      onTrial: () => {},
    });
    // the population stage's way: train, store, read back, HLS in another unit
    const pop = await runSearch({ data, method: "random", seed: 5, rng: methodStream("random", 5), settings, onTrial: () => {} });
    assertEquals(stable(pop.result), stable(without), "the population is the run without HLS");
    assertEquals(pop.all.genomes.length, 8, "random search: one batch, all of it");
    const { batch, files } = encodeBatch(pop.all, data.input, data.classes);
    const read = await decodeBatch(JSON.parse(JSON.stringify(batch)), (n) => Promise.resolve(files[n]));
    read.trained.forEach((t, j) => {
      assertEquals(t.weights, pop.first.trained[j].weights, "weights bit for bit");
      assertEquals([t.base, t.sizes, t.lambda, t.parameters], [
        pop.first.trained[j].base,
        pop.first.trained[j].sizes,
        pop.first.trained[j].lambda,
        pop.first.trained[j].parameters,
      ]);
    });
    const unit = await oneShotHls({ method: "random", seed: 5, population: read, data, settings, trainingSeconds: 0, onTrial: () => {} });
    assertEquals(stable(unit), stable(withHls), "HLS on the stored models is HLS on the models as trained");
    // the micro-GA with HLS from the run without HLS's initial population, or training its own: the same run
    const ga = await runSearch({ data, method: "microga", seed: 5, rng: methodStream("microga", 5), settings, onTrial: () => {} });
    const own = await searchStudy({
      data,
      method: "microga",
      settings,
      seed: 5,
      withHls: true,
      rng: methodStream("microga", 5),
      onTrial: () => {},
    });
    const gaBatch = encodeBatch(ga.first, data.input, data.classes);
    const reused = await searchStudy({
      data,
      method: "microga",
      settings,
      seed: 5,
      withHls: true,
      rng: methodStream("microga", 5),
      reuse: await decodeBatch(JSON.parse(JSON.stringify(gaBatch.batch)), (n) => Promise.resolve(gaBatch.files[n])),
      onTrial: () => {},
    });
    assertEquals(stable(reused), stable(own));
    assertEquals(ga.first.genomes.length, 4, "the initial population");
    // the reused models are what the run starts from (not trained again): altered, they change the run
    const altered = {
      genomes: ga.first.genomes,
      trained: ga.first.trained.map((t) => ({ ...t, weights: t.weights.map((x) => x.map(() => 0)) })),
    };
    const fromAltered = await searchStudy({
      data,
      method: "microga",
      settings,
      seed: 5,
      withHls: true,
      rng: methodStream("microga", 5),
      reuse: altered,
      onTrial: () => {},
    });
    assert(stable(fromAltered) !== stable(own), "the reused batch is used");
    // another seed's batch is not this run's: trained afresh, the same run again
    const wrong = await searchStudy({
      data,
      method: "microga",
      settings,
      seed: 5,
      withHls: true,
      rng: methodStream("microga", 5),
      reuse: pop.first,
      onTrial: () => {},
    });
    assertEquals(stable(wrong), stable(own));
  } finally {
    disposeStudyData(data);
  }
});

Deno.test("decodeBatch: a diverged model's NaN scores (JSON null) come back as NaN and rank last; a λ not the genome's is refused", async () => {
  const { encodeBatch, decodeBatch } = await import("../../search/population.ts");
  const w = [new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([0.5, -0.5, 1])];
  const nan = { loss: NaN, acc: 0.1 };
  const fine = { loss: 0.3, acc: 0.9 };
  const mkT = (base: typeof fine, log10Lambda: number) => ({
    genome: { layers: 0, neurons: 0, log10Lambda },
    t: {
      sizes: [2, 3],
      groups: [0],
      lambda: Math.pow(10, log10Lambda),
      weights: w,
      trainSeconds: 1,
      base: { train: base, val: base, test: base },
      parameters: 9,
    },
  });
  const items = [mkT(nan, -2), mkT(fine, -3)];
  const { batch, files } = encodeBatch({ genomes: items.map((i) => i.genome), trained: items.map((i) => i.t) }, 2, 3);
  const json = JSON.parse(JSON.stringify(batch));
  assertEquals(json[0].base.val.loss, null);
  const back = await decodeBatch(json, (n) => Promise.resolve(files[n]));
  assert(Number.isNaN(back.trained[0].base.val.loss));
  const { lowestLoss } = await import("../../search/train_genomes.ts");
  assertEquals([...lowestLoss(back.trained, 1)], [1], "the NaN model ranks last");
  json[1].genome.log10Lambda = -4;
  let refused = "";
  await decodeBatch(json, (n) => Promise.resolve(files[n])).catch((e) => refused = String(e));
  assert(refused.includes("not its genome's"), refused);
  // a truncated weights file is refused by the codec
  const cut: Record<string, Uint8Array> = { ...files, "weights-0.f32": files["weights-0.f32"].slice(0, 8) };
  let short = "";
  await decodeBatch(JSON.parse(JSON.stringify(batch)), (n) => Promise.resolve(cut[n])).catch((e) => short = String(e));
  assert(short.includes("bytes"), short);
});

Deno.test("sampler factory: every method the config accepts makes a sampler that proposes within the space; one list for both", async () => {
  const { SEARCH_METHODS, makeSampler, modelsOf, hlsFeedsBack, hlsTopOf, hlsTopSetting } = await import("../../search/sampler_factory.ts");
  const { SearchParams } = await import("../../stages/search.ts");
  const { PopulationParams } = await import("../../stages/population.ts");
  assertEquals(SearchParams.shape.method.options, [...SEARCH_METHODS]);
  assertEquals(PopulationParams.shape.method.options, [...SEARCH_METHODS]);
  const s = { space, budget: 7, ga: MicroGaOptions.parse({ population: 5, generations: 2, offspring: 2 }) };
  for (const method of SEARCH_METHODS) {
    const m = makeSampler(method, s, new Rng(3));
    const first = m.sampler.ask();
    assert(first.length > 0 && first.every((g) => g.layers >= 0 && g.layers <= space.maxLayers && g.log10Lambda >= space.log10LambdaMin));
    assertEquals(m.hlsFeedsBack, method === "microga", `${method}: HLS feeds back only into the micro-GA`);
    assertEquals(hlsFeedsBack(method), m.hlsFeedsBack, `${method}: the static rule agrees with the sampler`);
    // the top-k rule: the micro-GA's gaHlsTop where HLS feeds back, hlsTop elsewhere; the setting is its inverse
    assertEquals(hlsTopOf(method, { hlsTop: 5, gaHlsTop: 3 }), m.hlsFeedsBack ? 3 : 5);
    assertEquals(hlsTopOf(method, hlsTopSetting(method, 4)), 4);
    assertEquals(hlsTopOf(method, hlsTopSetting(method, undefined)), undefined);
    if (!m.hlsFeedsBack && method !== "tpe" as string) {
      assertEquals(first.length, modelsOf(method, s), `${method}: the whole budget at once`);
    }
  }
  assert(SearchParams.shape.method.safeParse("annealing").success === false, "an unknown method is refused by the schema");
});
