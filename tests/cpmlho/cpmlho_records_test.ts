// CPMLHO's stored record (cpmlho/cpmlho_records.ts CpmlhoRecord): a study's result.json as the cpmlho stage
// writes it passes and reads back to its bytes (Δ-STN's NaN, stored as null, reads as NaN); a forged, damaged or
// foreign one is refused at the field.
import { assert, assertArtifactChecked, type Hostile } from "../assert.ts";
import { useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { CpmlhoOptions } from "../../cpmlho/cpmlho_options.ts";
import { cpmlhoStudy } from "../../cpmlho/cpmlho_study.ts";
import { CpmlhoRecord } from "../../cpmlho/cpmlho_records.ts";

await useBackend("cpu");

/** A tiny seed 003 study on random 12-pixel images, stored as stages/cpmlho.ts stores it. */
async function written(): Promise<CpmlhoRecord> {
  const rng = new Rng(4);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 12).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const d = { shape: [3, 4, 1] as [number, number, number], classes: 3, train: mk(60), val: mk(30), test: mk(30) };
  try {
    const cpmlho = CpmlhoOptions.parse({ hidden: [4, 4], epochs: 2, batchSize: 20, outerEvery: 2, cutEvery: 5 });
    const study = await cpmlhoStudy({ cpmlho, baselineTrials: 2, maxDropout: 0.8, seed: 1 }, d, () => {});
    const run = { dataset: "toy", backend: "cpu", reduced: true, reducedNote: "tiny" };
    return { ...run, ...study } satisfies CpmlhoRecord;
  } finally {
    [d.train, d.val, d.test].forEach(disposePart);
  }
}

const hostile: Hostile[] = [
  { what: "a forged verdict", edit: (r) => (r.verdict = "CPMLHO wins"), at: /at \(the whole file\): Unrecognized key: "verdict"/ },
  { what: "a forged key in a method's row", edit: (r) => (r.methods[3].best = true), at: /at methods\.3: Unrecognized key: "best"/ },
  { what: "a missing field", edit: (r) => delete r.cpmlho.val, at: /at cpmlho\.val/ },
  { what: "a number as text", edit: (r) => (r.methods[0].valLoss = "0.5"), at: /at methods\.0\.valLoss/ },
  { what: "an unknown method", edit: (r) => (r.methods[1].method = "oracle"), at: /at methods\.1\.method/ },
  { what: "a truncated object", edit: (r) => delete r.cpmlho.test.acc, at: /at cpmlho\.test\.acc/ },
  { what: "a truncated cutout", edit: (r) => (r.cpmlho.finalCutout = [1]), at: /at cpmlho\.finalCutout/ },
  { what: "a budget cut short", edit: (r) => delete r.budget.epochsPerTrial, at: /at budget\.epochsPerTrial/ },
  { what: "a file that is not an object", replaceWith: "forged", at: /at \(the whole file\)/ },
];

Deno.test("a CPMLHO result as the stage writes it reads back to its bytes; a forged or damaged one is refused at the field", async () => {
  const record = await written();
  const read = await assertArtifactChecked({
    stage: "cpmlho:mnist-mlp",
    file: "result.json",
    schema: CpmlhoRecord,
    written: record,
    hostile,
  });
  const deltaStn = read.methods.find((m) => m.method === "deltaStn")!;
  assert(Number.isNaN(deltaStn.valLoss) && Number.isNaN(deltaStn.testAcc), "Δ-STN's NaN (stored as null) reads as NaN");
  assert(read.cpmlho.trajectory.length > 0 && read.cpmlho.finalCutout === undefined, "an MLP run has no cutout");
});

Deno.test("a CNN run's record (cutout along the trajectory and at the end) reads back to its bytes", async () => {
  const record = await written();
  const cnn: CpmlhoRecord = {
    ...record,
    cpmlho: {
      ...record.cpmlho,
      trajectory: record.cpmlho.trajectory.map((p) => ({ ...p, cutout: [1.5, 7.25] })),
      finalCutout: [2, 7],
    },
  };
  // as runCpmlho writes a point: step, dropout, cutout, mu, g, trainLoss
  const read = await assertArtifactChecked({
    stage: "cpmlho:fashion-cnn",
    file: "result.json",
    schema: CpmlhoRecord,
    written: cnn,
    hostile: [],
  });
  assert(read.cpmlho.finalCutout?.[1] === 7);
});
