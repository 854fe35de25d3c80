/** Whether a search followed the main paper's protocol, so that the paper's numbers may stand beside it. */
import { count } from "./format.ts";
import { PAPER_PROTOCOL } from "./paper_numbers.ts";
import type { HlsProtocol, SplitFacts } from "./types.ts";

/** Official test-set sizes (a split without nTest uses the whole official test set). */
const OFFICIAL_TEST: Record<string, number> = { mnist: 10000, cifar10: 10000, "fashion-mnist": 10000 };

/** What defines a search run's protocol. */
export interface RunProtocol {
  nTrain?: number;
  nVal?: number;
  nTest?: number;
  /** Models trained (and ranked) per run. */
  models?: number;
  /** Training epochs per model. */
  epochs?: number;
  /** How HLS was run, where the search recorded it. */
  hls?: HlsProtocol;
}

/** A split's sizes as the config gives them, with the subsample stage's defaults filled in. */
export function splitSizes(
  splits: Record<string, SplitFacts>,
  split: string,
  dataset: string,
): Pick<RunProtocol, "nTrain" | "nVal" | "nTest"> {
  const s = splits[split];
  const official = OFFICIAL_TEST[dataset];
  const nTest = s?.nTest ?? official;
  return { nTrain: s?.nTrain ?? 5000, nVal: s?.nVal ?? 2500, nTest: official && nTest ? Math.min(nTest, official) : nTest };
}

/** "5,000 / 2,500 / 10,000" (train / validation / test), "?" where unknown. */
export function splitLabel(p: RunProtocol): string {
  return [p.nTrain, p.nVal, p.nTest].map((n) => (n === undefined ? "?" : count(n))).join(" / ");
}

/** How a run differs from the paper's protocol, one phrase per difference; empty when it follows it. */
export function protocolDifferences(p: RunProtocol): string[] {
  const P = PAPER_PROTOCOL;
  const out: string[] = [];
  if (p.nTrain !== P.nTrain || p.nVal !== P.nVal || p.nTest !== P.nTest) {
    out.push(`split ${splitLabel(p)} (paper ${splitLabel(P)})`);
  }
  if (p.models !== P.models) out.push(`${p.models ?? "?"} models per run (paper ${P.models})`);
  if (p.epochs !== P.epochs) out.push(`${p.epochs ?? "?"} epochs per model (paper: a short budget, about ${P.epochs} epoch)`);
  const h = p.hls;
  if (h && (h.lambdaScale !== "linear" || h.selection !== "in-sample" || h.criterion !== "loss" || h.top !== undefined)) {
    const how = [
      h.lambdaScale === "linear" ? "raw λ" : "log10 λ",
      h.selection === "in-sample" ? "t chosen in sample" : "t chosen on a held-out half",
      `by ${h.criterion}`,
      h.top === undefined
        ? "every model"
        : h.top === 1
        ? "only models that as trained rank best"
        : `only models that as trained rank among the ${h.top} best`,
    ];
    out.push(`HLS with ${how.join(", ")} (paper: raw λ, t chosen in sample by loss, every model)`);
  }
  return out;
}
