import { assert, assertEquals } from "../assert.ts";
import { DIGEST_SHOWN, provenanceSection } from "../../report/provenance_section.ts";
import { ReportWriter } from "../../report/section.ts";
import type { ReportInput } from "../../report/build.ts";

const d = (c: string) => c.repeat(64);

function input(stages: ReportInput["stages"], config: unknown = { a: 1 }): ReportInput {
  return { title: "T", description: "", config, splits: {}, environment: { deno: "2.x", "a|b": "<c>" }, stages, searches: [] };
}

Deno.test("provenance: every digest of every stage that ran is in the CSV in full; the page shows merges only, shortened", () => {
  const stages: ReportInput["stages"] = [
    { name: "search:mnist:short:grid", digests: { "summary.json": d("a"), "studies.json": d("b") } },
    { name: "search-seed:mnist:short:grid:1", digests: { "result.json": d("c") } },
    { name: "hls-ablation-variant:mnist:short:paper", digests: { "result.json": d("d") } },
    { name: "population:x", digests: { "p.json": d("e") } },
    { name: "fetch:cifar10", notRun: "data not available", digests: {} },
    { name: "cache-seeds:x", digests: { "o.json": d("f") } },
  ];
  const w = new ReportWriter();
  const sec = provenanceSection(w, input(stages));
  assertEquals(sec.id, "provenance");
  const csv = w.tables.artifacts.trimEnd().split("\r\n");
  assertEquals(csv[0], "stage,output,sha256");
  assertEquals(csv.slice(1).sort(), [
    `cache-seeds:x,o.json,${d("f")}`,
    `hls-ablation-variant:mnist:short:paper,result.json,${d("d")}`,
    `population:x,p.json,${d("e")}`,
    `search-seed:mnist:short:grid:1,result.json,${d("c")}`,
    `search:mnist:short:grid,studies.json,${d("b")}`,
    `search:mnist:short:grid,summary.json,${d("a")}`,
  ]);
  assert(!("artifacts-shown" in w.tables), "the shortened table is not written as a CSV");
  const md = sec.md.join("\n");
  assert(md.includes(`| search:mnist:short:grid | summary.json | ${"a".repeat(DIGEST_SHOWN)} |`), md);
  assert(md.includes(`| cache-seeds:x | o.json | ${"f".repeat(DIGEST_SHOWN)} |`), "a name merely containing -seeds is not per-seed");
  assert(!md.includes("a".repeat(DIGEST_SHOWN + 1)), "digests shortened on the page");
  for (const hidden of ["search-seed:", "hls-ablation-variant:", "population:"]) assert(!md.includes(`| ${hidden}`), hidden);
  assert(md.includes("those of the 3 per-seed and per-variant stages, in table-artifacts.csv"), md);
  assert(sec.html.join("").includes("artifacts of 5 stages (sha256)"), "stages that ran, not those that did not");
});

Deno.test("provenance: the environment and config are escaped (HTML) and the config shown in full (Markdown)", () => {
  const cfg = { name: "</pre><script>x</script>", nested: { list: [1, 2] } };
  const w = new ReportWriter();
  const sec = provenanceSection(w, input([], cfg));
  const html = sec.html.join("");
  assert(!html.includes("<script>x</script>") && html.includes("&lt;/pre&gt;&lt;script&gt;"), "config escaped");
  assert(sec.md.join("").includes("```json\n" + JSON.stringify(cfg, null, 1) + "\n```"));
  assert(w.tables.environment.includes("a|b,<c>"), w.tables.environment);
  assert(sec.md.join("").includes("a\\|b"), "a pipe in a name cannot break the Markdown table");
  assertEquals(w.tables.artifacts.trimEnd(), "stage,output,sha256", "no stage: an empty CSV, not a missing one");
});
