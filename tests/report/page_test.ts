import { assert, assertEquals } from "../assert.ts";
import { pageHtml, pageMd } from "../../report/page.ts";
import { section } from "../../report/section.ts";
import { runFactsLine } from "../../report/run_facts.ts";

function sections() {
  const a = section("Findings & more", "findings"), b = section("No id"), c = section("Third", "c");
  a.html.push("<p>A</p>");
  a.md.push("A\n");
  b.html.push("<p>B</p>");
  b.md.push("B\n");
  return [a, b, c];
}

Deno.test("page: HTML has each section once, in order, anchored by its id (s<i> without one), and a nav to each", () => {
  const html = pageHtml(`Title <x> & "y"`, "A description", sections());
  assert(html.startsWith("<!doctype html>"));
  assert(
    html.includes("<title>Title &lt;x&gt; &amp; &quot;y&quot;</title>") && html.includes("<h1>Title &lt;x&gt; &amp; &quot;y&quot;</h1>"),
  );
  const nav = /<nav>(.*)<\/nav>/.exec(html)![1];
  assertEquals([...nav.matchAll(/href="#([^"]+)">([^<]+)</g)].map((m) => [m[1], m[2]]), [
    ["findings", "Findings &amp; more"],
    ["s1", "No id"],
    ["c", "Third"],
  ]);
  const ids = [...html.matchAll(/<section id="([^"]+)"><h2>/g)].map((m) => m[1]);
  assertEquals(ids, ["findings", "s1", "c"]);
  assert(html.indexOf("<p>A</p>") < html.indexOf("<p>B</p>"));
  assert(html.includes("<p>A description</p>"));
  assert(html.includes(runFactsLine("html")), "the run line, to be filled at export");
  assert(html.includes('name="viewport"'), "fits a phone's width");
  assert(html.trimEnd().endsWith("</body></html>"));
});

Deno.test("page: an empty description leaves no empty paragraph; no sections gives an empty nav", () => {
  const html = pageHtml("T", "", []);
  assert(!html.includes("<p></p>"));
  assert(html.includes("<nav></nav>"));
  assert(!html.includes("<section"));
});

Deno.test("page: Markdown is the title, run line, description, then ## per section with its parts", () => {
  const md = pageMd("T_1", "D*", sections());
  const lines = md.split("\n");
  assertEquals(lines[0], "# T\\_1");
  assert(md.includes(runFactsLine("md")));
  assert(md.includes("\nD\\*\n"));
  assertEquals(lines.filter((l) => l.startsWith("## ")), ["## Findings & more", "## No id", "## Third"]);
  assert(md.indexOf("## Findings & more") < md.indexOf("A\n") && md.indexOf("A\n") < md.indexOf("## No id"));
  assert(!pageMd("T", "", []).includes("\n\n\n\n"), "no description: no blank paragraph");
});
