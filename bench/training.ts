// Training speed: one MLP at several batch sizes (samples/s), and the search workload (the 40 grid models
// of the search space, 1 epoch each), side by side with PyTorch CPU on the same shapes, batches and data.
// Rows: the fast path (trainMlp → nn/train_mlps.ts), the autodiff training loop it replaced (trainNetwork,
// kept as the tested reference), and for the search the 40 models trained as stacks (how the search stage
// trains them) or one after another. Figures are medians of 3 runs (single models) to damp noise.
import { tf, useBackend } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { toTensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { mlpForward, trainMlp, trainNetwork, TrainOptions } from "../nn/train.ts";
import { trainMlps } from "../nn/train_mlps.ts";
import { GridSampler } from "../search/samplers.ts";
import { hiddenOf, SearchSpace } from "../search/space.ts";
import { median, printTable, torchPython } from "./_util.ts";

const n = 5000;
const rng = new Rng(1);
const quick = Deno.args.includes("--quick");
const cases = [
  { name: "784-15-10, batch 32", hidden: [15], batch: 32, epochs: 2 },
  { name: "784-15-10, batch 128", hidden: [15], batch: 128, epochs: 3 },
  { name: "784-15-10, batch 512", hidden: [15], batch: 512, epochs: 5 },
  { name: "784-5x50-10, batch 64", hidden: [50, 50, 50, 50, 50], batch: 64, epochs: 2 },
];
const grid = GridSampler.points(SearchSpace.parse({}), 40).map(hiddenOf);
const backends = quick ? ["wasm"] : ["wasm", "cpu"];
const rows: Record<string, Record<string, string | number>> = {};
const row = (name: string) => (rows[name] ??= { case: name });
const reps = quick ? 1 : 3;
for (const backend of backends) {
  await useBackend(backend as "wasm" | "cpu");
  const part = toTensorPart({ x: new Uint8Array(n * 784).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(10)) }, 10);
  const member = (hidden: number[]) => {
    const spec = { input: 784, hidden, classes: 10 };
    const L = layerSizes(spec).length - 1;
    return { hidden, init: initWeights(spec, rng), layerLambdas: new Array(L).fill(0), shapes: mlpShapes(layerSizes(spec)), L };
  };
  const seconds = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  const fast = (hidden: number[], batch: number, epochs: number) => {
    const m = member(hidden);
    return seconds(() =>
      trainMlp({
        init: m.init,
        shapes: m.shapes,
        train: part,
        objective: { groups: new Array(m.L).fill(0), lambdas: [0] },
        training: TrainOptions.parse({ batchSize: batch, epochs }),
        rng,
      })
    );
  };
  // one model through the general autodiff loop (the path CPMLHO and seed 001 take)
  const autodiffTrain = (m: ReturnType<typeof member>, training: ReturnType<typeof TrainOptions.parse>) =>
    trainNetwork({
      init: m.init,
      shapes: m.shapes,
      forwardFn: mlpForward,
      train: part,
      objective: { groups: new Array(m.L).fill(0), lambdas: [0] },
      training,
      rng,
    });
  const autodiff = (hidden: number[], batch: number, epochs: number) => {
    const m = member(hidden);
    return seconds(() => autodiffTrain(m, TrainOptions.parse({ batchSize: batch, epochs })));
  };
  for (const c of cases) {
    if (backend === "cpu" && c.hidden.length > 1) continue;
    fast(c.hidden, c.batch, 1); // warm-up
    row(c.name)[`tfjs ${backend}, fast path`] = (n * c.epochs) /
      median(Array.from({ length: reps }, () => fast(c.hidden, c.batch, c.epochs)));
    if (backend === "wasm") row(c.name)[`tfjs ${backend}, autodiff loop`] = (n * c.epochs) / autodiff(c.hidden, c.batch, c.epochs);
  }
  const opts = TrainOptions.parse({ batchSize: 64, epochs: 1 });
  const members = grid.map(member);
  row("stacked")[`tfjs ${backend}, fast path`] = seconds(() =>
    trainMlps(members, { input: 784, classes: 10, train: part, training: opts, rng })
  );
  if (backend === "wasm") {
    row("one by one")[`tfjs ${backend}, fast path`] = seconds(() =>
      members.forEach((m) => trainMlps([m], { input: 784, classes: 10, train: part, training: opts, rng }))
    );
    row("one by one")[`tfjs ${backend}, autodiff loop`] = seconds(() => members.forEach((m) => autodiffTrain(m, opts)));
  }
  tf.dispose([part.x, part.y, part.oneHot]);
}
rows["stacked"].case = "search workload: 40 grid MLPs, 1 epoch, batch 64, trained as stacks (total s)";
rows["one by one"].case = "search workload: the same 40 MLPs one after another (total s)";
const py = torchPython();
if (py) {
  const peerCases = [...cases, { name: "search", search: grid, batch: 64, epochs: 1 }];
  for (const threads of [1, 2]) {
    const out = new Deno.Command(py, {
      args: [new URL("./peers/torch_train.py", import.meta.url).pathname, String(threads), JSON.stringify(peerCases), String(reps)],
      stdout: "piped",
    }).outputSync();
    for (const line of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
      const r = JSON.parse(line);
      if (r.case === "search") rows["one by one"][`PyTorch ${threads} thread(s)`] = r.seconds;
      else if (r.case === "search-stacked") rows["stacked"][`PyTorch ${threads} thread(s)`] = r.seconds;
      else rows[r.case][`PyTorch ${threads} thread(s)`] = r.samples_per_s;
    }
  }
  // how many times slower than PyTorch on 1 thread (below 1: faster); the search rows compare total
  // seconds, the stacked row against PyTorch one after another (the goal) and stacked alike
  for (const r of Object.values(rows)) {
    const mine = r["tfjs wasm, fast path"] as number, peer = r["PyTorch 1 thread(s)"] as number;
    r["wasm fast path: × PyTorch 1 thread time"] = String(r.case).startsWith("search") ? mine / peer : peer / mine;
  }
}
printTable(
  `MLP training on random 5,000 × 784 data, Adam (samples/s; search rows: total seconds)${
    py ? "" : " — PyTorch not installed (apt-get install python3-torch), peer columns omitted"
  }`,
  Object.values(rows),
);
if (py) {
  const stacked = rows["stacked"]["tfjs wasm, fast path"] as number, peer = rows["one by one"]["PyTorch 1 thread(s)"] as number;
  console.log(
    `\nSearch workload, the issue's goal: tfjs wasm stacked ${stacked.toFixed(2)} s against PyTorch (1 thread) one model after another ${
      peer.toFixed(2)
    } s: ${(stacked / peer).toFixed(2)}× its time.`,
  );
}

// Memory: peak RSS of the real CLI training one 40-model search (grid, ±HLS, 1 seed) on MNIST 5,000/2,500.
{
  const { runMeasured } = await import("./_util.ts");
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  const dir = await Deno.makeTempDir({ prefix: "hpo-bench-mem-" });
  Deno.writeTextFileSync(
    `${dir}/c.json`,
    JSON.stringify({
      splits: { mnist: { dataset: "mnist", nTrain: 5000, nVal: 2500 } },
      search: { splits: ["mnist"], methods: ["grid"], seeds: [1], budget: 40, budgets: { short: { epochs: 1, batchSize: 64 } } },
    }),
  );
  const r = await runMeasured(Deno.execPath(), [
    "run",
    "-A",
    `${root}/main.ts`,
    "reproduce",
    "--config",
    `${dir}/c.json`,
    "--store",
    `${dir}/store`,
    "--quiet",
  ]);
  await Deno.remove(dir, { recursive: true });
  printTable("Memory of a 40-model search (MNIST, grid ± HLS, 1 epoch each, through the CLI)", [
    { what: "exit code", value: r.code },
    { what: "wall s (fetch, subsample, 40 trainings, 40 HLS)", value: r.seconds },
    { what: "peak RSS MB", value: r.peakMb },
    { what: "goal MB", value: 2000 },
  ]);
}
