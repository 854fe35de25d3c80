/** Small formatting helpers shared by the HTML and Markdown renderers. */

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

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A table as HTML and Markdown from one description. */
export interface Table {
  caption: string;
  head: string[];
  rows: string[][];
  note?: string;
}

/** Renders a table as HTML. */
export function tableHtml(t: Table): string {
  const head = t.head.map((h) => `<th>${esc(h)}</th>`).join("");
  const rows = t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><caption>${esc(t.caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>${t.note ? `<p class="note">${esc(t.note)}</p>` : ""}`;
}

/** Renders a table as Markdown. */
export function tableMd(t: Table): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [`**${t.caption}**`, "", line(t.head), line(t.head.map(() => "---")), ...t.rows.map(line), ...(t.note ? ["", `_${t.note}_`] : []), ""].join("\n");
}
