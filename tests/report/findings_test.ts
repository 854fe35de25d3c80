import { assert, assertEquals, assertMatch } from "../assert.ts";
import { ablationFinding, findingsSection, findingsTable, notRunLine } from "../../report/findings.ts";
import { searchFacts } from "../../report/search_facts.ts";
import { ReportWriter } from "../../report/section.ts";
import { comparisonsOf, judge, verdictsOf } from "../../report/verdicts.ts";
import { groupNotRun } from "../../report/not_run.ts";
import { pairedEffect } from "../../search/paired_stats.ts";
import type { ReportInput } from "../../report/build.ts";
import { ablationInput, CIFAR_REASON, cifarNotRun, defaultScaleInput, searchInput } from "../report_fixtures.ts";

function input(o: Partial<ReportInput> = {}): ReportInput {
  return { title: "t", description: "", config: {}, splits: {}, environment: {}, stages: [], searches: [], ...o };
}

/** An ablation whose variants have known effects: "up" clearly helps, "down" clearly hurts, "flat" is noise around 0. */
function knownAblation(seeds: number) {
  const a = ablationInput({ dataset: "mnist", budget: "short", seeds, models: 4, variants: ["up", "down", "flat"] });
  const noise = (k: number) => ((k * 7919) % 13 - 6) / 1000;
  const effects: Record<string, number[]> = {
    up: Array.from({ length: seeds }, (_, k) => 0.05 + noise(k) / 10),
    down: Array.from({ length: seeds }, (_, k) => -0.05 + noise(k) / 10),
    flat: Array.from({ length: seeds }, (_, k) => noise(k)),
  };
  for (const s of a.summary) s.testAcc = pairedEffect(effects[s.name]);
  return a;
}

Deno.test("findings: an ablation's sentence lists the variants by their Holm verdicts", () => {
  const a = knownAblation(10);
  const v = judge(comparisonsOf(input({ ablations: [a] })));
  const line = ablationFinding(a, v);
  assertMatch(line, /^HLS ablation, mnist · short \(10 seeds, best of 4 models\), Δ test accuracy: /);
  assertMatch(line, /helps: up; hurts: down; cannot be told apart from no HLS: 1 of 3 variants \(Holm-corrected\)\.$/);
});

Deno.test("findings: variants without a verdict (a NaN effect) are counted apart, the others still listed", () => {
  const a = knownAblation(10);
  for (const s of a.summary) if (s.name !== "up") s.testAcc = pairedEffect([NaN, ...Array(9).fill(0.01)]);
  const line = ablationFinding(a, judge(comparisonsOf(input({ ablations: [a] }))));
  assertMatch(
    line,
    /helps: up; hurts: none; cannot be told apart from no HLS: 0 of 3 variants; no verdict \(fewer than 5 seeds\): 2 \(Holm-corrected\)\.$/,
  );
});

Deno.test("findings: an ablation with fewer seeds than a verdict needs says so instead of listing", () => {
  for (const seeds of [1, 4]) {
    const a = knownAblation(seeds);
    const line = ablationFinding(a, judge(comparisonsOf(input({ ablations: [a] }))));
    assertMatch(line, /no verdicts: \d seeds? (are|is) fewer than the 5 a verdict needs/);
    assert(!line.includes("helps:"), line);
    assert(line.includes(seeds === 1 ? "(1 seed," : `(${seeds} seeds,`), line);
  }
});

Deno.test("findings: the table has one row per search and its optional columns only when there is something to show", () => {
  const inp = defaultScaleInput();
  const facts = searchFacts(inp);
  const v = verdictsOf(inp);
  const t = findingsTable(facts, v);
  assertEquals(t.rows.length, facts.length);
  for (const r of t.rows) assertEquals(r.length, t.head.length);
  assert(t.head.includes("verdict (Holm)") && t.head.includes("the paper's: without / with"));
  for (const [i, f] of facts.entries()) {
    const paperCell = t.rows[i][t.head.length - 1];
    assertEquals(paperCell === "–", !f.paper, `${f.group} ${f.method}`);
    if (f.paper) assert(paperCell.endsWith("(Table II)"), paperCell);
  }
  const off = facts.filter((f) => f.budget === "long");
  const t2 = findingsTable(off);
  assert(!t2.head.includes("verdict (Holm)") && !t2.head.includes("the paper's: without / with"), t2.head.join("|"));
  for (const r of t2.rows) assertEquals(r.length, t2.head.length);
  assertEquals(findingsTable([]).rows, []);
});

Deno.test("findings: an empty run says so; a not-run cause gets one line naming how many stages it blocks", () => {
  const w = new ReportWriter();
  const empty = findingsSection(w, input());
  assertEquals(empty.id, "findings");
  assert(empty.md.join("").includes("No experiment of this run produced results."));
  const stages = cifarNotRun(["short"], [1, 2]);
  const sec = findingsSection(new ReportWriter(), input({ stages }));
  const md = sec.md.join("\n");
  const groups = groupNotRun(stages);
  assertEquals(groups.length, 1);
  assertMatch(notRunLine(groups[0]), new RegExp(`which blocks ${stages.length} stages; to fix: `));
  assert(md.includes("which blocks"), md);
  // nothing produced results, and the line after says why
  const i = md.indexOf("No experiment of this run produced results."), j = md.indexOf("Not run: ");
  assert(i >= 0 && j > i, md);
  assert(md.includes(CIFAR_REASON.slice(0, 30)) || md.includes("cifar10"), md);
});

Deno.test("findings: at the default scale, names what ran and the searches off the paper's protocol", () => {
  const inp = defaultScaleInput();
  const sec = findingsSection(new ReportWriter(), inp);
  const md = sec.md.join("\n");
  assert(md.includes("This run compared Grid search, Random search and micro-GA, each with and without hyper local search"), md);
  assert(md.includes("over 3 seeds."), "3 seeds");
  assertMatch(md, /not shown beside mnist · long and fashion-mnist · long: /);
  assert(md.includes("HLS ablation, mnist · short (10 seeds"), md);
  assert(md.includes("LP fine-tuning of the base model (Section II): 1HP:"), md);
  // one search with one seed: "seed", not "seeds"
  const one = input({
    searches: [searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 3, epochs: 1 })],
  });
  const md1 = findingsSection(new ReportWriter(), one).md.join("\n");
  assert(md1.includes("over 1 seed."), md1);
  assert(md1.includes("has no verdict in 1 search run with fewer than 5 seeds"), md1);
});
