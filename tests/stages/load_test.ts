// Reading artifacts checked against the science's schemas (stages/_load.ts readChecked, search/records.ts):
// what the writers write reads back unchanged, and a damaged, forged or foreign study.json is refused with
// the stage, the file and the field, never read as if it had the expected shape.
import { artifactsOf as artifacts, assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { jsonWithVolatile, readChecked } from "../../stages/_load.ts";
import { type HlsRecord, StudyOutput, summariseStudy, trialRecord } from "../../search/records.ts";
import type { TrainedGenome } from "../../search/train_genomes.ts";

const m = (loss: number, acc: number) => ({ loss, acc });

/** A study as the writers make it: a model as trained, one fine-tuned by HLS, one that diverged (NaN). */
function study() {
  const trained = (lambda: number, loss: number): TrainedGenome => ({
    sizes: [4, 3, 2],
    groups: [0, 0],
    lambda,
    weights: [],
    trainSeconds: 0.25,
    parameters: 23,
    base: { train: m(loss, 0.5), val: m(loss, 0.5), test: m(loss, 0.5) },
  });
  const hls: HlsRecord = {
    improved: true,
    path: "simplex",
    lambdaBefore: 1e-3,
    lambda: 2e-3,
    lambdaOnBound: false,
    dLambda: 0.3,
    t: 0.01,
    gradNormBefore: 0.5,
    gradNormAfter: 0.4,
    selection: "held-out",
    selectionVal: m(0.4, 0.6),
    val: m(0.41, 0.6),
    test: m(0.42, 0.59),
    seconds: 0.1,
    lpSeconds: 0.01,
    notes: ["LP by the dense dual simplex"],
  };
  const g = { layers: 1, neurons: 3, log10Lambda: -3 };
  const trials = [
    trialRecord({ index: 0, generation: 0 }, g, trained(1e-3, 0.7)),
    trialRecord({ index: 1, generation: 0 }, g, trained(1e-3, 0.6), { hls }),
    trialRecord({ index: 2, generation: 1 }, g, trained(1e-3, NaN)),
  ];
  return { backend: "wasm", dataset: "mnist", result: summariseStudy({ method: "random", hls: true, seed: 1, trials, seconds: 2 }) };
}

Deno.test("a study as written reads back with the writer's bytes: the schema keeps its field order, null reads as NaN", async () => {
  const written = jsonWithVolatile("study.json", study());
  const read = await readChecked(artifacts("population:x:short:random:1", written), "study.json", StudyOutput);
  assert(Number.isNaN(read.result.trials[2].base.val.loss), "a diverged model's loss (JSON null) reads as NaN");
  // what a merge writing the record on would write: the same stable bytes
  assertEquals(
    new TextDecoder().decode(jsonWithVolatile("study.json", read)["study.json"]),
    new TextDecoder().decode(written["study.json"]),
  );
});

/** Each damage: how it changes the stored study, and the field the refusal must name. */
const damages: [string, (s: Record<string, unknown>) => void, RegExp][] = [
  ["a trial without its genome", (s) => delete trial(s, 0).genome, /at result\.trials\.0\.genome/],
  ["a forged extra verdict", (s) => (trial(s, 1).verdict = "helps"), /at result\.trials\.1: Unrecognized key: "verdict"/],
  [
    "an accuracy as text",
    (s) => ((trial(s, 0).final as { val: { acc: unknown } }).val.acc = "0.9"),
    /at result\.trials\.0\.final\.val\.acc/,
  ],
  [
    "an unknown HLS selection",
    (s) => ((trial(s, 1).hls as Record<string, unknown>).selection = "oracle"),
    /at result\.trials\.1\.hls\.selection/,
  ],
  ["no trials at all", (s) => ((s.result as Record<string, unknown>).trials = []), /at result\.trials/],
  ["a file that is not an object", (s) => Object.keys(s).forEach((k) => delete s[k]), /at backend/],
];
function trial(s: Record<string, unknown>, i: number): Record<string, unknown> {
  return ((s.result as Record<string, unknown>).trials as Record<string, unknown>[])[i];
}

for (const [what, damage, field] of damages) {
  Deno.test(`a study.json with ${what} is refused naming the stage, the file and the field`, async () => {
    const written = jsonWithVolatile("study.json", study());
    const stable = JSON.parse(new TextDecoder().decode(written["study.json"]));
    damage(stable);
    const files = { ...written, "study.json": new TextEncoder().encode(JSON.stringify(stable)) };
    const e = await assertRejects(() => readChecked(artifacts("population:x:short:random:1", files), "study.json", StudyOutput));
    assert(e.message.startsWith("population:x:short:random:1's study.json is not what this code writes"), e.message);
    assert(field.test(e.message), `${e.message} does not name ${field}`);
  });
}

Deno.test("a study.json whose timings were lost is refused at the first timing it lacks", async () => {
  const { ["study.volatile.json"]: _, ...withoutTimings } = jsonWithVolatile("study.json", study());
  const e = await assertRejects(() => readChecked(artifacts("search-seed:x", withoutTimings), "study.json", StudyOutput));
  assert(/at result\.trials\.0\.trainSeconds/.test(e.message), e.message);
});

Deno.test("seed 001's stored result is checked by its schema: as written it passes; a forged or damaged one is refused at the field", async () => {
  const { GaLrMomWdRecord } = await import("../../search/ga_lr_mom_wd.ts");
  const { checkShape } = await import("../../stages/_load.ts");
  const genome = { lr: 0.01, momentum: 0.5, weightDecay: 0 };
  const record = {
    run: "run1",
    mode: "ga",
    backend: "wasm",
    reduced: true,
    reducedNote: "tiny",
    meanFinalTrainLoss: 0.9,
    diverged: 1,
    bestValLoss: 0.8,
    best: { genome, val: m(0.8, 0.7) },
    seconds: 3,
    modelsTrained: 6,
    generations: [{ generation: 1, bestValLoss: 0.8, individuals: [{ genome, trainLoss: null, val: m(0.8, 0.7) }] }],
  };
  const read = checkShape("ga-lr-mom-wd:run1", "result.json", GaLrMomWdRecord, JSON.parse(JSON.stringify(record)));
  assert(Number.isNaN(read.generations[0].individuals[0].trainLoss), "a diverged individual's loss (null) reads as NaN");
  const forged = { ...record, verdict: "GA wins" };
  assertThrows(
    () => checkShape("ga-lr-mom-wd:run1", "result.json", GaLrMomWdRecord, forged),
    /ga-lr-mom-wd:run1's result\.json is not what this code writes: at \(the whole file\): Unrecognized key: "verdict"/,
  );
  const damaged = { ...record, best: { genome: { lr: "fast", momentum: 0.5, weightDecay: 0 }, val: m(0.8, 0.7) } };
  assertThrows(() => checkShape("ga-lr-mom-wd:run1", "result.json", GaLrMomWdRecord, damaged), /at best\.genome\.lr/);
});
