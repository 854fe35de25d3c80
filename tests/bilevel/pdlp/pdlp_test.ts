import { assert, assertEquals } from "../../assert.ts";
import { Rng } from "../../../data/rng.ts";
import { type OperatorLp, solveOperatorLp } from "../../../bilevel/pdlp/pdlp_core.ts";
import { type MatrixFreeLp, solvePdlp } from "../../../bilevel/pdlp/pdlp.ts";
import { solveDirectionLp } from "../../../bilevel/lp/lp.ts";
import { useBackend } from "../../../nn/backend.ts";
import { disposePart, toTensorPart } from "../../../nn/data_tensors.ts";
import { MlpDerivatives } from "../../../bilevel/hessian/hvp.ts";
import { initWeights, layerSizes, mlpShapes, parameterOffsets } from "../../../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../../../nn/train.ts";

// ---------- dense helpers

/** y = A x for row-major A (r × c). */
function mv(A: Float64Array, r: number, c: number, x: Float64Array): Float64Array {
  const y = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += A[i * c + j] * x[j];
    y[i] = s;
  }
  return y;
}
/** y = Aᵀ x. */
function mtv(A: Float64Array, r: number, c: number, x: Float64Array): Float64Array {
  const y = new Float64Array(c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) y[j] += A[i * c + j] * x[i];
  return y;
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function denseLp(A: Float64Array, r: number, c: number, rest: Omit<OperatorLp, "apply" | "applyT">): OperatorLp {
  return { ...rest, apply: (x) => mv(A, r, c, x), applyT: (y) => mtv(A, r, c, y) };
}

/**
 * A random LP with a known optimum, built from complementary slackness: pick x*, y* and the active sets, then
 * set bounds and c so that (x*, y*) satisfy the KKT conditions. `degenerate` adds active rows with y* = 0
 * and variables at a bound with zero reduced cost.
 */
function knownOptimum(rng: Rng, r: number, c: number, degenerate: boolean) {
  const A = Float64Array.from({ length: r * c }, () => (rng.next() < 0.7 ? rng.normal() : 0));
  const colLower = new Float64Array(c), colUpper = new Float64Array(c), x = new Float64Array(c), rc = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const kind = rng.int(4); // 0 at lower, 1 at upper, 2 interior, 3 free interior
    const lo = rng.uniform(-2, 0), hi = rng.uniform(0.5, 2);
    colLower[j] = kind === 3 ? -Infinity : lo;
    colUpper[j] = kind === 3 ? Infinity : hi;
    x[j] = kind === 0 ? lo : kind === 1 ? hi : rng.uniform(lo + 0.1, hi - 0.1);
    const zero = degenerate && rng.next() < 0.3;
    rc[j] = kind === 0 && !zero ? rng.uniform(0.1, 1) : kind === 1 && !zero ? -rng.uniform(0.1, 1) : 0;
  }
  const ax = mv(A, r, c, x);
  const rowLower = new Float64Array(r), rowUpper = new Float64Array(r), y = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    const kind = rng.int(4); // 0 active lower, 1 active upper, 2 equality, 3 inactive
    const zero = degenerate && rng.next() < 0.3;
    if (kind === 0) {
      (rowLower[i] = ax[i], rowUpper[i] = rng.next() < 0.5 ? Infinity : ax[i] + rng.uniform(0.5, 2), y[i] = zero ? 0 : rng.uniform(0.1, 1));
    } else if (kind === 1) {
      (rowUpper[i] = ax[i],
        rowLower[i] = rng.next() < 0.5 ? -Infinity : ax[i] - rng.uniform(0.5, 2),
        y[i] = zero ? 0 : -rng.uniform(0.1, 1));
    } else if (kind === 2) (rowLower[i] = rowUpper[i] = ax[i], y[i] = rng.normal());
    else (rowLower[i] = ax[i] - rng.uniform(0.2, 1), rowUpper[i] = ax[i] + rng.uniform(0.2, 1), y[i] = 0);
  }
  const aty = mtv(A, r, c, y);
  const cvec = aty.map((v, j) => v + rc[j]);
  return { lp: denseLp(A, r, c, { c: cvec, rowLower, rowUpper, colLower, colUpper }), optimum: dot(cvec, x) };
}

for (const scheme of ["adaptive", "halpern"] as const) {
  Deno.test(`PDHG (${scheme}) finds the known optimum of random LPs (ranged, equality, one-sided rows; boxed and free variables)`, () => {
    const rng = new Rng(42);
    for (let t = 0; t < 12; t++) {
      const degenerate = t % 2 === 1;
      const [r, c] = [[5, 8], [12, 10], [20, 30], [30, 20]][t % 4];
      const { lp, optimum } = knownOptimum(rng, r, c, degenerate);
      const res = solveOperatorLp(lp, { tolerance: 1e-7, maxIterations: 200_000, seed: t, scheme });
      assertEquals(res.status, "optimal", `case ${t} (${r}×${c}, degenerate ${degenerate}): ${res.status} ${res.message ?? ""}`);
      const relErr = Math.abs(res.primalObjective - optimum) / Math.max(1, Math.abs(optimum));
      assert(relErr < 1e-5, `case ${t}: objective ${res.primalObjective} vs ${optimum} (rel ${relErr})`);
      assert(res.relPrimalResidual < 1e-6, `case ${t}: primal residual ${res.relPrimalResidual}`);
    }
  });

  Deno.test(`PDHG (${scheme}): infeasible LPs are reported as such, with a Farkas ray that checks out`, () => {
    const rng = new Rng(7);
    // x ∈ [0, 1]², x1 + x2 ≥ 3, plus random harmless rows
    const r = 4, c = 2;
    const A = Float64Array.from([1, 1, 1, -1, 0.5, 2, -1, 0.3]);
    const lp = denseLp(A, r, c, {
      c: Float64Array.of(1, 2),
      rowLower: Float64Array.of(3, -10, -10, -10),
      rowUpper: Float64Array.of(Infinity, 10, 10, 10),
      colLower: Float64Array.of(0, 0),
      colUpper: Float64Array.of(1, 1),
    });
    const res = solveOperatorLp(lp, { maxIterations: 20_000, scheme });
    assertEquals(res.status, "primal-infeasible", res.message);
    // Farkas: p(y) + min_{x∈X} (−Aᵀy)ᵀx > 0 for the returned ray
    const y = res.ray!;
    const g = mtv(A, r, c, y).map((v) => -v);
    let obj = 0;
    for (let i = 0; i < r; i++) obj += y[i] > 0 ? y[i] * lp.rowLower[i] : y[i] < 0 ? y[i] * lp.rowUpper[i] : 0;
    for (let j = 0; j < c; j++) obj += g[j] > 0 ? g[j] * lp.colLower[j] : g[j] * lp.colUpper[j];
    assert(obj > 0, `Farkas margin ${obj}`);
    // an inconsistent equality system, with free variables: x1 + x2 = 1, x1 + x2 = 2, random rows
    const B = Float64Array.from({ length: 5 * 3 }, () => rng.normal());
    B.set([1, 1, 0, 1, 1, 0], 0);
    const lp2 = denseLp(B, 5, 3, {
      c: Float64Array.of(1, 0, 0),
      rowLower: Float64Array.of(1, 2, -5, -5, -5),
      rowUpper: Float64Array.of(1, 2, 5, 5, 5),
      colLower: Float64Array.of(-Infinity, -Infinity, -3),
      colUpper: Float64Array.of(Infinity, Infinity, 3),
    });
    const r2 = solveOperatorLp(lp2, { maxIterations: 50_000, scheme });
    assertEquals(r2.status, "primal-infeasible", `${r2.status} ${r2.message ?? ""}`);
    // bounds that contradict each other are caught before iterating
    const r3 = solveOperatorLp({ ...lp, colLower: Float64Array.of(2, 0) });
    assertEquals(r3.status, "primal-infeasible");
  });

  Deno.test(`PDHG (${scheme}): an unbounded LP is reported dual-infeasible; bad operators are errors, not throws`, () => {
    // min −x1 s.t. x1 − x2 ≤ 1 (row), x1, x2 ≥ 0: unbounded along (1, 1)
    const A = Float64Array.of(1, -1);
    const lp = denseLp(A, 1, 2, {
      c: Float64Array.of(-1, 0),
      rowLower: Float64Array.of(-Infinity),
      rowUpper: Float64Array.of(1),
      colLower: Float64Array.of(0, 0),
      colUpper: Float64Array.of(Infinity, Infinity),
    });
    const res = solveOperatorLp(lp, { maxIterations: 20_000, scheme });
    assertEquals(res.status, "dual-infeasible", `${res.status} ${res.message ?? ""}`);
    assert(res.ray![0] > 0 && res.ray![0] - res.ray![1] <= 1e-6 * res.ray![0]);
    const bad = solveOperatorLp({ ...lp, apply: () => new Float64Array(5) });
    assertEquals(bad.status, "error");
    const thrower = solveOperatorLp({
      ...lp,
      applyT: () => {
        throw new Error("boom");
      },
    });
    assertEquals(thrower.status, "error");
    assert(/boom/.test(thrower.message ?? ""));
  });
}

// ---------- LP (11) against HiGHS

/** PDLP_VERBOSE=1 prints the figures behind the HiGHS comparisons. */
function verbose(label: string, rel: number, rows: number, r: { iterations: number; hvps: number; relativeGap: number; seconds: number }) {
  if (Deno.env.get("PDLP_VERBOSE")) {
    console.log(
      `${label}: rel. err ${rel.toExponential(2)}, max row excess ${rows.toExponential(2)}·ε, certified gap ${
        r.relativeGap.toExponential(2)
      }, ${r.iterations} it, ${r.hvps} products, ${r.seconds.toFixed(2)} s`,
    );
  }
}

/** Random symmetric indefinite H (m × m), H_wλ (m × n) and gradients, as a dense LP (11). */
function randomDirectionLp(rng: Rng, m: number, n: number) {
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) H[i * m + j] = H[j * m + i] = rng.normal() / Math.sqrt(m) + (i === j ? 0.3 * rng.normal() : 0);
  }
  const hWL = Float64Array.from({ length: m * n }, () => rng.normal() * 0.3);
  const gradF = Float64Array.from({ length: m }, () => rng.normal() * 0.01);
  return { H, hWL, gradF, gradLambdaF: Float64Array.from({ length: n }, () => rng.normal() * 0.01) };
}

function asMatrixFree(
  p: { H: Float64Array; hWL: Float64Array; gradF: Float64Array; gradLambdaF: Float64Array },
  lambdas: number[],
  epsilon: number,
  delta: number,
): MatrixFreeLp {
  const m = p.gradF.length, n = lambdas.length;
  return {
    gradF: p.gradF,
    gradLambdaF: p.gradLambdaF,
    hvp: (v) => mv(p.H, m, m, v),
    hWLtimes: (dl) => mv(p.hWL, m, n, dl),
    hLWtimes: (u) => mtv(p.hWL, m, n, u),
    lambdaLower: Float64Array.from(lambdas, (l) => (l <= 0 ? 0 : -1)),
    lambdaUpper: new Float64Array(n).fill(1),
    epsilon,
    delta,
  };
}

/** Max row violation relative to ε, and box violation, of a direction in the dense LP. */
function feasibility(p: { H: Float64Array; hWL: Float64Array }, mf: MatrixFreeLp, dl: Float64Array, dw: Float64Array) {
  const m = dw.length, n = dl.length;
  const k = mv(p.H, m, m, dw).map((v, j) => v + mv(p.hWL, m, n, dl)[j]);
  const rows = k.reduce((a, v) => Math.max(a, Math.abs(v) / mf.epsilon - 1), 0);
  let box = 0;
  for (let i = 0; i < n; i++) box = Math.max(box, mf.lambdaLower[i] - dl[i], dl[i] - mf.lambdaUpper[i]);
  for (const v of dw) box = Math.max(box, Math.abs(v) - mf.delta);
  return { rows, box };
}

Deno.test("LP (11): matrix-free PDLP matches HiGHS on random indefinite H (m = 20, 50, 100)", async () => {
  const rng = new Rng(3);
  for (const [m, n, lambdas] of [[20, 1, [0.1]], [50, 2, [0.1, 0]], [100, 3, [0.01, 0.2, 0]]] as const) {
    const p = randomDirectionLp(rng, m, n);
    const eps = 1e-3, delta = 1;
    const ref = await solveDirectionLp({ ...p, hWW: p.H, lambdas: [...lambdas], epsilon: eps, delta });
    assertEquals(ref.status, "optimal");
    const mf = asMatrixFree(p, [...lambdas], eps, delta);
    const res = solvePdlp(mf, { tolerance: 1e-6, maxIterations: 100_000 });
    assertEquals(res.status, "optimal", `m=${m}: ${res.status} ${res.message ?? ""}`);
    const rel = Math.abs(res.objective - ref.objective!) / Math.abs(ref.objective!);
    assert(rel < 1e-4, `m=${m}: PDLP ${res.objective} vs HiGHS ${ref.objective} (rel ${rel})`);
    // the certificate brackets HiGHS's optimum
    assert(
      res.dualBound <= ref.objective! + 1e-9 * Math.abs(ref.objective!),
      `dual bound ${res.dualBound} above the optimum ${ref.objective}`,
    );
    assert(res.objective >= ref.objective! - 1e-9 * Math.abs(ref.objective!), "objective below the optimum: infeasible direction");
    const f = feasibility(p, mf, res.dLambda!, res.dw!);
    verbose(`random m=${m}`, rel, f.rows, res);
    assert(f.rows <= 1e-9 && f.box <= 0, `m=${m}: rows exceed ε by ${f.rows}·ε, box by ${f.box}`);
    assertEquals(res.hvps % 1, 0);
    assert(res.hvps > 0);
  }
});

// ---------- real Hessians: a small trained MLP, output, top-k and whole-network blocks, against HiGHS

Deno.test("LP (11) on a trained MLP's exact Hessian (output, top-k, all weights): PDLP over HVPs matches HiGHS", async () => {
  await useBackend("cpu");
  const rng = new Rng(2);
  const mk = (k: number) =>
    toTensorPart({ x: new Uint8Array(k * 10).map(() => rng.int(256)), y: new Uint8Array(k).map(() => rng.int(3)) }, 3);
  const train = mk(200), val = mk(100);
  const spec = { input: 10, hidden: [6], classes: 3 };
  const sizes = layerSizes(spec);
  const groups = [0, 1], lambdas = [0.001, 0.01];
  const t = trainMlp({
    init: initWeights(spec, new Rng(1)),
    shapes: mlpShapes(sizes),
    train,
    objective: { groups, lambdas },
    training: TrainOptions.parse({ epochs: 5, batchSize: 32, learningRate: 0.01 }),
    rng: new Rng(3),
  });
  const dTrain = new MlpDerivatives({ weights: t.weights, sizes, groups, lambdas }, train);
  const dVal = new MlpDerivatives({ weights: t.weights, sizes, groups, lambdas }, val);
  try {
    const gradF = Float64Array.from(dVal.gradient(false).grad);
    const w0 = Float64Array.from(t.weights.flatMap((w) => [...w]));
    const M = w0.length;
    const offsets = parameterOffsets(mlpShapes(sizes));
    const groupOf = new Int32Array(M).fill(-1);
    for (const o of offsets) if (o.isWeight) groupOf.fill(groups[o.layer], o.start, o.start + o.length);
    const out = offsets.slice(-2);
    const blocks: Record<string, number[]> = {
      output: Array.from({ length: out[0].length + out[1].length }, (_, i) => out[0].start + i),
      top30: [...Array(M).keys()].sort((a, b) => Math.abs(gradF[b]) - Math.abs(gradF[a])).slice(0, 30).sort((a, b) => a - b),
      all: [...Array(M).keys()],
    };
    for (const [name, block] of Object.entries(blocks)) {
      const m = block.length, n = lambdas.length;
      const hvpBlock = (v: Float64Array) => {
        const full = new Float32Array(M);
        block.forEach((j, r) => (full[j] = v[r]));
        const h = dTrain.hvp(full);
        return Float64Array.from(block, (j) => h[j]);
      };
      // the dense block for HiGHS, from HVP columns, symmetrised
      const H = new Float64Array(m * m);
      for (let c = 0; c < m; c++) {
        const e = new Float64Array(m);
        e[c] = 1;
        H.set(hvpBlock(e), c * m);
      }
      for (let r = 0; r < m; r++) for (let c = r + 1; c < m; c++) H[r * m + c] = H[c * m + r] = (H[r * m + c] + H[c * m + r]) / 2;
      const hWL = new Float64Array(m * n);
      block.forEach((j, r) => groupOf[j] >= 0 && (hWL[r * n + groupOf[j]] = 2 * w0[j]));
      const p = { H, hWL, gradF: Float64Array.from(block, (j) => gradF[j]), gradLambdaF: new Float64Array(n) };
      const eps = 1e-3, delta = 1;
      const ref = await solveDirectionLp({ ...p, hWW: H, lambdas, epsilon: eps, delta });
      assertEquals(ref.status, "optimal", name);
      // PDLP on the dense copy of the exact Hessian block (HVPs of a tiny model cost ~3 ms each in tfjs: a
      // 20k-iteration solve over them belongs in the bench); the HVP path itself is checked below
      const mf = asMatrixFree(p, lambdas, eps, delta);
      const res = solvePdlp(mf, { tolerance: 1e-5, maxIterations: 100_000 });
      assert(res.status === "optimal", `${name}: ${res.status} ${res.message ?? ""}`);
      const rel = Math.abs(res.objective - ref.objective!) / Math.abs(ref.objective!);
      assert(rel < 1e-4, `${name} (m=${m}): PDLP ${res.objective} vs HiGHS ${ref.objective} (rel ${rel})`);
      assert(res.dualBound <= ref.objective! + 1e-9 * Math.abs(ref.objective!), `${name}: dual bound above HiGHS's optimum`);
      if (name === "output") {
        // the same solver over real float32 HVPs: 192 iterations track the dense run (same scaling seed)
        const short = { maxIterations: 192, tolerance: 1e-12 };
        const viaHvp = solvePdlp({ ...mf, hvp: hvpBlock }, short), viaDense = solvePdlp(mf, short);
        const d = Math.abs(viaHvp.objective - viaDense.objective) / Math.abs(viaDense.objective);
        assert(d < 1e-3, `HVP path ${viaHvp.objective} vs dense ${viaDense.objective}`);
        assertEquals(viaHvp.hvps, viaDense.hvps);
      }
      const f = feasibility(p, mf, res.dLambda!, res.dw!);
      verbose(`MLP ${name} m=${m}`, rel, f.rows, res);
      // feasible in HiGHS's LP (the symmetrised dense H) to the same tolerance
      assert(f.rows <= 1e-4 && f.box <= 0, `${name}: rows exceed ε by ${f.rows}·ε, box by ${f.box}`);
    }
  } finally {
    dTrain.dispose();
    dVal.dispose();
    disposePart(train);
    disposePart(val);
  }
});

Deno.test("LP (11) outcomes are values: time limit with a feasible direction and its certificate, bad inputs, zero objective", () => {
  const rng = new Rng(9);
  const p = randomDirectionLp(rng, 60, 1);
  const mf = asMatrixFree(p, [0.1], 1e-3, 1);
  const r = solvePdlp(mf, { tolerance: 1e-12, maxIterations: 64 });
  assertEquals(r.status, "iteration-limit");
  const f = feasibility(p, mf, r.dLambda!, r.dw!);
  assert(f.rows <= 1e-12 && f.box <= 0, "a stopped solve still returns a feasible direction");
  assert(r.dualBound <= r.objective && r.relativeGap > 0 && r.relativeGap < 1, `gap ${r.relativeGap}`);
  const t = solvePdlp(mf, { tolerance: 1e-12, timeLimitS: 0.05 });
  assertEquals(t.status, "time-limit");
  assertEquals(solvePdlp({ ...mf, lambdaLower: Float64Array.of(1), lambdaUpper: Float64Array.of(0) }).status, "infeasible");
  assertEquals(solvePdlp({ ...mf, epsilon: 0 }).status, "error");
  assertEquals(solvePdlp({ ...mf, hvp: () => new Float64Array(3) }).status, "error");
  const zero = solvePdlp({ ...mf, gradF: new Float64Array(60), gradLambdaF: new Float64Array(1) });
  assertEquals(zero.status, "optimal");
  assertEquals(zero.objective, 0);
});
