// PDLP's scheme (Applegate et al. 2021) with cuPDLP's KKT restarts: adaptive step sizes, step-weighted
// averages, restarts to the better of current and average. One of pdlp_core.ts's two schemes.
import type { PdlpCoreResult, PdlpCoreStatus } from "./pdlp_types.ts";
import type { Point } from "./pdlp_measures.ts";
import { copyPoint, type PdhgState, restartDue } from "./pdlp_state.ts";

/** The scheme's own state: step attempts, the step-weighted averages, and the last restart's point and KKT. */
interface AdaptiveRun {
  attempts: number;
  sumW: number;
  avg: Point;
  /** The point of the last restart (scaled space). */
  rs: Point;
  kktLastRestart: number;
  kktPrevCandidate: number;
}

/** Runs restarted PDHG with PDLP's adaptive step size and primal weight until it terminates. */
export function runAdaptive(s: PdhgState): PdlpCoreResult {
  s.eta = s.initialStep();
  const { nRows, nCols } = s;
  const r: AdaptiveRun = {
    attempts: 0,
    sumW: 0,
    avg: { x: new Float64Array(nCols), y: new Float64Array(nRows), kx: new Float64Array(nRows), kty: new Float64Array(nCols) },
    rs: copyPoint(s.point),
    kktLastRestart: s.kkt(s.point, s.omega),
    kktPrevCandidate: Infinity,
  };
  for (;;) {
    const used = adaptiveStep(s, r);
    average(s, r, used);
    const stop = s.stopReason();
    if (s.iterations % s.evalEvery !== 0 && !stop) continue;
    const done = evaluate(s, r, stop);
    if (done) return done;
    maybeRestart(s, r);
  }
}

/**
 * One accepted PDHG step with PDLP's adaptive step size (rejected steps retried at the smaller η; a time
 * limit inside a string of rejections accepts the last). Moves the iterate; returns the step size used.
 */
function adaptiveStep(s: PdhgState, r: AdaptiveRun): number {
  let xn!: Float64Array, yn!: Float64Array, kxn!: Float64Array, used = s.eta;
  for (;;) {
    const st = s.pdhgStep(s.point, s.eta / s.omega, s.eta * s.omega);
    ({ xn, kxn, yn } = st);
    const { dx2, dy2, inter } = st;
    const movement = 0.5 * (s.omega * dx2 + dy2 / s.omega);
    const etaBar = Math.abs(inter) > 0 ? movement / Math.abs(inter) : Infinity;
    r.attempts++;
    const etaNext = Math.min((1 - Math.pow(r.attempts + 1, -0.3)) * etaBar, (1 + Math.pow(r.attempts + 1, -0.6)) * s.eta);
    used = s.eta;
    const ok = s.eta <= etaBar;
    s.eta = etaNext;
    if (!Number.isFinite(s.eta) || s.eta <= 0) throw new Error(`step size became ${s.eta}`);
    if (ok) break;
    if (s.stopReason()) break; // time runs out inside a string of rejections
  }
  const ktyn = s.KTt(yn);
  s.point = { x: xn, y: yn, kx: kxn, kty: ktyn };
  s.iterations++, s.itersSinceRestart++;
  return used;
}

/** Folds the new iterate into the averages, weighted by the step size it was taken with. */
function average(s: PdhgState, r: AdaptiveRun, used: number): void {
  const { x, y, kx, kty } = s;
  const { x: xAvg, y: yAvg, kx: kxAvg, kty: ktyAvg } = r.avg;
  r.sumW += used;
  const a = used / r.sumW;
  for (let j = 0; j < s.nCols; j++) {
    xAvg[j] += a * (x[j] - xAvg[j]);
    ktyAvg[j] += a * (kty[j] - ktyAvg[j]);
  }
  for (let i = 0; i < s.nRows; i++) {
    yAvg[i] += a * (y[i] - yAvg[i]);
    kxAvg[i] += a * (kx[i] - kxAvg[i]);
  }
}

/**
 * Termination on the original problem (current and average iterate, after repair), then the infeasibility
 * certificates. Returns the outcome when the run ends here, else undefined.
 */
function evaluate(s: PdhgState, r: AdaptiveRun, stop: PdlpCoreStatus | undefined): PdlpCoreResult | undefined {
  const cur = s.toFeasible(s.unscale(s.point));
  const avg = s.toFeasible(s.unscale(r.avg));
  const sCur = s.stats(cur);
  const sAvg = s.stats(avg);
  s.track(cur, sCur);
  s.track(avg, sAvg);
  if (!Number.isFinite(sCur.primalObjective)) throw new Error("iterates are not finite");
  const pick = s.converged(sCur) ? { p: cur, s: sCur } : s.converged(sAvg) ? { p: avg, s: sAvg } : undefined;
  const best = pick ?? (s.relKkt(sAvg) < s.relKkt(sCur) ? { p: avg, s: sAvg } : { p: cur, s: sCur });
  const last = s.result(pick ? "optimal" : (stop ?? "iteration-limit"), best.p, best.s);
  s.report(last);
  if (pick) return last;
  const certified = s.infeasibility(last, cur, s.unscale(r.rs), () => cur.x);
  if (certified) return certified;
  if (stop) return last;
  return undefined;
}

/** cuPDLP's restart on the scaled KKT error: to the better of current and average, with a new primal weight. */
function maybeRestart(s: PdhgState, r: AdaptiveRun): void {
  const kCur = s.kkt(s.point, s.omega), kAvg = s.kkt(r.avg, s.omega);
  const kCand = Math.min(kCur, kAvg);
  const doRestart = restartDue({
    candidate: kCand,
    atLastRestart: r.kktLastRestart,
    previous: r.kktPrevCandidate,
    since: s.itersSinceRestart,
    iterations: s.iterations,
  });
  r.kktPrevCandidate = kCand;
  if (!doRestart) return;
  if (kAvg < kCur) s.point = copyPoint(r.avg);
  s.updatePrimalWeight(s.x, s.y, r.rs);
  r.rs = copyPoint(s.point);
  r.kktLastRestart = s.kkt(s.point, s.omega);
  r.kktPrevCandidate = Infinity;
  r.sumW = 0;
  r.avg.x.fill(0), r.avg.y.fill(0), r.avg.kx.fill(0), r.avg.kty.fill(0);
  s.itersSinceRestart = 0;
  s.restarts++;
}
