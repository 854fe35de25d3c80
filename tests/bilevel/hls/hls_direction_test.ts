// The solver dispatcher of LP (11) (bilevel/hls/hls_direction.ts): which path each setting takes, that every
// path it reports solved gives a direction inside LP (11)'s feasible set, that the exact paths agree on the same
// block, and that a refused or failed solve leaves the model unchanged (a zero direction) with the reason.
import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { useBackend } from "../../../nn/backend.ts";
import { Rng } from "../../../data/rng.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { MlpDerivatives, objectiveGradient } from "../../../bilevel/hessian/hvp.ts";
import { type Direction, type DirectionOptions, solveDirection } from "../../../bilevel/hls/hls_direction.ts";
import { HlsOptions } from "../../../bilevel/hls/hls_options.ts";

await useBackend("cpu");

/** A small MLP 6-5-3 on 40 random examples, λ in two groups, with ∇_w F from a second draw of data. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const sizes = [6, 5, 3];
  const part = (n: number) =>
    toTensorPart({ x: new Uint8Array(n * 6).map(() => rng.int(256)), y: new Uint8Array(n).map(() => rng.int(3)) }, 3);
  const weights: Float32Array[] = [];
  for (let l = 0; l < sizes.length - 1; l++) {
    weights.push(Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => rng.normal() * 0.5));
    weights.push(Float32Array.from({ length: sizes[l + 1] }, () => rng.normal() * 0.1));
  }
  const model = { weights, sizes, groups: [0, 1], lambdas: [0.01, 0.003] };
  const train = part(40), select = part(30);
  const dTrain = new MlpDerivatives(model, train);
  const w0 = Float64Array.from(weights.flatMap((w) => [...w]));
  const input = {
    ...model,
    coordinateFactor: [0.5, 0.25],
    lower: [-1, -1],
    upper: [1, 1],
    w0,
    gradF: Float64Array.from(objectiveGradient(model, select, false)),
    dTrain,
    train,
  };
  return { input, dispose: () => [train, select].forEach(disposePart), dTrain };
}

/** Runs `body` on problem(seed), freeing its tensors afterwards whatever happens. */
async function withProblem(seed: number, body: (p: ReturnType<typeof problem>) => Promise<void>): Promise<void> {
  const p = problem(seed);
  try {
    await body(p);
  } finally {
    p.dispose();
    p.dTrain.dispose();
  }
}

const options = (o: Partial<DirectionOptions>): DirectionOptions => ({ ...HlsOptions.parse({}), ...o });

/** LP (11)'s feasible set: |dw_j| ≤ δ, dc inside its box, and nothing moved outside the block. */
function assertFeasible(d: Direction, o: DirectionOptions, input: ReturnType<typeof problem>["input"], label: string) {
  const maxDw = d.dw.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assert(maxDw <= o.delta * (1 + 1e-9), `${label}: |dw| ${maxDw} > δ ${o.delta}`);
  d.dc.forEach((c, k) => assert(c >= input.lower[k] - 1e-9 && c <= input.upper[k] + 1e-9, `${label}: dc[${k}] = ${c} outside its box`));
  const moved = d.dw.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
  assert(moved <= d.blockSize, `${label}: ${moved} weights moved, block of ${d.blockSize}`);
}

Deno.test("dispatch: each solver setting takes its path, and every solved direction is feasible for LP (11)", async () => {
  await withProblem(3, async (p) => {
    const cases: [Partial<DirectionOptions>, Direction["path"]][] = [
      [{ solver: "simplex", block: "output" }, "simplex"],
      [{ solver: "highs", block: "output" }, "highs"],
      [{ solver: "pdlp", block: "output" }, "pdlp"],
      // the output layer is 5·3 + 3 = 18 parameters: above maxLpWeights, auto goes matrix-free
      [{ solver: "auto", block: "output", maxLpWeights: 10, delta: 1e-6 }, "pdlp"],
    ];
    for (const [o, path] of cases) {
      const opts = options(o);
      const d = await solveDirection(p.input, opts);
      assertEquals([d.solved, d.path], [true, path], `${JSON.stringify(o)}: ${d.notes.join("; ")}`);
      assertEquals(d.blockSize, 5 * 3 + 3, "the output layer's weights and biases");
      assertFeasible(d, opts, p.input, JSON.stringify(o));
    }
  });
});

Deno.test("dispatch: the dense simplex and HiGHS give the same optimum on the same block", async () => {
  await withProblem(11, async (p) => {
    const a = await solveDirection(p.input, options({ solver: "simplex", block: "output" }));
    const b = await solveDirection(p.input, options({ solver: "highs", block: "output" }));
    assert(a.solved && b.solved, [...a.notes, ...b.notes].join("; "));
    // LP (11)'s objective ∇_w F · dw (the λ part has no first-order term here): equal optima, whichever vertex each returns
    const obj = (d: Direction) => d.dw.reduce((s, v, j) => s + v * p.input.gradF[j], 0);
    const scale = Math.max(1e-12, Math.abs(obj(a)));
    assert(Math.abs(obj(a) - obj(b)) <= 1e-6 * scale, `objectives ${obj(a)} and ${obj(b)}`);
  });
});

Deno.test("dispatch: a refused or impossible solve leaves the model unchanged and says why", async () => {
  await withProblem(5, async (p) => {
    const zero = (d: Direction) => d.dw.every((v) => v === 0) && d.dc.every((v) => v === 0);
    // an exact solver over a block larger than maxLpWeights is refused, naming the setting
    const big = await solveDirection(p.input, options({ solver: "simplex", block: "all", maxLpWeights: 20 }));
    assert(!big.solved && big.path === "none" && zero(big));
    assertMatch(big.notes.join("; "), /exceeds maxLpWeights = 20/);
    // 'closed-form' without its fallback: solved over all weights, or unchanged with the reason
    const cf = await solveDirection(p.input, options({ solver: "closed-form", delta: 1e-9 }));
    if (cf.solved) assertEquals(cf.path, "closed-form");
    else {
      assert(zero(cf));
      assertMatch(cf.notes.join("; "), /no fallback, model unchanged/);
    }
  });
});
