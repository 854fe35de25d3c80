// The Section II fine-tune's stored records (bilevel/hls/hls_records.ts FinetuneUnit, FinetuneOutput): each
// grouping's case.json as its unit writes it, and finetune.json as the merge writes it from them, pass and read
// back to their bytes; a forged, damaged or foreign one is refused at the field, by the merge and by the report.
import { artifactsOf, assert, assertArtifactChecked, assertEquals, assertRejects, type Hostile } from "../../assert.ts";
import { useBackend } from "../../../nn/backend.ts";
import { Rng } from "../../../data/rng.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { initWeights } from "../../../nn/mlp.ts";
import { HlsOptions } from "../../../bilevel/hls/hls_options.ts";
import { finetuneGroupings } from "../../../bilevel/hls/finetune.ts";
import { FinetuneOutput, FinetuneUnit } from "../../../bilevel/hls/hls_records.ts";
import { jsonWithVolatile } from "../../../stages/_load.ts";
import { LpFinetuneParams, lpFinetuneStages, lpFinetuneUnitName } from "../../../stages/lp_finetune.ts";

await useBackend("cpu");

const GROUPINGS = ["1HP", "2HP"] as const;
const hls = HlsOptions.parse({ preset: "paper", block: "topk", k: 12, tMin: 1e-3, tMax: 10, points: 5 });

/** Each grouping's case.json, as lp-finetune:<grouping> writes it: a tiny random MLP fine-tuned on random data. */
async function unitsWritten(): Promise<FinetuneUnit[]> {
  const rng = new Rng(7);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 12).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const split = { train: mk(60), val: mk(40), test: mk(40) };
  try {
    const spec = { input: 12, hidden: [5, 4], classes: 3 };
    const model = { spec, weights: initWeights(spec, new Rng(8)) };
    const cases = await finetuneGroupings({ model, split, groupings: [...GROUPINGS], hls, onProgress: () => {} });
    return cases.map((c) => ({ base: { spec }, hls, case: c }) satisfies FinetuneUnit);
  } finally {
    Object.values(split).forEach(disposePart);
  }
}

const unitHostile: Hostile[] = [
  { what: "a forged key", edit: (u) => (u.case.line[2].chosen = true), at: /at case\.line\.2: Unrecognized key: "chosen"/ },
  { what: "an untraced point", edit: (u) => delete u.case.best.train, at: /at case\.best\.train/ },
  { what: "a number as text", edit: (u) => (u.case.cost.hvps = "12"), at: /at case\.cost\.hvps/ },
  { what: "an unknown solver path", edit: (u) => (u.case.path = "oracle"), at: /at case\.path/ },
  { what: "a foreign model spec", edit: (u) => delete u.base.spec.classes, at: /at base\.spec\.classes/ },
  { what: "a file that is not an object", replaceWith: null, at: /at \(the whole file\)/ },
];

const mergedHostile: Hostile[] = [
  { what: "a forged verdict", edit: (f) => (f.cases[0].verdict = 3), at: /at cases\.0\.verdict/ },
  { what: "a forged key", edit: (f) => (f.winner = "2HP"), at: /at \(the whole file\): Unrecognized key: "winner"/ },
  { what: "a missing field", edit: (f) => delete f.cases[1].grouping, at: /at cases\.1\.grouping/ },
  { what: "a number as text", edit: (f) => (f.cases[0].line[1].val.loss = "0.5"), at: /at cases\.0\.line\.1\.val\.loss/ },
  { what: "a truncated object", edit: (f) => delete f.cases[1].before.val.acc, at: /at cases\.1\.before\.val\.acc/ },
  { what: "a foreign HLS option", edit: (f) => (f.hls.block = "everything"), at: /at hls\.block/ },
  { what: "cases that are not a list", edit: (f) => (f.cases = f.cases[0]), at: /at cases/ },
  { what: "a file that is not an object", replaceWith: 42, at: /at \(the whole file\)/ },
];

Deno.test("each grouping's case.json and the merged finetune.json read back to their bytes; damaged ones are refused at the field", async () => {
  const units = await unitsWritten();
  for (const [i, u] of units.entries()) {
    const read = await assertArtifactChecked({
      stage: lpFinetuneUnitName(GROUPINGS[i]),
      file: "case.json",
      schema: FinetuneUnit,
      written: u,
      hostile: unitHostile,
    });
    assert(read.case.line.every((p) => p.train !== undefined), "every traced point has its training metrics");
  }
  // the merge, as the pipeline runs it: reads each unit's case.json checked, writes the cases in the config's order
  const params = LpFinetuneParams.parse({ backend: "cpu", groupings: [...GROUPINGS], hls });
  const merge = lpFinetuneStages(params, "toy").at(-1)!;
  const inputs = Object.fromEntries(
    units.map((
      u,
      i,
    ) => [lpFinetuneUnitName(GROUPINGS[i]), artifactsOf(lpFinetuneUnitName(GROUPINGS[i]), jsonWithVolatile("case.json", u))]),
  );
  const run = (inputs: Parameters<typeof merge.run>[0]["inputs"]) =>
    merge.run({ params, inputs, progress: () => {}, log: () => {}, scratchDir: "" });
  const out = await run(inputs);
  const written = { base: units[0].base, hls, cases: units.map((u) => u.case) } satisfies FinetuneOutput;
  const dec = new TextDecoder();
  assertEquals(
    dec.decode(out["finetune.json"]),
    dec.decode(jsonWithVolatile("finetune.json", written)["finetune.json"]),
    "the merge writes the units' bytes",
  );
  await assertArtifactChecked({ stage: "lp-finetune", file: "finetune.json", schema: FinetuneOutput, written, hostile: mergedHostile });
  // a damaged unit stops the merge, naming it
  const files = jsonWithVolatile("case.json", units[1]);
  const damaged = JSON.parse(dec.decode(files["case.json"]));
  damaged.case.grouping = "7HP";
  const forged = artifactsOf("lp-finetune:2HP", { ...files, "case.json": new TextEncoder().encode(JSON.stringify(damaged)) });
  await assertRejects(
    () => run({ ...inputs, "lp-finetune:2HP": forged }),
    /lp-finetune:2HP's case\.json is not what this code writes: at case\.grouping/,
  );
});
