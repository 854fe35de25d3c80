import { assert, assertEquals, assertMatch } from "../assert.ts";
import { ReportWriter, section } from "../../report/section.ts";
import { tableCsv } from "../../report/format.ts";

const t = (id: string | undefined, caption = "A caption") => ({ id, caption, head: ["a", "b"], rows: [["1", "x,y"]] });

Deno.test("section: a new section is empty and keeps its title and id", () => {
  assertEquals(section("T"), { title: "T", id: undefined, html: [], md: [] });
  assertEquals(section("T", "t").id, "t");
});

Deno.test("writer: CSV ids are slugs, unique across the report (t, t-2, t-3), and hold the table's CSV", () => {
  const w = new ReportWriter();
  const ids = [w.csv(t("Same id")), w.csv(t("same-id")), w.csv(t("SAME ID")), w.csv(t(undefined, "From: the caption!"))];
  assertEquals(ids, ["same-id", "same-id-2", "same-id-3", "from-the-caption"]);
  assertEquals(Object.keys(w.tables).sort(), [...ids].sort());
  assertEquals(w.tables["same-id-2"], tableCsv(t("same-id")));
  // an id that is only punctuation still names a file
  assertEquals(w.csv(t("***")), "table");
  assertEquals(w.csv(t("")), "table-2");
});

Deno.test("writer: a table goes to HTML, Markdown with a link to its CSV (prefixed), or without a CSV when asked", () => {
  const w = new ReportWriter({ prefix: "timing-" });
  const sec = section("S");
  const id = w.table(sec, t("numbers"));
  assertEquals(id, "numbers");
  assertEquals(sec.html.length, 1);
  assertMatch(sec.md[0], /\[CSV: timing-table-numbers\.csv\]\(timing-table-numbers\.csv\)\n$/);
  assert(sec.html[0].includes("timing-tw1"), "page-unique element id with the prefix");
  assertEquals(w.table(sec, t("inline"), { csv: false }), "");
  assertEquals(Object.keys(w.tables), ["numbers"], "csv: false writes no file");
  assert(!sec.md[1].includes("CSV:"));
  assert(sec.html[1].includes("timing-tw2"), "each table its own element id");
});

Deno.test("writer: text and lists are escaped for HTML and Markdown; an empty list adds nothing", () => {
  const w = new ReportWriter();
  const sec = section("S");
  w.text(sec, `<script>alert("x")</script> a_b *c* | d`, "note");
  assertEquals(sec.html[0], `<p class="note">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; a_b *c* | d</p>`);
  assertEquals(sec.md[0], `\\<script\\>alert("x")\\</script\\> a\\_b \\*c\\* \\| d\n`);
  w.text(sec, "plain");
  assertEquals(sec.html[1], "<p>plain</p>");
  w.list(sec, []);
  assertEquals(sec.html.length, 2);
  assertEquals(sec.md.length, 2);
  w.list(sec, ["<b>", "two\nlines"]);
  assertEquals(sec.html[2], "<ul><li>&lt;b&gt;</li><li>two\nlines</li></ul>");
  assertEquals(sec.md[2], "- \\<b\\>\n- two lines\n");
});

Deno.test("writer: a figure is inlined once and linked as figure-<name>.svg, names URL-encoded", async () => {
  const w = new ReportWriter({ prefix: "p-" });
  const sec = section("S");
  const spec = {
    data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
  };
  // deno-lint-ignore no-explicit-any
  await w.figure(sec, "a b", spec as any, "A <caption>");
  assertEquals(Object.keys(w.figures), ["a b"]);
  assert(w.figures["a b"].startsWith("<svg"), w.figures["a b"].slice(0, 40));
  assert(sec.html[0].startsWith(`<figure id="fig-a b"><svg`));
  assert(sec.html[0].endsWith("<figcaption>A &lt;caption&gt;</figcaption></figure>"));
  assert(sec.md[0].includes("](p-figure-a%20b.svg)"), sec.md[0]);
  assert(sec.md[0].includes("*Figure a b: A \\<caption\\>*"), sec.md[0]);
});
