/**
 * The engine of the matrix-free LP solver: restarted primal-dual hybrid gradient (PDHG) as in PDLP
 * (Applegate et al., NeurIPS 2021) with cuPDLP's KKT-error restarts (Lu and Yang 2023), for any LP
 *
 *     min cᵀx  s.t.  rowLower ≤ Kx ≤ rowUpper,  colLower ≤ x ≤ colUpper
 *
 * where K is known only through x ↦ Kx and y ↦ Kᵀy (bounds may be ±Infinity; equal row bounds are
 * equalities). bilevel/pdlp.ts specialises it to LP (11). Every outcome is a value, never a throw.
 *
 * Saddle point used (PDLP's sign convention): min_{x∈X} max_y cᵀx − yᵀKx + p(y), with
 * p(y) = Σ_i (y_i > 0 ? y_i·l_i : y_i·u_i) the support term of the row interval [l_i, u_i]. The dual
 * objective is p(y) + min_{x∈X} (c − Kᵀy)ᵀx, a lower bound on the optimum for any y when every variable
 * is boxed (otherwise reduced costs of the wrong sign on an unbounded side count as dual residual).
 */
import { Rng } from "../data/rng.ts";

/** An LP given by operators. All arrays float64; infinite bounds are ±Infinity. */
export interface OperatorLp {
  /** Objective c (length = number of variables). */
  c: Float64Array;
  /** x ↦ Kx (length = number of rows). */
  apply: (x: Float64Array) => Float64Array;
  /** y ↦ Kᵀy (length = number of variables). */
  applyT: (y: Float64Array) => Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
}

/** Diagonal preconditioner: the solver iterates on diag(row)·K·diag(col). */
export interface DiagonalScaling {
  row: Float64Array;
  col: Float64Array;
  /** Estimated ℓ2 norms of the scaled rows, if known: their maximum sets the first step size. */
  scaledRowNorms?: Float64Array;
}

/** Progress figures, reported at every evaluation (every `evalEvery` iterations). */
export interface PdlpProgress {
  iterations: number;
  matvecs: number;
  seconds: number;
  restarts: number;
  relPrimalResidual: number;
  relDualResidual: number;
  relGap: number;
  primalObjective: number;
  dualObjective: number;
  /** Current primal weight ω and step size η (scaled problem). */
  primalWeight: number;
  stepSize: number;
}

/** Options of the PDHG engine. */
export interface PdlpCoreOptions {
  /** ε_rel of the termination test (default 1e-4). */
  tolerance?: number;
  /** ε_abs of the termination test (default = tolerance, as PDLP). */
  absoluteTolerance?: number;
  /** Norm of the residuals in the termination test: PDLP's l2 (default) or l_inf (row by row). */
  norm?: "l2" | "linf";
  timeLimitS?: number;
  maxIterations?: number;
  /** Evaluate termination, restarts and infeasibility every this many iterations (PDLP: 64). */
  evalEvery?: number;
  /**
   * Declares that 0 is feasible and every row and variable box contains 0 (true of LP (11)): points are then
   * scaled towards 0 until feasible before they are tested and returned (`repairScale` says by how much).
   */
  feasibleOrigin?: boolean;
  /** Halpern scheme: also record the best points (bestPrimal, bestDual) every this many iterations (no products). */
  trackEvery?: number;
  /** PDHG variant: PDLP's adaptive steps with averaging (default), or restarted reflected Halpern PDHG. */
  scheme?: "adaptive" | "halpern";
  /** Halpern reflection ρ in [0, 1] (default 1) and power-iteration rounds for ||K̃|| (default 12). */
  reflection?: number;
  powerIterations?: number;
  /** Relative tolerance of the infeasibility certificates (default 1e-6). */
  infeasibleTolerance?: number;
  /** A given diagonal preconditioner; without one, ℓ2 Ruiz equilibration from random probes is used. */
  scaling?: DiagonalScaling;
  /** Ruiz rounds and probes per round when no scaling is given (defaults 4 and 8; 0 rounds = none). */
  ruizIterations?: number;
  ruizProbes?: number;
  seed?: number;
  onProgress?: (p: PdlpProgress) => void;
}

/** How the engine stopped. */
export type PdlpCoreStatus =
  | "optimal"
  | "primal-infeasible"
  | "dual-infeasible"
  | "time-limit"
  | "iteration-limit"
  | "error";

/** The engine's outcome, in the original (unscaled) space. */
export interface PdlpCoreResult {
  status: PdlpCoreStatus;
  x: Float64Array;
  y: Float64Array;
  /** Kx and Kᵀy of the returned iterate (linear bookkeeping, no extra products). */
  kx: Float64Array;
  kty: Float64Array;
  primalObjective: number;
  dualObjective: number;
  /** ||viol(Kx)|| in the chosen norm, and relative to 1 + ||bounds||. */
  primalResidual: number;
  relPrimalResidual: number;
  dualResidual: number;
  relDualResidual: number;
  /** PDLP's |cᵀx − dual| / (1 + |cᵀx| + |dual|). */
  relGap: number;
  /** The best (largest) dual objective seen with zero dual residual: a certified lower bound, or −∞. */
  bestDualBound: number;
  /** With feasibleOrigin: the feasible point of lowest objective seen at any evaluation. */
  bestPrimal?: { x: Float64Array; kx: Float64Array; objective: number };
  /** The dual point of highest priced dual objective seen at any evaluation (zero dual residual only). */
  bestDual?: { y: Float64Array; kty: Float64Array; objective: number };
  /** With feasibleOrigin: the factor the returned x was scaled by to satisfy every row (1: it already did). */
  repairScale: number;
  /** For infeasibility: the certificate (a dual ray y, or a primal ray x). */
  ray?: Float64Array;
  iterations: number;
  matvecs: number;
  restarts: number;
  seconds: number;
  message?: string;
}

/** Residuals and objectives of a point (x, y) with its products Kx, Kᵀy. */
export interface PointStats {
  primalObjective: number;
  dualObjective: number;
  primalResidual: number;
  dualResidual: number;
  /** l2 versions (for the restart metric). */
  primalResidual2: number;
  dualResidual2: number;
}

interface Data {
  c: Float64Array;
  rl: Float64Array;
  ru: Float64Array;
  cl: Float64Array;
  cu: Float64Array;
}

/**
 * Objectives and residuals of (x, y). x is assumed inside its box (the iteration projects it there).
 * The dual objective takes, for each variable, the bound its reduced cost pushes it to; a reduced cost
 * pushing towards an infinite bound cannot be priced and counts as dual residual instead (as in PDLP).
 */
export function pointStats(
  d: Data,
  x: Float64Array,
  y: Float64Array,
  kx: Float64Array,
  kty: Float64Array,
  norm: "l2" | "linf",
): PointStats {
  let pobj = 0;
  for (let j = 0; j < x.length; j++) pobj += d.c[j] * x[j];
  let pv2 = 0, pvInf = 0, dobj = 0, dv2 = 0, dvInf = 0;
  for (let i = 0; i < kx.length; i++) {
    const v = kx[i] < d.rl[i] ? d.rl[i] - kx[i] : kx[i] > d.ru[i] ? kx[i] - d.ru[i] : 0;
    pv2 += v * v;
    if (v > pvInf) pvInf = v;
    const yi = y[i];
    if (yi > 0) {
      if (d.rl[i] > -Infinity) dobj += yi * d.rl[i];
      else (dv2 += yi * yi, dvInf = Math.max(dvInf, yi));
    } else if (yi < 0) {
      if (d.ru[i] < Infinity) dobj += yi * d.ru[i];
      else (dv2 += yi * yi, dvInf = Math.max(dvInf, -yi));
    }
  }
  for (let j = 0; j < x.length; j++) {
    const r = d.c[j] - kty[j];
    if (r > 0) {
      if (d.cl[j] > -Infinity) dobj += r * d.cl[j];
      else (dv2 += r * r, dvInf = Math.max(dvInf, r));
    } else if (r < 0) {
      if (d.cu[j] < Infinity) dobj += r * d.cu[j];
      else (dv2 += r * r, dvInf = Math.max(dvInf, -r));
    }
  }
  const p2 = Math.sqrt(pv2), d2 = Math.sqrt(dv2);
  return {
    primalObjective: pobj,
    dualObjective: dobj,
    primalResidual: norm === "l2" ? p2 : pvInf,
    dualResidual: norm === "l2" ? d2 : dvInf,
    primalResidual2: p2,
    dualResidual2: d2,
  };
}

/** Norm of the finite bound magnitudes of each row (PDLP's "combined bounds" q). */
function boundNorm(lo: Float64Array, hi: Float64Array, norm: "l2" | "linf"): number {
  let s = 0;
  for (let i = 0; i < lo.length; i++) {
    const a = Math.max(Number.isFinite(lo[i]) ? Math.abs(lo[i]) : 0, Number.isFinite(hi[i]) ? Math.abs(hi[i]) : 0);
    s = norm === "l2" ? s + a * a : Math.max(s, a);
  }
  return norm === "l2" ? Math.sqrt(s) : s;
}

function vecNorm(v: Float64Array, norm: "l2" | "linf"): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s = norm === "l2" ? s + v[i] * v[i] : Math.max(s, Math.abs(v[i]));
  return norm === "l2" ? Math.sqrt(s) : s;
}

/**
 * ℓ2 Ruiz equilibration without the matrix: row and column norms of D_r K D_c are estimated from
 * Rademacher probes (E[(K D_c z)_i²] = Σ_j K_ij² d_j², Hutchinson style), and each round divides rows and
 * columns by the square roots of their norms. Two products per probe. The ℓ∞ Ruiz of PDLP needs the entries;
 * ℓ2 norms are what products can estimate, and for equilibration a 30 % estimate is as good as exact.
 */
export function ruizByProbes(
  apply: (x: Float64Array) => Float64Array,
  applyT: (y: Float64Array) => Float64Array,
  nRows: number,
  nCols: number,
  opts: { iterations: number; probes: number; seed: number },
): DiagonalScaling {
  const row = new Float64Array(nRows).fill(1);
  const col = new Float64Array(nCols).fill(1);
  const rng = new Rng(opts.seed);
  let rn = new Float64Array(nRows);
  for (let it = 0; it < opts.iterations; it++) {
    rn = new Float64Array(nRows);
    const cn = new Float64Array(nCols);
    for (let p = 0; p < opts.probes; p++) {
      const zc = Float64Array.from({ length: nCols }, (_, j) => (rng.next() < 0.5 ? -col[j] : col[j]));
      const kz = apply(zc);
      for (let i = 0; i < nRows; i++) rn[i] += (row[i] * kz[i]) ** 2 / opts.probes;
      const zr = Float64Array.from({ length: nRows }, (_, i) => (rng.next() < 0.5 ? -row[i] : row[i]));
      const ktz = applyT(zr);
      for (let j = 0; j < nCols; j++) cn[j] += (col[j] * ktz[j]) ** 2 / opts.probes;
    }
    // squared norms → divide by norm^(1/2) = (norm²)^(1/4); empty rows/columns are left alone
    for (let i = 0; i < nRows; i++) if (rn[i] > 0) row[i] /= Math.pow(rn[i], 0.25);
    for (let j = 0; j < nCols; j++) if (cn[j] > 0) col[j] /= Math.pow(cn[j], 0.25);
  }
  return { row, col };
}

/**
 * Solves an operator LP by restarted, preconditioned PDHG with PDLP's adaptive step size and primal weight.
 * Each iteration costs one Kx and one Kᵀy (Kx of the previous iterate is kept, so the extrapolated point
 * 2x' − x needs no product); a rejected step costs one Kx more.
 */
export function solveOperatorLp(lp: OperatorLp, opts: PdlpCoreOptions = {}): PdlpCoreResult {
  const t0 = performance.now();
  const nCols = lp.c.length;
  const nRows = lp.rowLower.length;
  const tol = opts.tolerance ?? 1e-4;
  const absTol = opts.absoluteTolerance ?? tol;
  const norm = opts.norm ?? "l2";
  const evalEvery = opts.evalEvery ?? 64;
  const maxIter = opts.maxIterations ?? Infinity;
  const timeLimit = opts.timeLimitS ?? Infinity;
  const infTol = opts.infeasibleTolerance ?? 1e-6;
  let matvecs = 0;
  const empty = (status: PdlpCoreStatus, message: string): PdlpCoreResult => ({
    status,
    x: new Float64Array(nCols),
    y: new Float64Array(nRows),
    kx: new Float64Array(nRows),
    kty: new Float64Array(nCols),
    primalObjective: NaN,
    dualObjective: NaN,
    primalResidual: NaN,
    relPrimalResidual: NaN,
    dualResidual: NaN,
    relDualResidual: NaN,
    relGap: NaN,
    bestDualBound: -Infinity,
    repairScale: 1,
    iterations: 0,
    matvecs,
    restarts: 0,
    seconds: (performance.now() - t0) / 1000,
    message,
  });
  // input checks: a bad input is an "error" value, not a throw
  for (
    const [name, v, len] of [["c", lp.c, nCols], ["rowUpper", lp.rowUpper, nRows], ["colLower", lp.colLower, nCols], [
      "colUpper",
      lp.colUpper,
      nCols,
    ]] as const
  ) {
    if (v.length !== len) return empty("error", `${name} has length ${v.length}, expected ${len}`);
  }
  for (let j = 0; j < nCols; j++) {
    if (!(lp.colLower[j] <= lp.colUpper[j]) || Number.isNaN(lp.c[j])) {
      if (lp.colLower[j] > lp.colUpper[j]) return empty("primal-infeasible", `variable ${j} has lower bound > upper bound`);
      return empty("error", `variable ${j}: NaN in c or bounds`);
    }
  }
  for (let i = 0; i < nRows; i++) {
    if (lp.rowLower[i] > lp.rowUpper[i]) return empty("primal-infeasible", `row ${i} has lower bound > upper bound`);
    if (Number.isNaN(lp.rowLower[i]) || Number.isNaN(lp.rowUpper[i])) return empty("error", `row ${i}: NaN bound`);
  }
  try {
    return run();
  } catch (e) {
    return empty("error", `operator failed: ${(e as Error).message}`);
  }

  function run(): PdlpCoreResult {
    const checked = (v: Float64Array, len: number, what: string) => {
      matvecs++;
      if (v.length !== len) throw new Error(`${what} returned ${v.length} entries, expected ${len}`);
      return v;
    };
    // --- preconditioning: the iteration runs on K̃ = D_r K D_c
    const ruizIt = opts.ruizIterations ?? 4;
    const sc: DiagonalScaling = opts.scaling ??
      (ruizIt > 0
        ? ruizByProbes(
          (x) => checked(lp.apply(x), nRows, "apply"),
          (y) => checked(lp.applyT(y), nCols, "applyT"),
          nRows,
          nCols,
          { iterations: ruizIt, probes: opts.ruizProbes ?? 8, seed: opts.seed ?? 1 },
        )
        : { row: new Float64Array(nRows).fill(1), col: new Float64Array(nCols).fill(1) });
    const dr = sc.row, dc = sc.col;
    const orig: Data = { c: lp.c, rl: lp.rowLower, ru: lp.rowUpper, cl: lp.colLower, cu: lp.colUpper };
    const S: Data = {
      c: lp.c.map((v, j) => v * dc[j]),
      rl: lp.rowLower.map((v, i) => v * dr[i]),
      ru: lp.rowUpper.map((v, i) => v * dr[i]),
      cl: lp.colLower.map((v, j) => v / dc[j]),
      cu: lp.colUpper.map((v, j) => v / dc[j]),
    };
    const Kt = (x: Float64Array) => {
      const r = checked(lp.apply(x.map((v, j) => v * dc[j])), nRows, "apply");
      for (let i = 0; i < nRows; i++) r[i] *= dr[i];
      return r;
    };
    const KTt = (y: Float64Array) => {
      const r = checked(lp.applyT(y.map((v, i) => v * dr[i])), nCols, "applyT");
      for (let j = 0; j < nCols; j++) r[j] *= dc[j];
      return r;
    };
    const unscale = (x: Float64Array, y: Float64Array, kx: Float64Array, kty: Float64Array) => ({
      x: x.map((v, j) => v * dc[j]),
      y: y.map((v, i) => v * dr[i]),
      kx: kx.map((v, i) => v / dr[i]),
      kty: kty.map((v, j) => v / dc[j]),
    });
    /**
     * One PDHG step from (x, y) with steps τ, σ: the projected primal step, the reflected dual step (the prox
     * of the row-interval support term, y' = v − clip(v, −σu, −σl) with v = y − σK(2x' − x)), and the
     * quantities both step-size rules test: ||Δx||², ||Δy||² and ΔyᵀK̃Δx.
     */
    const pdhgStep = (x: Float64Array, y: Float64Array, kx: Float64Array, kty: Float64Array, tau: number, sigma: number) => {
      const xn = new Float64Array(nCols);
      for (let j = 0; j < nCols; j++) {
        const v = x[j] - tau * (S.c[j] - kty[j]);
        xn[j] = v < S.cl[j] ? S.cl[j] : v > S.cu[j] ? S.cu[j] : v;
      }
      const kxn = Kt(xn);
      const yn = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) {
        const v = y[i] - sigma * (2 * kxn[i] - kx[i]);
        const lo = -sigma * S.ru[i], hi = -sigma * S.rl[i];
        yn[i] = v - (v < lo ? lo : v > hi ? hi : v);
      }
      let dx2 = 0, dy2 = 0, inter = 0;
      for (let j = 0; j < nCols; j++) dx2 += (xn[j] - x[j]) ** 2;
      for (let i = 0; i < nRows; i++) {
        const dy = yn[i] - y[i];
        dy2 += dy * dy;
        inter += dy * (kxn[i] - kx[i]);
      }
      return { xn, kxn, yn, dx2, dy2, inter };
    };
    /** Reports a checked point to onProgress (both schemes, at every termination check). */
    const report = (r: PdlpCoreResult) =>
      opts.onProgress?.({
        iterations,
        matvecs,
        seconds: (performance.now() - t0) / 1000,
        restarts,
        relPrimalResidual: r.relPrimalResidual,
        relDualResidual: r.relDualResidual,
        relGap: r.relGap,
        primalObjective: r.primalObjective,
        dualObjective: r.dualObjective,
        primalWeight: omega,
        stepSize: eta,
      });
    const qNorm = boundNorm(orig.rl, orig.ru, norm);
    const cNorm = vecNorm(orig.c, norm);

    // --- initial point: x = projection of 0 onto the box, y = 0
    let x: Float64Array = new Float64Array(nCols);
    for (let j = 0; j < nCols; j++) x[j] = Math.min(Math.max(0, S.cl[j]), S.cu[j]);
    let y: Float64Array = new Float64Array(nRows);
    let kx: Float64Array = x.some((v) => v !== 0) ? Kt(x) : new Float64Array(nRows);
    let kty: Float64Array = new Float64Array(nCols);

    // primal weight ω = ||c̃|| / ||q̃|| (PDLP), step size from the largest scaled row norm
    const cs = vecNorm(S.c, "l2"), qs = boundNorm(S.rl, S.ru, "l2");
    let omega = cs > 0 && qs > 0 ? cs / qs : 1;
    const halpern = opts.scheme === "halpern";
    let eta = halpern ? 0 : initialStep();

    // averages (weighted by step size), and the point of the last restart
    let sumW = 0;
    const xAvg = new Float64Array(nCols), yAvg = new Float64Array(nRows);
    const kxAvg = new Float64Array(nRows), ktyAvg = new Float64Array(nCols);
    let rs = { x: x.slice(), y: y.slice(), kx: kx.slice(), kty: kty.slice() };
    let kktLastRestart = kkt(x, y, kx, kty, omega);
    let kktPrevCandidate = Infinity;
    let itersSinceRestart = 0;
    let iterations = 0, attempts = 0, restarts = 0;
    let bestDualBound = -Infinity;
    let bestPrimal: PdlpCoreResult["bestPrimal"], bestDual: PdlpCoreResult["bestDual"];
    /** Keeps the best feasible point (feasibleOrigin) and the best priced dual seen at any evaluation. */
    function track(p: { x: Float64Array; y: Float64Array; kx: Float64Array; kty: Float64Array }, s: PointStats) {
      if (s.dualResidual2 === 0 && s.dualObjective > bestDualBound) {
        bestDualBound = s.dualObjective;
        bestDual = { y: p.y.slice(), kty: p.kty.slice(), objective: s.dualObjective };
      }
      if (opts.feasibleOrigin && s.primalResidual2 === 0 && (!bestPrimal || s.primalObjective < bestPrimal.objective)) {
        bestPrimal = { x: p.x.slice(), kx: p.kx.slice(), objective: s.primalObjective };
      }
    }
    let last: PdlpCoreResult | undefined;
    if (halpern) return runHalpern();

    for (;;) {
      // ---- one PDHG step with PDLP's adaptive step size
      let xn!: Float64Array, yn!: Float64Array, kxn!: Float64Array, used = eta;
      for (;;) {
        const st = pdhgStep(x, y, kx, kty, eta / omega, eta * omega);
        ({ xn, kxn, yn } = st);
        const { dx2, dy2, inter } = st;
        const movement = 0.5 * (omega * dx2 + dy2 / omega);
        const etaBar = Math.abs(inter) > 0 ? movement / Math.abs(inter) : Infinity;
        attempts++;
        const etaNext = Math.min((1 - Math.pow(attempts + 1, -0.3)) * etaBar, (1 + Math.pow(attempts + 1, -0.6)) * eta);
        used = eta;
        const ok = eta <= etaBar;
        eta = etaNext;
        if (!Number.isFinite(eta) || eta <= 0) throw new Error(`step size became ${eta}`);
        if (ok) break;
        if (stopReason()) break; // time runs out inside a string of rejections
      }
      const ktyn = KTt(yn);
      x = xn, y = yn, kx = kxn, kty = ktyn;
      iterations++, itersSinceRestart++;
      sumW += used;
      const a = used / sumW;
      for (let j = 0; j < nCols; j++) {
        xAvg[j] += a * (x[j] - xAvg[j]);
        ktyAvg[j] += a * (kty[j] - ktyAvg[j]);
      }
      for (let i = 0; i < nRows; i++) {
        yAvg[i] += a * (y[i] - yAvg[i]);
        kxAvg[i] += a * (kx[i] - kxAvg[i]);
      }
      const stop = stopReason();
      if (iterations % evalEvery !== 0 && !stop) continue;

      // ---- evaluation: termination on the original problem, current and average iterate
      const cur = toFeasible(unscale(x, y, kx, kty));
      const avg = toFeasible(unscale(xAvg, yAvg, kxAvg, ktyAvg));
      const sCur = pointStats(orig, cur.x, cur.y, cur.kx, cur.kty, norm);
      const sAvg = pointStats(orig, avg.x, avg.y, avg.kx, avg.kty, norm);
      track(cur, sCur);
      track(avg, sAvg);
      if (!Number.isFinite(sCur.primalObjective)) throw new Error("iterates are not finite");
      const pick = converged(sCur) ? { p: cur, s: sCur } : converged(sAvg) ? { p: avg, s: sAvg } : undefined;
      const best = pick ?? (relKkt(sAvg) < relKkt(sCur) ? { p: avg, s: sAvg } : { p: cur, s: sCur });
      last = result(pick ? "optimal" : (stop ?? "iteration-limit"), best.p, best.s);
      report(last);
      if (pick) return last;

      // ---- infeasibility: the iterates drift along the infimal displacement vector since the last restart
      const rsU = unscale(rs.x, rs.y, rs.kx, rs.kty);
      const yRay = cur.y.map((v, i) => v - rsU.y[i]);
      const ktyRay = cur.kty.map((v, j) => v - rsU.kty[j]);
      if (farkasDual(orig, yRay, ktyRay, infTol)) return { ...last, status: "primal-infeasible", ray: yRay };
      const xRay = primalRay(orig, cur.x.map((v, j) => v - rsU.x[j]));
      if (xRay) {
        const kd = checked(lp.apply(xRay), nRows, "apply");
        if (recessionOk(orig, xRay, kd, infTol)) return { ...last, status: "dual-infeasible", ray: xRay };
      }
      if (stop) return last;

      // ---- restart (cuPDLP): to the better of current and average, on the scaled KKT error
      const kCur = kkt(x, y, kx, kty, omega), kAvg = kkt(xAvg, yAvg, kxAvg, ktyAvg, omega);
      const kCand = Math.min(kCur, kAvg);
      const doRestart = kCand <= 0.2 * kktLastRestart ||
        (kCand <= 0.8 * kktLastRestart && kCand > kktPrevCandidate) ||
        itersSinceRestart >= 0.36 * iterations;
      kktPrevCandidate = kCand;
      if (doRestart) {
        if (kAvg < kCur) {
          x = xAvg.slice(), y = yAvg.slice(), kx = kxAvg.slice(), kty = ktyAvg.slice();
        }
        // primal weight: smoothed log-average of the dual over the primal movement since the last restart
        let dxn = 0, dyn = 0;
        for (let j = 0; j < nCols; j++) dxn += (x[j] - rs.x[j]) ** 2;
        for (let i = 0; i < nRows; i++) dyn += (y[i] - rs.y[i]) ** 2;
        dxn = Math.sqrt(dxn), dyn = Math.sqrt(dyn);
        if (dxn > 1e-10 && dyn > 1e-10) omega = Math.exp(0.5 * Math.log(dyn / dxn) + 0.5 * Math.log(omega));
        rs = { x: x.slice(), y: y.slice(), kx: kx.slice(), kty: kty.slice() };
        kktLastRestart = kkt(x, y, kx, kty, omega);
        kktPrevCandidate = Infinity;
        sumW = 0;
        xAvg.fill(0), yAvg.fill(0), kxAvg.fill(0), ktyAvg.fill(0);
        itersSinceRestart = 0;
        restarts++;
      }
    }

    /**
     * With `feasibleOrigin`, a point is judged after scaling it towards 0 until every row holds: the LP then
     * stops on the gap of a feasible point, which is what its caller returns, instead of waiting for the
     * iterate itself to be feasible to the last digit (slow for PDHG, and repaired at no cost anyway).
     */
    function toFeasible(p: { x: Float64Array; y: Float64Array; kx: Float64Array; kty: Float64Array }) {
      if (!opts.feasibleOrigin) return { ...p, theta: 1 };
      let theta = 1;
      for (let i = 0; i < nRows; i++) {
        if (p.kx[i] > orig.ru[i]) theta = Math.min(theta, orig.ru[i] / p.kx[i]);
        else if (p.kx[i] < orig.rl[i]) theta = Math.min(theta, orig.rl[i] / p.kx[i]);
      }
      theta = Math.max(0, theta);
      if (theta < 1) {
        for (let j = 0; j < nCols; j++) p.x[j] *= theta;
        for (let i = 0; i < nRows; i++) p.kx[i] *= theta;
      }
      return { ...p, theta };
    }

    /**
     * Restarted Halpern PDHG with reflection (r2HPDHG: Lu and Yang 2024, as in cuPDLPx). T is one PDHG step at
     * a constant step η = 0.95/||K̃|| (power iteration); the iterate is the anchored, reflected average
     * z ← (k+1)/(k+2)·((1+ρ)T(z) − ρz) + z₀/(k+2). Restarts (anchor := T(z)) when the fixed-point residual
     * ||z − T(z)|| falls by the cuPDLP factors; primal weight updated at restarts. Products: Kx̂ and Kᵀŷ of
     * T's output; those of z follow by linearity.
     */
    function runHalpern(): PdlpCoreResult {
      const rho = opts.reflection ?? 1;
      const norm2 = powerNorm(opts.powerIterations ?? 12);
      eta = 0.95 / (norm2 > 0 ? norm2 : 1);
      let x0 = x.slice(), y0 = y.slice(), kx0 = kx.slice(), kty0 = kty.slice();
      let k = 0;
      let resLast = Infinity, resPrev = Infinity;
      let xh = x, yh = y, kxh = kx, ktyh = kty;
      for (;;) {
        const st = pdhgStep(x, y, kx, kty, eta / omega, eta * omega);
        xh = st.xn, kxh = st.kxn, yh = st.yn;
        const { dx2, dy2, inter } = st;
        // safeguard: the power iteration approaches ||K̃|| from below; if this step shows η above the local
        // bound ||Δz||²_ω / (2|ΔyᵀK̃Δx|) (PDLP's adaptive test), shrink η and re-anchor (T has changed)
        const etaBar = Math.abs(inter) > 0 ? (omega * dx2 + dy2 / omega) / (2 * Math.abs(inter)) : Infinity;
        if (eta > etaBar) {
          eta = 0.9 * etaBar;
          x0 = x.slice(), y0 = y.slice(), kx0 = kx.slice(), kty0 = kty.slice();
          k = 0;
          continue; // each rejection cuts η by at least 10 %, so this ends
        }
        ktyh = KTt(yh);
        iterations++, itersSinceRestart++;
        const stop = stopReason();
        if (opts.trackEvery && iterations % opts.trackEvery === 0 && iterations % evalEvery !== 0 && !stop) {
          const cur = toFeasible(unscale(xh, yh, kxh, ktyh));
          track(cur, pointStats(orig, cur.x, cur.y, cur.kx, cur.kty, norm));
        }
        if (iterations % evalEvery === 0 || stop) {
          const cur = toFeasible(unscale(xh, yh, kxh, ktyh));
          const sc = pointStats(orig, cur.x, cur.y, cur.kx, cur.kty, norm);
          track(cur, sc);
          if (!Number.isFinite(sc.primalObjective)) throw new Error("iterates are not finite");
          const ok = converged(sc);
          last = result(ok ? "optimal" : (stop ?? "iteration-limit"), cur, sc);
          report(last);
          if (ok) return last;
          const rsU = unscale(x0, y0, kx0, kty0);
          const yRay = cur.y.map((v, i) => v - rsU.y[i]);
          if (farkasDual(orig, yRay, cur.kty.map((v, j) => v - rsU.kty[j]), infTol)) {
            return { ...last, status: "primal-infeasible", ray: yRay };
          }
          const xRay = primalRay(orig, unscale(xh, yh, kxh, ktyh).x.map((v, j) => v - rsU.x[j]));
          if (xRay && recessionOk(orig, xRay, checked(lp.apply(xRay), nRows, "apply"), infTol)) {
            return { ...last, status: "dual-infeasible", ray: xRay };
          }
          if (stop) return last;
          // fixed-point residual ||z − T(z)|| in the ω-weighted norm
          const res = Math.sqrt(omega * dx2 + dy2 / omega);
          if (resLast === Infinity) resLast = res;
          const restart = res <= 0.2 * resLast || (res <= 0.8 * resLast && res > resPrev) || itersSinceRestart >= 0.36 * iterations;
          resPrev = res;
          if (restart) {
            let dxn = 0, dyn = 0;
            for (let j = 0; j < nCols; j++) dxn += (xh[j] - x0[j]) ** 2;
            for (let i = 0; i < nRows; i++) dyn += (yh[i] - y0[i]) ** 2;
            dxn = Math.sqrt(dxn), dyn = Math.sqrt(dyn);
            if (dxn > 1e-10 && dyn > 1e-10) omega = Math.exp(0.5 * Math.log(dyn / dxn) + 0.5 * Math.log(omega));
            x = xh, y = yh, kx = kxh, kty = ktyh;
            x0 = x.slice(), y0 = y.slice(), kx0 = kx.slice(), kty0 = kty.slice();
            k = 0;
            itersSinceRestart = 0;
            restarts++;
            resLast = res, resPrev = Infinity;
            continue;
          }
        }
        // anchored, reflected step (products by linearity)
        const a = (k + 1) / (k + 2), b = 1 / (k + 2);
        const mix = (zh: Float64Array, z: Float64Array, z0: Float64Array) => {
          const out = new Float64Array(z.length);
          for (let i = 0; i < z.length; i++) out[i] = a * ((1 + rho) * zh[i] - rho * z[i]) + b * z0[i];
          return out;
        };
        x = mix(xh, x, x0), y = mix(yh, y, y0), kx = mix(kxh, kx, kx0), kty = mix(ktyh, kty, kty0);
        k++;
      }
    }

    /** ||K̃||₂ by power iteration on K̃ᵀK̃ (two products per round); the estimate approaches from below. */
    function powerNorm(rounds: number): number {
      const rng = new Rng(opts.seed ?? 1);
      let v: Float64Array = Float64Array.from({ length: nCols }, () => rng.next() - 0.5);
      let est = 0;
      for (let it = 0; it < rounds; it++) {
        const nv = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
        if (nv === 0) break;
        v = v.map((t) => t / nv);
        const w = KTt(Kt(v));
        est = Math.sqrt(Math.sqrt(w.reduce((a, b) => a + b * b, 0)));
        v = w;
      }
      return est;
    }

    function stopReason(): PdlpCoreStatus | undefined {
      if (iterations >= maxIter) return "iteration-limit";
      if ((performance.now() - t0) / 1000 >= timeLimit) return "time-limit";
      return undefined;
    }

    function initialStep(): number {
      if (sc.scaledRowNorms) {
        const mx = sc.scaledRowNorms.reduce((a, v) => Math.max(a, v), 0);
        if (mx > 0) return 1 / mx;
      }
      // a few power iterations on K̃ᵀK̃ (2 products each); the adaptive rule corrects what remains
      let v: Float64Array = Float64Array.from({ length: nCols }, (_, j) => ((j * 2654435761) % 1000) / 1000 - 0.5);
      let est = 0;
      for (let it = 0; it < 6; it++) {
        const nv = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
        if (nv === 0) break;
        v = v.map((t) => t / nv);
        const kv = Kt(v);
        const w = KTt(kv);
        est = Math.sqrt(Math.sqrt(w.reduce((a, b) => a + b * b, 0)));
        v = w;
      }
      return est > 0 ? 1 / est : 1;
    }

    function kkt(x: Float64Array, y: Float64Array, kx: Float64Array, kty: Float64Array, w: number): number {
      const s = pointStats(S, x, y, kx, kty, "l2");
      const gap = s.primalObjective - s.dualObjective;
      return Math.sqrt(w * s.primalResidual2 ** 2 + s.dualResidual2 ** 2 / w + gap * gap);
    }

    function converged(s: PointStats): boolean {
      return s.primalResidual <= absTol + tol * qNorm &&
        s.dualResidual <= absTol + tol * cNorm &&
        Math.abs(s.primalObjective - s.dualObjective) <= absTol + tol * (Math.abs(s.primalObjective) + Math.abs(s.dualObjective));
    }

    function relKkt(s: PointStats): number {
      return Math.max(
        s.primalResidual / (1 + qNorm),
        s.dualResidual / (1 + cNorm),
        Math.abs(s.primalObjective - s.dualObjective) / (1 + Math.abs(s.primalObjective) + Math.abs(s.dualObjective)),
      );
    }

    function result(
      status: PdlpCoreStatus,
      p: { x: Float64Array; y: Float64Array; kx: Float64Array; kty: Float64Array; theta: number },
      s: PointStats,
    ): PdlpCoreResult {
      return {
        status,
        x: p.x,
        y: p.y,
        kx: p.kx,
        kty: p.kty,
        repairScale: p.theta,
        primalObjective: s.primalObjective,
        dualObjective: s.dualObjective,
        primalResidual: s.primalResidual,
        relPrimalResidual: s.primalResidual / (1 + qNorm),
        dualResidual: s.dualResidual,
        relDualResidual: s.dualResidual / (1 + cNorm),
        relGap: Math.abs(s.primalObjective - s.dualObjective) / (1 + Math.abs(s.primalObjective) + Math.abs(s.dualObjective)),
        bestDualBound,
        bestPrimal,
        bestDual,
        iterations,
        matvecs,
        restarts,
        seconds: (performance.now() - t0) / 1000,
      };
    }
  }
}

/**
 * Farkas test for primal infeasibility. A dual ray y proves {x ∈ X : l ≤ Kx ≤ u} empty when
 * p(y) + min_{x∈X} (−Kᵀy)ᵀx > 0. Variables with an infinite bound in the direction −Kᵀy pushes make the
 * minimum −∞ unless that component vanishes: their size, relative to the positive margin, is the residual.
 */
export function farkasDual(d: Data, y: Float64Array, kty: Float64Array, tol: number): boolean {
  let obj = 0, scale = 0, resid = 0;
  for (let i = 0; i < y.length; i++) {
    const yi = y[i];
    if (yi > 0) {
      if (d.rl[i] === -Infinity) resid = Math.max(resid, yi);
      else (obj += yi * d.rl[i], scale += Math.abs(yi * d.rl[i]));
    } else if (yi < 0) {
      if (d.ru[i] === Infinity) resid = Math.max(resid, -yi);
      else (obj += yi * d.ru[i], scale += Math.abs(yi * d.ru[i]));
    }
  }
  for (let j = 0; j < kty.length; j++) {
    const g = -kty[j];
    if (g > 0) {
      if (d.cl[j] === -Infinity) resid = Math.max(resid, g);
      else (obj += g * d.cl[j], scale += Math.abs(g * d.cl[j]));
    } else if (g < 0) {
      if (d.cu[j] === Infinity) resid = Math.max(resid, -g);
      else (obj += g * d.cu[j], scale += Math.abs(g * d.cu[j]));
    }
  }
  // the margin must stand clear of rounding in its own terms, and the residual be small beside it
  return obj > 1e-9 * scale && obj > 0 && resid <= tol * obj;
}

/** The recession-cone part of a primal direction (components of boxed variables zeroed), or undefined. */
function primalRay(d: Data, dx: Float64Array): Float64Array | undefined {
  let any = false, cd = 0;
  const r = dx.map((v, j) => {
    const up = d.cu[j] === Infinity, down = d.cl[j] === -Infinity;
    const w = (v > 0 && up) || (v < 0 && down) ? v : 0;
    if (w !== 0) any = true;
    cd += d.c[j] * w;
    return w;
  });
  return any && cd < 0 ? r : undefined;
}

/** A primal ray d (cᵀd < 0, in the variables' recession cone) proves unboundedness when Kd stays in the rows' cone. */
function recessionOk(d: Data, ray: Float64Array, kd: Float64Array, tol: number): boolean {
  let cd = 0;
  for (let j = 0; j < ray.length; j++) cd += d.c[j] * ray[j];
  let resid = 0;
  for (let i = 0; i < kd.length; i++) {
    if (d.ru[i] < Infinity && kd[i] > 0) resid = Math.max(resid, kd[i]);
    if (d.rl[i] > -Infinity && kd[i] < 0) resid = Math.max(resid, -kd[i]);
  }
  return cd < 0 && resid <= tol * -cd;
}
