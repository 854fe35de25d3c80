// A search's stored summary (search/summary.ts SearchSummary): summary.json as the search merge writes it passes
// and reads back to its bytes (a diverged best model's NaN, stored as null, reads as NaN); a forged, damaged or
// foreign one is refused at the field.
import { assert, assertArtifactChecked, type Hostile } from "../assert.ts";
import { searchInput } from "../report_fixtures.ts";
import { SearchSummary, summariseMethod } from "../../search/summary.ts";
import { TrainOptions } from "../../nn/train_options.ts";
import type { StudyResult } from "../../search/records.ts";

/** A micro-GA's summary over two seeds, as stages/search.ts writes it; seed 2's best model without HLS diverged. */
function written(): SearchSummary {
  const results: StudyResult[] = searchInput({
    dataset: "mnist",
    split: "mnist-small",
    budget: "short",
    method: "microga",
    seeds: [1, 2],
    models: 6,
    epochs: 1,
  }).studies!.results.map((r) =>
    r.seed === 2 && !r.hls ? { ...r, best: { ...r.best, final: { ...r.best.final, val: { loss: NaN, acc: 0.1 } } } } : r
  );
  return {
    backend: "wasm",
    dataset: "mnist",
    split: "mnist-small",
    budget: "short",
    training: TrainOptions.parse({ epochs: 1, batchSize: 50 }),
    hls: { lambdaScale: "log10", selection: "held-out", criterion: "accuracy", top: 3 },
    ...summariseMethod("microga", results),
  };
}

const hostile: Hostile[] = [
  { what: "a forged verdict", edit: (s) => (s.verdict = "HLS helps"), at: /at \(the whole file\): Unrecognized key: "verdict"/ },
  { what: "a forged key in a seed's row", edit: (s) => (s.perSeed[1].significant = true), at: /at perSeed\.1: Unrecognized key/ },
  { what: "a forged key in the HLS protocol", edit: (s) => (s.hls.preset = "paper"), at: /at hls: Unrecognized key: "preset"/ },
  { what: "a missing field", edit: (s) => delete s.hls.criterion, at: /at hls\.criterion/ },
  { what: "a number as text", edit: (s) => (s.without.valAcc.mean = "0.9"), at: /at without\.valAcc\.mean/ },
  { what: "a truncated object", edit: (s) => delete s.pairedEffect.testAcc, at: /at pairedEffect\.testAcc/ },
  { what: "a truncated row", edit: (s) => (s.perSeed[0] = { seed: 1, hls: false }), at: /at perSeed\.0\.valAcc/ },
  { what: "a convergence that is not a list", edit: (s) => (s.convergence = { best: [] }), at: /at convergence/ },
  { what: "a file that is not an object", replaceWith: [1, 2], at: /at \(the whole file\)/ },
];

Deno.test("a search summary as the merge writes it reads back to its bytes; a forged or damaged one is refused at the field", async () => {
  const summary = written();
  const read = await assertArtifactChecked({
    stage: "search:mnist-small:short:microga",
    file: "summary.json",
    schema: SearchSummary,
    written: summary,
    hostile,
  });
  const diverged = read.perSeed.find((r) => r.seed === 2 && !r.hls)!;
  assert(Number.isNaN(diverged.valLoss), "a diverged best model's loss (stored as null) reads as NaN");
  assert(read.convergence?.length === 4 && read.hls.top === 3);
});
