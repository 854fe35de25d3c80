import { assert, assertEquals, assertMatch } from "../assert.ts";
import { notRunSection, splitDatasetOf } from "../../report/not_run_section.ts";
import { ReportWriter } from "../../report/section.ts";
import type { ReportInput } from "../../report/build.ts";
import { blockedBy, cifarNotRun, searchInput } from "../report_fixtures.ts";

function input(o: Partial<ReportInput> = {}): ReportInput {
  return { title: "T", description: "", config: {}, splits: {}, environment: {}, stages: [], searches: [], ...o };
}

/** The CSV rows of the section's table (header dropped), parsed simply: the cells here hold no quotes. */
function csvRows(w: ReportWriter): string[][] {
  const csv = w.tables["not-run"];
  return csv.trimEnd().split("\r\n").slice(1).map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, "")));
}

Deno.test("not run: no section when every stage ran, or when there are no stages", () => {
  assertEquals(notRunSection(new ReportWriter(), input()), undefined);
  assertEquals(notRunSection(new ReportWriter(), input({ stages: [{ name: "a", digests: {} }] })), undefined);
});

Deno.test("not run: one row per cause, counting every blocked stage once, and the paper's table it keeps from us", () => {
  const stages = [
    ...cifarNotRun(["short", "long"], [1, 2, 3]),
    { name: "fetch:svhn", notRun: "data not available: svhn. To provide it: put it in data/svhn", digests: {} },
    {
      name: "subsample:svhn",
      notRun: blockedBy("data not available: svhn. To provide it: put it in data/svhn", "fetch:svhn"),
      digests: {},
    },
    { name: "fetch:mnist", digests: {} },
  ];
  const w = new ReportWriter();
  const sec = notRunSection(w, input({ stages, splits: { cifar10: { dataset: "cifar10" }, svhn: { dataset: "svhn" } } }))!;
  assertEquals(sec.id, "not-run");
  const blocked = stages.filter((s) => s.notRun).length;
  assertMatch(sec.md[0], new RegExp(`${blocked} stages did not run, for 2 causes`));
  const md = sec.md.join("");
  assert(md.includes("the paper's Table III (cifar10, test accuracy without → with HLS: grid 0.1722 → 0.2204"), md);
  assert(!md.includes("Table II ("), "MNIST ran: its table is not blocked");
  assert(md.includes("2 stages: fetch:svhn, subsample:svhn"), md);
  assert(md.includes("| put it in data/svhn |"), "the fix is the text after 'To provide it:'");
});

Deno.test("not run: a data set whose searches did run does not list the paper's table as blocked", () => {
  const stages = [{ name: "fetch:mnist", notRun: "data not available: mnist", digests: {} }];
  const searches = [searchInput({ dataset: "mnist", split: "mnist", budget: "short", method: "grid", seeds: [1], models: 2, epochs: 1 })];
  const w = new ReportWriter();
  const md = notRunSection(w, input({ stages, searches }))!.md.join("");
  assert(!md.includes("Table II"), md);
  // (the caption says "1 stages": cosmetic, not locked in here)
  assertMatch(md, /1 stages? did not run, for 1 cause\b/);
  assertEquals(csvRows(w)[0].slice(0, 3), ["fetch:mnist", "data not available: mnist", "1 stage: fetch:mnist"]);
  assert(
    notRunSection(new ReportWriter(), input({ stages }))!.md.join("").includes("Table II (mnist"),
    "without its searches it is blocked",
  );
});

Deno.test("not run: splitDatasetOf reads the config's splits and nothing else", () => {
  const of = splitDatasetOf({ a: { dataset: "mnist" }, b: {} as { dataset: string } });
  assertEquals(of("a"), "mnist");
  assertEquals(of("b"), undefined);
  assertEquals(of("zzz"), undefined);
  assertEquals(of("__proto__"), undefined, "a hostile split name is not an inherited property");
});
