/** Section II: LP fine-tuning of one model (the table, Figures 2-4 over the whole line search, Figure 5). */
import { accuracyByHpSpec, lossAlongDirectionSpec } from "./charts.ts";
import { fmt, type Table } from "./format.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import type { FinetuneOutput } from "./types.ts";

type Case = FinetuneOutput["cases"][number];

const label = (c: Case) => (c.grouping === "perLayer" ? `${c.hyperparameters}HP (per layer)` : c.grouping);

/** The fine-tuning table: before and after, the chosen t, the solver, the verdict. */
export function finetuneTable(ft: FinetuneOutput): Table {
  const base = ft.cases[0]?.before;
  return {
    id: "finetune",
    caption: "Fine-tuning the base model (λ = 0, trained by SGD to overfit) along the LP direction",
    head: [
      "λ groups",
      "#HP",
      "val loss before",
      "val loss after",
      "val acc before",
      "val acc after",
      "test acc after",
      "chosen t",
      "λ after",
      "solver",
      "verdict",
    ],
    rows: ft.cases.map((c) => [
      label(c),
      String(c.hyperparameters),
      fmt(c.before.val.loss),
      fmt(c.best.val.loss),
      fmt(c.before.val.acc),
      fmt(c.best.val.acc),
      fmt(c.best.test?.acc),
      fmt(c.best.t, 4),
      c.lambdas.map((l) => l.toExponential(2)).join(", "),
      `${c.path}${c.lpStatus ? ` (${c.lpStatus})` : ""}, block ${c.blockSize}, box binds on ${c.boxActive}`,
      c.verdict,
    ]),
    note: base
      ? `Base model: validation accuracy ${fmt(base.val.acc)}, test accuracy ${
        fmt(base.test?.acc)
      }. The line search keeps the t with the lowest validation loss (t = 0 allowed), so validation loss cannot get worse; test accuracy can.`
      : undefined,
  };
}

/** The panel title of a case: its grouping and the chosen t. */
function panel(c: Case): string {
  return `${c.hyperparameters}HP: chosen t = ${c.best.t > 0 ? fmt(c.best.t, 3) : "0 (no step)"}`;
}

/** Figures 2-4 (every t of the line search, log scales, the chosen t marked) and Figure 5. */
async function finetuneFigures(w: ReportWriter, sec: SectionParts, ft: FinetuneOutput): Promise<void> {
  const rows = ft.cases.flatMap((c) =>
    c.line.flatMap((p) => [
      { grouping: panel(c), t: p.t, loss: p.train.loss, kind: "training loss" },
      { grouping: panel(c), t: p.t, loss: p.val.loss, kind: "validation loss" },
    ])
  );
  const chosen = ft.cases.map((c) => ({ grouping: panel(c), t: c.best.t, loss: c.best.val.loss }));
  const all = ft.cases.flatMap((c) => c.line.filter((p) => p.t > 0));
  const omitted = all.filter((p) => !(Number.isFinite(p.train.loss) && Number.isFinite(p.val.loss))).length;
  const ts = all.map((p) => p.t);
  // the y axis ends at twice the largest loss of the base model: beyond it the step has clearly failed
  const yMax = 2 * Math.max(...ft.cases.flatMap((c) => [c.before.train.loss, c.before.val.loss]));
  await w.figure(
    sec,
    "2-4",
    lossAlongDirectionSpec(rows, chosen, yMax),
    `Training and validation loss along the descent direction for each λ grouping (paper Figures 2-4), over the whole line search (t from ${
      fmt(Math.min(...ts), 3)
    } to ${
      fmt(Math.max(...ts), 3)
    }, log scale); the open diamond and dotted rule mark the chosen t (lowest validation loss); the y axis ends at twice the base model's loss (${
      fmt(yMax, 3)
    }), so where the loss explodes the line leaves the plot at the top` +
      (omitted ? `; ${omitted} steps with a non-finite loss are not drawn` : ""),
  );
  const base = ft.cases[0]?.before;
  const acc = base
    ? [{ hyperparameters: 0, accuracy: base.val.acc, set: "validation" }, {
      hyperparameters: 0,
      accuracy: base.test?.acc ?? NaN,
      set: "test",
    }]
    : [];
  for (const c of ft.cases) {
    acc.push({ hyperparameters: c.hyperparameters, accuracy: c.best.val.acc, set: "validation" }, {
      hyperparameters: c.hyperparameters,
      accuracy: c.best.test?.acc ?? NaN,
      set: "test",
    });
  }
  await w.figure(
    sec,
    "5",
    accuracyByHpSpec(acc),
    "Validation and test accuracy against the number of hyperparameters; 0 is the base model (paper Figure 5)",
  );
}

/** Section II, or undefined when lp-finetune did not run. */
export async function finetuneSection(w: ReportWriter, ft: FinetuneOutput | undefined): Promise<SectionParts | undefined> {
  if (!ft?.cases.length) return undefined;
  const sec = section("Section II: LP fine-tuning of one model (Figures 2-5)", "finetune");
  w.table(sec, finetuneTable(ft));
  await finetuneFigures(w, sec, ft);
  return sec;
}
