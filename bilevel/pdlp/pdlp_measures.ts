// Objectives, residuals and infeasibility certificates of a point of an operator LP (pdlp_core.ts), in
// whatever space its data is given: the original one for termination, the scaled one for restarts.

/** An LP's objective and bounds (the operator itself is not needed to measure a point). */
export interface LpData {
  c: Float64Array;
  rl: Float64Array;
  ru: Float64Array;
  cl: Float64Array;
  cu: Float64Array;
}

/** A primal-dual point with its products Kx and Kᵀy. */
export interface Point {
  x: Float64Array;
  y: Float64Array;
  kx: Float64Array;
  kty: Float64Array;
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

/**
 * Objectives and residuals of (x, y). x is assumed inside its box (the iteration projects it there).
 * The dual objective takes, for each variable, the bound its reduced cost pushes it to; a reduced cost
 * pushing towards an infinite bound cannot be priced and counts as dual residual instead (as in PDLP).
 */
export function pointStats(d: LpData, p: Point, norm: "l2" | "linf"): PointStats {
  const { x, y, kx, kty } = p;
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
export function boundNorm(lo: Float64Array, hi: Float64Array, norm: "l2" | "linf"): number {
  let s = 0;
  for (let i = 0; i < lo.length; i++) {
    const a = Math.max(Number.isFinite(lo[i]) ? Math.abs(lo[i]) : 0, Number.isFinite(hi[i]) ? Math.abs(hi[i]) : 0);
    s = norm === "l2" ? s + a * a : Math.max(s, a);
  }
  return norm === "l2" ? Math.sqrt(s) : s;
}

/** ||v|| in the chosen norm. */
export function vecNorm(v: Float64Array, norm: "l2" | "linf"): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s = norm === "l2" ? s + v[i] * v[i] : Math.max(s, Math.abs(v[i]));
  return norm === "l2" ? Math.sqrt(s) : s;
}

/**
 * Farkas test for primal infeasibility. A dual ray y proves {x ∈ X : l ≤ Kx ≤ u} empty when
 * p(y) + min_{x∈X} (−Kᵀy)ᵀx > 0. Variables with an infinite bound in the direction −Kᵀy pushes make the
 * minimum −∞ unless that component vanishes: their size, relative to the positive margin, is the residual.
 */
export function farkasDual(d: LpData, y: Float64Array, kty: Float64Array, tol: number): boolean {
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
export function primalRay(d: LpData, dx: Float64Array): Float64Array | undefined {
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
export function recessionOk(d: LpData, ray: Float64Array, kd: Float64Array, tol: number): boolean {
  let cd = 0;
  for (let j = 0; j < ray.length; j++) cd += d.c[j] * ray[j];
  let resid = 0;
  for (let i = 0; i < kd.length; i++) {
    if (d.ru[i] < Infinity && kd[i] > 0) resid = Math.max(resid, kd[i]);
    if (d.rl[i] > -Infinity && kd[i] < 0) resid = Math.max(resid, -kd[i]);
  }
  return cd < 0 && resid <= tol * -cd;
}
