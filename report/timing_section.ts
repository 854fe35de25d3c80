/**
 * Where the time went. Wall times differ from run to run, so they live in a timing appendix of their own
 * (timing.html, timing.md and their figure and tables: the report stage's only volatile outputs); the page a
 * reader reads, verified byte for byte by `verify --rerun`, holds only a link to it.
 */
import { esc, mdText } from "./format.ts";
import { section, type SectionParts } from "./section.ts";
import { TIMING_HTML, TIMING_MD } from "./timing_names.ts";
import type { ReportInput } from "./types.ts";

/** Whether any experiment ran whose artifacts record time (decided from the results' shape, not their timings). */
export function hasTimings(inp: ReportInput): boolean {
  return !!(inp.baseline || inp.finetune || inp.searches.length || inp.ablations?.length || inp.gaLrMomWd?.length);
}

const TEXT =
  "Wall times differ from one run of the same config to the next (other work on the machine, the number of parallel jobs, cache hits), so they are kept out of this page: the timing appendix beside it holds the seconds per stage and part, per seed, per fine-tuning, each ablation variant's time against no HLS and every trial's training time. 'verify --rerun' compares every byte of this page, its figures and its tables; the appendix holds nothing but measured times.";

/** The section that links the timing appendix, or undefined when nothing recorded time. */
export function timingLinkSection(inp: ReportInput): SectionParts | undefined {
  if (!hasTimings(inp)) return undefined;
  const sec = section("Where the time went", "timing");
  sec.html.push(`<p>${esc(TEXT)}</p><p><a href="${TIMING_HTML}">Timing appendix (${TIMING_HTML})</a></p>`);
  sec.md.push(`${mdText(TEXT)}\n\n[${mdText(`Timing appendix (${TIMING_MD})`)}](${TIMING_MD})\n`);
  return sec;
}
