import { assert, assertEquals, assertMatch } from "../assert.ts";
import { finetuneSection, finetuneTable } from "../../report/finetune_section.ts";
import { ReportWriter } from "../../report/section.ts";
import { finetuneInput } from "../report_fixtures.ts";

Deno.test("finetune table: a row per grouping, labelled, with the solver, λ in exponent form and the base model in the note", () => {
  const ft = finetuneInput(6);
  ft.cases[1].lpStatus = undefined;
  ft.cases[2].best = { ...ft.cases[2].best, test: undefined };
  ft.cases[2].lambdas = [0.00012345, 2];
  const t = finetuneTable(ft);
  assertEquals(t.rows.length, 3);
  for (const r of t.rows) assertEquals(r.length, t.head.length);
  assertEquals(t.rows.map((r) => r[0]), ["1HP", "2HP", "6HP (per layer)"]);
  assertEquals(t.rows[0][9], "highs (optimal), block 10, box binds on 0");
  assertEquals(t.rows[1][9], "highs, block 10, box binds on 0", "no LP status: none shown");
  assertEquals(t.rows[2][6], "–", "a missing test accuracy is a dash, not NaN");
  assertEquals(t.rows[2][8], "1.23e-4, 2.00e+0");
  assertEquals(t.rows[0][7], "0.5000");
  assertMatch(t.note!, /^Base model: validation accuracy 0\.6800, test accuracy 0\.6700\./);
  const empty = finetuneTable({ ...ft, cases: [] });
  assertEquals(empty.rows, []);
  assertEquals(empty.note, undefined);
});

Deno.test("finetune section: absent when lp-finetune did not run or has no case", async () => {
  assertEquals(await finetuneSection(new ReportWriter(), undefined), undefined);
  assertEquals(await finetuneSection(new ReportWriter(), { ...finetuneInput(4), cases: [] }), undefined);
});

Deno.test("finetune section: the table and Figures 2-4 and 5; the caption states the t range, the y limit and the steps not drawn", async () => {
  const ft = finetuneInput(12, 0);
  // the fixture's cases share one line search: give each its own points before editing one
  for (const c of ft.cases) c.line = c.line.map((p) => ({ ...p, train: { ...p.train }, val: { ...p.val } }));
  ft.cases[0].line[3].val.loss = NaN;
  ft.cases[1].line[4].train.loss = Infinity;
  const w = new ReportWriter();
  const sec = (await finetuneSection(w, ft))!;
  assertEquals(sec.id, "finetune");
  assertEquals(Object.keys(w.figures).sort(), ["2-4", "5"]);
  assertEquals(Object.keys(w.tables), ["finetune"]);
  const md = sec.md.join("\n");
  assert(md.includes("(t from 0.001 to 100.000, log scale)"), "t = 0 is not on a log axis: the range starts at the first positive t");
  const yMax = 2 * Math.max(...ft.cases.flatMap((c) => [c.before.train.loss, c.before.val.loss]));
  assert(md.includes(`twice the base model's loss (${yMax.toFixed(3)})`), md);
  assert(md.includes("; 2 steps with a non-finite loss are not drawn"), md);
  assert(w.figures["2-4"].includes("0 (no step)"), "a chosen t of 0 is said to be no step");
  const clean = new ReportWriter();
  const md2 = (await finetuneSection(clean, finetuneInput(12, 0.5)))!.md.join("\n");
  assert(!md2.includes("not drawn"), md2);
  assert(clean.figures["2-4"].includes("chosen t = 0.500"));
});
