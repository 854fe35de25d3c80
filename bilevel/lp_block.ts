// LP (11) on a block of weights, solved first by the certified dense dual simplex warm-started at the
// block's closed-form basis, and by HiGHS whenever that cannot certify its answer.
//
// Why not HiGHS alone: on the output blocks HLS fine-tunes (m = 130-200 dense rows) HiGHS's WebAssembly
// build takes 50-100 ms a solve, most of it fixed cost (it factorises the dense basis with its sparse
// LU; warm-started at the optimal basis it still took 65 ms for 0 pivots), and its first use costs
// 60-90 ms of loading. The basis whose basic variables are all of dw is the closed form's (dw = H⁻¹(u −
// H_wλ dλ), every row on a bound, dλ on a bound): it is optimal outright when the δ box does not bind,
// and dual feasible always, so a dual simplex from it needs about one to three pivots per weight the box clips.
// It needs H_ww positive definite (Cholesky), which the ridge 2λ makes the output weights' block whenever
// it leaves out some of the biases (always so for the 200-weight subset of a model without a hidden layer).

import { type BoxedLp, denseDualSimplex } from "./dense_simplex.ts";
import {
  countBoxActive,
  type DirectionLp,
  LpCoefficientError,
  type LpSolution,
  scale2,
  type ScaledLp,
  scaleLp,
  solveDirectionLp,
} from "./lp.ts";

/** The scaled LP as a dense boxed LP: columns [dλ, dw], row j of the kept rows with its ±2^e_j·ε. */
function boxedFromScaled(s: ScaledLp): BoxedLp {
  const rows = s.rowOf.length, cols = s.n + s.m;
  const matrix = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = s.starts[r]; k < s.starts[r + 1]; k++) matrix[r * cols + s.indices[k]] = s.values[k];
  }
  return {
    numCols: cols,
    numRows: rows,
    cost: s.cost,
    colLower: s.colLower,
    colUpper: s.colUpper,
    rowLower: s.rowBound.map((b) => -b),
    rowUpper: s.rowBound,
    matrix,
  };
}

/**
 * H⁻¹ of a symmetric matrix by Cholesky (H = LLᵀ, H⁻¹ = L⁻ᵀL⁻¹; about m³/2 multiply-adds, a quarter of
 * Gauss-Jordan's), or undefined when a pivot is not positive beyond 1e-12 of the largest diagonal entry:
 * H is then not (numerically) positive definite.
 */
export function choleskyInverse(h: Float64Array, m: number): Float64Array | undefined {
  const l = new Float64Array(m * m);
  let maxDiag = 0;
  for (let i = 0; i < m; i++) maxDiag = Math.max(maxDiag, h[i * m + i]);
  for (let j = 0; j < m; j++) {
    let d = h[j * m + j];
    for (let k = 0; k < j; k++) d -= l[j * m + k] * l[j * m + k];
    if (!(d > 1e-12 * maxDiag)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let v = h[i * m + j];
      for (let k = 0; k < j; k++) v -= l[i * m + k] * l[j * m + k];
      l[i * m + j] = v / ljj;
    }
  }
  // X = L⁻¹ (lower triangular), row by row: X[i, :] = (e_i − Σ_{k<i} L[i, k] X[k, :]) / L[i, i]
  const x = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const o = i * m;
    for (let k = 0; k < i; k++) {
      const f = l[o + k];
      if (f === 0) continue;
      const ok = k * m;
      for (let c = 0; c <= k; c++) x[o + c] -= f * x[ok + c];
    }
    x[o + i] += 1;
    const inv = 1 / l[o + i];
    for (let c = 0; c <= i; c++) x[o + c] *= inv;
  }
  // H⁻¹ = XᵀX, symmetric: (XᵀX)[a, b] = Σ_{k ≥ max(a, b)} X[k, a] X[k, b]
  const inv = new Float64Array(m * m);
  for (let k = 0; k < m; k++) {
    const o = k * m;
    for (let a = 0; a <= k; a++) {
      const xa = x[o + a];
      if (xa === 0) continue;
      for (let b = 0; b <= a; b++) inv[a * m + b] += xa * x[o + b];
    }
  }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) inv[b * m + a] = inv[a * m + b];
  return inv;
}

/**
 * Solves LP (11) on the block exactly: the dense dual simplex from the closed-form basis (all of dw
 * basic) when the LP has a δ box and no empty rows, answering only with a certificate (bound violation
 * ≤ 1e-9, duality gap ≤ 1e-9 of the objective's scale, on the same power-of-two-scaled numbers HiGHS
 * gets); otherwise, or when the basis is singular (H_ww not invertible, as for an output block holding
 * every bias) or the certificate fails, HiGHS (solveDirectionLp), with the reason in `fallback`.
 */
export async function solveBlockLp(p: DirectionLp, opts: { timeLimitS?: number } = {}): Promise<LpSolution> {
  const t0 = performance.now();
  let scaled: ScaledLp;
  try {
    scaled = scaleLp(p);
  } catch (e) {
    if (e instanceof LpCoefficientError) return await solveDirectionLp(p, opts); // HiGHS's route names it
    throw e;
  }
  const fallback = (why: string) => solveDirectionLp(p, opts).then((r) => ({ ...r, fallback: why }));
  if (p.delta === undefined) return await fallback("no δ box: the dual simplex needs every variable boxed");
  if (scaled.rowOf.length !== scaled.m) return await fallback("a row of H_ww is zero: the closed-form basis is singular");
  const m = scaled.m;
  const hInv = choleskyInverse(p.hWW, m);
  if (!hInv) return await fallback("H_ww is not positive definite: the closed-form basis does not exist");
  // the basis is all of dw: B = S·H_ww with S the rows' powers of two, so B⁻¹[p, i] = H⁻¹[p, i]·2^(−e_i)
  for (let q = 0; q < m; q++) for (let i = 0; i < m; i++) hInv[q * m + i] = scale2(hInv[q * m + i], -scaled.rowScale[i]);
  const basis = Int32Array.from({ length: m }, (_, j) => scaled.n + j);
  const r = denseDualSimplex(boxedFromScaled(scaled), { basis, inverse: hInv });
  if (r.status !== "optimal") return await fallback(`dense dual simplex ${r.status}: ${r.reason}`);
  const dLambda = r.x.slice(0, scaled.n);
  const dw = r.x.slice(scaled.n);
  return {
    status: "optimal",
    solverStatus: "optimal",
    dLambda,
    dw,
    objective: scale2(r.objective, -scaled.objectiveScale),
    boxActive: countBoxActive(dw, p.delta),
    seconds: (performance.now() - t0) / 1000,
    solver: "dense-simplex",
    pivots: r.iterations,
  };
}
