import { assert, assertClose, assertEquals, assertThrows } from "../assert.ts";
import { Rng } from "../../data/rng.ts";
import type { Genome, SearchSpace } from "../../search/space.ts";
import { erfc, logNdtr, ndtriExp, truncnormPpf } from "../../search/truncnorm.ts";
import { defaultGamma, defaultWeights, numpyArgsort, ParzenEstimator, type ParzenParams, type TpeDist } from "../../search/tpe_parzen.ts";
import {
  genomeTpeSampler,
  proposeTpe,
  scoreCandidates,
  splitBelowAbove,
  tpeGroups,
  type TpeObservation,
  TpeOptions,
  TpeSampler,
  tpeSettings,
} from "../../search/tpe.ts";
import { kolmogorovSf, ks2Sample, mannWhitneyU } from "../../bench/tpe_two_sample.ts";

const space: SearchSpace = { maxLayers: 3, maxNeurons: 15, log10LambdaMin: -5, log10LambdaMax: -1 };
const objective = (g: Genome) => 0.3 * Math.abs(g.layers - 2) + ((g.neurons - 11) / 5) ** 2 + 0.5 * (g.log10Lambda + 3.3) ** 2;

/** Runs a TPE study on the synthetic objective; returns every proposal in order. */
function study(seed: number, o: { batchSize?: number; multivariate?: boolean; trials?: number; f?: (g: Genome) => number } = {}) {
  const s = genomeTpeSampler(space, o.trials ?? 40, new Rng(seed), { batchSize: o.batchSize ?? 1, multivariate: o.multivariate });
  const all: Genome[] = [], sizes: number[] = [];
  for (let batch = s.ask(); batch.length; batch = s.ask()) {
    sizes.push(batch.length);
    all.push(...batch);
    s.tell(batch.map((genome) => ({ genome, fitness: (o.f ?? objective)(genome) })));
  }
  return { all, sizes, sampler: s };
}

const relClose = (a: number, b: number, rel: number, msg: string) => assertClose(a, b, rel * Math.max(1, Math.abs(b)), msg);

Deno.test("normal tails: erfc, log Φ, its inverse and the truncated normal's quantiles match scipy", () => {
  // scipy.special.erfc / log_ndtr and scipy.stats.truncnorm.ppf (scipy 1.17)
  const erfcRef: [number, number][] = [
    [-3, 1.9999779095030015],
    [-0.7, 1.6778011938374182],
    [0.1, 0.8875370839817152],
    [
      1.9,
      0.007209570764742531,
    ],
    [2.5, 0.00040695201744495886],
    [3.7, 1.6715105790914599e-07],
    [10, 2.0884875837625446e-45],
    [26, 5.663192408856145e-296],
  ];
  for (const [x, v] of erfcRef) assertClose(erfc(x) / v, 1, 1e-12, `erfc(${x})`);
  const logNdtrRef: [number, number][] = [
    [-200, -20006.21728089819],
    [-38.5, -745.6952702904113],
    [-6, -20.73676894997471],
    [
      -1,
      -1.8410216450092634,
    ],
    [0, -0.6931471805599453],
    [3, -0.0013508099647481925],
    [7, -1.2798125438866539e-12],
    [30, -4.906713927147908e-198],
  ];
  for (const [x, v] of logNdtrRef) assertClose(logNdtr(x) / v, 1, 1e-12, `log Φ(${x})`);
  for (const y of [-1e-9, -0.3, -7, -800, -20000]) relClose(logNdtr(ndtriExp(y)), y, 1e-12, `log Φ(Φ⁻¹(e^${y}))`);
  const ppfRef: [number, number, number, number][] = [[0.2, -120, -110, -110.01462907224398], [0.9, -1, 2, 1.2557153641502152], [
    0.5,
    4,
    4.5,
    4.137775563639929,
  ]];
  for (const [q, a, b, v] of ppfRef) relClose(truncnormPpf(q, a, b), v, 1e-11, `ppf(${q}; ${a}, ${b})`);
});

const optunaParams = (o: Partial<ParzenParams> = {}): ParzenParams => ({
  considerPrior: true,
  priorWeight: 1,
  considerMagicClip: true,
  considerEndpoints: false,
  weights: defaultWeights,
  multivariate: false,
  ...o,
});

// Optuna 3.1.0's _ParzenEstimator on the same observations (computed with Debian's python3-optuna), log_pdf at 4 points
const OBS: Record<string, { dist: TpeDist; obs: number[]; at: number[]; logPdf: number[] }> = {
  layers: {
    dist: { kind: "int", low: 0, high: 3 },
    obs: [2, 2, 1, 3, 0, 2],
    at: [0, 1, 2, 3],
    logPdf: [-1.8204249193122788, -1.424714173553659, -0.9393292935888806, -1.5770871580907633],
  },
  neurons: {
    dist: { kind: "int", low: 1, high: 15 },
    obs: [11, 9, 12, 15, 1, 11],
    at: [1, 8, 11, 15],
    logPdf: [-3.6925344853780477, -2.60476250904847, -2.0727198120000994, -2.7297783470726915],
  },
  lambda: {
    dist: { kind: "float", low: -5, high: -1 },
    obs: [-3.3, -3.0, -4.9, -1.2, -2.5, -3.3],
    at: [-5, -3.3, -2.2, -1.0],
    logPdf: [-1.2209356256364212, -0.742247866784175, -0.9361216294135475, -1.2100245049580334],
  },
  categorical: {
    dist: { kind: "categorical", choices: 3 },
    obs: [0, 1, 1, 2, 1, 1],
    at: [0, 1, 2, 1],
    logPdf: [-1.455287232606842, -0.6286086594223743, -1.455287232606842, -0.6286086594223743],
  },
  logInt: {
    dist: { kind: "int", low: 1, high: 64, log: true },
    obs: [2, 8, 8, 64, 1, 3],
    at: [1, 5, 16, 64],
    logPdf: [-1.146982240016447, -0.9414357639848016, -1.0720007079027583, -1.2257010722359096],
  },
  logFloat: {
    dist: { kind: "float", low: 1e-5, high: 1e-1, log: true },
    obs: [1e-3, 2e-3, 1e-5, 5e-2, 3e-4, 1e-3],
    at: [1e-5, 1e-3, 0.0123, 0.1],
    logPdf: [-1.1711423779443255, -0.7150997473572427, -1.0366954136836126, -1.275590348189291],
  },
};

Deno.test("Parzen estimators equal Optuna 3.1's: ints, log ints, floats, log floats, categoricals, multivariate, prior only", () => {
  for (const [name, c] of Object.entries(OBS)) {
    // Optuna 3.1.0 leaves −log σ out of a continuous density: compare with that switched on
    const pe = new ParzenEstimator([c.obs], [c.dist], optunaParams({ optuna31LogPdf: true }));
    pe.logPdf([c.at]).forEach((v, i) => assertClose(v, c.logPdf[i], 1e-10, `${name} at ${c.at[i]}`));
  }
  const ds = [OBS.layers, OBS.neurons, OBS.lambda];
  const multi = new ParzenEstimator(
    ds.map((c) => c.obs),
    ds.map((c) => c.dist),
    optunaParams({ multivariate: true, optuna31LogPdf: true }),
  );
  const multiRef = [-6.222078677662391, -5.087895556570806, -4.944094455938589, -3.8895851419879683];
  multi.logPdf(ds.map((c) => c.at)).forEach((v, i) => assertClose(v, multiRef[i], 1e-10, `multivariate point ${i}`));
  const empty = new ParzenEstimator([[]], [OBS.lambda.dist], optunaParams({ optuna31LogPdf: true }));
  const emptyRef = [-0.08402219950905043, 0.03816530049094957, 0.02097780049094955, -0.08402219950905043];
  empty.logPdf([OBS.lambda.at]).forEach((v, i) => assertClose(v, emptyRef[i], 1e-10, `prior alone at ${OBS.lambda.at[i]}`));
});

Deno.test("Parzen densities are densities: a float's integrates to 1, an integer's and a categorical's masses sum to 1", () => {
  const p = optunaParams();
  const lam = new ParzenEstimator([OBS.lambda.obs], [OBS.lambda.dist], p);
  const m = 40000, h = 4 / m;
  const xs = Array.from({ length: m + 1 }, (_, i) => -5 + i * h);
  const f = lam.logPdf([xs]).map(Math.exp);
  const integral = h * (f.reduce((a, b) => a + b, 0) - 0.5 * (f[0] + f[m]));
  assertClose(integral, 1, 1e-6, "∫ l(x) dx over [−5, −1]");
  // Optuna 3.1.0's density is not one (what its issue 5109 reported)
  const buggy = new ParzenEstimator([OBS.lambda.obs], [OBS.lambda.dist], optunaParams({ optuna31LogPdf: true }));
  const g = buggy.logPdf([xs]).map(Math.exp);
  assert(Math.abs(h * (g.reduce((a, b) => a + b, 0) - 0.5 * (g[0] + g[m])) - 1) > 0.1, "the 3.1.0 density should not integrate to 1");
  for (const c of [OBS.layers, OBS.neurons, OBS.categorical]) {
    const pe = new ParzenEstimator([c.obs], [c.dist], p);
    const values = c.dist.kind === "categorical"
      ? [0, 1, 2]
      : Array.from({ length: c.dist.high - c.dist.low + 1 }, (_, i) => (c.dist as { low: number }).low + i);
    assertClose(pe.logPdf([values]).reduce((a, v) => a + Math.exp(v), 0), 1, 1e-12, `masses of ${JSON.stringify(c.dist)}`);
  }
  // (a log integer is not a mass in Optuna 3.1: it takes the density of ln x at the integer, and so does this TPE)
});

Deno.test("Parzen samples lie in the parameter's range, on its grid, and follow the mixture", () => {
  const rng = new Rng(5);
  for (const c of Object.values(OBS)) {
    const pe = new ParzenEstimator([c.obs], [c.dist], optunaParams());
    const [xs] = pe.sample(rng, 2000);
    for (const x of xs) {
      if (c.dist.kind === "categorical") assert(Number.isInteger(x) && x >= 0 && x < c.dist.choices, `category ${x}`);
      else {
        assert(x >= c.dist.low && x <= c.dist.high, `${x} outside [${c.dist.low}, ${c.dist.high}]`);
        if (c.dist.kind === "int") assert(Number.isInteger(x), `${x} not an integer`);
      }
    }
    if (c.dist.kind === "int" && !c.dist.log) {
      // the sample's frequencies approach the estimator's masses
      const counts = new Map<number, number>();
      for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
      for (const [v, k] of counts) assertClose(k / xs.length, Math.exp(pe.logPdf([[v]])[0]), 0.04, `frequency of ${v}`);
    }
  }
});

Deno.test("tied μ's are ordered as numpy 1.24's argsort orders them (introsort: not stable above 16 values)", () => {
  // np.argsort on float64 arrays with many ties (numpy 1.24.2, Debian's)
  const cases: [number[], number[]][] = [
    [
      [3, 5, 0, 1, 0, 4, 3, 0, 0, 4, 1, 5, 0, 3, 4, 5, 3, 1, 4, 5, 2, 1, 1, 2, 1, 1, 1, 2, 0, 5, 2, 0, 0, 4, 4, 1, 3, 3, 2, 4],
      [
        31,
        2,
        4,
        32,
        7,
        8,
        28,
        12,
        10,
        17,
        22,
        21,
        35,
        25,
        26,
        3,
        24,
        20,
        23,
        27,
        38,
        30,
        0,
        13,
        6,
        36,
        37,
        16,
        34,
        33,
        39,
        18,
        14,
        9,
        5,
        15,
        11,
        1,
        29,
        19,
      ],
    ],
    [
      [7, 10, 4, 4, 3, 2, 6, 8, 5, 13, 14, 15, 15, 12, 12, 4, 13, 2, 8, 4, 12, 15, 12, 14, 2, 10, 6, 8, 1, 15, 15, 11, 10, 7, 1, 6, 8],
      [
        34,
        28,
        17,
        5,
        24,
        4,
        2,
        3,
        19,
        15,
        8,
        26,
        6,
        35,
        33,
        0,
        27,
        18,
        36,
        7,
        1,
        32,
        25,
        31,
        14,
        22,
        20,
        13,
        16,
        9,
        23,
        10,
        11,
        29,
        30,
        21,
        12,
      ],
    ],
    [[2, 1, 0, 1, 2, 0, 0, 0, 0, 1, 2, 2, 2, 0, 2, 0, 0], [8, 13, 15, 7, 6, 16, 2, 5, 3, 9, 1, 4, 10, 11, 12, 14, 0]],
  ];
  for (const [v, ref] of cases) assertEquals(numpyArgsort(v), ref);
  // 16 values or fewer: insertion sort, stable
  assertEquals(numpyArgsort([1, 0, 1, 0, 1, 0]), [1, 3, 5, 0, 2, 4]);
  // whatever the ties, a sorting permutation
  const rng = new Rng(2);
  for (let rep = 0; rep < 50; rep++) {
    const v = Array.from({ length: 1 + rng.int(300) }, () => rng.int(1 + rng.int(20)));
    const p = numpyArgsort(v);
    assertEquals([...p].sort((a, b) => a - b), v.map((_, i) => i));
    for (let i = 1; i < p.length; i++) assert(v[p[i - 1]] <= v[p[i]], "sorted");
  }
});

Deno.test("weights and γ are Optuna's defaults", () => {
  assertEquals(defaultWeights(0), []);
  assertEquals(defaultWeights(24), new Array(24).fill(1));
  const w30 = [0.03333333333333333, 0.275, 0.5166666666666667, 0.7583333333333333, 1, ...new Array(25).fill(1)];
  defaultWeights(30).forEach((w, i) => assertClose(w, w30[i], 1e-15, `weights(30)[${i}]`));
  const w26 = [0.038461538461538464, ...new Array(25).fill(1)];
  defaultWeights(26).forEach((w, i) => assertClose(w, w26[i], 1e-15, `weights(26)[${i}]`));
  assertEquals(defaultWeights(25), new Array(25).fill(1));
  const ns = [0, 1, 9, 10, 11, 40, 249, 250, 251, 1000];
  assertEquals(ns.map(defaultGamma), [0, 1, 1, 1, 2, 4, 25, 25, 25, 25]);
  const o = TpeOptions.parse({});
  assertEquals([o.nStartup, o.nEiCandidates, o.priorWeight, o.considerPrior, o.considerMagicClip, o.considerEndpoints, o.multivariate], [
    10,
    24,
    1,
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("the split: γ(n) best below in the order told, ties by that order, NaN ranked with +∞ as the worst", () => {
  assertEquals(splitBelowAbove([3, 1, 2, 1, 5], 2), { below: [1, 3], above: [0, 2, 4] });
  assertEquals(splitBelowAbove([NaN, Infinity, -Infinity, 0], 2), { below: [2, 3], above: [0, 1] });
  // NaN and +∞ tie; NaN told first stays first
  assertEquals(splitBelowAbove([NaN, Infinity, 1], 2), { below: [0, 2], above: [1] });
  assertEquals(splitBelowAbove([4, 4, 4, 4], 1), { below: [0], above: [1, 2, 3] });
});

Deno.test("start-up: the first 10 proposals are random draws (one batch, blind to fitness), the 11th is the model's", () => {
  for (const seed of [1, 2, 3]) {
    const a = study(seed), b = study(seed, { f: (g) => -objective(g) });
    assertEquals(a.sizes.slice(0, 2), [10, 1], "one start-up batch of 10, then batches of 1");
    assertEquals(a.all.slice(0, 10), b.all.slice(0, 10), "the start-up draws do not depend on fitness");
    assert(JSON.stringify(a.all[10]) !== JSON.stringify(b.all[10]), "proposal 11 depends on the fitness told");
  }
  const told: TpeObservation[] = Array.from({ length: 9 }, (_, i) => ({ x: [i % 4, 1 + i, -2], y: i }));
  const s = { dists: genomeDists(), told, settings: tpeSettings() };
  assertEquals(tpeGroups(s), null, "9 told: still random");
  assertEquals(tpeGroups({ ...s, told: [...told, { x: [1, 1, -3], y: 0 }] })?.length, 3, "10 told: one model per parameter");
  assertEquals(tpeGroups({ ...s, told: [...told, { x: [1, 1, -3], y: 0 }], settings: tpeSettings({ multivariate: true }) })?.length, 1);
});

function genomeDists(): TpeDist[] {
  return [{ kind: "int", low: 0, high: 3 }, { kind: "int", low: 1, high: 15 }, { kind: "float", low: -5, high: -1 }];
}

Deno.test("seeded: the same seed gives the same proposals, another seed others (independent and multivariate)", () => {
  for (const multivariate of [false, true]) {
    const a = study(7, { multivariate }).all, b = study(7, { multivariate }).all, c = study(8, { multivariate }).all;
    assertEquals(a, b);
    assert(JSON.stringify(a.slice(10)) !== JSON.stringify(c.slice(10)), "a different seed should give different model proposals");
    assert(a.slice(0, 10).some((g, i) => JSON.stringify(g) !== JSON.stringify(c[i])), "and different start-up draws");
  }
});

Deno.test("batch size 1 is sequential TPE; a batch's later proposals see the earlier ones as pending (constant liar)", () => {
  for (const batchSize of [1, 3]) {
    const seed = 11, rng = new Rng(seed);
    const streams = { startup: rng.fork("startup"), model: rng.fork("model") };
    const settings = tpeSettings({ batchSize });
    const told: TpeObservation[] = [];
    const manual: number[][] = [];
    // the reference: one proposal at a time, told after each batch, pending in between
    while (manual.length < 30) {
      const k = told.length < 10 ? 10 - told.length : Math.min(batchSize, 30 - manual.length);
      const pending: number[][] = [];
      for (let j = 0; j < k; j++) pending.push(proposeTpe({ dists: genomeDists(), told, pending, settings }, streams));
      manual.push(...pending);
      for (const x of pending) told.push({ x, y: objective({ layers: x[0], neurons: x[1], log10Lambda: x[2] }) });
    }
    const viaSampler = study(seed, { batchSize, trials: 30 }).all.map((g) => [g.layers, g.neurons, g.log10Lambda]);
    assertEquals(viaSampler, manual, `batch size ${batchSize}`);
  }
  // the liar changes the proposal: the same state without the pending point proposes elsewhere (for some seed)
  const told: TpeObservation[] = Array.from({ length: 12 }, (_, i) => ({ x: [i % 4, 1 + (i % 15), -5 + i / 3], y: (i - 6) ** 2 }));
  let differs = 0;
  for (let seed = 0; seed < 20; seed++) {
    const mk = () => ({ startup: new Rng(seed), model: new Rng(seed) });
    const pending = [[2, 7, -3]];
    const a = proposeTpe({ dists: genomeDists(), told, pending, settings: tpeSettings() }, mk());
    const b = proposeTpe({ dists: genomeDists(), told, settings: tpeSettings() }, mk());
    if (JSON.stringify(a) !== JSON.stringify(b)) differs++;
  }
  assert(differs > 0, "a pending point should enter g");
});

Deno.test("proposals stay inside the space for many seeds and hostile histories", () => {
  const hostile: Record<string, (g: Genome, i: number) => number> = {
    "all equal": () => 1,
    "NaN and ±∞": (_g, i) => [NaN, Infinity, -Infinity, 0.5][i % 4],
    "all NaN": () => NaN,
    "all +∞": () => Infinity,
    "huge and tiny": (_g, i) => (i % 2 ? 1e300 : -1e-300),
  };
  for (let seed = 0; seed < 12; seed++) {
    for (const [name, f] of Object.entries(hostile)) {
      for (const o of [{ batchSize: 1 }, { batchSize: 4, multivariate: true }]) {
        const s = genomeTpeSampler(space, 30, new Rng(seed), o);
        let i = 0;
        for (let batch = s.ask(); batch.length; batch = s.ask()) {
          for (const g of batch) checkInside(g, `${name}, seed ${seed}, ${JSON.stringify(o)}`);
          s.tell(batch.map((genome) => ({ genome, fitness: f(genome, i++) })));
        }
        assertEquals(i, 30, "the budget is proposed whole");
      }
    }
  }
  // a single observation (nStartup 1), duplicates, and told genomes outside the space (a grid's 0 neurons, λ past a bound)
  for (let seed = 0; seed < 30; seed++) {
    const s = genomeTpeSampler(space, 15, new Rng(seed), { nStartup: 1 });
    s.ask();
    s.tell([{ genome: { layers: 2, neurons: 0, log10Lambda: -7 }, fitness: 0.3 }]);
    for (let k = 0; k < 14; k++) {
      const [g] = s.ask();
      checkInside(g, `single/duplicate history, seed ${seed}`);
      s.tell([{ genome: { layers: 3, neurons: 15, log10Lambda: -1 }, fitness: 0.2 }]);
    }
    assertEquals(s.ask(), []);
  }
  // nothing told at all with no start-up: the prior alone
  const bare = genomeTpeSampler(space, 3, new Rng(1), { nStartup: 0, batchSize: 3 });
  bare.ask().forEach((g) => checkInside(g, "prior only"));
});

function checkInside(g: Genome, what: string): void {
  assert(Number.isInteger(g.layers) && g.layers >= 0 && g.layers <= space.maxLayers, `${what}: layers ${g.layers}`);
  assert(Number.isInteger(g.neurons) && g.neurons >= 1 && g.neurons <= space.maxNeurons, `${what}: neurons ${g.neurons}`);
  assert(g.log10Lambda >= space.log10LambdaMin && g.log10Lambda <= space.log10LambdaMax, `${what}: log10 λ ${g.log10Lambda}`);
}

Deno.test("l/g on a hand-built history: the chosen candidate maximises log l − log g; near the good cluster beats near the bad", () => {
  const dists: TpeDist[] = [{ kind: "float", low: 0, high: 1 }];
  // 10 good points near 0.2 (low loss), 30 bad ones near 0.8: γ(40) = 4 below
  const told: TpeObservation[] = [
    ...Array.from({ length: 10 }, (_, i) => ({ x: [0.18 + 0.004 * i], y: 0.01 * i })),
    ...Array.from({ length: 30 }, (_, i) => ({ x: [0.7 + 0.007 * i], y: 1 + i })),
  ];
  const groups = tpeGroups({ dists, told, settings: tpeSettings() })!;
  const g = groups[0];
  const rng = new Rng(3);
  for (let rep = 0; rep < 20; rep++) {
    const { candidates, scores, best } = scoreCandidates(g, rng, 24);
    const independent = g.below.logPdf(candidates).map((l, i) => l - g.above.logPdf(candidates)[i]);
    independent.forEach((s, i) => assertClose(scores[i], s, 1e-12, "score = log l − log g"));
    assert(scores.every((s) => s <= scores[best]), "the chosen candidate has the greatest score");
  }
  const score = (x: number) => g.below.logPdf([[x]])[0] - g.above.logPdf([[x]])[0];
  assert(score(0.2) > score(0.8) + 1, `near the good cluster ${score(0.2)} should beat near the bad ${score(0.8)}`);
  // the proposals follow: most of them near the good cluster
  const proposals = Array.from(
    { length: 40 },
    (_, i) => proposeTpe({ dists, told, settings: tpeSettings() }, { startup: new Rng(i), model: new Rng(i) })[0],
  );
  assert(proposals.filter((x) => Math.abs(x - 0.2) < 0.15).length >= 36, `proposals ${proposals.map((x) => x.toFixed(2))}`);
});

Deno.test("TPE beats random search on the synthetic objective, and a categorical is learnt (generic sampler)", () => {
  const best = (xs: Genome[]) => Math.min(...xs.map(objective));
  let wins = 0;
  for (let seed = 0; seed < 20; seed++) {
    const t = study(seed).all;
    const r = Array.from({ length: 40 }, () => 0).map((_, i) => {
      const rng = new Rng(1000 + seed * 40 + i);
      return { layers: rng.int(4), neurons: 1 + rng.int(15), log10Lambda: rng.uniform(-5, -1) };
    });
    if (best(t) < best(r)) wins++;
  }
  assert(wins >= 15, `TPE beat random search in ${wins} of 20 seeds`);
  // a categorical parameter where choice 2 of 4 is best
  const s = new TpeSampler<number>({
    codec: { dists: [{ kind: "categorical", choices: 4 }], encode: (c) => [c], decode: (x) => x[0] },
    budget: 60,
    rng: new Rng(4),
  });
  const picks: number[] = [];
  for (let batch = s.ask(); batch.length; batch = s.ask()) {
    picks.push(...batch);
    s.tell(batch.map((c) => ({ genome: c, fitness: c === 2 ? 0 : 1 })));
  }
  assert(picks.slice(10).filter((c) => c === 2).length >= 35, `model picks of the best choice: ${picks.slice(10)}`);
});

Deno.test("bad inputs: invalid parameters and non-finite told genomes are refused, naming the value", () => {
  const bad = (dists: TpeDist[]) => () =>
    new TpeSampler({ codec: { dists, encode: (x: number[]) => x, decode: (x) => x }, budget: 1, rng: new Rng(1) });
  for (
    const d of [[{ kind: "float", low: 1, high: 0 }], [{ kind: "float", low: 0, high: 1, log: true }], [{
      kind: "categorical",
      choices: 0,
    }]]
  ) {
    assertThrows(bad(d as TpeDist[]), /invalid parameter/, `should refuse ${JSON.stringify(d)}`);
  }
  const s = genomeTpeSampler(space, 2, new Rng(1));
  s.ask();
  assertThrows(() => s.tell([{ genome: { layers: NaN, neurons: 3, log10Lambda: -2 }, fitness: 1 }]), /layers is NaN/);
});

Deno.test("two-sample tests equal scipy's (Mann-Whitney U asymptotic, Kolmogorov's limiting law) and count U pair by pair", () => {
  const x = [0.1, 0.4, 0.4, 0.9, 1.3, 2.0, 2.0, 2.5], y = [0.3, 0.4, 1.1, 1.7, 2.0, 3.1, 3.3, 4.0, 4.2, 5.0];
  const mw = mannWhitneyU(x, y);
  assertEquals(mw.u, 22);
  assertClose(mw.p, 0.11843542323698074, 1e-12, "Mann-Whitney p");
  const ks = ks2Sample(x, y);
  assertClose(ks.d, 0.5, 1e-15, "KS D");
  // Kolmogorov's limiting law at D √(mn/(m+n)) (scipy.stats.kstwobign.sf; ks_2samp's own "asymp" rounds n into kstwo)
  assertClose(ks.p, 0.21646022494742512, 1e-12, "KS p");
  assertClose(kolmogorovSf(0.3), 0.9999906941986655, 1e-12, "Kolmogorov P(K > 0.3)");
  assertClose(kolmogorovSf(1.0), 0.26999967167735456, 1e-12, "Kolmogorov P(K > 1)");
  assertClose(kolmogorovSf(0.5), 0.9639452436648751, 1e-12, "Kolmogorov P(K > 0.5)");
  const rng = new Rng(9);
  for (let rep = 0; rep < 20; rep++) {
    const a = Array.from({ length: 15 }, () => rng.int(6)), b = Array.from({ length: 11 }, () => rng.int(8));
    let u = 0;
    for (const p of a) for (const q of b) u += p > q ? 1 : p === q ? 0.5 : 0;
    assertEquals(mannWhitneyU(a, b).u, u);
    assertClose(mannWhitneyU(a, b).p, mannWhitneyU(b, a).p, 1e-12, "symmetric p");
  }
  assertEquals(mannWhitneyU([1, 1], [1, 1]).p, 1);
});
