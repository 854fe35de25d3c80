/** The parts a report is assembled from: sections of HTML and Markdown, and the figures and tables they hold. */
import { compactSvg, renderSvg, type VlSpec } from "./charts.ts";
import { esc, mdText, slug, type Table, tableCsv, tableHtml, tableMd } from "./format.ts";

/** One report section: its title, an optional anchor id, and its HTML and Markdown parts. */
export interface SectionParts {
  id?: string;
  title: string;
  html: string[];
  md: string[];
}

/** A new, empty section. */
export function section(title: string, id?: string): SectionParts {
  return { title, id, html: [], md: [] };
}

/**
 * Collects the figures (SVG, named for figure-<name>.svg) and tables (CSV, named for table-<id>.csv) of a
 * report while its sections are written, so that the HTML embeds, and the Markdown links, the same files.
 */
export class ReportWriter {
  /** Figure name → SVG. */
  readonly figures: Record<string, string> = {};
  /** Table id → CSV. */
  readonly tables: Record<string, string> = {};
  /** Prefix of the file names the Markdown links ("timing-" for the timing appendix's files). */
  readonly prefix: string;
  #shown = 0;

  constructor(opts: { prefix?: string } = {}) {
    this.prefix = opts.prefix ?? "";
  }

  /** Adds a table to the CSV files only (too long for the page); returns the id it was given. */
  csv(t: Table): string {
    let id = slug(t.id ?? t.caption);
    for (let i = 2; id in this.tables; i++) id = `${slug(t.id ?? t.caption)}-${i}`;
    this.tables[id] = tableCsv(t);
    return id;
  }

  /** Adds a table to a section (HTML, Markdown) and, unless `csv` is false, to the CSV files; returns its id. */
  table(sec: SectionParts, t: Table, opts: { csv?: boolean } = {}): string {
    // a page-unique element id, for the table's stacked-row labels on a narrow screen
    sec.html.push(tableHtml(t, `${this.prefix}tw${++this.#shown}`));
    if (opts.csv === false) {
      sec.md.push(tableMd(t));
      return "";
    }
    const id = this.csv(t);
    const file = `${this.prefix}table-${id}.csv`;
    sec.md.push(tableMd(t) + `[${mdText(`CSV: ${file}`)}](${file})\n`);
    return id;
  }

  /** Renders a Vega-Lite spec and adds it to a section as an inline SVG (HTML) and a linked file (Markdown). */
  async figure(sec: SectionParts, name: string, spec: VlSpec, caption: string): Promise<void> {
    const svg = compactSvg(await renderSvg(spec), `f${Object.keys(this.figures).length}`);
    this.figures[name] = svg;
    sec.html.push(`<figure id="fig-${esc(name)}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`);
    sec.md.push(
      `![${mdText(`Figure ${name}`)}](${this.prefix}figure-${encodeURIComponent(name)}.svg)\n\n*${mdText(`Figure ${name}: ${caption}`)}*\n`,
    );
  }

  /** Adds a paragraph of plain text to a section. */
  text(sec: SectionParts, s: string, cls?: string): void {
    sec.html.push(`<p${cls ? ` class="${cls}"` : ""}>${esc(s)}</p>`);
    sec.md.push(mdText(s) + "\n");
  }

  /** Adds a bulleted list of plain-text items to a section. */
  list(sec: SectionParts, items: string[]): void {
    if (!items.length) return;
    sec.html.push(`<ul>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>`);
    sec.md.push(items.map((i) => `- ${mdText(i)}`).join("\n") + "\n");
  }
}
