// LP (11) on a block of weights, solved first by the certified dense dual simplex warm-started at the
// block's closed-form basis, and by HiGHS whenever that cannot certify its answer.
//
// Why not HiGHS alone: on the output blocks HLS fine-tunes (m = 130-200 dense rows) HiGHS's WebAssembly
// build takes 50-100 ms a solve, most of it fixed cost (it factorises the dense basis with its sparse
// LU; warm-started at the optimal basis it still took 65 ms for 0 pivots), and its first use costs
// 60-90 ms of loading. The basis whose basic variables are all of dw is the closed form's (dw = H⁻¹(u −
// H_wλ dλ), every row on a bound, dλ on a bound): it is optimal outright when the δ box does not bind,
// and dual feasible always, so a dual simplex from it needs one to three pivots per weight the box clips.
// With H_ww positive definite (the ridge 2λ makes an output block so unless it holds every bias) B⁻¹ comes
// from a Cholesky inverse; a singular H_ww has its dependent columns replaced by their rows' activities.

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
 * Cholesky factor L of a symmetric positive semidefinite H (row-major, lower), skipping every column whose
 * pivot is not positive beyond 1e-12 of H's largest diagonal entry: such a column is (numerically) a
 * combination of earlier ones, its column of L stays 0, and L is the factor of H on the other columns.
 */
function choleskyFactor(h: Float64Array, m: number): { l: Float64Array; dependent: number[] } {
  const l = new Float64Array(m * m);
  const dependent: number[] = [];
  let maxDiag = 0;
  for (let i = 0; i < m; i++) maxDiag = Math.max(maxDiag, h[i * m + i]);
  for (let j = 0; j < m; j++) {
    let d = h[j * m + j];
    for (let k = 0; k < j; k++) d -= l[j * m + k] * l[j * m + k];
    if (!(d > 1e-12 * maxDiag)) {
      dependent.push(j);
      continue;
    }
    const ljj = Math.sqrt(d);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let v = h[i * m + j];
      for (let k = 0; k < j; k++) v -= l[i * m + k] * l[j * m + k];
      l[i * m + j] = v / ljj;
    }
  }
  return { l, dependent };
}

/**
 * H⁻¹ of a symmetric matrix by Cholesky (H = LLᵀ, H⁻¹ = L⁻ᵀL⁻¹; about m³/2 multiply-adds, a quarter of
 * Gauss-Jordan's), or undefined when a pivot is not positive beyond 1e-12 of the largest diagonal entry:
 * H is then not (numerically) positive definite.
 */
export function choleskyInverse(h: Float64Array, m: number): Float64Array | undefined {
  const { l, dependent } = choleskyFactor(h, m);
  return dependent.length ? undefined : inverseFromFactor(l, m);
}

/** (LLᵀ)⁻¹ = L⁻ᵀL⁻¹ from a lower-triangular L with a positive diagonal (row-major m × m). */
function inverseFromFactor(l: Float64Array, m: number): Float64Array {
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
 * The first basis of the dense simplex: every dw column, with its B⁻¹ when H_ww is positive definite; where
 * H_ww is singular (an output block holding every bias: their common shift is an exact null direction),
 * each dependent column's row activity takes its place, which keeps the basis nonsingular (its determinant
 * is ± that of H_ww on the other columns; its inverse by singularStartInverse) and, like any basis of this
 * boxed LP, dual feasible. One Cholesky factorisation serves both cases. Undefined when more than a
 * quarter of the columns are dependent (then HiGHS, from its own start).
 */
function closedFormBasis(p: DirectionLp, s: ScaledLp): { basis: Int32Array; inverse: Float64Array } | undefined {
  const m = s.m;
  const basis = Int32Array.from({ length: m }, (_, j) => s.n + j);
  const { l, dependent } = choleskyFactor(p.hWW, m);
  if (!dependent.length) {
    // B = S·H_ww with S the rows' powers of two, so B⁻¹[q, i] = H⁻¹[q, i]·2^(−e_i)
    const inverse = inverseFromFactor(l, m);
    for (let q = 0; q < m; q++) for (let i = 0; i < m; i++) inverse[q * m + i] = scale2(inverse[q * m + i], -s.rowScale[i]);
    return { basis, inverse };
  }
  if (dependent.length > m / 4) return undefined;
  for (const j of dependent) basis[j] = s.n + m + j; // row j's activity (every row is kept: checked by the caller)
  return { basis, inverse: singularStartInverse({ h: p.hWW, l, m, dependent, rowScale: s.rowScale }) };
}

/**
 * B⁻¹ of the basis above when H_ww is singular, without inverting B: with I the independent positions and D
 * the dependent ones (holding −e_j), B z = r gives z_I = H_II⁻¹ S_I⁻¹ r_I and z_j = 2^(e_j)·(H_jI z_I) − r_j
 * for j in D. So B⁻¹'s row q in I is H_II⁻¹'s row scaled by 2^(−e_i) on I (0 on D), and row j in D is
 * 2^(e_j)·H_jI H_II⁻¹ scaled the same on I and −1 at j. H_II⁻¹ comes from L on I: the skipped columns
 * added nothing to it, so L restricted to I is H_II's Cholesky factor.
 */
function singularStartInverse(
  args: { h: Float64Array; l: Float64Array; m: number; dependent: number[]; rowScale: Int32Array },
): Float64Array {
  const { h, l, m, dependent, rowScale } = args;
  const isDep = new Uint8Array(m);
  for (const j of dependent) isDep[j] = 1;
  const I = Array.from({ length: m }, (_, i) => i).filter((i) => !isDep[i]);
  const k = I.length;
  const lII = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b <= a; b++) lII[a * k + b] = l[I[a] * m + I[b]];
  const inv = inverseFromFactor(lII, k);
  const out = new Float64Array(m * m);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[I[a] * m + I[b]] = scale2(inv[a * k + b], -rowScale[I[b]]);
  for (const j of dependent) {
    for (let b = 0; b < k; b++) {
      let v = 0;
      for (let a = 0; a < k; a++) v += h[j * m + I[a]] * inv[a * k + b];
      out[j * m + I[b]] = scale2(v, rowScale[j] - rowScale[I[b]]);
    }
    out[j * m + j] = -1;
  }
  return out;
}

/**
 * Solves LP (11) on the block exactly: the dense dual simplex from the closed-form basis (all of dw
 * basic) when the LP has a δ box and no empty rows, answering only with a certificate (bound violation
 * ≤ 1e-9, duality gap ≤ 1e-9 of the objective's scale, on the same power-of-two-scaled numbers HiGHS
 * gets); otherwise (no δ box, an empty row, H_ww far from positive definite) or when the dense simplex
 * cannot certify an optimum, HiGHS (solveDirectionLp), with the reason in `fallback`.
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
  const fallback = (why: string) => solveDirectionLp(p, { ...opts, scaled }).then((r) => ({ ...r, fallback: why }));
  if (p.delta === undefined) return await fallback("no δ box: the dual simplex needs every variable boxed");
  if (scaled.rowOf.length !== scaled.m) return await fallback("a row of H_ww is zero: the closed-form basis is singular");
  const start = closedFormBasis(p, scaled);
  if (!start) return await fallback("H_ww is far from positive definite (over a quarter of its columns dependent)");
  const r = denseDualSimplex(boxedFromScaled(scaled), start);
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
