// The base model's stored training record (nn/train_records.ts BaselineHistory): history.json as baseline-train
// writes it passes and reads back to its bytes (a diverged epoch's NaN, stored as null, reads as NaN); a forged,
// damaged or foreign one is refused at the field.
import { assert, assertArtifactChecked, type Hostile } from "../assert.ts";
import { useBackend } from "../../nn/backend.ts";
import { Rng } from "../../data/rng.ts";
import { disposePart, toTensorPart } from "../../nn/data_tensors.ts";
import { trainBaseline } from "../../nn/baseline.ts";
import { TrainOptions } from "../../nn/train_options.ts";
import { BaselineHistory } from "../../nn/train_records.ts";

await useBackend("cpu");

/** Two epochs of a tiny MLP on random data, stored as stages/baseline_train.ts stores them. */
function written(): BaselineHistory {
  const rng = new Rng(3);
  const mk = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 12).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const split = { train: mk(60), val: mk(30), test: mk(30), classes: 3 };
  try {
    const training = TrainOptions.parse({ optimizer: "sgd", learningRate: 0.1, epochs: 2, batchSize: 20 });
    const out = trainBaseline({ split, hidden: [5], training, seed: 1, onProgress: () => {} });
    return { backend: "cpu", seconds: out.seconds, steps: out.steps, history: out.history } satisfies BaselineHistory;
  } finally {
    [split.train, split.val, split.test].forEach(disposePart);
  }
}

const hostile: Hostile[] = [
  { what: "a forged key", edit: (h) => (h.history[1].best = true), at: /at history\.1: Unrecognized key: "best"/ },
  { what: "a missing field", edit: (h) => delete h.steps, at: /at steps/ },
  { what: "a number as text", edit: (h) => (h.history[0].val.acc = "0.9"), at: /at history\.0\.val\.acc/ },
  { what: "a truncated object", edit: (h) => delete h.history[0].test.loss, at: /at history\.0\.test\.loss/ },
  { what: "a history that is not a list", edit: (h) => (h.history = h.history[0]), at: /at history/ },
  { what: "a file that is not an object", replaceWith: "history", at: /at \(the whole file\)/ },
];

Deno.test("the base model's history as baseline-train writes it reads back to its bytes; a damaged one is refused at the field", async () => {
  const history = written();
  const read = await assertArtifactChecked({
    stage: "baseline-train",
    file: "history.json",
    schema: BaselineHistory,
    written: history,
    hostile,
  });
  assert(read.history.length === 2 && read.history[1].val !== undefined);
  const diverged = { ...history, history: history.history.map((e) => ({ ...e, train: { loss: NaN, acc: 0.1 } })) };
  const back = await assertArtifactChecked({
    stage: "baseline-train",
    file: "history.json",
    schema: BaselineHistory,
    written: diverged,
    hostile: [],
  });
  assert(Number.isNaN(back.history[0].train!.loss), "a diverged epoch's loss (stored as null) reads as NaN");
});
