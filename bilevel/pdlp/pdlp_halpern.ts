// Restarted Halpern PDHG with reflection (r2HPDHG: Lu and Yang 2024, as in cuPDLPx). One of pdlp_core.ts's
// two schemes.
import type { PdlpCoreResult, PdlpCoreStatus } from "./pdlp_types.ts";
import type { Point } from "./pdlp_measures.ts";
import { copyPoint, type PdhgState, restartDue } from "./pdlp_state.ts";

/** The scheme's own state: the anchor z₀, the step count k since it, and the residuals the restarts compare. */
interface HalpernRun {
  rho: number;
  anchor: Point;
  k: number;
  resLast: number;
  resPrev: number;
}

/**
 * T is one PDHG step at a constant step η = 0.95/||K̃|| (power iteration); the iterate is the anchored,
 * reflected average z ← (k+1)/(k+2)·((1+ρ)T(z) − ρz) + z₀/(k+2). Restarts (anchor := T(z)) when the
 * fixed-point residual ||z − T(z)|| falls by the cuPDLP factors; primal weight updated at restarts.
 * Products: Kx̂ and Kᵀŷ of T's output; those of z follow by linearity.
 */
export function runHalpern(s: PdhgState): PdlpCoreResult {
  const rho = s.opts.reflection ?? 1;
  const norm2 = s.powerNorm(s.opts.powerIterations ?? 12);
  s.eta = 0.95 / (norm2 > 0 ? norm2 : 1);
  const h: HalpernRun = { rho, anchor: copyPoint(s.point), k: 0, resLast: Infinity, resPrev: Infinity };
  for (;;) {
    const st = s.pdhgStep(s.point, s.eta / s.omega, s.eta * s.omega);
    const { dx2, dy2, inter } = st;
    // safeguard: the power iteration approaches ||K̃|| from below; if this step shows η above the local
    // bound ||Δz||²_ω / (2|ΔyᵀK̃Δx|) (PDLP's adaptive test), shrink η and re-anchor (T has changed)
    const etaBar = Math.abs(inter) > 0 ? (s.omega * dx2 + dy2 / s.omega) / (2 * Math.abs(inter)) : Infinity;
    if (s.eta > etaBar) {
      s.eta = 0.9 * etaBar;
      h.anchor = copyPoint(s.point);
      h.k = 0;
      continue; // each rejection cuts η by at least 10 %, so this ends
    }
    const hat: Point = { x: st.xn, y: st.yn, kx: st.kxn, kty: s.KTt(st.yn) };
    s.iterations++, s.itersSinceRestart++;
    const stop = s.stopReason();
    if (s.opts.trackEvery && s.iterations % s.opts.trackEvery === 0 && s.iterations % s.evalEvery !== 0 && !stop) {
      const cur = s.toFeasible(s.unscale(hat));
      s.track(cur, s.stats(cur));
    }
    if (s.iterations % s.evalEvery === 0 || stop) {
      const done = evaluate(s, h, hat, stop);
      if (done) return done;
      // fixed-point residual ||z − T(z)|| in the ω-weighted norm
      if (restarted(s, h, hat, Math.sqrt(s.omega * dx2 + dy2 / s.omega))) continue;
    }
    reflectedStep(s, h, hat);
  }
}

/** Termination and infeasibility on T(z), repaired, in the original space; the outcome if the run ends here. */
function evaluate(s: PdhgState, h: HalpernRun, hat: Point, stop: PdlpCoreStatus | undefined): PdlpCoreResult | undefined {
  const cur = s.toFeasible(s.unscale(hat));
  const sc = s.stats(cur);
  s.track(cur, sc);
  if (!Number.isFinite(sc.primalObjective)) throw new Error("iterates are not finite");
  const ok = s.converged(sc);
  const last = s.result(ok ? "optimal" : (stop ?? "iteration-limit"), cur, sc);
  s.report(last);
  if (ok) return last;
  const certified = s.infeasibility(last, cur, s.unscale(h.anchor), () => s.unscale(hat).x);
  if (certified) return certified;
  if (stop) return last;
  return undefined;
}

/** Restarts at T(z) when the fixed-point residual `res` fell enough (cuPDLP's test); says whether it did. */
function restarted(s: PdhgState, h: HalpernRun, hat: Point, res: number): boolean {
  if (h.resLast === Infinity) h.resLast = res;
  const restart = restartDue({
    candidate: res,
    atLastRestart: h.resLast,
    previous: h.resPrev,
    since: s.itersSinceRestart,
    iterations: s.iterations,
  });
  h.resPrev = res;
  if (!restart) return false;
  s.updatePrimalWeight(hat.x, hat.y, h.anchor);
  s.point = hat;
  h.anchor = copyPoint(hat);
  h.k = 0;
  s.itersSinceRestart = 0;
  s.restarts++;
  h.resLast = res, h.resPrev = Infinity;
  return true;
}

/** The anchored, reflected step z ← a·((1+ρ)T(z) − ρz) + b·z₀ (products by linearity). */
function reflectedStep(s: PdhgState, h: HalpernRun, hat: Point): void {
  const a = (h.k + 1) / (h.k + 2), b = 1 / (h.k + 2);
  const rho = h.rho;
  const mix = (zh: Float64Array, z: Float64Array, z0: Float64Array) => {
    const out = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = a * ((1 + rho) * zh[i] - rho * z[i]) + b * z0[i];
    return out;
  };
  const z0 = h.anchor;
  s.point = { x: mix(hat.x, s.x, z0.x), y: mix(hat.y, s.y, z0.y), kx: mix(hat.kx, s.kx, z0.kx), kty: mix(hat.kty, s.kty, z0.kty) };
  h.k++;
}
