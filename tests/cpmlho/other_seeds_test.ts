import { assert, assertClose, assertEquals } from "../assert.ts";
import { tf, useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { CpmlhoOptions, runCpmlho } from "../../cpmlho/cpmlho.ts";
import { concreteDropout, CpmlhoModel, linearizeCut } from "../../cpmlho/cpmlho_model.ts";
import { applyCutout } from "../../cpmlho/cutout.ts";
import {
  LrMomWdGaOptions,
  LrMomWdGaSampler,
  nextGeneration,
  randomSgdGenome,
  resampleMutation,
  type SgdGenome,
  uniformCrossover,
} from "../../search/ga_lr_mom_wd.ts";
import { cholesky, GpBo, normCdf } from "../../search/gp_bo.ts";
import { runStudy } from "../../search/study_loop.ts";
import { conv2dSame, maxPool2 } from "../../nn/cnn.ts";

await useBackend("cpu");

Deno.test("cutting plane: φ is affine, equals g^k − ε at the linearisation point, and is g's first-order model", () => {
  const rng = new Rng(1);
  const we = Float32Array.from({ length: 50 }, () => rng.normal());
  const wh = Float32Array.from({ length: 50 }, () => rng.normal());
  const eps = 0.3;
  const { c, s, g } = linearizeCut(we, wh, eps);
  const phi = (a: Float32Array, b: Float32Array) => c + a.reduce((acc, v, i) => acc + s[i] * (v - b[i]), 0);
  const gOf = (a: Float32Array, b: Float32Array) => a.reduce((acc, v, i) => acc + Math.abs(v - b[i]), 0);
  assertClose(phi(we, wh), g - eps, 1e-4);
  assertClose(g, gOf(we, wh), 1e-4);
  // a small step that flips no sign: φ tracks g − ε exactly (g is piecewise linear)
  const d = Float32Array.from({ length: 50 }, () => 1e-4 * rng.normal());
  const we2 = we.map((v, i) => v + d[i]);
  assertClose(phi(we2, wh), gOf(we2, wh) - eps, 1e-3);
  // slope on w_h is −sign(w_e − w_h)
  for (let i = 0; i < 50; i++) assertEquals(s[i], Math.sign(we[i] - wh[i]));
});

Deno.test("mixed-level hypergradient: θ = 0 is the training term only; large θ points along the validation term", () => {
  const rng = new Rng(2);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 10).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const tr = mk(40), va = mk(30);
  for (const theta of [0, 1e4]) {
    const m = new CpmlhoModel({ input: 10, classes: 3, options: CpmlhoOptions.parse({ hidden: [6, 5], theta }), rng: new Rng(3) });
    // make the hypernetwork matter so that L_val depends on λ
    m.Wh1.forEach((v) => v.assign(tf.mul(v, 100)));
    const hg = m.hypergradient({ x: tr.x, y: tr.oneHot }, { x: va.x, y: va.oneHot }, 7);
    if (theta === 0) { for (let k = 0; k < 3; k++) assertClose(hg.total[k], hg.train[k], 1e-7); }
    else {
      const cos = hg.total.reduce((a, v, k) => a + v * hg.val[k], 0) / (Math.hypot(...hg.total) * Math.hypot(...hg.val));
      assert(cos > 0.999, `cosine ${cos}`);
      assert(Math.hypot(...hg.val) > 0, "validation gradient is non-zero");
    }
    m.dispose();
  }
  disposePart(tr);
  disposePart(va);
});

Deno.test("concrete dropout: keeps the expectation, and its gradient in p is finite and non-zero", () => {
  const x = tf.ones([2000, 5]) as tf.Tensor2D;
  const u = tf.randomUniform([2000, 5], 0, 1, "float32", 3) as tf.Tensor2D;
  const mean = tf.mean(concreteDropout(x, tf.scalar(0.3), u, 0.1)).dataSync()[0];
  assertClose(mean, 1, 0.05);
  const g = tf.grad((p: tf.Tensor) => tf.sum(tf.square(concreteDropout(x, p as tf.Scalar, u, 0.1))))(tf.scalar(0.3)).dataSync()[0];
  assert(Number.isFinite(g) && g !== 0);
});

Deno.test("CPMLHO end to end on tiny data: λ moves, μ ≥ 0, metrics are finite, seeded runs agree", () => {
  const rng = new Rng(4);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 12).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const data = { train: mk(120), val: mk(60), test: mk(60), classes: 3 };
  const o = CpmlhoOptions.parse({ hidden: [8, 8], epochs: 3, batchSize: 20, outerEvery: 2, cutEvery: 5, lrHyper: 0.05 });
  const a = runCpmlho(data, o, new Rng(5)), b = runCpmlho(data, o, new Rng(5));
  assertEquals(a.finalDropout, b.finalDropout);
  assert(a.finalDropout.some((p) => Math.abs(p - 0.2) > 1e-4), "dropout rates were updated");
  assert(a.trajectory.every((t) => t.mu >= 0));
  assert(Number.isFinite(a.val.loss) && Number.isFinite(a.test.acc));
  [data.train, data.val, data.test].forEach(disposePart);
});

Deno.test("seed 001 GA as a sampler in the study loop: generations of constant size, survivors carried as told, elitist, seeded", async () => {
  const o = LrMomWdGaOptions.parse({ population: 7, generations: 5 });
  const target = { lr: 0.05, momentum: 0.5, weightDecay: 0.01 };
  const fitness = (g: { lr: number; momentum: number; weightDecay: number }) =>
    Math.abs(Math.log10(g.lr / target.lr)) + Math.abs(g.momentum - target.momentum) + 10 * Math.abs(g.weightDecay - target.weightDecay);
  const run = async (seed: number) => {
    const ga = new LrMomWdGaSampler<{ genome: SgdGenome; fitness: number; id: number }>(o, new Rng(seed));
    let id = 0;
    const seen = await runStudy(ga, (batch) => batch.map((genome) => ({ genome, fitness: fitness(genome), id: id++ })));
    return { ga, seen };
  };
  const { ga, seen } = await run(11);
  assertEquals(ga.generations.length, 5);
  assert(ga.generations.every((g) => g.length === 7), "every generation has the population's size");
  // 7 initial, then 4 children per generation (3 survivors kept)
  assertEquals(seen.length, 7 + 4 * 4);
  for (let k = 1; k < 5; k++) {
    const prev = [...ga.generations[k - 1]].sort((a, b) => a.fitness - b.fitness).slice(0, 3);
    assertEquals(ga.generations[k].slice(0, 3).map((x) => x.id), prev.map((x) => x.id), `generation ${k + 1} keeps the top 3 records`);
    assert(Math.min(...ga.generations[k].map((x) => x.fitness)) <= Math.min(...ga.generations[k - 1].map((x) => x.fitness)));
  }
  assertEquals((await run(11)).seen.map((x) => x.genome), seen.map((x) => x.genome));
  assert(JSON.stringify((await run(12)).seen[0].genome) !== JSON.stringify(seen[0].genome));
});

Deno.test("seed 001 GA: initial ranges, uniform crossover genes from a parent, mutation, top-half selection", () => {
  const o = LrMomWdGaOptions.parse({ population: 6, mutationRate: 0 });
  const rng = new Rng(6);
  const pop = Array.from({ length: 6 }, () => randomSgdGenome(o, rng));
  assert(
    pop.every((g) => g.lr >= 0.0001 && g.lr <= 1 && g.momentum >= 0 && g.momentum <= 0.9 && g.weightDecay >= 0 && g.weightDecay <= 0.1),
  );
  const [a, b] = pop;
  for (let i = 0; i < 50; i++) {
    const c = uniformCrossover(a, b, rng);
    for (const k of ["lr", "momentum", "weightDecay"] as const) assert(c[k] === a[k] || c[k] === b[k]);
  }
  assertEquals(resampleMutation(a, o, rng), a);
  const all = resampleMutation(a, { ...o, mutationRate: 1 }, rng);
  assert(all.lr !== a.lr && all.momentum !== a.momentum);
  const scored = pop.map((genome, i) => ({ genome, fitness: [5, 1, 4, 2, 6, 3][i] }));
  const { survivors, children } = nextGeneration(scored, o, rng);
  assertEquals(survivors.map((s) => s.fitness), [1, 2, 3]);
  assertEquals(children.length, 3);
  const parents = new Set(survivors.flatMap((s) => Object.values(s.genome)));
  assert(children.every((c) => Object.values(c).every((v) => parents.has(v))), "without mutation, children's genes come from survivors");
});

Deno.test("GP-BO as a sampler in the study loop: posterior interpolates observations; EI finds the minimum of a smooth 1-D function", async () => {
  const L = cholesky([[4, 2], [2, 3]]);
  assertClose(L[0][0], 2, 1e-12);
  assertClose(L[1][1], Math.sqrt(2), 1e-12);
  assertClose(normCdf(0), 0.5, 1e-7);
  assertClose(normCdf(1.96), 0.975, 1e-4);
  const bo = new GpBo({ dim: 1, rng: new Rng(7), lengthScale: 0.2, noise: 1e-8, budget: 12 });
  const f = (x: number) => (x - 0.63) ** 2;
  const seen = await runStudy(bo, (batch) => batch.map((x) => ({ genome: x, fitness: f(x[0]) })));
  assertEquals(seen.length, 12, "the budget ends the study");
  const post = bo.posterior(bo.xs[3]);
  assertClose(post.mean, bo.ys[3], 1e-3);
  const best = bo.xs[bo.ys.indexOf(Math.min(...bo.ys))][0];
  assertClose(best, 0.63, 0.05);
});

Deno.test("im2col convolution and reshape max-pool equal tf.conv2d and tf.maxPool", () => {
  const x = tf.randomNormal([2, 7, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const k = tf.randomNormal([5, 5, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
  const d1 = tf.max(tf.abs(tf.sub(conv2dSame(x, k), tf.conv2d(x, k, 1, "same")))).dataSync()[0];
  assert(d1 < 1e-4, `conv differs by ${d1}`);
  const d2 = tf.max(tf.abs(tf.sub(maxPool2(x), tf.maxPool(x, 2, 2, "valid")))).dataSync()[0];
  assertEquals(d2, 0);
});

Deno.test("cutout zeroes holes × length² pixels per image (clipped at borders), seeded", () => {
  const x = tf.ones([3, 10 * 10]) as tf.Tensor2D;
  const a = applyCutout(x, { image: [10, 10, 1], holes: 1, length: 4 }, new Rng(1)).dataSync();
  const b = applyCutout(x, { image: [10, 10, 1], holes: 1, length: 4 }, new Rng(1)).dataSync();
  assertEquals([...a], [...b]);
  for (let i = 0; i < 3; i++) {
    const zeros = a.subarray(i * 100, (i + 1) * 100).filter((v) => v === 0).length;
    assert(zeros > 0 && zeros <= 16, `image ${i}: ${zeros} zeroed pixels`);
  }
  assertEquals([...applyCutout(x, { image: [10, 10, 1], holes: 0, length: 4 }, new Rng(1)).dataSync()].every((v) => v === 1), true);
});

Deno.test("CPMLHO on the CNN: five hyperparameters (3 dropouts, cutout holes and length) with finite hypergradients", () => {
  const rng = new Rng(8);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 64).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const data = { train: mk(40), val: mk(20), test: mk(20), classes: 3, shape: [8, 8, 1] as [number, number, number] };
  const o = CpmlhoOptions.parse({ arch: "cnn", channels: [2, 3], epochs: 2, batchSize: 10, outerEvery: 2, cutEvery: 3, maxCutout: [2, 4] });
  const m = new CpmlhoModel({ input: 64, classes: 3, options: o, rng: new Rng(2), image: data.shape });
  const hg = m.hypergradient({ x: data.train.x, y: data.train.oneHot }, { x: data.val.x, y: data.val.oneHot }, 5);
  assertEquals(hg.total.length, 5);
  assert([...hg.total].every(Number.isFinite));
  assertEquals(m.cutout()!.map(Math.round), [1, 4]);
  m.dispose();
  const r = runCpmlho(data, o, new Rng(3));
  assertEquals(r.finalDropout.length, 3);
  assertEquals(r.finalCutout!.length, 2);
  assert(Number.isFinite(r.val.loss));
  [data.train, data.val, data.test].forEach(disposePart);
});
