/** Small formatting helpers shared by the HTML, Markdown and CSV renderers. */

/** A number to fixed decimals, or an en dash for missing values. */
export function fmt(x: number | undefined | null, digits = 4): string {
  return x === undefined || x === null || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}

/** "mean ± std" (std omitted for one value). */
export function pm(s: { mean: number; std: number; n: number } | undefined, digits = 4): string {
  if (!s || s.n === 0) return "–";
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
}

/** Signed number. */
export function signed(x: number | undefined, digits = 4): string {
  if (x === undefined || !Number.isFinite(x)) return "–";
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
}

/** An integer with thousands separators (5000 → "5,000"). */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * Escapes text for inline Markdown: every character CommonMark could read as markup (emphasis, code, links,
 * HTML, table pipes, strikethrough) gets a backslash, so a `_`, `*` or `|` in a name stays literal. Newlines become spaces.
 */
export function mdText(s: string): string {
  return s.replace(/\r?\n/g, " ").replace(/[\\`*_\[\]<>|~]/g, (c) => `\\${c}`);
}

/** A lower-case file-name slug ("HLS ablation, mnist · short" → "hls-ablation-mnist-short"). */
export function slug(s: string): string {
  return s.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "table";
}

/** A table as HTML, Markdown and CSV from one description. */
export interface Table {
  /** Stable name: the CSV is written as table-<id>.csv (derived from the caption when absent). */
  id?: string;
  caption: string;
  head: string[];
  rows: string[][];
  note?: string;
}

/** Cells longer than this may wrap; shorter ones stay on one line (the table scrolls sideways instead). */
const WRAP_AFTER = 28;

/** A CSS string literal: quotes and backslashes escaped, and '<', '>' and line breaks as CSS escapes (no '</style>' can close it). */
function cssString(s: string): string {
  return `"${s.replace(/[\\"]/g, "\\$&").replace(/[<>\r\n]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}"`;
}

/**
 * Renders a table as HTML. On a wide screen it is a table (scrolling sideways in its own container if it must);
 * on a narrow one the page's style stacks each row into a card of "column: value" lines, so that every column
 * (variant, Δ with its interval, verdict) is on screen. The column names come from one CSS rule per column
 * under the table's `domId` (a label on every cell would add a third to the page's size).
 */
export function tableHtml(t: Table, domId?: string): string {
  const head = t.head.map((h) => `<th>${esc(h)}</th>`).join("");
  // short cells (numbers, names) keep to one line; long ones (descriptions, lists) may wrap
  const cell = (c: string) => (c.length > WRAP_AFTER ? `<td class="w">${esc(c)}</td>` : `<td>${esc(c)}</td>`);
  const rows = t.rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("\n");
  const note = t.note ? `<p class="note">${esc(t.note)}</p>` : "";
  const labels = domId
    ? `<style>@media (max-width:700px){${
      t.head.map((h, i) => `#${domId} td:nth-child(${i + 1})::before{content:${cssString(h)}}`).join("")
    }}</style>`
    : "";
  // the caption stays outside the scrolling container, so that a narrow screen shows all of it
  return `<p class="cap">${esc(t.caption)}</p><div class="tw"${
    domId ? ` id="${domId}"` : ""
  }>${labels}<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>${note}`;
}

/** Renders a table as Markdown, every cell, caption and note escaped. */
export function tableMd(t: Table): string {
  const line = (cells: string[]) => `| ${cells.map(mdText).join(" | ")} |`;
  return [
    `**${mdText(t.caption)}**`,
    "",
    line(t.head),
    `|${t.head.map(() => " --- |").join("")}`,
    ...t.rows.map(line),
    ...(t.note?.trim() ? ["", `*${mdText(t.note.trim())}*`] : []),
    "",
  ].join("\n");
}

/** Renders a table as CSV (RFC 4180: fields with a comma, quote or newline are quoted). */
export function tableCsv(t: Table): string {
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [t.head, ...t.rows].map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}

/** A paired effect "mean [lo, hi]" (95% interval), or the mean alone when it has no interval (one seed). */
export function effectCi(e: { n: number; mean: number; lo: number; hi: number }, digits = 4): string {
  if (!e.n) return "–";
  return e.n > 1 && Number.isFinite(e.lo)
    ? `${signed(e.mean, digits)} [${signed(e.lo, digits)}, ${signed(e.hi, digits)}]`
    : signed(e.mean, digits);
}

/** "1 seed", "3 seeds". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** "a", "a and b", "a, b and c". */
export function joinAnd(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}
