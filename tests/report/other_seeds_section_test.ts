import { assert, assertEquals } from "../assert.ts";
import { seed001Section, seed003Section } from "../../report/other_seeds_section.ts";
import { ReportWriter } from "../../report/section.ts";
import type { ReportInput } from "../../report/build.ts";
import { SEED001_RUNS, SEED003_TABLE } from "../../report/paper_numbers.ts";

type Ga = NonNullable<ReportInput["gaLrMomWd"]>[number];
type Cp = NonNullable<ReportInput["cpmlho"]>[number];

/** A seed-001 record with the fields the section reads (the rest of the schema is search/ga_lr_mom_wd.ts's to test). */
function ga(run: string, o: { reduced?: boolean; note?: string; gens?: number[] } = {}): Ga {
  return {
    stage: `ga-lr-mom-wd:${run}`,
    result: {
      run,
      reduced: o.reduced ?? false,
      reducedNote: o.note,
      bestValLoss: 0.1234,
      meanFinalTrainLoss: 0.3,
      generations: (o.gens ?? []).map((v, g) => ({ generation: g, bestValLoss: v })),
    },
  } as unknown as Ga;
}

function cp(dataset: string, o: { budget?: boolean; dropout?: number[][] } = {}): Cp {
  return {
    stage: `cpmlho:${dataset}`,
    result: {
      dataset,
      reduced: false,
      model: "MLP",
      budget: o.budget === false ? undefined : { cpmlhoEpochs: 6, baselineTrials: 3, epochsPerTrial: 2 },
      methods: [
        { method: "cpmlho", valLoss: 0.18, valAcc: 0.95, testAcc: 0.94, tuned: "dropout" },
        { method: "zz-unknown", valLoss: 0.2, valAcc: 0.9, testAcc: 0.9, tuned: "lr" },
      ],
      cpmlho: { trajectory: (o.dropout ?? []).map((d, step) => ({ step, dropout: d })) },
    },
  } as unknown as Cp;
}

Deno.test("other seeds: no section when the seed did not run", async () => {
  assertEquals(await seed001Section(new ReportWriter(), undefined), undefined);
  assertEquals(await seed001Section(new ReportWriter(), []), undefined);
  assertEquals(await seed003Section(new ReportWriter(), undefined), undefined);
  assertEquals(await seed003Section(new ReportWriter(), []), undefined);
});

Deno.test("seed 001: each run beside the document's numbers; a run the document lacks gets dashes; the figure only with generations", async () => {
  const run = Object.keys(SEED001_RUNS)[1];
  const w = new ReportWriter();
  const sec = (await seed001Section(w, [ga(run, { reduced: true, note: "2 generations" }), ga("run-x")]))!;
  assertEquals(sec.id, "seed001");
  const rows = w.tables.seed001.trimEnd().split("\r\n").slice(1);
  const doc = SEED001_RUNS[run];
  assertEquals(
    rows[0],
    `${run},${doc.trainLoss.toFixed(4)},${doc.bestValLoss.toFixed(4)},${doc.minutes.toFixed(2)},0.3000,0.1234,yes: 2 generations`,
  );
  assertEquals(rows[1], "run-x,–,–,–,0.3000,0.1234,no");
  assertEquals(Object.keys(w.figures), [], "no generations: no figure");
  const w2 = new ReportWriter();
  await seed001Section(w2, [ga(run, { gens: [0.5, 0.4, 0.3] })]);
  assertEquals(Object.keys(w2.figures), ["seed001-generations"]);
});

Deno.test("seed 003: a row per method and data set beside Table 1; budgets explained; dropout figure only with a trajectory", async () => {
  const ds = Object.keys(SEED003_TABLE)[0];
  const w = new ReportWriter();
  const sec = (await seed003Section(w, [cp(ds), cp("other", { budget: false })]))!;
  assertEquals(sec.id, "seed003");
  const rows = w.tables.seed003.trimEnd().split("\r\n").slice(1);
  assertEquals(rows.length, 4);
  const docCell = SEED003_TABLE[ds].cpmlho;
  assertEquals(rows[0].split(",").slice(0, 4), [ds, "cpmlho", docCell === undefined ? "–" : docCell.toFixed(3), "0.1800"]);
  assertEquals(rows[1].split(",")[2], "–", "a method the document lacks");
  assertEquals(rows[2].split(",")[2], "–", "a data set the document lacks");
  const md = sec.md.join("");
  assert(md.includes(`${ds}: MLP; CPMLHO trains one model for 6 epochs; random search and BO each train 3 models of 2 epochs`), md);
  assert(md.includes("Δ-STN, the document's third baseline, is not implemented."));
  assertEquals(Object.keys(w.figures), []);
  const w2 = new ReportWriter();
  await seed003Section(w2, [cp(ds, { dropout: [[0.1, 0.2], [0.15, 0.25]] })]);
  assertEquals(Object.keys(w2.figures), ["cpmlho-dropout"]);
  assert(w2.figures["cpmlho-dropout"].includes("dropout1"), "one series per layer");
});
