// A dense bounded dual simplex for small LPs whose every column and row is boxed (LP (11) on a block):
// started from a dual feasible basis near the optimum, it needs a few pivots where HiGHS, started from
// its slack basis, needs about one per row, each on a dense basis it factorises sparsely. Every answer
// carries a certificate that does not trust the iterations: the primal point is checked against the LP's
// own rows and bounds, and the objective against the Lagrangian lower bound of the final duals.

/** min costᵀx subject to rowLower ≤ A x ≤ rowUpper and colLower ≤ x ≤ colUpper, every bound finite. */
export interface BoxedLp {
  numCols: number;
  numRows: number;
  cost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  /** A, dense row-major (numRows × numCols). */
  matrix: Float64Array;
}

/** Tolerances and limits of the dense dual simplex. */
export interface DenseSimplexOptions {
  /** The first basis: indices of numRows variables, columns 0…n−1 and rows n…n+m−1 (row i is variable n + i). */
  basis: Int32Array;
  /** Bound violation accepted, relative to max(1, the bound's magnitude); default 1e-9. */
  primalTolerance?: number;
  /** Accepted duality gap relative to Σ_j |c_j|·max(|l_j|, |u_j|), the largest |objective| possible; default 1e-9. */
  gapTolerance?: number;
  /** Pivots before giving up (default 20 · numRows). */
  maxIterations?: number;
  /** Pivots between fresh inversions of the basis (default max(100, numRows)); the certificate catches drift before. */
  refactorEvery?: number;
  /** B⁻¹ of the first basis (row-major m × m, position p's row), when the caller has it cheaper than an inversion. */
  inverse?: Float64Array;
}

/** The dense simplex's answer: optimal with its certificate, or why it stopped (the caller then asks HiGHS). */
export type DenseSimplexResult =
  | {
    status: "optimal";
    x: Float64Array;
    objective: number;
    /** The Lagrangian lower bound of the final duals: objective − lowerBound is the certified gap. */
    lowerBound: number;
    /** Largest bound violation of x and of its row activities, each relative to max(1, |bound|). */
    primalViolation: number;
    iterations: number;
    /** Nonbasic variables moved to their other bound by the ratio test (pivots they saved). */
    boundFlips: number;
  }
  | { status: "infeasible" | "iteration-limit" | "singular" | "uncertified"; iterations: number; reason: string };

/** Inverts the square matrix in place by Gauss-Jordan with partial pivoting; false when it is singular. */
function invertInPlace(b: Float64Array, m: number): boolean {
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) inv[i * m + i] = 1;
  let scale = 0;
  for (let i = 0; i < m * m; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(b[r * m + c]) > Math.abs(b[piv * m + c])) piv = r;
    const p = b[piv * m + c];
    if (!(Math.abs(p) > 1e-13 * scale)) return false;
    if (piv !== c) {
      for (let k = 0; k < m; k++) {
        [b[c * m + k], b[piv * m + k]] = [b[piv * m + k], b[c * m + k]];
        [inv[c * m + k], inv[piv * m + k]] = [inv[piv * m + k], inv[c * m + k]];
      }
    }
    const ip = 1 / p;
    // columns left of c are already eliminated in b: only k ≥ c changes there
    for (let k = c; k < m; k++) b[c * m + k] *= ip;
    for (let k = 0; k < m; k++) inv[c * m + k] *= ip;
    for (let r = 0; r < m; r++) {
      const f = b[r * m + c];
      if (r === c || f === 0) continue;
      for (let k = c; k < m; k++) b[r * m + k] -= f * b[c * m + k];
      for (let k = 0; k < m; k++) inv[r * m + k] -= f * inv[c * m + k];
    }
  }
  b.set(inv);
  return true;
}

/**
 * The working state: variable j < n is column j of A, variable n + i is row i's activity (its column −e_i
 * in A x − r = 0). head[p] is the variable basic at position p; Binv = B⁻¹ kept explicitly (m is small).
 */
class SimplexState {
  readonly n: number;
  readonly m: number;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly c: Float64Array;
  readonly head: Int32Array;
  readonly posOf: Int32Array;
  readonly x: Float64Array;
  readonly d: Float64Array;
  readonly binv: Float64Array;

  constructor(readonly lp: BoxedLp, basis: Int32Array) {
    const n = this.n = lp.numCols, m = this.m = lp.numRows;
    this.lower = new Float64Array(n + m);
    this.upper = new Float64Array(n + m);
    this.lower.set(lp.colLower);
    this.lower.set(lp.rowLower, n);
    this.upper.set(lp.colUpper);
    this.upper.set(lp.rowUpper, n);
    this.c = new Float64Array(n + m);
    this.c.set(lp.cost);
    this.head = Int32Array.from(basis);
    this.posOf = new Int32Array(n + m).fill(-1);
    this.head.forEach((j, p) => (this.posOf[j] = p));
    this.x = new Float64Array(n + m);
    this.d = new Float64Array(n + m);
    this.binv = new Float64Array(m * m);
  }

  /** Column j of [A, −I] into out (length m). */
  column(j: number, out: Float64Array): Float64Array {
    const { n, m } = this;
    if (j < n) { for (let i = 0; i < m; i++) out[i] = this.lp.matrix[i * n + j]; }
    else {
      out.fill(0);
      out[j - n] = -1;
    }
    return out;
  }

  /** B⁻¹ afresh from the basis columns; false when the basis is singular. */
  refactor(): boolean {
    const { m } = this;
    const col = new Float64Array(m);
    const b = new Float64Array(m * m);
    this.head.forEach((j, p) => {
      this.column(j, col);
      for (let i = 0; i < m; i++) b[i * m + p] = col[i];
    });
    if (!invertInPlace(b, m)) return false;
    this.binv.set(b);
    return true;
  }

  /** Duals y = B⁻ᵀ c_B and reduced costs d_j = c_j − yᵀa_j (0 for basic variables). */
  duals(): Float64Array {
    const { n, m } = this;
    const y = new Float64Array(m);
    for (let p = 0; p < m; p++) {
      const cb = this.c[this.head[p]];
      if (cb === 0) continue;
      for (let i = 0; i < m; i++) y[i] += cb * this.binv[p * m + i];
    }
    this.d.set(reducedCosts(this.lp, y));
    for (let i = 0; i < m; i++) this.d[n + i] = y[i]; // c = 0, column −e_i
    for (const j of this.head) this.d[j] = 0;
    return y;
  }

  /** x_B = −B⁻¹ Σ_{j nonbasic} a_j x_j for the nonbasic values in x. */
  basicValues(): void {
    const { n, m } = this;
    const rhs = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) if (this.posOf[j] < 0) s += this.lp.matrix[i * n + j] * this.x[j];
      if (this.posOf[n + i] < 0) s -= this.x[n + i];
      rhs[i] = -s;
    }
    for (let p = 0; p < m; p++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += this.binv[p * m + i] * rhs[i];
      this.x[this.head[p]] = s;
    }
  }

  /**
   * Places each nonbasic variable on the bound its reduced cost asks for (all bounds finite: then any basis
   * is dual feasible). After the first placement a variable moves only when its sign is clearly wrong: a
   * reduced cost of rounding size flipping the bound would shift the primal values for nothing.
   */
  placeNonbasic(first: boolean): void {
    const tol = 1e-12;
    for (let j = 0; j < this.n + this.m; j++) {
      if (this.posOf[j] >= 0) continue;
      if (first) this.x[j] = this.d[j] < 0 ? this.upper[j] : this.lower[j];
      else if (this.x[j] === this.lower[j] && this.d[j] < -tol) this.x[j] = this.upper[j];
      else if (this.x[j] === this.upper[j] && this.d[j] > tol) this.x[j] = this.lower[j];
    }
  }
}

/** c − Aᵀy over the columns (row by row of A, contiguous in memory). */
function reducedCosts(lp: BoxedLp, y: Float64Array): Float64Array {
  const n = lp.numCols;
  const d = Float64Array.from(lp.cost);
  for (let i = 0; i < lp.numRows; i++) {
    const yi = y[i];
    if (yi === 0) continue;
    for (let j = 0; j < n; j++) d[j] -= yi * lp.matrix[i * n + j];
  }
  return d;
}

const violation = (v: number, lo: number, hi: number) => Math.max(lo - v, v - hi, 0) / Math.max(1, Math.abs(v < lo ? lo : hi));

/**
 * Solves a boxed LP by the dual simplex from the given basis. Every variable is boxed, so placing each
 * nonbasic variable on the bound its reduced cost points to makes any basis dual feasible; the iterations
 * then remove primal infeasibility (largest violation leaves; a bound-flipping ratio test picks what
 * enters). The result is only called optimal when the certificate holds: x within
 * primalTolerance of every bound (its row activities computed from A afresh) and its objective within
 * gapTolerance of the Lagrangian lower bound of the final duals, a bound that holds for any duals.
 */
export function denseDualSimplex(lp: BoxedLp, opts: DenseSimplexOptions): DenseSimplexResult {
  const primalTol = opts.primalTolerance ?? 1e-9;
  const gapTol = opts.gapTolerance ?? 1e-9;
  const maxIterations = opts.maxIterations ?? 20 * lp.numRows;
  const refactorEvery = opts.refactorEvery ?? Math.max(100, lp.numRows);
  if (opts.basis.length !== lp.numRows) throw new Error(`basis has ${opts.basis.length} variables, the LP ${lp.numRows} rows`);
  const s = new SimplexState(lp, opts.basis);
  const { n, m } = s;
  const alpha = new Float64Array(n + m), col = new Float64Array(m), w = new Float64Array(m);
  let iterations = 0, boundFlips = 0, first = true;
  for (let sinceRefactor = refactorEvery;; sinceRefactor++) {
    if (sinceRefactor >= refactorEvery) {
      if (first && opts.inverse) s.binv.set(opts.inverse);
      else if (!s.refactor()) return { status: "singular", iterations, reason: "the basis matrix is singular" };
      s.duals();
      s.placeNonbasic(first);
      s.basicValues();
      sinceRefactor = 0;
      first = false;
    }
    // leaving: the basic variable furthest outside its box
    let p = -1, worst = primalTol / 4;
    for (let q = 0; q < m; q++) {
      const j = s.head[q];
      const v = violation(s.x[j], s.lower[j], s.upper[j]);
      if (v > worst) [worst, p] = [v, q];
    }
    if (p < 0) {
      const result = certify(s, { primalTol, gapTol, iterations, boundFlips });
      // a certificate that fails on drifted updates gets one fresh inversion before it counts
      if (result.status === "optimal" || sinceRefactor === 0) return result;
      sinceRefactor = refactorEvery - 1;
      continue;
    }
    if (iterations >= maxIterations) return { status: "iteration-limit", iterations, reason: `no optimum after ${iterations} pivots` };
    const leaving = s.head[p];
    const toLower = s.x[leaving] < s.lower[leaving];
    // the pivot row α_j = (B⁻¹ a_j)_p for nonbasic j
    const row = s.binv.subarray(p * m, (p + 1) * m);
    pivotRow(s, row, alpha);
    let pivotScale = 0;
    for (let j = 0; j < n + m; j++) pivotScale = Math.max(pivotScale, Math.abs(alpha[j]));
    const target = toLower ? s.lower[leaving] : s.upper[leaving];
    const { entering, flips } = ratioTest(s, alpha, {
      toLower,
      infeasibility: Math.abs(s.x[leaving] - target),
      pivotTol: 1e-9 * pivotScale,
    });
    if (entering < 0) {
      return { status: "infeasible", iterations, reason: `row ${p} of the basis cannot be brought inside its box (dual unbounded)` };
    }
    if (flips.length) flipBounds(s, flips, col, w);
    boundFlips += flips.length;
    // dual update: d_j ← d_j − θ α_j with θ = d_q / α_q; the leaving variable's reduced cost is −θ
    const theta = s.d[entering] / alpha[entering];
    for (let j = 0; j < n + m; j++) if (s.posOf[j] < 0) s.d[j] -= theta * alpha[j];
    s.d[entering] = 0;
    s.d[leaving] = -theta;
    // primal update along w = B⁻¹ a_q: the leaving variable lands on its violated bound
    s.column(entering, col);
    for (let q = 0; q < m; q++) {
      let v = 0;
      for (let i = 0; i < m; i++) v += s.binv[q * m + i] * col[i];
      w[q] = v;
    }
    const step = (s.x[leaving] - target) / w[p];
    for (let q = 0; q < m; q++) s.x[s.head[q]] -= step * w[q];
    s.x[entering] += step;
    s.x[leaving] = target;
    // basis change and the product-form update of B⁻¹
    s.head[p] = entering;
    s.posOf[entering] = p;
    s.posOf[leaving] = -1;
    const wp = w[p];
    for (let i = 0; i < m; i++) row[i] /= wp;
    for (let q = 0; q < m; q++) {
      if (q === p || w[q] === 0) continue;
      const f = w[q];
      for (let i = 0; i < m; i++) s.binv[q * m + i] -= f * row[i];
    }
    iterations++;
  }
}

/** α_j = rowᵀ a_j for the nonbasic j (0 for the basic), summed row by row of A (contiguous in memory). */
function pivotRow(s: SimplexState, row: Float64Array, alpha: Float64Array): void {
  const { n, m } = s;
  alpha.fill(0);
  for (let i = 0; i < m; i++) {
    const ri = row[i];
    if (ri === 0) continue;
    const o = i * n;
    for (let j = 0; j < n; j++) alpha[j] += ri * s.lp.matrix[o + j];
    alpha[n + i] = -ri;
  }
  for (const j of s.head) alpha[j] = 0;
}

/**
 * The entering variable for a leaving one below its lower bound (toLower) or above its upper, with the
 * bound-flipping (long-step) rule: the candidates are the nonbasic j whose move in its feasible direction
 * pushes the leaving variable inwards, each with a breakpoint |d_j / α_j| where its reduced cost would
 * change sign. Passing a breakpoint keeps dual feasibility if j flips to its other bound, which takes
 * |α_j|·(u_j − l_j) off the leaving variable's infeasibility; the dual step goes on while infeasibility is
 * left, and the candidate at which none is left enters (the largest |α_j| among near-ties there, for a
 * stable pivot). Every variable is boxed, so one pivot can do the work of many. entering −1: none
 * qualifies (the LP is infeasible).
 */
function ratioTest(
  s: SimplexState,
  alpha: Float64Array,
  a: { toLower: boolean; infeasibility: number; pivotTol: number },
): { entering: number; flips: number[] } {
  const candidates: { j: number; t: number }[] = [];
  for (let j = 0; j < alpha.length; j++) {
    const aj = alpha[j];
    if (s.posOf[j] >= 0 || Math.abs(aj) <= a.pivotTol || s.lower[j] === s.upper[j]) continue;
    const atUpper = s.x[j] === s.upper[j];
    // below its lower bound the leaving variable must rise: x_B,p = −Σ α_j x_j
    if (a.toLower ? (atUpper ? aj > 0 : aj < 0) : (atUpper ? aj < 0 : aj > 0)) {
      // a reduced cost of the wrong sign by rounding counts as 0
      const dj = atUpper ? Math.max(0, -s.d[j]) : Math.max(0, s.d[j]);
      candidates.push({ j, t: dj / Math.abs(aj) });
    }
  }
  if (!candidates.length) return { entering: -1, flips: [] };
  candidates.sort((x, y) => x.t - y.t || x.j - y.j);
  let slope = a.infeasibility;
  let e = 0;
  for (; e < candidates.length - 1; e++) {
    const { j } = candidates[e];
    const next = slope - Math.abs(alpha[j]) * (s.upper[j] - s.lower[j]);
    if (next <= 0) break;
    slope = next;
  }
  // Harris: among the breakpoints within a small dual tolerance of the chosen one, the largest pivot
  const limit = candidates[e].t + 1e-12 / Math.max(1e-300, Math.abs(alpha[candidates[e].j]));
  let best = e;
  for (let q = e + 1; q < candidates.length && candidates[q].t <= limit; q++) {
    if (Math.abs(alpha[candidates[q].j]) > Math.abs(alpha[candidates[best].j])) best = q;
  }
  const flips = candidates.slice(0, e).map((c) => c.j);
  return { entering: candidates[best].j, flips };
}

/** Moves each flipped nonbasic variable to its other bound and the basic values with it (x_B −= B⁻¹ Σ a_j Δx_j). */
function flipBounds(s: SimplexState, flips: number[], col: Float64Array, w: Float64Array): void {
  const { m } = s;
  const delta = new Float64Array(m);
  for (const j of flips) {
    const to = s.x[j] === s.upper[j] ? s.lower[j] : s.upper[j];
    const dx = to - s.x[j];
    s.column(j, col);
    for (let i = 0; i < m; i++) delta[i] += col[i] * dx;
    s.x[j] = to;
  }
  for (let q = 0; q < m; q++) {
    let v = 0;
    for (let i = 0; i < m; i++) v += s.binv[q * m + i] * delta[i];
    w[q] = v;
  }
  for (let q = 0; q < m; q++) s.x[s.head[q]] -= w[q];
}

/**
 * The certificate, from the current B⁻¹: x_B recomputed from the nonbasic values, x and its row activities
 * (from A afresh) inside their boxes, and the gap to the Lagrangian bound of y = B⁻ᵀc_B, which is a valid
 * lower bound whatever y's rounding: cᵀx ≥ Σ_j min over [l_j, u_j] of (c − Aᵀy)_j x_j + Σ_i min over
 * [rl_i, ru_i] of y_i r_i. The gap is measured against Σ_j |c_j| max(|l_j|, |u_j|), the largest |cᵀx|.
 */
function certify(s: SimplexState, a: { primalTol: number; gapTol: number; iterations: number; boundFlips: number }): DenseSimplexResult {
  const { lp, n, m } = s;
  s.basicValues();
  const y = s.duals();
  const x = s.x.slice(0, n);
  let violationMax = 0;
  for (let j = 0; j < n; j++) violationMax = Math.max(violationMax, violation(x[j], lp.colLower[j], lp.colUpper[j]));
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += lp.matrix[i * n + j] * x[j];
    violationMax = Math.max(violationMax, violation(r, lp.rowLower[i], lp.rowUpper[i]));
  }
  let objective = 0, scale = 0, lowerBound = 0;
  const d = reducedCosts(lp, y); // every column's, the basic ones' included
  for (let j = 0; j < n; j++) {
    objective += lp.cost[j] * x[j];
    scale += Math.abs(lp.cost[j]) * Math.max(Math.abs(lp.colLower[j]), Math.abs(lp.colUpper[j]));
    lowerBound += Math.min(d[j] * lp.colLower[j], d[j] * lp.colUpper[j]);
  }
  for (let i = 0; i < m; i++) lowerBound += Math.min(y[i] * lp.rowLower[i], y[i] * lp.rowUpper[i]);
  const gap = objective - lowerBound;
  if (violationMax > a.primalTol || !(gap <= a.gapTol * scale)) {
    return {
      status: "uncertified",
      iterations: a.iterations,
      reason: `certificate failed: bound violation ${violationMax.toExponential(2)}, duality gap ${gap.toExponential(2)}`,
    };
  }
  return { status: "optimal", x, objective, lowerBound, primalViolation: violationMax, iterations: a.iterations, boundFlips: a.boundFlips };
}
