// Training speed: one MLP at several batch sizes (samples/s), and the search workload (the 40 grid models
// of the search space, 1 epoch each), on wasm and cpu, side by side with PyTorch CPU on the same shapes.
import { tf, useBackend } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { toTensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { TrainOptions, trainMlp } from "../nn/train.ts";
import { GridSampler } from "../search/samplers.ts";
import { hiddenOf, SearchSpace } from "../search/space.ts";
import { printTable, torchPython } from "./_util.ts";

const n = 5000;
const rng = new Rng(1);
const cases = [
  { name: "784-15-10, batch 32", hidden: [15], batch: 32, epochs: 2 },
  { name: "784-15-10, batch 128", hidden: [15], batch: 128, epochs: 3 },
  { name: "784-15-10, batch 512", hidden: [15], batch: 512, epochs: 5 },
  { name: "784-5x50-10, batch 64", hidden: [50, 50, 50, 50, 50], batch: 64, epochs: 2 },
];
const grid = GridSampler.points(SearchSpace.parse({}), 40).map(hiddenOf);
const backends = Deno.args.includes("--quick") ? ["wasm"] : ["wasm", "cpu"];
const results: Record<string, Record<string, string | number>> = {};
for (const backend of backends) {
  await useBackend(backend as "wasm" | "cpu");
  const part = toTensorPart({ x: new Uint8Array(n * 784).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(10)) }, 10);
  const run = (hidden: number[], batch: number, epochs: number) => {
    const spec = { input: 784, hidden, classes: 10 };
    const sizes = layerSizes(spec);
    const shapes = mlpShapes(sizes);
    const t0 = performance.now();
    trainMlp(initWeights(spec, rng), shapes, part, { groups: new Array(sizes.length - 1).fill(0), lambdas: [0] }, TrainOptions.parse({ batchSize: batch, epochs }), rng);
    return (performance.now() - t0) / 1000;
  };
  for (const c of cases) {
    if (backend === "cpu" && c.hidden.length > 1) continue;
    run(c.hidden, c.batch, 1); // warm-up
    (results[c.name] ??= { case: c.name })[`tfjs ${backend} samples/s`] = (n * c.epochs) / run(c.hidden, c.batch, c.epochs);
  }
  const searchSeconds = grid.reduce((a, h) => a + run(h, 64, 1), 0);
  (results["search"] ??= { case: "search workload: 40 grid MLPs, 1 epoch, batch 64 (total s)" })[`tfjs ${backend} samples/s`] = searchSeconds;
  tf.dispose([part.x, part.y, part.oneHot]);
}
const py = torchPython();
if (py) {
  const peerCases = [...cases, { name: "search", search: grid, batch: 64, epochs: 1 }];
  for (const threads of [1, 2]) {
    const out = new Deno.Command(py, { args: [new URL("./peers/torch_train.py", import.meta.url).pathname, String(threads), JSON.stringify(peerCases)], stdout: "piped" }).outputSync();
    for (const line of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
      const r = JSON.parse(line);
      results[r.case][`PyTorch ${threads} thread(s)`] = r.samples_per_s ?? r.seconds;
    }
  }
}
printTable(`MLP training on random 5,000 × 784 data, Adam (samples/s; the search row is total seconds)${py ? "" : " — PyTorch not installed (apt-get install python3-torch), peer column omitted"}`, Object.values(results));

// Memory: peak RSS of the real CLI training one 40-model search (grid, ±HLS, 1 seed) on MNIST 5,000/2,500.
{
  const { runMeasured } = await import("./_util.ts");
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  const dir = await Deno.makeTempDir({ prefix: "hpo-bench-mem-" });
  Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify({
    splits: { mnist: { dataset: "mnist", nTrain: 5000, nVal: 2500 } },
    search: { splits: ["mnist"], methods: ["grid"], seeds: [1], budget: 40, budgets: { short: { epochs: 1, batchSize: 64 } } },
  }));
  const r = await runMeasured(Deno.execPath(), ["run", "-A", `${root}/main.ts`, "reproduce", "--config", `${dir}/c.json`, "--store", `${dir}/store`, "--quiet"]);
  await Deno.remove(dir, { recursive: true });
  printTable("Memory of a 40-model search (MNIST, grid ± HLS, 1 epoch each, through the CLI)", [
    { what: "exit code", value: r.code },
    { what: "wall s (fetch, subsample, 40 trainings, 40 HLS)", value: r.seconds },
    { what: "peak RSS MB", value: r.peakMb },
    { what: "goal MB", value: 2000 },
  ]);
}
