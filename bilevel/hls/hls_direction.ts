import { parameterOffsets, type Weights } from "../../nn/mlp.ts";
import type { TensorPart } from "../../nn/data_tensors.ts";
import type { MlpDerivatives } from "../hessian/hvp.ts";
import { type LpSolution, solveDirectionLp } from "../lp/lp.ts";
import { solveBlockLp } from "../lp/lp_block.ts";
import { solvePdlp } from "../pdlp/pdlp.ts";
import { closedFormDirection } from "../lp/closed_form.ts";
import type { DirectionOptions } from "./hls_options.ts";
import type { HlsPath } from "./hls_records.ts";
import { outputLayerHessian, outputLayerHessianSubset } from "../hessian/output_hessian.ts";

// The LP settings a direction needs: the science's schema, beside HLS's other options (no TensorFlow.js there).
export type { DirectionOptions } from "./hls_options.ts";

/** Everything LP (11) is built from, in the coordinates c of λ the search moves (lambda_scale.ts). */
export interface DirectionInput {
  sizes: number[];
  weights: Weights;
  groups: number[];
  lambdas: number[];
  /** dλ_k/dc_k at the current λ: column k of H_wc is 2·w_(k)·factor_k. */
  coordinateFactor: number[];
  /** Box on dc_k. */
  lower: number[];
  upper: number[];
  w0: Float64Array;
  /** ∇_w F on the data that selects the step (length m). */
  gradF: Float64Array;
  dTrain: MlpDerivatives;
  train: TensorPart;
}

/** The direction (dc, dw) over all parameters, or zeros with the reason. */
export interface Direction {
  solved: boolean;
  path: HlsPath;
  /** The matrix-free solver's certificate, when it solved the LP. */
  certificate?: { relativeGap: number; primalResidual: number; dualResidual: number; iterations: number; hvps: number };
  dc: Float64Array;
  dw: Float64Array;
  blockSize: number;
  boxActive: number;
  lpStatus?: LpSolution["status"];
  lpSeconds: number;
  notes: string[];
}

/** Group index of each flat parameter (−1 for biases, which carry no λ). */
function groupOfParameters(inp: DirectionInput): Int32Array {
  const offsets = parameterOffsets(inp.dTrain.sizes);
  const groupOf = new Int32Array(inp.w0.length).fill(-1);
  for (const o of offsets) if (o.isWeight) groupOf.fill(inp.groups[o.layer], o.start, o.start + o.length);
  return groupOf;
}

/**
 * Solves LP (11) for the steepest-descent direction at (λ, w): the closed form over all weights where its
 * assumptions hold (solver closed-form or auto), else an exact LP solver on a block of weights. Never throws for a
 * solver failure: the direction is then zero and `notes` says why.
 */
export async function solveDirection(
  inp: DirectionInput,
  opts: DirectionOptions,
  onProgress?: (step: number, total: number, label: string) => void,
): Promise<Direction> {
  const groupOf = groupOfParameters(inp);
  const cols: Columns = { groupOf, colScale: (j) => (groupOf[j] >= 0 ? 2 * inp.w0[j] * inp.coordinateFactor[groupOf[j]] : 0) };
  const out: Direction = {
    solved: false,
    path: "none",
    dc: new Float64Array(inp.lambdas.length),
    dw: new Float64Array(inp.w0.length),
    blockSize: 0,
    boxActive: 0,
    lpSeconds: 0,
    notes: [],
  };
  if (opts.solver === "auto" || opts.solver === "closed-form") {
    const done = closedFormFirst(inp, opts, cols, out);
    if (done) return done;
  }
  const block = lpBlock(inp, opts, out.notes);
  out.blockSize = block.indices.length;
  if (opts.solver === "pdlp" || (opts.solver === "auto" && block.indices.length > opts.maxLpWeights)) {
    return matrixFreeDirection(inp, opts, block.indices, cols, out);
  }
  if (block.indices.length > opts.maxLpWeights) {
    out.notes.push(
      `LP block of ${block.indices.length} weights exceeds maxLpWeights = ${opts.maxLpWeights}; choose block 'output' or 'topk'`,
    );
    return out;
  }
  return await highsDirection({ inp, opts, block, cols, out, onProgress });
}

/** H_wλ's columns: the group of each flat parameter (−1: a bias) and its entry 2·w_j·dλ/dc of that group. */
interface Columns {
  groupOf: Int32Array;
  colScale: (j: number) => number;
}

/**
 * The closed form over all weights: the direction when it applies and stays inside the δ box, or, for solver
 * 'closed-form', the zero direction with the reason. Undefined (with notes) when an LP solver should follow.
 */
function closedFormFirst(inp: DirectionInput, opts: DirectionOptions, cols: Columns, out: Direction): Direction | undefined {
  const n = inp.lambdas.length, m = inp.w0.length;
  const { groupOf, colScale } = cols;
  const cf = closedFormDirection({
    hvp: (v) => Float64Array.from(inp.dTrain.hvp(Float32Array.from(v))),
    gradF: inp.gradF,
    gradLambdaF: new Float64Array(n),
    hWLtimes: (dc) => Float64Array.from({ length: m }, (_, j) => (groupOf[j] >= 0 ? colScale(j) * dc[groupOf[j]] : 0)),
    hLWtimes: (u) => {
      const r = new Float64Array(n);
      for (let j = 0; j < m; j++) if (groupOf[j] >= 0) r[groupOf[j]] += colScale(j) * u[j];
      return r;
    },
    lambdas: inp.lambdas,
    dLambdaLower: inp.lower,
    dLambdaUpper: inp.upper,
    epsilon: opts.epsilon,
  });
  if (cf.ok) {
    const maxDw = cf.dw.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    if (maxDw <= opts.delta) return { ...out, solved: true, path: "closed-form", dc: cf.dLambda, dw: cf.dw, blockSize: m };
    out.notes.push(`closed form's |dw| reaches ${maxDw.toExponential(2)} > δ = ${opts.delta}: the box would bind`);
  } else out.notes.push(`closed form not applicable: ${cf.reason}`);
  if (opts.solver === "closed-form") {
    out.notes.push("solver 'closed-form' requested: no fallback, model unchanged");
    return out;
  }
  out.notes.push("falling back to an LP solver on the block");
  return undefined;
}

/**
 * LP (11) on the block with H_ww formed (output-layer closed form, or HVP columns): by HiGHS for solver
 * 'highs', else first by the certified dense dual simplex (lp_block.ts), HiGHS where it cannot certify.
 */
async function highsDirection(a: {
  inp: DirectionInput;
  opts: DirectionOptions;
  block: LpBlock;
  cols: Columns;
  out: Direction;
  onProgress?: (step: number, total: number, label: string) => void;
}): Promise<Direction> {
  const { inp, opts, block, out } = a;
  const n = inp.lambdas.length;
  const hWW = blockHessian(inp, block, a.onProgress);
  const bm = block.indices.length;
  const hWL = new Float64Array(bm * n);
  block.indices.forEach((j, r) => {
    if (a.cols.groupOf[j] >= 0) hWL[r * n + a.cols.groupOf[j]] = a.cols.colScale(j);
  });
  const solve = opts.solver === "highs" ? solveDirectionLp : solveBlockLp;
  const sol = await solve({
    gradF: Float64Array.from(block.indices, (j) => inp.gradF[j]),
    gradLambdaF: new Float64Array(n),
    hWL,
    hWW,
    lambdas: inp.lambdas,
    dLambdaLower: inp.lower,
    dLambdaUpper: inp.upper,
    epsilon: opts.epsilon,
    delta: opts.delta,
  }, { timeLimitS: opts.timeLimitS });
  Object.assign(out, { lpSeconds: sol.seconds, lpStatus: sol.status, boxActive: sol.boxActive });
  if (sol.solver === "dense-simplex") {
    out.notes.push(`LP by the dense dual simplex from the closed-form basis: ${sol.pivots} pivots, certified`);
  }
  if (sol.fallback) out.notes.push(`LP by HiGHS: ${sol.fallback}`);
  if (sol.status !== "optimal") {
    out.notes.push(`LP ${sol.status} (${sol.solverStatus}): model unchanged`);
    return out;
  }
  block.indices.forEach((j, r) => (out.dw[j] = sol.dw![r]));
  if (sol.boxActive > 0) out.notes.push(`trust-region box binds on ${sol.boxActive} of ${bm} weights`);
  if (sol.dropped) out.notes.push(`HiGHS held ${sol.dropped} matrix coefficients below 1e-12 of their row's largest as 0`);
  return { ...out, solved: true, path: sol.solver === "dense-simplex" ? "simplex" : "highs", dc: sol.dLambda! };
}

/**
 * LP (11) on the block by the matrix-free PDLP solver (bilevel/pdlp/pdlp.ts): H_ww only through exact HVPs of the
 * whole network restricted to the block, so any block size works, the whole network included.
 */
function matrixFreeDirection(
  inp: DirectionInput,
  opts: DirectionOptions,
  block: number[],
  h: Columns,
  out: Direction,
): Direction {
  const n = inp.lambdas.length, m = inp.w0.length, bm = block.length;
  const full = new Float32Array(m);
  const hvp = (v: Float64Array) => {
    full.fill(0);
    block.forEach((j, r) => (full[j] = v[r]));
    const hv = inp.dTrain.hvp(full);
    return Float64Array.from(block, (j) => hv[j]);
  };
  const sol = solvePdlp({
    gradLambdaF: new Float64Array(n),
    gradF: Float64Array.from(block, (j) => inp.gradF[j]),
    hvp,
    hWLtimes: (dc) => Float64Array.from(block, (j) => (h.groupOf[j] >= 0 ? h.colScale(j) * dc[h.groupOf[j]] : 0)),
    hLWtimes: (u) => {
      const r = new Float64Array(n);
      block.forEach((j, i) => {
        if (h.groupOf[j] >= 0) r[h.groupOf[j]] += h.colScale(j) * u[i];
      });
      return r;
    },
    lambdaLower: Float64Array.from(inp.lower),
    lambdaUpper: Float64Array.from(inp.upper),
    epsilon: opts.epsilon,
    delta: opts.delta,
  }, { tolerance: opts.pdlpTolerance, timeLimitS: opts.timeLimitS });
  const certificate = {
    relativeGap: sol.relativeGap,
    primalResidual: sol.primalResidual,
    dualResidual: sol.dualResidual,
    iterations: sol.iterations,
    hvps: sol.hvps,
  };
  Object.assign(out, {
    lpSeconds: sol.seconds,
    lpStatus: sol.status === "iteration-limit" ? "time-limit" : sol.status,
    boxActive: sol.boxActive,
    certificate,
  });
  // a time or iteration limit still returns a feasible direction with its certified gap: use it and say so
  if (!sol.dw || !sol.dLambda || sol.status === "error" || sol.status === "infeasible") {
    out.notes.push(`matrix-free LP ${sol.status}${sol.message ? ` (${sol.message})` : ""}: model unchanged`);
    return out;
  }
  block.forEach((j, r) => (out.dw[j] = sol.dw![r]));
  out.notes.push(
    `matrix-free LP (PDLP) on ${bm} weights: ${sol.status}, relative gap ${
      sol.relativeGap.toExponential(1)
    }, ${sol.iterations} iterations, ${sol.hvps} HVPs` +
      (sol.boxActive ? `; trust-region box binds on ${sol.boxActive}` : ""),
  );
  return { ...out, solved: true, path: "pdlp", dc: sol.dLambda };
}

/** The block of weights in the LP: indices into the flat parameters, and how its Hessian is formed. */
interface LpBlock {
  indices: number[];
  kind: "output" | "output-subset" | "columns";
  outputStart: number;
}

function lpBlock(inp: DirectionInput, opts: DirectionOptions, notes: string[]): LpBlock {
  const offsets = parameterOffsets(inp.dTrain.sizes);
  const outputStart = offsets[offsets.length - 2].start;
  let indices = selectBlock(opts, offsets, inp.gradF);
  if (opts.block !== "output") return { indices, kind: "columns", outputStart };
  if (indices.length <= opts.maxLpWeights) return { indices, kind: "output", outputStart };
  // e.g. no hidden layer: 784×10 + 10 output weights. Keep the k with the largest |∇_w F|.
  indices = [...indices].sort((x, y) => Math.abs(inp.gradF[y]) - Math.abs(inp.gradF[x]) || x - y).slice(0, opts.k).sort((x, y) => x - y);
  notes.push(`output layer too large for the LP: using its ${indices.length} weights with the largest |∇_w F|`);
  return { indices, kind: "output-subset", outputStart };
}

/** H_ww on the block, symmetrised (float32 rounding makes HVP columns slightly asymmetric). */
function blockHessian(
  inp: DirectionInput,
  block: LpBlock,
  onProgress?: (step: number, total: number, label: string) => void,
): Float64Array {
  const bm = block.indices.length;
  const lambdaOut = inp.lambdas[inp.groups[inp.groups.length - 1]] ?? 0;
  let hWW: Float64Array;
  if (block.kind === "output") hWW = outputLayerHessian(inp, inp.train, lambdaOut);
  else if (block.kind === "output-subset") {
    hWW = outputLayerHessianSubset(inp, inp.train, lambdaOut, block.indices.map((j) => j - block.outputStart));
  } else hWW = inp.dTrain.hessianBlock(block.indices, { onChunk: (done, total) => onProgress?.(done, total, "H_ww columns") });
  for (let r = 0; r < bm; r++) {
    for (let c = r + 1; c < bm; c++) hWW[r * bm + c] = hWW[c * bm + r] = (hWW[r * bm + c] + hWW[c * bm + r]) / 2;
  }
  return hWW;
}

/** Flat indices of the weights that enter the LP. */
export function selectBlock(
  opts: Pick<DirectionOptions, "block" | "k">,
  offsets: ReturnType<typeof parameterOffsets>,
  gradF: Float64Array,
): number[] {
  if (opts.block === "all") return Array.from({ length: gradF.length }, (_, i) => i);
  if (opts.block === "output") {
    const last = offsets.slice(-2);
    return last.flatMap((o) => Array.from({ length: o.length }, (_, i) => o.start + i));
  }
  const idx = Array.from({ length: gradF.length }, (_, i) => i);
  idx.sort((a, b) => Math.abs(gradF[b]) - Math.abs(gradF[a]) || a - b);
  return idx.slice(0, Math.min(opts.k, idx.length)).sort((a, b) => a - b);
}
