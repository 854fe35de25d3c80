// H[B, B] for the ablation's 'topk' block (the 40 weights of largest |∇_w F|, all layers) on models of the
// search space: the batched, row-restricted R-operator (bilevel/hessian/hessian_block.ts) beside its peer,
// one full HVP per column read at B's rows (what hls_direction.ts did before), on the same model and data,
// interleaved; and the largest difference between the two. `--quick`: fewer repetitions.
import { useBackend } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { disposePart, toTensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes } from "../nn/mlp.ts";
import { MlpDerivatives } from "../bilevel/hessian/hvp.ts";
import { median, printTable } from "./_util.ts";

await useBackend("wasm");
const reps = Deno.args.includes("--quick") ? 3 : 7;
const rng = new Rng(3);
const n = 5000;
const part = toTensorPart({ x: new Uint8Array(n * 784).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(10)) }, 10);
const rows: Record<string, string | number>[] = [];
for (const [hidden, k] of [[[], 40], [[15], 40], [[15, 15, 15], 40], [[50, 50, 50, 50, 50], 150]] as [number[], number][]) {
  const spec = { input: 784, hidden, classes: 10 };
  const weights = initWeights(spec, rng);
  const sizes = layerSizes(spec);
  const d = new MlpDerivatives({ weights, sizes, groups: new Array(sizes.length - 1).fill(0), lambdas: [1e-3] }, part);
  const count = weights.reduce((a, w) => a + w.length, 0);
  // the block as selectBlock draws it: the k entries of largest |gradient|
  const { grad } = d.gradient();
  const block = Array.from({ length: count }, (_, i) => i).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]) || a - b)
    .slice(0, k).sort((a, b) => a - b);
  const byColumns = () => {
    const e = new Float32Array(count), out = new Float64Array(k * k);
    block.forEach((j, c) => {
      e.fill(0);
      e[j] = 1;
      const col = d.hvp(e);
      block.forEach((i, r) => (out[r * k + c] = col[i]));
    });
    return out;
  };
  const [a, b] = [d.hessianBlock(block), byColumns()];
  let diff = 0, scale = 0;
  a.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - b[i])), scale = Math.max(scale, Math.abs(b[i]))));
  const tBlock: number[] = [], tColumns: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    d.hessianBlock(block);
    tBlock.push(performance.now() - t);
    t = performance.now();
    byColumns();
    tColumns.push(performance.now() - t);
  }
  d.dispose();
  rows.push({
    model: `784-${hidden.join("-") || "(none)"}-10`,
    "|B|": k,
    "batched R-operator (ms)": median(tBlock).toFixed(0),
    "one HVP per column (ms)": median(tColumns).toFixed(0),
    speedup: `${(median(tColumns) / median(tBlock)).toFixed(1)}×`,
    "max |difference| / max |H|": (diff / scale).toExponential(1),
  });
}
disposePart(part);
printTable(`H[B, B] on ${n} examples (medians of ${reps}, interleaved)`, rows);
