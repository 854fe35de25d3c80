/** The "Not run" section: one row per missing input, the stages (and paper tables) it blocks, and the fix. */
import { joinAnd, plural } from "./format.ts";
import { compactStageNames, datasetsOf, groupNotRun, shortReason } from "./not_run.ts";
import { PAPER_TABLE_NAMES, PAPER_TABLES } from "./paper_numbers.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import type { ReportInput } from "./types.ts";

/** The dataset of a split, from the config. */
export function splitDatasetOf(splits: ReportInput["splits"]): (split: string) => string | undefined {
  return (split) => splits[split]?.dataset;
}

/** The paper's tables a run could not reproduce because their data set's searches did not run, e.g. "the paper's Table III (cifar10: …)". */
function blockedPaperTables(datasets: string[], inp: ReportInput): string[] {
  const ran = new Set(inp.searches.map((s) => s.summary.dataset));
  return datasets.filter((d) => PAPER_TABLE_NAMES[d] && !ran.has(d)).map((d) => {
    const t = PAPER_TABLES[d];
    const cells = Object.entries(t).map(([m, v]) => `${m} ${v.without[1]} → ${v.with[1]}`);
    return `the paper's ${PAPER_TABLE_NAMES[d]} (${d}, test accuracy without → with HLS: ${cells.join(", ")})`;
  });
}

/** The section, or undefined when every stage ran. */
export function notRunSection(w: ReportWriter, inp: ReportInput): SectionParts | undefined {
  const groups = groupNotRun(inp.stages);
  if (!groups.length) return undefined;
  const sec = section("Not run", "not-run");
  const dsOf = splitDatasetOf(inp.splits);
  w.table(sec, {
    id: "not-run",
    caption: `${plural(groups.reduce((a, g) => a + g.stages.length, 0), "stage")} did not run, for ${plural(groups.length, "cause")}`,
    head: ["missing input", "why", "blocks", "to fix"],
    rows: groups.map((g) => {
      const tables = blockedPaperTables(datasetsOf(g, dsOf), inp);
      return [
        g.cause,
        shortReason(g.reason),
        joinAnd([`${g.stages.length} stage${g.stages.length === 1 ? "" : "s"}: ${compactStageNames(g.stages).join(", ")}`, ...tables]),
        g.fix,
      ];
    }),
    note: "Braces list the values a part takes ({1–3}: seeds 1 to 3); the count of stages a pattern stands for follows it.",
  });
  return sec;
}
