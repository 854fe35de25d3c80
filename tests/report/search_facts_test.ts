import { assert, assertClose, assertEquals } from "../assert.ts";
import { budgetLabel, byGroup, epochsOf, modelsPerRun, searchFacts } from "../../report/search_facts.ts";
import type { ReportInput } from "../../report/build.ts";
import { defaultScaleInput, searchInput } from "../report_fixtures.ts";
import { Rng } from "../../data/rng.ts";

/** A minimal report input around some searches. */
function input(searches: ReportInput["searches"], splits: ReportInput["splits"] = {}): ReportInput {
  return { title: "t", description: "", config: {}, splits, environment: {}, stages: [], searches, searchBudget: 40 };
}

/** with − without test accuracy per seed, paired from the studies themselves (not from the summary). */
function diffsFromStudies(s: ReportInput["searches"][number], key: "testAcc" | "valAcc" | "valLoss"): number[] {
  const pick = (r: NonNullable<typeof s.studies>["results"][number]) =>
    key === "testAcc" ? r.best.final.test.acc : key === "valAcc" ? r.best.final.val.acc : r.best.final.val.loss;
  const rs = s.studies!.results;
  return rs.filter((r) => !r.hls).map((a) => pick(rs.find((b) => b.hls && b.seed === a.seed)!) - pick(a));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("search facts: the paired effects are with − without of the chosen model, paired by seed whatever the order", () => {
  const rng = new Rng(5);
  for (let k = 0; k < 30; k++) {
    const seeds = Array.from({ length: 1 + Math.floor(rng.next() * 5) }, (_, i) => 3 * i + 1);
    const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "random", seeds, models: 5, epochs: 1 });
    // shuffle the per-seed rows: pairing must go by seed, not position
    const rows = s.summary.perSeed;
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    const [f] = searchFacts(input([s]));
    assertEquals(f.seeds, seeds.length);
    for (const key of ["testAcc", "valAcc", "valLoss"] as const) {
      const d = diffsFromStudies(s, key);
      assertEquals(f[key].n, seeds.length);
      assertClose(f[key].mean, mean(d), 1e-12, key);
    }
    if (seeds.length === 1) assert(Number.isNaN(f.testAcc.lo), "one seed: no interval");
    else assert(f.testAcc.lo <= f.testAcc.mean && f.testAcc.mean <= f.testAcc.hi);
  }
});

Deno.test("search facts: a seed without its HLS run is left out of the pairs but counted among the seeds", () => {
  const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2, 3], models: 4, epochs: 1 });
  s.summary.perSeed = s.summary.perSeed.filter((r) => !(r.seed === 2 && r.hls));
  const [f] = searchFacts(input([s]));
  assertEquals(f.seeds, 3);
  assertEquals(f.testAcc.n, 2);
  // the loss effect is oriented so that lower loss "helps"
  const [g] = searchFacts(
    input([searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1, 2, 3], models: 4, epochs: 1 })]),
  );
  if (g.valLoss.verdict !== "unclear") assertEquals(g.valLoss.verdict === "helps", g.valLoss.hi < 0);
});

Deno.test("search facts: the paper's numbers only beside a run of its protocol", () => {
  const facts = searchFacts(defaultScaleInput());
  assertEquals(facts.length, 12);
  for (const f of facts) {
    const onProtocol = f.dataset === "mnist" && f.budget === "short";
    assertEquals(f.differences.length === 0, f.budget === "short", `${f.group}: the short budget follows the paper's protocol`);
    assertEquals(f.paper !== undefined, onProtocol, `${f.group} ${f.method}: only MNIST has paper numbers, and only on protocol`);
    if (f.paper) assertEquals(f.paper.table, "Table II");
    assertEquals(f.protocol.models, 40);
    assertEquals(f.protocol.epochs, f.budget === "short" ? 1 : 10);
  }
  // a smaller split is a difference, and hides the paper's numbers
  const small = searchFacts(input(
    [searchInput({ dataset: "mnist", split: "m", budget: "short", method: "grid", seeds: [1], models: 40, epochs: 1 })],
    { m: { dataset: "mnist", nTrain: 500 } },
  ))[0];
  assertEquals(small.paper, undefined);
  assert(small.differences.some((d) => d.startsWith("split 500 / 2,500 / 10,000")), small.differences.join("; "));
});

Deno.test("search facts: models per run, epochs and budget labels", () => {
  const s = searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 7, epochs: 1 });
  assertEquals(modelsPerRun(s, 40), 7, "the studies' trials win over the config");
  assertEquals(modelsPerRun({ ...s, studies: undefined }, 40), 40);
  assertEquals(modelsPerRun({ ...s, studies: { results: [] } }, undefined), undefined);
  assertEquals(epochsOf({}), undefined);
  assertEquals(budgetLabel("short", { epochs: 1 }), "short (1 epoch)");
  assertEquals(budgetLabel("long", { epochs: 10 }), "long (10 epochs)");
  assertEquals(budgetLabel("long", { epochs: 0 }), "long (0 epochs)");
  assertEquals(budgetLabel("x", {}), "x");
});

Deno.test("search facts: grouped by data set and budget in first-seen order, nothing lost", () => {
  const facts = searchFacts(defaultScaleInput());
  const g = byGroup(facts);
  assertEquals([...g.keys()], ["mnist · short", "mnist · long", "fashion-mnist · short", "fashion-mnist · long"]);
  assertEquals([...g.values()].flat().length, facts.length);
  for (const [k, fs] of g) for (const f of fs) assertEquals(f.group, k);
  assertEquals(byGroup([]).size, 0);
  assertEquals(searchFacts(input([])), []);
});
