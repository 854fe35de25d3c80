/** The report's first section: what this run found, in a few sentences and one compact table. */
import type { AblationOutput } from "./types.ts";
import { effectCi, fmt, joinAnd, plural, pm, signed, type Table } from "./format.ts";
import { groupNotRun, type NotRunGroup, shortReason } from "./not_run.ts";
import { PAPER_PROTOCOL } from "./paper_numbers.ts";
import { splitLabel } from "./protocol.ts";
import { budgetLabel, type SearchFacts, searchFacts } from "./search_facts.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import { methodName, type ReportInput } from "./types.ts";
import { ablationKey, familyStatement, MIN_SEEDS, searchKey, type Verdict, verdictCell, type Verdicts, verdictsOf } from "./verdicts.ts";

/** The compact findings table: per data set, budget and method, test accuracy without and with HLS and the paired effect. */
export function findingsTable(facts: SearchFacts[], v?: Verdicts): Table {
  const withPaper = facts.some((f) => f.paper);
  return {
    id: "findings",
    caption: "Test accuracy of the chosen model (best by validation loss), mean ± sd over seeds, and the paired HLS effect",
    head: [
      "data set",
      "budget",
      "train / val / test",
      "method",
      "models × seeds",
      "without HLS",
      "with HLS",
      "Δ with − without [95% CI]",
      ...(v ? ["verdict (Holm)"] : []),
      ...(withPaper ? ["the paper's: without / with"] : []),
    ],
    rows: facts.map((f) => [
      f.dataset,
      budgetLabel(f.budget, f.input.summary.training),
      splitLabel(f.protocol),
      methodName(f.method),
      `${f.protocol.models ?? "?"} × ${f.seeds}`,
      pm(f.input.summary.without.testAcc, 3),
      pm(f.input.summary.with.testAcc, 3),
      effectCi(f.testAcc, 3),
      ...(v ? [verdictCell(v.get(searchKey(f.dataset, f.budget, f.method)))] : []),
      ...(withPaper ? [f.paper ? `${fmt(f.paper.without[1], 3)} / ${fmt(f.paper.with[1], 3)} (${f.paper.table})` : "–"] : []),
    ]),
    note:
      "95% paired t intervals over seeds (no interval with one seed); verdicts corrected for the whole family of comparisons (above). " +
      (withPaper
        ? `The paper's numbers (test accuracy) stand only beside runs of its protocol (${
          splitLabel(PAPER_PROTOCOL)
        } split, ${PAPER_PROTOCOL.models} models, about ${PAPER_PROTOCOL.epochs} epoch).`
        : ""),
  };
}

/** "mnist and fashion-mnist, each with the budgets short (1 epoch) and long (10 epochs)", or the pairs when they are not a full product. */
function dataAndBudgets(facts: SearchFacts[]): string {
  const label = (f: SearchFacts) => budgetLabel(f.budget, f.input.summary.training);
  const datasets = [...new Set(facts.map((f) => f.dataset))];
  const budgets = [...new Set(facts.map(label))];
  const pairs = new Set(facts.map((f) => `${f.dataset}|${label(f)}`));
  if (pairs.size === datasets.length * budgets.length) {
    return `${joinAnd(datasets)}${datasets.length > 1 && budgets.length > 1 ? ", each" : ""} with the budget${
      budgets.length > 1 ? "s" : ""
    } ${joinAnd(budgets)}`;
  }
  return joinAnd([...pairs].map((p) => p.replace("|", " with the budget ")));
}

/** One sentence on what ran. */
function whatRan(facts: SearchFacts[]): string {
  const methods = [...new Set(facts.map((f) => methodName(f.method)))];
  const models = [...new Set(facts.map((f) => f.protocol.models ?? "?"))];
  const seeds = [...new Set(facts.map((f) => f.seeds))];
  return `This run compared ${joinAnd(methods)}, each with and without hyper local search (HLS), on ${dataAndBudgets(facts)}; ` +
    `each run keeps the best of ${joinAnd(models.map(String))} models by validation loss, over ${joinAnd(seeds.map(String))} ${
      seeds.length === 1 && seeds[0] === 1 ? "seed" : "seeds"
    }.`;
}

/** One sentence on the paired HLS effect in the searches, by the Holm-corrected verdicts (the numbers are in the table). */
function searchEffect(facts: SearchFacts[], v: Verdicts): string {
  const name = (f: SearchFacts) => `${methodName(f.method)} on ${f.group}`;
  const of = (f: SearchFacts) => v.get(searchKey(f.dataset, f.budget, f.method));
  const by = (w: Verdict["verdict"]) => facts.filter((f) => of(f)?.verdict === w);
  const helps = by("helps"), hurts = by("hurts"), unclear = by("cannot tell apart"), none = by("no verdict");
  const parts = [
    helps.length ? `raised it for ${joinAnd(helps.map(name))}` : "",
    hurts.length ? `lowered it for ${joinAnd(hurts.map(name))}` : "",
    unclear.length ? `could not be told apart from no HLS in ${unclear.length} of ${plural(facts.length, "search", "searches")}` : "",
    none.length
      ? `has no verdict in ${plural(none.length, "search", "searches")} run with fewer than ${MIN_SEEDS} seeds (numbers in the table)`
      : "",
  ].filter(Boolean);
  return `On the chosen model's test accuracy, HLS ${joinAnd(parts)}.`;
}

/** One short sentence per ablation: which variants help, hurt, or cannot be told apart (Holm-corrected; the intervals are in its section). */
export function ablationFinding(a: AblationOutput, v: Verdicts): string {
  const by = (w: Verdict["verdict"]) =>
    a.summary.filter((s) => v.get(ablationKey(a.dataset, a.budget, s.name))?.verdict === w).map((s) => s.name);
  const head = `HLS ablation, ${a.dataset} · ${a.budget} (${
    plural(a.seeds.length, "seed")
  }, best of ${a.models} models), Δ test accuracy: `;
  const none = by("no verdict");
  if (none.length === a.summary.length) {
    return head +
      `no verdicts: ${plural(a.seeds.length, "seed")} are fewer than the ${MIN_SEEDS} a verdict needs (numbers in its section).`;
  }
  const [helps, hurts] = [by("helps"), by("hurts")];
  return head + `helps: ${helps.length ? helps.join(", ") : "none"}; hurts: ${hurts.length ? hurts.join(", ") : "none"}; ` +
    `cannot be told apart from no HLS: ${by("cannot tell apart").length} of ${plural(a.summary.length, "variant")}` +
    (none.length ? `; no verdict (fewer than ${MIN_SEEDS} seeds): ${none.length}` : "") + " (Holm-corrected).";
}

/** One sentence on Section II: what LP fine-tuning did to the base model. */
function finetuneFinding(inp: ReportInput): string | undefined {
  const cases = inp.finetune?.cases ?? [];
  if (!cases.length) return undefined;
  const parts = cases.map((c) =>
    `${c.hyperparameters}HP: val loss ${fmt(c.before.val.loss, 3)} → ${fmt(c.best.val.loss, 3)}, test acc ${
      signed(
        (c.best.test?.acc ?? NaN) - (c.before.test?.acc ?? NaN),
        3,
      )
    } (t = ${fmt(c.best.t, 3)})`
  );
  return `LP fine-tuning of the base model (Section II): ${parts.join("; ")}.`;
}

/** One sentence per other seed document that ran: seed 001's best validation loss per run, seed 003's per method. */
function otherSeedFindings(inp: ReportInput): string[] {
  const out: string[] = [];
  const ga = inp.gaLrMomWd ?? [];
  if (ga.length) {
    const runs = ga.map(({ result: r }) => `${String(r.run)} ${fmt(r.bestValLoss as number, 4)}`);
    out.push(`GA over learning rate, momentum and weight decay (seed 001): best validation loss per run: ${runs.join(", ")}.`);
  }
  for (const { result: r } of inp.cpmlho ?? []) {
    const ms = ((r.methods ?? []) as { method: string; valLoss: number; testAcc: number }[])
      .map((m) => `${m.method} ${fmt(m.valLoss, 3)} (test acc ${fmt(m.testAcc, 3)})`);
    if (ms.length) out.push(`CPMLHO (seed 003) on ${String(r.dataset)}: final validation loss ${ms.join(", ")}.`);
  }
  return out;
}

/** One line per cause of stages not run. */
export function notRunLine(g: NotRunGroup): string {
  return `Not run: ${g.cause} (${shortReason(g.reason)}), which blocks ${plural(g.stages.length, "stage")}; to fix: ${g.fix}`;
}

/** The findings section (id "findings"): sentences, the compact table, and a line per cause of stages not run. */
export function findingsSection(w: ReportWriter, inp: ReportInput): SectionParts {
  const sec = section("Findings", "findings");
  const facts = searchFacts(inp);
  const v = verdictsOf(inp);
  if (facts.length) {
    w.list(sec, [whatRan(facts), searchEffect(facts, v)]);
    w.table(sec, findingsTable(facts, v));
  }
  const lines = (inp.ablations ?? []).map((a) => ablationFinding(a, v));
  const ft = finetuneFinding(inp);
  if (ft) lines.push(ft);
  lines.push(...otherSeedFindings(inp));
  const offProtocol = facts.filter((f) => f.differences.length);
  if (offProtocol.length) {
    lines.push(
      `The paper's numbers are not shown beside ${
        offProtocol.length === facts.length ? "any search of this run" : joinAnd([...new Set(offProtocol.map((f) => f.group))])
      }: ${joinAnd([...new Set(offProtocol.flatMap((f) => f.differences))])}.`,
    );
  }
  if (!facts.length && !lines.length) lines.push("No experiment of this run produced results.");
  w.list(sec, [...lines, ...groupNotRun(inp.stages).map(notRunLine)]);
  if (v.all.length) w.text(sec, familyStatement(v), "note");
  return sec;
}
