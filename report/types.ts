/**
 * The shapes of what the report is made from: the artifacts of the stages, as they write them. Each is the
 * schema its science owns (stages/report.ts checks every one on read); nothing here redeclares one.
 */
import type { GaLrMomWdRecord } from "../search/ga_lr_mom_wd.ts";
import type { CpmlhoRecord } from "../cpmlho/cpmlho_records.ts";
import type { SearchSummary } from "../search/summary.ts";
import type { StudyResult } from "../search/records.ts";
import type { AblationOutput } from "../search/ablation_records.ts";
import type { FinetuneOutput } from "../bilevel/hls/hls_records.ts";
import type { BaselineHistory } from "../nn/train_records.ts";

export type { HlsProtocol, SearchSummary } from "../search/summary.ts";
export type { AblationOutput } from "../search/ablation_records.ts";
export type { FinetuneOutput } from "../bilevel/hls/hls_records.ts";

/** One search stage's artifacts. */
export interface SearchInput {
  stage: string;
  summary: SearchSummary;
  studies?: { results: StudyResult[] };
}

/** A split as the config defines it (sizes the config leaves out: the subsample stage's defaults). */
export interface SplitFacts {
  dataset: string;
  nTrain?: number;
  nVal?: number;
  nTest?: number;
}

/** Everything the report is made from: artifacts only, each with the digest it came from. */
export interface ReportInput {
  title: string;
  description: string;
  /** The whole validated config, shown (never read) in the provenance section. */
  config: unknown;
  /** Every split the config defines. */
  splits: Record<string, SplitFacts>;
  /** The search section's models per one-shot run, if the config has one (used when trials are not included). */
  searchBudget?: number;
  /** Facts about the machine and libraries that rendered the report (versions, backend, CPU, config digest). */
  environment: Record<string, string>;
  /**
   * Every upstream stage: its output digests, or why it did not run. `digests` holds the results (verified
   * by a rerun); `volatileDigests` its timing outputs, shown only in the timing appendix.
   */
  stages: { name: string; notRun?: string; digests: Record<string, string>; volatileDigests?: Record<string, string> }[];
  /** The base model's training (its `seconds` absent from the stable part the report's page is made from). */
  baseline?: BaselineHistory;
  finetune?: FinetuneOutput;
  searches: SearchInput[];
  gaLrMomWd?: { stage: string; result: GaLrMomWdRecord }[];
  ablations?: AblationOutput[];
  cpmlho?: { stage: string; result: CpmlhoRecord }[];
}

/** A rendered report. */
export interface Report {
  html: string;
  markdown: string;
  /** Figure name → SVG, embedded in the HTML and linked from the Markdown as figure-<name>.svg. */
  figures: Record<string, string>;
  /** Table id → CSV, written beside the report as table-<id>.csv (every table of the report, and every trial). */
  tables: Record<string, string>;
}

/** Display names of the search methods. */
export const METHOD_NAMES: Record<string, string> = { grid: "Grid search", random: "Random search", microga: "micro-GA", tpe: "TPE" };

/** The display name of a method. */
export function methodName(m: string): string {
  return METHOD_NAMES[m] ?? m;
}
