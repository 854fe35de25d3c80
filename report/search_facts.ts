import type { TrainOptions } from "../nn/train_options.ts";
/** What each search run was (data, budget, models, seeds, protocol) and what it found, derived from its artifacts. */
import { type PairedEffect, pairedEffect } from "../search/paired_stats.ts";
import { PAPER_TABLE_NAMES, PAPER_TABLES } from "./paper_numbers.ts";
import { protocolDifferences, type RunProtocol, splitSizes } from "./protocol.ts";
import type { ReportInput, SearchInput } from "./types.ts";

/** One search (a method on a data set and budget, over seeds), described from its artifacts alone. */
export interface SearchFacts {
  input: SearchInput;
  dataset: string;
  budget: string;
  method: string;
  /** "mnist · short". */
  group: string;
  protocol: RunProtocol;
  /** How it differs from the paper's protocol (empty: it follows it). */
  differences: string[];
  /** The paper's validation / test accuracy for this method, only when the run follows the paper's protocol. */
  paper?: { table: string; without: [number, number]; with: [number, number] };
  seeds: number;
  /** with − without HLS, paired by seed, with a 95% paired t interval (n ≥ 2). */
  testAcc: PairedEffect;
  valAcc: PairedEffect;
  valLoss: PairedEffect;
}

/** Models trained per run: the trials of the studies, or the config's search budget when trials are not included. */
export function modelsPerRun(s: SearchInput, searchBudget: number | undefined): number | undefined {
  const n = Math.max(0, ...(s.studies?.results ?? []).map((r) => r.trials.length));
  return n > 0 ? n : searchBudget;
}

/** Epochs per model of a budget's training settings. */
export function epochsOf(training: Partial<Pick<TrainOptions, "epochs">>): number | undefined {
  return training.epochs;
}

/** "short (1 epoch)". */
export function budgetLabel(budget: string, training: Partial<Pick<TrainOptions, "epochs">>): string {
  const e = epochsOf(training);
  return e === undefined ? budget : `${budget} (${e} epoch${e === 1 ? "" : "s"})`;
}

/** The facts of every search, in input order. */
export function searchFacts(inp: ReportInput): SearchFacts[] {
  return inp.searches.map((input) => {
    const s = input.summary;
    const protocol: RunProtocol = {
      ...splitSizes(inp.splits, s.split, s.dataset),
      models: modelsPerRun(input, inp.searchBudget),
      epochs: epochsOf(s.training),
      hls: s.hls,
    };
    const differences = protocolDifferences(protocol);
    const p = PAPER_TABLES[s.dataset]?.[s.method];
    const pairs = s.perSeed.filter((r) => !r.hls).flatMap((a) => {
      const b = s.perSeed.find((r) => r.hls && r.seed === a.seed);
      return b ? [[a, b] as const] : [];
    });
    const diff = (f: (r: (typeof pairs)[number][0]) => number) => pairs.map(([a, b]) => f(b) - f(a));
    return {
      input,
      dataset: s.dataset,
      budget: s.budget,
      method: s.method,
      group: `${s.dataset} · ${s.budget}`,
      protocol,
      differences,
      paper: p && !differences.length ? { table: PAPER_TABLE_NAMES[s.dataset] ?? "", ...p } : undefined,
      seeds: new Set(s.perSeed.map((r) => r.seed)).size,
      testAcc: pairedEffect(diff((r) => r.testAcc)),
      valAcc: pairedEffect(diff((r) => r.valAcc)),
      valLoss: pairedEffect(diff((r) => r.valLoss), { higherIsBetter: false }),
    };
  });
}

/** Searches grouped by data set and budget, in first-seen order. */
export function byGroup(facts: SearchFacts[]): Map<string, SearchFacts[]> {
  const groups = new Map<string, SearchFacts[]>();
  for (const f of facts) {
    if (!groups.has(f.group)) groups.set(f.group, []);
    groups.get(f.group)!.push(f);
  }
  return groups;
}
