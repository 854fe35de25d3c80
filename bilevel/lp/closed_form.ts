/** Outcome of a conjugate-gradient solve. */
export interface CgResult {
  x: Float64Array;
  converged: boolean;
  iterations: number;
  relResidual: number;
  /** Set when a search direction had pᵀHp ≤ 0: H is not positive definite and CG's answer is not H⁻¹b. */
  negativeCurvature: boolean;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Conjugate gradients for H x = b with H given only through products v ↦ Hv (float64 bookkeeping). */
export function conjugateGradient(hvp: (v: Float64Array) => Float64Array, b: Float64Array, tol = 1e-6, maxIter = 500): CgResult {
  const n = b.length;
  const x = new Float64Array(n);
  const r = b.slice();
  const p = r.slice();
  const bnorm = Math.sqrt(dot(b, b)) || 1;
  let rr = dot(r, r);
  let it = 0;
  for (; it < maxIter && Math.sqrt(rr) / bnorm > tol; it++) {
    const hp = hvp(p);
    const curv = dot(p, hp);
    if (!(curv > 0)) return { x, converged: false, iterations: it, relResidual: Math.sqrt(rr) / bnorm, negativeCurvature: true };
    const alpha = rr / curv;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * hp[i];
    }
    const rr2 = dot(r, r);
    const beta = rr2 / rr;
    rr = rr2;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
  }
  const rel = Math.sqrt(rr) / bnorm;
  return { x, converged: rel <= tol, iterations: it, relResidual: rel, negativeCurvature: false };
}

/** Inputs of the closed form of LP (11) over all weights (method.md, section 2). */
export interface ClosedFormInput {
  hvp: (v: Float64Array) => Float64Array;
  gradF: Float64Array;
  gradLambdaF: Float64Array;
  /** Column k of H_wλ, as a function: v ↦ H_wλ v (length m) and u ↦ H_λw u (length n). */
  hWLtimes: (dl: Float64Array) => Float64Array;
  hLWtimes: (u: Float64Array) => Float64Array;
  lambdas: number[];
  /** Box on dλ per coordinate; default [−1, 1] ([0, 1] where λ_k = 0). */
  dLambdaLower?: number[];
  dLambdaUpper?: number[];
  epsilon: number;
  cgTol?: number;
  cgMaxIter?: number;
}

/** The closed-form direction, or why its assumptions failed. */
export type ClosedFormResult =
  | { ok: true; dLambda: Float64Array; dw: Float64Array; objective: number; hypergradient: Float64Array; cgIterations: number }
  | { ok: false; reason: string; cgIterations: number };

/**
 * Solves LP (11) exactly when H_ww is positive definite and no box on dw binds: with s = H_ww⁻¹∇_wF,
 * u* = −ε·sign(s) and dλ* = −sign(∇_λF − H_λw s) (0 where λ_k = 0 and the sign asks to decrease), then
 * dw* = H_ww⁻¹(u* − H_wλ dλ*). Two CG solves on exact HVPs. Reports failure (negative curvature, no
 * convergence) instead of returning a wrong answer.
 */
export function closedFormDirection(inp: ClosedFormInput): ClosedFormResult {
  const tol = inp.cgTol ?? 1e-6;
  const maxIter = inp.cgMaxIter ?? 500;
  const s = conjugateGradient(inp.hvp, inp.gradF, tol, maxIter);
  if (!s.converged) {
    return {
      ok: false,
      reason: s.negativeCurvature
        ? "H_ww is not positive definite (CG met non-positive curvature)"
        : `CG did not converge (relative residual ${s.relResidual.toExponential(2)} after ${s.iterations} iterations)`,
      cgIterations: s.iterations,
    };
  }
  const hls = inp.hLWtimes(s.x);
  const hyper = inp.gradLambdaF.map((g, k) => g - hls[k]);
  // a linear objective over a box: the end of the box against the hypergradient's sign
  const dLambda = hyper.map((h, k) => {
    const lo = inp.dLambdaLower?.[k] ?? (inp.lambdas[k] <= 0 ? 0 : -1);
    const hi = inp.dLambdaUpper?.[k] ?? 1;
    return h > 0 ? lo : h < 0 ? hi : 0;
  });
  const u = s.x.map((v) => (v > 0 ? -inp.epsilon : v < 0 ? inp.epsilon : 0));
  const rhs = inp.hWLtimes(dLambda).map((v, j) => u[j] - v);
  const dwSolve = conjugateGradient(inp.hvp, rhs, tol, maxIter);
  if (!dwSolve.converged) {
    return {
      ok: false,
      reason: `second CG solve failed (${dwSolve.negativeCurvature ? "non-positive curvature" : "no convergence"})`,
      cgIterations: s.iterations + dwSolve.iterations,
    };
  }
  const objective = dot(s.x, u) + dot(hyper, dLambda);
  return { ok: true, dLambda, dw: dwSolve.x, objective, hypergradient: hyper, cgIterations: s.iterations + dwSolve.iterations };
}
