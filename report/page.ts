/** The page around the sections: the HTML document (styles that fit any screen width) and the Markdown document. */
import { esc, mdText } from "./format.ts";
import { runFactsLine } from "./run_facts.ts";
import type { SectionParts } from "./section.ts";

/**
 * Nothing may be wider than the screen: figures are drawn at most about 440 px wide (facets wrap) and scale
 * down to the column (their SVGs keep a viewBox), so that at 390 px no text falls under 9 px; on a wide screen
 * tables scroll sideways inside their own container if they must, and below 700 px each row stacks into a card
 * of "column: value" lines (every column visible, no sideways scrolling); long words (digests, names) break.
 */
const STYLE = `
*{box-sizing:border-box}
body{font-family:Helvetica,Arial,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 12px;color:#222;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.tw{max-width:100%;overflow-x:auto;margin:.3em 0 .8em}
table{border-collapse:collapse;font-size:.85em}.cap{font-weight:bold;font-size:.9em;margin:1.2em 0 .3em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f4f4f4}
td{white-space:nowrap}td.w{white-space:normal;overflow-wrap:break-word;min-width:14em}th{white-space:normal}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1.2em 0;max-width:100%;overflow:hidden}figure svg{display:block;max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}
.note,.runline{font-size:.85em;color:#555;max-width:60em}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em;max-width:100%}
nav{display:flex;flex-wrap:wrap;gap:.2em 1em;font-size:.9em}
#findings ul{padding-left:1.2em}
@media print{.tw{overflow:visible}details{display:block}}
@media (max-width:700px){
body{padding:0 8px;margin:1em auto}
.tw{overflow-x:visible}
.tw table,.tw tbody,.tw tr,.tw td,.tw tbody th{display:block;width:100%}
.tw table{font-size:.9em}
.tw thead{display:none}
.tw tbody tr{border:1px solid #ccc;margin:0 0 .6em;padding:.15em .4em;background:#fff}
.tw td,.tw tbody th{border:0;border-bottom:1px solid #eee;white-space:normal;overflow-wrap:anywhere;min-width:0;padding:.2em 0}
.tw td:last-child{border-bottom:0}
.tw td{display:grid;grid-template-columns:minmax(6em,38%) 1fr;gap:.6em}
.tw td::before{font-weight:bold;color:#555;overflow-wrap:anywhere}
}
`;

/** The HTML document: title, run line, a contents bar, then the sections (the first is the findings). */
export function pageHtml(title: string, description: string, sections: SectionParts[]): string {
  const id = (s: SectionParts, i: number) => s.id ?? `s${i}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head><body>
<h1>${esc(title)}</h1>
${runFactsLine("html")}
${description ? `<p>${esc(description)}</p>` : ""}
<nav>${sections.map((s, i) => `<a href="#${id(s, i)}">${esc(s.title)}</a>`).join("")}</nav>
${sections.map((s, i) => `<section id="${id(s, i)}"><h2>${esc(s.title)}</h2>\n${s.html.join("\n")}</section>`).join("\n")}
</body></html>
`;
}

/** The Markdown document (figures linked as the SVG files written beside it). */
export function pageMd(title: string, description: string, sections: SectionParts[]): string {
  return [
    `# ${mdText(title)}`,
    "",
    runFactsLine("md"),
    "",
    ...(description ? [mdText(description), ""] : []),
    ...sections.flatMap((s) => [`## ${mdText(s.title)}`, "", ...s.md]),
  ].join("\n");
}
