// Spot-check verification (`verify --rerun --sample K | --stage NAME | --budget MINUTES`): which archived
// stages to recompute, and what recomputing K of them proves. Choosing is pure and seeded by a nonce that is
// printed, so a check can be repeated or audited; recomputing lives in spot_check_run.ts.
import { UserError } from "../errors.ts";
import { sha256 } from "../hash.ts";

/** A stage an archive holds results of, as the spot check sees it. */
export interface SpotCandidate {
  stage: string;
  /** The archived run's wall time of the stage (ms), when recorded. */
  wallMs?: number;
  /** Why this checkout cannot recompute it (its code differs, it did not run); undefined when it can. */
  cannot?: string;
}

/** What the reviewer asked for. */
export interface SpotRequest {
  /** Recompute this many stages chosen at random (among those this checkout can recompute). */
  sample?: number;
  /** Recompute as many randomly chosen stages as the archived wall times say fit in this many minutes. */
  budgetMinutes?: number;
  /** Stages (or prefixes ending in ':') to recompute in any case. */
  named?: string[];
  /** Seeds the random choice; printed so the same choice can be made again. */
  nonce: string;
}

/** The stages a spot check recomputes, and the population they were drawn from. */
export interface SpotPlan {
  nonce: string;
  /** Every stage to recompute, named ones first, then the drawn ones in draw order. */
  chosen: string[];
  /** The stages drawn at random (a subset of `chosen`). */
  drawn: string[];
  /** How many stages the draw was made from: those this checkout can recompute. */
  population: number;
  /** Named or drawn stages this checkout cannot recompute, with why. */
  cannot: { stage: string; why: string }[];
}

/** What starting one recomputation costs beyond the stage's own work (a child Deno process), assumed by --budget. */
export const CHILD_OVERHEAD_MS = 3000;

/** A fresh nonce: 16 random bytes as hex. */
export function newNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The draw order of a nonce: stages sorted by sha256(nonce, name). Anyone holding the nonce and the archive
 * can recompute it, so a reviewer's choice can be audited and cannot be steered by the archive's author (who
 * does not know the nonce when writing the archive).
 */
export function drawOrder(nonce: string, stages: readonly string[]): string[] {
  const keyed = stages.map((s) => ({ s, k: sha256(`${nonce}\u0000${s}`) }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.s);
}

/**
 * Plans a spot check: the named stages (exact names or prefixes ending in ':'), then stages drawn in the
 * nonce's order among those this checkout can recompute, up to `sample` of them and, with a budget, as many
 * as fit in it by their archived wall times plus a child's start-up. A name matching no stage of the archive
 * is a UserError.
 */
export function planSpotCheck(candidates: readonly SpotCandidate[], req: SpotRequest): SpotPlan {
  const byName = new Map(candidates.map((c) => [c.stage, c]));
  const cannot: SpotPlan["cannot"] = [];
  const chosen: string[] = [];
  for (const n of req.named ?? []) {
    const hits = n.endsWith(":") ? candidates.filter((c) => c.stage.startsWith(n)) : byName.has(n) ? [byName.get(n)!] : [];
    if (!hits.length) {
      throw new UserError(`--stage '${n}' names no stage of the archived run; give a stage name or a prefix ending in ':'`);
    }
    for (const h of hits) {
      if (chosen.includes(h.stage) || cannot.some((c) => c.stage === h.stage)) continue;
      if (h.cannot) cannot.push({ stage: h.stage, why: h.cannot });
      else chosen.push(h.stage);
    }
  }
  const able = candidates.filter((c) => !c.cannot).map((c) => c.stage);
  const drawn: string[] = [];
  const wantDraw = req.sample !== undefined || req.budgetMinutes !== undefined;
  if (wantDraw) {
    const cap = req.sample ?? Infinity;
    let budgetMs = req.budgetMinutes === undefined ? Infinity : req.budgetMinutes * 60_000;
    for (const s of chosen) budgetMs -= (byName.get(s)!.wallMs ?? 0) + CHILD_OVERHEAD_MS;
    for (const s of drawOrder(req.nonce, able)) {
      if (drawn.length >= cap) break;
      if (chosen.includes(s)) continue;
      const cost = (byName.get(s)!.wallMs ?? 0) + CHILD_OVERHEAD_MS;
      if (cost > budgetMs) continue; // a long stage may not fit where a shorter one still does
      budgetMs -= cost;
      drawn.push(s);
    }
  }
  return { nonce: req.nonce, chosen: [...chosen, ...drawn], drawn, population: able.length, cannot };
}

/**
 * The probability that drawing `k` of `n` stages without replacement includes at least one of `forged`
 * forged stages: 1 − C(n − forged, k) / C(n, k) (hypergeometric), computed as a product to stay exact in
 * floating point for any n.
 */
export function catchProbability(n: number, k: number, forged: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(k) && Number.isInteger(forged)) || n < 0 || k < 0 || forged < 0) {
    throw new RangeError(`catchProbability needs whole numbers >= 0, got n=${n}, k=${k}, forged=${forged}`);
  }
  const kk = Math.min(k, n);
  const f = Math.min(forged, n);
  if (f === 0 || kk === 0) return 0;
  if (kk > n - f) return 1;
  let missAll = 1; // P(no forged stage among the k drawn) = Π_{i<k} (n − f − i) / (n − i)
  for (let i = 0; i < kk; i++) missAll *= (n - f - i) / (n - i);
  return 1 - missAll;
}

/**
 * What a spot check that found nothing wrong proves, in words: for a few fractions f of forged stages, the
 * exact probability that this draw would have caught at least one, beside the bound 1 − (1 − f)^k.
 */
export function assuranceLines(plan: SpotPlan, fractions: readonly number[] = [0.01, 0.05, 0.1, 0.25]): string[] {
  const n = plan.population;
  const k = plan.drawn.length;
  if (k === 0 || n === 0) return [];
  const lines = [`${k} of ${n} recomputable stages drawn at random (nonce ${plan.nonce}; repeat with --nonce ${plan.nonce})`];
  for (const f of fractions) {
    const forged = Math.max(1, Math.ceil(f * n));
    const exact = catchProbability(n, k, forged);
    lines.push(
      `if at least ${(100 * f).toFixed(0)}% of them (${forged}) were forged, this check would have caught one with probability ` +
        `${(100 * exact).toFixed(1)}% (bound 1 - (1 - f)^k: ${(100 * (1 - (1 - f) ** k)).toFixed(1)}%)`,
    );
  }
  lines.push(`a single forged stage would have been caught with probability ${(100 * catchProbability(n, k, 1)).toFixed(1)}%`);
  return lines;
}
