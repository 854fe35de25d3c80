/**
 * The statistics behind the report's verdicts: the Student t CDF and p-values against SciPy, the power and
 * minimal detectable effect against an independent numerical integration, Holm's correction by its
 * properties (never more rejections than unadjusted tests, monotone, family-wise error near α under the null),
 * and the report's rule for runs with too few seeds.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { studentTCdf, studentTQuantile } from "../../search/paired_stats.ts";
import { minimalDetectableEffect, normalCdf, pairedTPower, pairedTTest } from "../../search/paired_tests.ts";
import { holmAdjust } from "../../search/holm.ts";
import { ablationKey, judge, MIN_SEEDS, verdictCell, verdictsOf } from "../../report/verdicts.ts";
import { pairedEffect } from "../../search/paired_stats.ts";
import { buildReport } from "../../report/build.ts";
import { ablationInput, searchInput } from "../report_fixtures.ts";

function assertClose(a: number, b: number, tol: number, msg = "") {
  assert(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b} (tol ${tol})`);
}

/** A deterministic stream of uniforms and normals (Box-Muller). */
function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return { u, normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

// Constants from SciPy 1.17.1 (python3 -c "from scipy import stats; print(stats.t.cdf(t, df), 2*stats.t.sf(abs(t), df))"),
// generated once on 2026-12-07; the project itself needs no Python.
const T_CDF: [t: number, df: number, cdf: number, twoSidedP: number][] = [
  [0.5, 1, 0.6475836176504333, 0.7048327646991335],
  [2.0, 2, 0.908248290463863, 0.18350341907227397],
  [-1.5, 3, 0.11529193262241147, 0.23058386524482294],
  [2.262, 9, 0.9749935772487727, 0.05001284550245463],
  [5.0, 4, 0.9962547830593628, 0.007490433881274525],
  [10.0, 9, 0.999998210881284, 3.578237431924736e-06],
  [-8.0, 9, 1.1067408404700078e-05, 2.2134816809400155e-05],
  [0.0, 5, 0.5, 1.0],
  [30.0, 2, 0.9994453686590201, 0.001109262681959659],
  [1.96, 1000, 0.9748634075221256, 0.050273184955748736],
  [3.0, 30, 0.9973050179671741, 0.005389964065651945],
];

// stats.t.ppf(p, df)
const T_PPF: [p: number, df: number, q: number][] = [
  [0.975, 9, 2.262157162798205],
  [0.975, 4, 2.7764451051977934],
  [0.8, 9, 0.8834038596855346],
  [1 - 0.05 / 56 / 2, 9, 4.862402612690525],
  [1 - 0.05 / 56 / 2, 4, 8.86863112802493],
  [0.995, 2, 9.924843200918287],
];

Deno.test("Student t CDF, quantiles and paired t p-values agree with SciPy", () => {
  for (const [t, df, cdf, p] of T_CDF) {
    assertClose(studentTCdf(t, df), cdf, 1e-12 + 1e-10 * Math.min(cdf, 1 - cdf), `cdf(${t}, ${df})`);
    // the paired test from a sample whose t statistic is exactly t: n = df + 1, sd = √n so that se = 1
    const n = df + 1;
    const r = pairedTTest({ n, mean: t, sd: Math.sqrt(n) });
    assertClose(r.t, t, 1e-12);
    assertClose(r.p, p, 1e-10 * p + 1e-15, `p(${t}, ${df})`);
  }
  for (const [p, df, q] of T_PPF) assertClose(studentTQuantile(p, df), q, 1e-9, `ppf(${p}, ${df})`);
});

Deno.test("paired t test: edge cases are defined, hostile input refused", () => {
  assertEquals(pairedTTest({ n: 5, mean: 0.01, sd: 0 }).p, 0, "a constant non-zero difference");
  assertEquals(pairedTTest({ n: 5, mean: 0, sd: 0 }).p, 1, "no difference at all");
  assertEquals(pairedTTest({ n: 5, mean: 0, sd: 1 }).p, 1);
  assertClose(pairedTTest({ n: 5, mean: -1, sd: 1 }).p, pairedTTest({ n: 5, mean: 1, sd: 1 }).p, 0, "two-sided: symmetric");
  for (const bad of [{ n: 1, mean: 1, sd: 1 }, { n: 5, mean: NaN, sd: 1 }, { n: 5, mean: 1, sd: -1 }, { n: 5, mean: 1, sd: Infinity }]) {
    assertThrows(() => pairedTTest(bad), RangeError, undefined, `no RangeError for ${JSON.stringify(bad)}`);
  }
  // p from pairedEffect's own numbers matches its interval: a 95% interval touching 0 is p = 0.05
  const d = [0.3, -0.1, 0.5, 0.2, 0.4, 0.1];
  const e = pairedEffect(d);
  const shifted = pairedEffect(d.map((x) => x - e.lo));
  assertClose(shifted.lo, 0, 1e-9);
  assertClose(pairedTTest(shifted).p, 0.05, 1e-8, "the interval's edge at 0 is p = 0.05");
});

// Power of the two-sided paired t test, from SciPy's noncentral t (stats.nct.sf(c, df, λ) + stats.nct.cdf(−c, df, λ))
// and, where nct returns NaN, by scipy.integrate.quad over V ~ χ²_df of Φ(λ − c√(V/df)) + Φ(−λ − c√(V/df)).
const POWER: [df: number, c: number, lambda: number, power: number][] = [
  [9, 2.262157162798205, 3.0, 0.7611566204263244],
  [9, 4.862402612690525, 5.0, 0.5778042756473216],
  [29, 2.0, 0.5, 0.08375673069623646],
  [4, 2.7764451051977934, 0.0, 0.05],
  [4, 8.86863112802493, 12.0, 0.8701512374522211],
];
// Minimal detectable effect at 80% power, sd = 1 (brentq on the integrated power above).
const MDE: [n: number, alpha: number, mde: number][] = [
  [10, 0.05, 0.9960013714554438],
  [10, 0.05 / 56, 1.8949252653364195],
  [5, 0.05 / 56, 4.9131369938253595],
  [30, 0.05 / 56, 0.8406759860482784],
];

Deno.test("power and minimal detectable effect agree with SciPy's noncentral t; the MDE scales with the spread", () => {
  for (const [df, c, lambda, power] of POWER) {
    // choose alpha so that the critical value is c: alpha = 2·(1 − F(c))
    const alpha = 2 * (1 - studentTCdf(c, df));
    const n = df + 1;
    assertClose(pairedTPower({ n, effect: lambda / Math.sqrt(n), sd: 1, alpha }), power, 2e-6, `power(${df}, ${c}, ${lambda})`);
  }
  for (const [n, alpha, mde] of MDE) {
    assertClose(minimalDetectableEffect({ n, sd: 1, alpha }), mde, 1e-5 * mde, `mde(${n}, ${alpha})`);
    assertClose(minimalDetectableEffect({ n, sd: 0.01, alpha }), mde * 0.01, 1e-7, "linear in sd");
  }
  assertEquals(minimalDetectableEffect({ n: 5, sd: 0, alpha: 0.05 }), 0);
  assert(Number.isNaN(minimalDetectableEffect({ n: 1, sd: 1, alpha: 0.05 })));
  // the normal CDF behind the power, in its tails too (SciPy stats.norm.cdf)
  assertClose(normalCdf(-1.959963984540054), 0.025, 4e-9);
  assertClose(normalCdf(-6), 9.865876450376946e-10, 1.2e-7 * 9.9e-10);
  assertClose(normalCdf(3), 0.9986501019683699, 1e-9);
});

Deno.test("Holm: never more rejections than unadjusted tests, adjusted p monotone in p, and ≥ p", () => {
  const r = rng(7);
  for (let trial = 0; trial < 300; trial++) {
    const m = 1 + Math.floor(r.u() * 70);
    const ps = Array.from({ length: m }, () => (r.u() < 0.3 ? r.u() ** 6 : r.u()));
    if (trial % 10 === 0) ps[0] = ps[m - 1]; // ties
    const adj = holmAdjust(ps);
    for (let i = 0; i < m; i++) {
      assert(adj[i] >= ps[i] && adj[i] <= 1, `adjusted ${adj[i]} < raw ${ps[i]}`);
      for (let j = 0; j < m; j++) if (ps[i] < ps[j]) assert(adj[i] <= adj[j], "adjusted p-values keep the raw order");
    }
    for (const a of [0.01, 0.05, 0.1]) {
      const holm = adj.filter((p) => p <= a).length, raw = ps.filter((p) => p <= a).length;
      const bonf = ps.filter((p) => p * m <= a).length;
      assert(holm <= raw, `Holm rejects ${holm} > unadjusted ${raw}`);
      assert(holm >= bonf, `Holm rejects ${holm} < Bonferroni ${bonf}`);
    }
  }
  // a worked example (Holm 1979's step-down by hand): p = .01, .04, .03, .005 with m = 4
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((x, i) => assertClose(adj[i], x, 1e-15));
  assertEquals(holmAdjust([]), []);
  for (const bad of [[NaN], [-0.1], [1.5]]) {
    assertThrows(() => holmAdjust(bad), RangeError, undefined, `no RangeError for ${bad}`);
  }
});

Deno.test("Holm on simulated null families: the family-wise error stays near, and not above, α", () => {
  // 2,000 families of 56 paired t tests, 10 seeds each, every true effect zero (seeded normal differences)
  const r = rng(2026);
  const families = 2000, m = 56, n = 10, alpha = 0.05;
  let anyHolm = 0, anyRaw = 0;
  for (let f = 0; f < families; f++) {
    const ps = Array.from({ length: m }, () => {
      const d = Array.from({ length: n }, () => r.normal());
      const e = pairedEffect(d);
      return pairedTTest(e).p;
    });
    if (holmAdjust(ps).some((p) => p <= alpha)) anyHolm++;
    if (ps.some((p) => p <= alpha)) anyRaw++;
  }
  const fwer = anyHolm / families, raw = anyRaw / families;
  console.log(`null families: FWER with Holm ${fwer.toFixed(4)}, unadjusted ${raw.toFixed(3)} (α = ${alpha}, m = ${m})`);
  // independent tests: Holm's FWER is 1 − (1 − α/m)^m ≈ 0.0488; 3 binomial sd at 2,000 families ≈ 0.0145
  assert(fwer <= alpha + 0.015 && fwer >= 0.02, `FWER ${fwer}`);
  assert(raw > 0.9, `without correction nearly every family has a false verdict (${raw})`);
});

Deno.test("verdicts: fewer than MIN_SEEDS seeds show numbers only; a strong effect survives, a weak one gets its MDE", () => {
  const eff = (d: number[]) => pairedEffect(d);
  const v = judge([
    { key: "a", label: "a", effect: eff([0.05, 0.06, 0.055, 0.052, 0.058, 0.051]) },
    { key: "b", label: "b", effect: eff([-0.01, 0.012, 0.004, -0.006, 0.009, 0.001]) },
    { key: "c", label: "c", effect: eff([0.05, 0.06, 0.055, 0.052]) },
    { key: "d", label: "d", effect: eff([-0.05, -0.06, -0.055, -0.052, -0.058]) },
  ]);
  assertEquals(v.m, 3, "c has 4 seeds: not in the family");
  assertEquals(v.all.map((x) => x.verdict), ["helps", "cannot tell apart", "no verdict", "hurts"]);
  assertEquals(v.get("c")!.p, undefined);
  assert(verdictCell(v.get("c")).includes(`4 seeds < ${MIN_SEEDS}`), verdictCell(v.get("c")));
  const b = v.get("b")!;
  assertClose(b.mde!, minimalDetectableEffect({ n: 6, sd: b.effect.sd, alpha: 0.05 / 3 }), 1e-15);
  assert(verdictCell(b).startsWith("cannot tell apart (detectable: ±"), verdictCell(b));
  // an effect significant alone (unadjusted p < .05) but not in a family of 40: the correction changes the verdict
  const lone = eff([0.01, 0.02, -0.002, 0.015, 0.008, 0.012]);
  assert(pairedTTest(lone).p < 0.05 && pairedTTest(lone).p > 0.05 / 40, `p = ${pairedTTest(lone).p}`);
  assertEquals(judge([{ key: "x", label: "x", effect: lone }]).all[0].verdict, "helps");
  const crowd = judge([
    { key: "x", label: "x", effect: lone },
    ...Array.from({ length: 39 }, (_, i) => ({ key: `n${i}`, label: "", effect: eff([0.01, -0.01, 0.002, -0.003, 0.004, -0.002]) })),
  ]);
  assertEquals(crowd.get("x")!.verdict, "cannot tell apart");
});

Deno.test("the report states the family once and gives no verdict to a 3-seed smoke run", async () => {
  const inp = {
    title: "t",
    description: "",
    config: {},
    splits: { mnist: { dataset: "mnist", nTrain: 500, nVal: 250, nTest: 1000 } },
    environment: {},
    stages: [],
    searches: [searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2], models: 6, epochs: 1 })],
    ablations: [ablationInput({ dataset: "mnist", budget: "short", seeds: 3, models: 6, variants: ["log-heldout", "log-heldout-acc"] })],
  };
  const r = await buildReport(inp);
  assert(!/helps:|hurts:\s*\w/.test(r.html.replace(/helps: none|hurts: none/g, "")), "a 3-seed run states no verdict");
  assert(r.html.includes("no verdicts: 3 seeds are fewer than the 5 a verdict needs"), "the findings say why");
  assertEquals(r.html.split("How verdicts are reached").length - 1, 1, "the family is stated once");
  // with 6 seeds the same report makes verdicts, over one family of search + ablation comparisons
  const six = { ...inp, ablations: [ablationInput({ dataset: "mnist", budget: "short", seeds: 6, models: 6 })] };
  six.searches = [
    searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2, 3, 4, 5, 6], models: 6, epochs: 1 }),
  ];
  const v = verdictsOf(six);
  assertEquals(v.m, 1 + 8, "one search and eight variants");
  assert(v.get(ablationKey("mnist", "short", "paper"))!.tested);
  const html = (await buildReport(six)).html;
  assert(html.includes("9 comparisons with at least 5 seeds form one family"), "the family's size is stated");
});
