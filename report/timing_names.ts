/**
 * The file names of the report's timing appendix: the report stage declares exactly these volatile (a rerun
 * may change them), so that everything else it writes must come back byte for byte. No imports: the stage
 * declaration reads this without loading the report's renderers.
 */

/** The appendix page. */
export const TIMING_HTML = "timing.html";
/** The appendix in Markdown. */
export const TIMING_MD = "timing.md";
/** The prefix of the appendix's figure and table files (timing-figure-timing.svg, timing-table-timing.csv). */
export const TIMING_PREFIX = "timing-";

/** Whether an output of the report stage belongs to the timing appendix (timing.html, timing.md, timing-figure-*.svg, timing-table-*.csv). */
export function isTimingOutput(name: string): boolean {
  return name === TIMING_HTML || name === TIMING_MD || /^timing-(figure-.+\.svg|table-.+\.csv)$/.test(name);
}
