// The HLS ablation's stored record (search/ablation_records.ts AblationOutput): ablation.json as the hls-ablation
// stage writes it, every default variant in it, passes and reads back to its bytes (an effect without an interval,
// NaN stored as null, reads as NaN); a forged, damaged or foreign one is refused at the field.
import { assert, assertArtifactChecked, type Hostile } from "../assert.ts";
import { AblationOutput } from "../../search/ablation_records.ts";
import { type AblationSeed, DEFAULT_VARIANTS, summariseAblation } from "../../search/hls_ablation.ts";
import { TrainOptions } from "../../nn/train_options.ts";

/** Three seeds of every default variant; the micro-GA's reference ran in seed 1 only (its effects have n = 1). */
function written(): AblationOutput {
  const variants = DEFAULT_VARIANTS;
  const chosen = (acc: number) => ({ key: `1x${Math.round(acc * 100)}@-3.0000`, valAcc: acc, valLoss: 1 - acc, testAcc: acc - 0.01 });
  const seeds: AblationSeed[] = [1, 2, 3].map((seed) => {
    const ran = variants.filter((v) => v.kind === "one-shot" || seed === 1);
    return {
      seed,
      reference: seed === 1 ? { "one-shot": chosen(0.8), microga: chosen(0.82) } : { "one-shot": chosen(0.8 + seed / 100) },
      variants: Object.fromEntries(ran.map((v, i) => [v.name, {
        chosen: chosen(0.8 + (seed * i) / 1000),
        ...(v.kind === "one-shot" ? { meanModelTestAccDelta: i / 1000 } : {}),
        moved: 3,
        onBound: 1,
        models: v.top ?? 6,
        seconds: 12 + i,
        referenceSeconds: 10,
      }])),
    };
  });
  // as stages/hls_ablation.ts writes it
  return {
    backend: "wasm",
    dataset: "mnist",
    split: "mnist-small",
    budget: "short",
    training: TrainOptions.parse({ epochs: 1, batchSize: 50 }),
    models: 6,
    variants,
    seeds,
    summary: summariseAblation(seeds, variants),
  };
}

const hostile: Hostile[] = [
  { what: "a forged verdict", edit: (a) => (a.summary[0].testAcc.verdict = "proven"), at: /at summary\.0\.testAcc\.verdict/ },
  { what: "a forged key", edit: (a) => (a.summary[2].significant = true), at: /at summary\.2: Unrecognized key: "significant"/ },
  { what: "a forged HLS override", edit: (a) => (a.variants[1].hls.oracle = true), at: /at variants\.1\.hls: Unrecognized key: "oracle"/ },
  { what: "a missing field", edit: (a) => delete a.variants[0].hlsMode, at: /at variants\.0\.hlsMode/ },
  {
    what: "a number as text",
    edit: (a) => (a.seeds[0].variants.paper.chosen.testAcc = "0.9"),
    at: /at seeds\.0\.variants\.paper\.chosen\.testAcc/,
  },
  {
    what: "a truncated object",
    edit: (a) => delete a.seeds[1].reference["one-shot"].valLoss,
    at: /at seeds\.1\.reference\.one-shot\.valLoss/,
  },
  { what: "a truncated effect", edit: (a) => (a.summary[0].valLoss = { n: 3, mean: 0.1 }), at: /at summary\.0\.valLoss\.sd/ },
  { what: "seeds that are not a list", edit: (a) => (a.seeds = { 1: a.seeds[0] }), at: /at seeds/ },
  { what: "a file that is not an object", replaceWith: "ablation", at: /at \(the whole file\)/ },
];

Deno.test("an ablation as the stage writes it reads back to its bytes; a forged or damaged one is refused at the field", async () => {
  const ablation = written();
  const read = await assertArtifactChecked({
    stage: "hls-ablation:mnist-small:short",
    file: "ablation.json",
    schema: AblationOutput,
    written: ablation,
    hostile,
  });
  const microga = read.summary.find((s) => s.kind === "microga")!;
  assert(
    microga.testAcc.n === 1 && Number.isNaN(microga.testAcc.lo) && Number.isNaN(microga.testAcc.sd),
    "no interval: NaN (stored as null)",
  );
  assert(read.variants.length === DEFAULT_VARIANTS.length && read.seeds[0].reference.microga !== undefined);
});
