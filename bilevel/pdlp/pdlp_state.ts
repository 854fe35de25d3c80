// The state both PDHG schemes of pdlp_core.ts share: the preconditioned problem, the iterate, the counters
// and the best points seen, with the steps and tests both schemes use (one PDHG step, feasibility repair,
// termination, infeasibility certificates, the primal-weight update).
import { Rng } from "../../data/rng.ts";
import type { DiagonalScaling, OperatorLp, PdlpCoreOptions, PdlpCoreResult, PdlpCoreStatus } from "./pdlp_types.ts";
import {
  boundNorm,
  farkasDual,
  type LpData,
  type Point,
  type PointStats,
  pointStats,
  primalRay,
  recessionOk,
  vecNorm,
} from "./pdlp_measures.ts";
import { ruizByProbes } from "./pdlp_ruiz.ts";

/** A point after feasibility repair, with the factor θ its x and Kx were scaled by. */
export type RepairedPoint = Point & { theta: number };

/** The products of an operator LP, counted and checked for length. */
export class CountedOperators {
  matvecs = 0;
  readonly nRows: number;
  readonly nCols: number;
  constructor(readonly lp: OperatorLp) {
    this.nCols = lp.c.length;
    this.nRows = lp.rowLower.length;
  }
  /** Kx, counted. */
  apply(x: Float64Array): Float64Array {
    return this.#checked(this.lp.apply(x), this.nRows, "apply");
  }
  /** Kᵀy, counted. */
  applyT(y: Float64Array): Float64Array {
    return this.#checked(this.lp.applyT(y), this.nCols, "applyT");
  }
  #checked(v: Float64Array, len: number, what: string): Float64Array {
    this.matvecs++;
    if (v.length !== len) throw new Error(`${what} returned ${v.length} entries, expected ${len}`);
    return v;
  }
}

/** The copy of a point (the iterate's arrays are replaced, never written, but anchors must not alias them). */
export function copyPoint(p: Point): Point {
  return { x: p.x.slice(), y: p.y.slice(), kx: p.kx.slice(), kty: p.kty.slice() };
}

/** cuPDLP's restart test on a decreasing measure: a sufficient fall, a stalled necessary fall, or a long epoch. */
export function restartDue(a: { candidate: number; atLastRestart: number; previous: number; since: number; iterations: number }): boolean {
  return a.candidate <= 0.2 * a.atLastRestart ||
    (a.candidate <= 0.8 * a.atLastRestart && a.candidate > a.previous) ||
    a.since >= 0.36 * a.iterations;
}

/** The preconditioned LP and the iteration's state: iterate (scaled space), step, weight, counters, best points. */
export class PdhgState {
  readonly opts: PdlpCoreOptions;
  readonly t0: number;
  readonly nRows: number;
  readonly nCols: number;
  readonly tol: number;
  readonly absTol: number;
  readonly norm: "l2" | "linf";
  readonly evalEvery: number;
  readonly maxIter: number;
  readonly timeLimit: number;
  readonly infTol: number;
  readonly sc: DiagonalScaling;
  readonly orig: LpData;
  /** The scaled problem's data. */
  readonly S: LpData;
  readonly qNorm: number;
  readonly cNorm: number;
  // the iterate (scaled space); its arrays are replaced, never written in place
  x: Float64Array;
  y: Float64Array;
  kx: Float64Array;
  kty: Float64Array;
  /** Primal weight ω and step size η. */
  omega: number;
  eta = 0;
  iterations = 0;
  itersSinceRestart = 0;
  restarts = 0;
  bestDualBound = -Infinity;
  bestPrimal: PdlpCoreResult["bestPrimal"];
  bestDual: PdlpCoreResult["bestDual"];

  /** Preconditions (Ruiz by probes unless a scaling is given) and starts at x = proj_X(0), y = 0. */
  constructor(readonly ops: CountedOperators, opts: PdlpCoreOptions, t0: number) {
    const lp = ops.lp;
    this.opts = opts;
    this.t0 = t0;
    const nRows = this.nRows = ops.nRows, nCols = this.nCols = ops.nCols;
    this.tol = opts.tolerance ?? 1e-4;
    this.absTol = opts.absoluteTolerance ?? this.tol;
    this.norm = opts.norm ?? "l2";
    this.evalEvery = opts.evalEvery ?? 64;
    this.maxIter = opts.maxIterations ?? Infinity;
    this.timeLimit = opts.timeLimitS ?? Infinity;
    this.infTol = opts.infeasibleTolerance ?? 1e-6;
    // --- preconditioning: the iteration runs on K̃ = D_r K D_c
    const ruizIt = opts.ruizIterations ?? 4;
    this.sc = opts.scaling ??
      (ruizIt > 0
        ? ruizByProbes(
          { apply: (x) => ops.apply(x), applyT: (y) => ops.applyT(y), nRows, nCols },
          { iterations: ruizIt, probes: opts.ruizProbes ?? 8, seed: opts.seed ?? 1 },
        )
        : { row: new Float64Array(nRows).fill(1), col: new Float64Array(nCols).fill(1) });
    const dr = this.sc.row, dc = this.sc.col;
    this.orig = { c: lp.c, rl: lp.rowLower, ru: lp.rowUpper, cl: lp.colLower, cu: lp.colUpper };
    const S: LpData = this.S = {
      c: lp.c.map((v, j) => v * dc[j]),
      rl: lp.rowLower.map((v, i) => v * dr[i]),
      ru: lp.rowUpper.map((v, i) => v * dr[i]),
      cl: lp.colLower.map((v, j) => v / dc[j]),
      cu: lp.colUpper.map((v, j) => v / dc[j]),
    };
    this.qNorm = boundNorm(this.orig.rl, this.orig.ru, this.norm);
    this.cNorm = vecNorm(this.orig.c, this.norm);
    // --- initial point: x = projection of 0 onto the box, y = 0
    this.x = new Float64Array(nCols);
    for (let j = 0; j < nCols; j++) this.x[j] = Math.min(Math.max(0, S.cl[j]), S.cu[j]);
    this.y = new Float64Array(nRows);
    this.kx = this.x.some((v) => v !== 0) ? this.Kt(this.x) : new Float64Array(nRows);
    this.kty = new Float64Array(nCols);
    // primal weight ω = ||c̃|| / ||q̃|| (PDLP)
    const cs = vecNorm(S.c, "l2"), qs = boundNorm(S.rl, S.ru, "l2");
    this.omega = cs > 0 && qs > 0 ? cs / qs : 1;
  }

  /** The iterate as a point (its own arrays, not copies). */
  get point(): Point {
    return { x: this.x, y: this.y, kx: this.kx, kty: this.kty };
  }

  set point(p: Point) {
    this.x = p.x, this.y = p.y, this.kx = p.kx, this.kty = p.kty;
  }

  /** K̃x = D_r K D_c x. */
  Kt(x: Float64Array): Float64Array {
    const dc = this.sc.col, dr = this.sc.row;
    const r = this.ops.apply(x.map((v, j) => v * dc[j]));
    for (let i = 0; i < this.nRows; i++) r[i] *= dr[i];
    return r;
  }

  /** K̃ᵀy = D_c Kᵀ D_r y. */
  KTt(y: Float64Array): Float64Array {
    const dc = this.sc.col, dr = this.sc.row;
    const r = this.ops.applyT(y.map((v, i) => v * dr[i]));
    for (let j = 0; j < this.nCols; j++) r[j] *= dc[j];
    return r;
  }

  /** A scaled point in the original space (new arrays). */
  unscale(p: Point): Point {
    const dc = this.sc.col, dr = this.sc.row;
    return {
      x: p.x.map((v, j) => v * dc[j]),
      y: p.y.map((v, i) => v * dr[i]),
      kx: p.kx.map((v, i) => v / dr[i]),
      kty: p.kty.map((v, j) => v / dc[j]),
    };
  }

  /**
   * One PDHG step from p with steps τ, σ: the projected primal step, the reflected dual step (the prox
   * of the row-interval support term, y' = v − clip(v, −σu, −σl) with v = y − σK(2x' − x)), and the
   * quantities both step-size rules test: ||Δx||², ||Δy||² and ΔyᵀK̃Δx.
   */
  pdhgStep(p: Point, tau: number, sigma: number) {
    const { x, y, kx, kty } = p;
    const { nRows, nCols, S } = this;
    const xn = new Float64Array(nCols);
    for (let j = 0; j < nCols; j++) {
      const v = x[j] - tau * (S.c[j] - kty[j]);
      xn[j] = v < S.cl[j] ? S.cl[j] : v > S.cu[j] ? S.cu[j] : v;
    }
    const kxn = this.Kt(xn);
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
  }

  /** Reports a checked point to onProgress (both schemes, at every termination check). */
  report(r: PdlpCoreResult): void {
    this.opts.onProgress?.({
      iterations: this.iterations,
      matvecs: this.ops.matvecs,
      seconds: (performance.now() - this.t0) / 1000,
      restarts: this.restarts,
      relPrimalResidual: r.relPrimalResidual,
      relDualResidual: r.relDualResidual,
      relGap: r.relGap,
      primalObjective: r.primalObjective,
      dualObjective: r.dualObjective,
      primalWeight: this.omega,
      stepSize: this.eta,
    });
  }

  /** Keeps the best feasible point (feasibleOrigin) and the best priced dual seen at any evaluation. */
  track(p: Point, s: PointStats): void {
    if (s.dualResidual2 === 0 && s.dualObjective > this.bestDualBound) {
      this.bestDualBound = s.dualObjective;
      this.bestDual = { y: p.y.slice(), kty: p.kty.slice(), objective: s.dualObjective };
    }
    if (this.opts.feasibleOrigin && s.primalResidual2 === 0 && (!this.bestPrimal || s.primalObjective < this.bestPrimal.objective)) {
      this.bestPrimal = { x: p.x.slice(), kx: p.kx.slice(), objective: s.primalObjective };
    }
  }

  /** The original-space statistics of a point. */
  stats(p: Point): PointStats {
    return pointStats(this.orig, p, this.norm);
  }

  /**
   * With `feasibleOrigin`, a point is judged after scaling it towards 0 until every row holds: the LP then
   * stops on the gap of a feasible point, which is what its caller returns, instead of waiting for the
   * iterate itself to be feasible to the last digit (slow for PDHG, and repaired at no cost anyway).
   * Scales p's own x and Kx.
   */
  toFeasible(p: Point): RepairedPoint {
    if (!this.opts.feasibleOrigin) return { ...p, theta: 1 };
    const { orig, nRows, nCols } = this;
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
   * Infeasibility certificates from the drift since the last restart (the iterates move along the infimal
   * displacement vector): a Farkas dual ray from `cur`'s y, or a primal ray from `xNow`, both against the
   * unscaled anchor. Returns `last` with the certificate, or undefined.
   */
  infeasibility(last: PdlpCoreResult, cur: Point, anchor: Point, xNow: () => Float64Array): PdlpCoreResult | undefined {
    const { orig, infTol } = this;
    const yRay = cur.y.map((v, i) => v - anchor.y[i]);
    const ktyRay = cur.kty.map((v, j) => v - anchor.kty[j]);
    if (farkasDual(orig, yRay, ktyRay, infTol)) return { ...last, status: "primal-infeasible", ray: yRay };
    const xRay = primalRay(orig, xNow().map((v, j) => v - anchor.x[j]));
    if (xRay && recessionOk(orig, xRay, this.ops.apply(xRay), infTol)) return { ...last, status: "dual-infeasible", ray: xRay };
    return undefined;
  }

  /** PDLP's primal-weight update: smoothed log-average of the dual over the primal movement since the anchor. */
  updatePrimalWeight(x: Float64Array, y: Float64Array, anchor: { x: Float64Array; y: Float64Array }): void {
    let dxn = 0, dyn = 0;
    for (let j = 0; j < this.nCols; j++) dxn += (x[j] - anchor.x[j]) ** 2;
    for (let i = 0; i < this.nRows; i++) dyn += (y[i] - anchor.y[i]) ** 2;
    dxn = Math.sqrt(dxn), dyn = Math.sqrt(dyn);
    if (dxn > 1e-10 && dyn > 1e-10) this.omega = Math.exp(0.5 * Math.log(dyn / dxn) + 0.5 * Math.log(this.omega));
  }

  /** ||K̃||₂ by power iteration on K̃ᵀK̃ (two products per round) from a seeded start; approaches from below. */
  powerNorm(rounds: number): number {
    const rng = new Rng(this.opts.seed ?? 1);
    let v: Float64Array = Float64Array.from({ length: this.nCols }, () => rng.next() - 0.5);
    let est = 0;
    for (let it = 0; it < rounds; it++) {
      const nv = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
      if (nv === 0) break;
      v = v.map((t) => t / nv);
      const w = this.KTt(this.Kt(v));
      est = Math.sqrt(Math.sqrt(w.reduce((a, b) => a + b * b, 0)));
      v = w;
    }
    return est;
  }

  /** The adaptive scheme's first step: 1/(largest scaled row norm) if known, else 1/||K̃|| from 6 power rounds. */
  initialStep(): number {
    if (this.sc.scaledRowNorms) {
      const mx = this.sc.scaledRowNorms.reduce((a, v) => Math.max(a, v), 0);
      if (mx > 0) return 1 / mx;
    }
    // a few power iterations on K̃ᵀK̃ (2 products each) from a fixed start; the adaptive rule corrects what remains
    let v: Float64Array = Float64Array.from({ length: this.nCols }, (_, j) => ((j * 2654435761) % 1000) / 1000 - 0.5);
    let est = 0;
    for (let it = 0; it < 6; it++) {
      const nv = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
      if (nv === 0) break;
      v = v.map((t) => t / nv);
      const kv = this.Kt(v);
      const w = this.KTt(kv);
      est = Math.sqrt(Math.sqrt(w.reduce((a, b) => a + b * b, 0)));
      v = w;
    }
    return est > 0 ? 1 / est : 1;
  }

  /** "iteration-limit" or "time-limit" once a limit is reached, else undefined. */
  stopReason(): PdlpCoreStatus | undefined {
    if (this.iterations >= this.maxIter) return "iteration-limit";
    if ((performance.now() - this.t0) / 1000 >= this.timeLimit) return "time-limit";
    return undefined;
  }

  /** The scaled problem's ω-weighted KKT error of a scaled point (the restart measure). */
  kkt(p: Point, w: number): number {
    const s = pointStats(this.S, p, "l2");
    const gap = s.primalObjective - s.dualObjective;
    return Math.sqrt(w * s.primalResidual2 ** 2 + s.dualResidual2 ** 2 / w + gap * gap);
  }

  /** PDLP's termination test: primal and dual residuals and the gap each within ε_abs + ε_rel·(its scale). */
  converged(s: PointStats): boolean {
    const { absTol, tol } = this;
    return s.primalResidual <= absTol + tol * this.qNorm &&
      s.dualResidual <= absTol + tol * this.cNorm &&
      Math.abs(s.primalObjective - s.dualObjective) <= absTol + tol * (Math.abs(s.primalObjective) + Math.abs(s.dualObjective));
  }

  /** The largest relative KKT error (primal, dual, gap): picks the better point when neither converged. */
  relKkt(s: PointStats): number {
    return Math.max(
      s.primalResidual / (1 + this.qNorm),
      s.dualResidual / (1 + this.cNorm),
      Math.abs(s.primalObjective - s.dualObjective) / (1 + Math.abs(s.primalObjective) + Math.abs(s.dualObjective)),
    );
  }

  /** The engine's outcome for a checked point, with the run's counters and best points. */
  result(status: PdlpCoreStatus, p: RepairedPoint, s: PointStats): PdlpCoreResult {
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
      relPrimalResidual: s.primalResidual / (1 + this.qNorm),
      dualResidual: s.dualResidual,
      relDualResidual: s.dualResidual / (1 + this.cNorm),
      relGap: Math.abs(s.primalObjective - s.dualObjective) / (1 + Math.abs(s.primalObjective) + Math.abs(s.dualObjective)),
      bestDualBound: this.bestDualBound,
      bestPrimal: this.bestPrimal,
      bestDual: this.bestDual,
      iterations: this.iterations,
      matvecs: this.ops.matvecs,
      restarts: this.restarts,
      seconds: (performance.now() - this.t0) / 1000,
    };
  }
}
