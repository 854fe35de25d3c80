// H[B, B] by the batched, row-restricted R-operator (bilevel/hessian/hessian_block.ts) against what it replaces
// (one full HVP per column, read at B's rows) and against central differences of the float64 gradient.
import { assert, assertThrows } from "../../assert.ts";
import { useBackend } from "../../../nn/backend.ts";
import { Rng } from "../../../data/rng.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { MlpDerivatives } from "../../../bilevel/hessian/hvp.ts";
import { lossGrad64 } from "../../ref/mlp64.ts";

await useBackend("cpu");

/** A random MLP on random data: sizes, float32 weights and their float64 flat copy. */
function problem(seed: number, sizes: number[], n: number) {
  const rng = new Rng(seed);
  const x = new Uint8Array(n * sizes[0]).map(() => rng.int(256));
  const y = new Uint8Array(n).map(() => rng.int(sizes.at(-1)!));
  const weights: Float32Array[] = [];
  for (let l = 0; l < sizes.length - 1; l++) {
    weights.push(Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => rng.normal() * 0.7));
    weights.push(Float32Array.from({ length: sizes[l + 1] }, () => rng.normal() * 0.3));
  }
  const theta = Float64Array.from(weights.flatMap((w) => [...w]));
  return { rng, x, y, weights, theta, x64: Float64Array.from(x, (v) => v / 255), labels: [...y] };
}

/** k distinct parameter indices, sorted (as a block is). */
function drawBlock(rng: Rng, count: number, k: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, Math.min(k, count)).sort((a, b) => a - b);
}

/** H[B, B] the old way: one full HVP per column of B, read at B's rows. */
function byColumns(d: MlpDerivatives, count: number, block: number[], withPenalty: boolean): Float64Array {
  const bm = block.length;
  const out = new Float64Array(bm * bm);
  const e = new Float32Array(count);
  block.forEach((j, c) => {
    e.fill(0);
    e[j] = 1;
    const col = d.hvp(e, withPenalty);
    block.forEach((i, r) => (out[r * bm + c] = col[i]));
  });
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

// The whole input domain the searches and Section II meet: no hidden layer (the output layer is the first),
// one to three hidden layers, blocks in any layer, of weights and biases, from one entry to every parameter.
const shapes = [[7, 3], [7, 4, 3], [6, 5, 4, 3], [5, 3, 3, 2, 4]];
Deno.test("H[B, B] equals one full HVP per column read at B's rows, over random models, blocks and λ (40 cases)", () => {
  let cases = 0;
  for (let seed = 1; seed <= 10; seed++) {
    for (const sizes of shapes) {
      const p = problem(seed * 7 + sizes.length, sizes, 30);
      const part = toTensorPart({ x: p.x, y: p.y }, sizes.at(-1)!);
      const L = sizes.length - 1;
      const groups = Array.from({ length: L }, (_, l) => l % 2);
      const lambdas = seed % 3 === 0 ? [0, 0] : [0.05 * seed, 0.01];
      const d = new MlpDerivatives({ weights: p.weights, sizes, groups, lambdas }, part);
      try {
        const count = p.theta.length;
        const k = [1, 2, 5, 13, count][seed % 5];
        const block = drawBlock(p.rng, count, k);
        const withPenalty = seed % 2 === 0;
        const fast = d.hessianBlock(block, { withPenalty });
        const ref = byColumns(d, count, block, withPenalty);
        const { diff, scale } = maxAbsDiff(fast, ref);
        assert(diff <= 1e-5 * Math.max(scale, 1e-3), `sizes ${sizes} block ${block}: max diff ${diff} (scale ${scale})`);
        cases++;
      } finally {
        d.dispose();
        disposePart(part);
      }
    }
  }
  assert(cases === 40);
});

Deno.test("H[B, B] matches central differences of the float64 gradient (penalty on the diagonal of weights only)", () => {
  const sizes = [6, 5, 4, 3];
  const p = problem(5, sizes, 24);
  const part = toTensorPart({ x: p.x, y: p.y }, 3);
  const groups = [0, 1, 1], lambdas = [0.3, 0.07];
  const d = new MlpDerivatives({ weights: p.weights, sizes, groups, lambdas }, part);
  try {
    // a weight and a bias of every layer
    const block = [0, 17, 30, 33, 35, 50, 55, 58, 60, 71, 73];
    const h = d.hessianBlock(block);
    const eps = 1e-5, bm = block.length;
    for (const [c, j] of block.entries()) {
      const tp = p.theta.slice(), tm = p.theta.slice();
      tp[j] += eps;
      tm[j] -= eps;
      const gp = lossGrad64(tp, sizes, p.x64, p.labels, groups, lambdas).grad;
      const gm = lossGrad64(tm, sizes, p.x64, p.labels, groups, lambdas).grad;
      for (const [r, i] of block.entries()) {
        const fd = (gp[i] - gm[i]) / (2 * eps);
        assert(Math.abs(h[r * bm + c] - fd) <= 1e-4 * Math.max(1, Math.abs(fd)), `H[${i}, ${j}] = ${h[r * bm + c]}, float64 ${fd}`);
      }
    }
  } finally {
    d.dispose();
    disposePart(part);
  }
});

Deno.test("H[B, B] is the same in one chunk, in chunks of 3 columns and column by column", () => {
  const sizes = [7, 4, 4, 3];
  const p = problem(9, sizes, 40);
  const part = toTensorPart({ x: p.x, y: p.y }, 3);
  const d = new MlpDerivatives({ weights: p.weights, sizes, groups: [0, 0, 0], lambdas: [0.1] }, part);
  try {
    const block = drawBlock(p.rng, p.theta.length, 11);
    const chunks: number[] = [];
    const whole = d.hessianBlock(block);
    const byThree = d.hessianBlock(block, { maxFloats: 3 * 40 * 4, onChunk: (done) => chunks.push(done) });
    const byOne = d.hessianBlock(block, { maxFloats: 1 });
    assert(chunks.join() === "3,6,9,11", `chunks ${chunks}`);
    for (const other of [byThree, byOne]) assert(maxAbsDiff(other, whole).diff === 0, "chunking changed a value");
  } finally {
    d.dispose();
    disposePart(part);
  }
});

Deno.test("an index outside the model is refused with the model's parameter count", () => {
  const sizes = [4, 3];
  const p = problem(2, sizes, 8);
  const part = toTensorPart({ x: p.x, y: p.y }, 3);
  const d = new MlpDerivatives({ weights: p.weights, sizes, groups: [0], lambdas: [0] }, part);
  try {
    assertThrows(() => d.hessianBlock([0, 15]), /parameter 15 is outside the model \(15 parameters\)/);
    assertThrows(() => d.hessianBlock([-1]), /parameter -1 is outside the model/);
  } finally {
    d.dispose();
    disposePart(part);
  }
});
