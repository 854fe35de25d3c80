/** Builds the report from the artifacts: findings first, then each experiment, timing and provenance. */
import { ablationSection } from "./ablation_section.ts";
import { finetuneSection } from "./finetune_section.ts";
import { findingsSection } from "./findings.ts";
import { notRunSection } from "./not_run_section.ts";
import { seed001Section, seed003Section } from "./other_seeds_section.ts";
import { pageHtml, pageMd } from "./page.ts";
import { provenanceSection } from "./provenance_section.ts";
import { searchSection } from "./search_section.ts";
import { ReportWriter, type SectionParts } from "./section.ts";
import { timingLinkSection } from "./timing_section.ts";
import type { Report, ReportInput } from "./types.ts";

export type { FinetuneOutput, Report, ReportInput, SearchSummary } from "./types.ts";

/** Replaces each absolute path prefix (e.g. the project root) by its label (e.g. "."), so the page holds no machine paths. */
export function relativePaths(text: string, roots: Record<string, string>): string {
  let out = text;
  for (const [abs, label] of Object.entries(roots).sort((a, b) => b[0].length - a[0].length)) {
    if (abs.length < 2) continue;
    out = out.replaceAll(`${abs}/`, label === "." ? "" : `${label}/`).replaceAll(abs, label);
  }
  return out;
}

/**
 * Builds the report: what the run found first (`id="findings"`), what did not run and how to run it, each
 * experiment's tables beside the papers' numbers (only under the paper's protocol) and its figures (Vega-Lite
 * to SVG), timing, provenance. `roots` maps absolute paths to the labels that replace them.
 *
 * @example
 * ```ts
 * const report = await buildReport(input, { [Deno.cwd()]: "." });
 * await Deno.writeTextFile("report.html", report.html);
 * ```
 */
export async function buildReport(inp: ReportInput, roots: Record<string, string> = {}): Promise<Report> {
  const w = new ReportWriter();
  const parts = [
    findingsSection(w, inp),
    notRunSection(w, inp),
    await ablationSection(w, inp),
    await finetuneSection(w, inp.finetune),
    await searchSection(w, inp),
    await seed001Section(w, inp.gaLrMomWd),
    await seed003Section(w, inp.cpmlho),
    timingLinkSection(inp),
    provenanceSection(w, inp),
  ];
  const sections = parts.filter((s): s is SectionParts => s !== undefined);
  const rel = (s: string) => relativePaths(s, roots);
  const map = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, rel(v)]));
  return {
    html: rel(pageHtml(inp.title, inp.description, sections)),
    markdown: rel(pageMd(inp.title, inp.description, sections)),
    figures: map(w.figures),
    tables: map(w.tables),
  };
}
