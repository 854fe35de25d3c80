import type { Stage } from "../pipeline/stage.ts";
import { UserError } from "../pipeline/errors.ts";
import type { ExperimentConfig } from "./config.ts";
import { fetchStage } from "./fetch.ts";
import { subsampleStage } from "./subsample.ts";
import { baselineStage } from "./baseline_train.ts";
import { lpFinetuneStage } from "./lp_finetune.ts";
import { searchStages } from "./search.ts";
import { hlsAblationStages } from "./hls_ablation.ts";
import { reportStage } from "./report.ts";
import { gaLrMomWdStage } from "./ga_lr_mom_wd.ts";
import { cpmlhoStage } from "./cpmlho.ts";

/** Builds the stage DAG an experiment config describes. */
export function buildStages(config: ExperimentConfig): Stage[] {
  const stages: Stage[] = [];
  const needed = new Set(Object.values(config.splits).map((s) => s.dataset));
  for (const ds of needed) stages.push(fetchStage({ dataset: ds, sources: config.datasets[ds]?.sources }) as Stage);
  for (const [name, split] of Object.entries(config.splits)) stages.push(subsampleStage(name, split) as Stage);
  const withBackend = (section: unknown) => ({ backend: config.backend, ...(section as Record<string, unknown>) });
  if (config.baseline) {
    const b = config.baseline as { split?: string };
    requireSplit(config, "baseline", String(b.split));
    stages.push(baselineStage(withBackend(b), String(b.split)) as Stage);
    if (config.lpFinetune) stages.push(lpFinetuneStage(withBackend(config.lpFinetune), String(b.split)) as Stage);
  } else if (config.lpFinetune) {
    throw new UserError("config field 'lpFinetune' needs a 'baseline' section (it fine-tunes the baseline model)");
  }
  if (config.search) {
    const { splits, methods, budgets, ...rest } = config.search as {
      splits?: string[];
      methods?: string[];
      budgets?: Record<string, unknown>;
    };
    if (!Array.isArray(splits) || !Array.isArray(methods)) {
      throw new UserError("config field 'search': expected 'splits' (split names) and 'methods' (grid, random, microga) arrays");
    }
    if (typeof budgets !== "object" || budgets === null || !Object.keys(budgets).length) {
      throw new UserError('config field \'search.budgets\': expected an object of named training budgets, e.g. {"short": {"epochs": 1}}');
    }
    for (const split of splits) {
      requireSplit(config, "search.splits", split);
      for (const [budget, training] of Object.entries(budgets)) {
        for (const method of methods) stages.push(...searchStages(split, budget, withBackend({ ...rest, training, method })));
      }
    }
  }
  if (config.hlsAblation) {
    const { splits, budgets, ...rest } = config.hlsAblation as { splits?: string[]; budgets?: Record<string, unknown> };
    const search = (config.search ?? {}) as { budgets?: Record<string, unknown>; space?: unknown; hls?: unknown; ga?: unknown };
    const trainings = budgets ?? search.budgets;
    if (!Array.isArray(splits)) throw new UserError("config field 'hlsAblation.splits': expected an array of split names");
    if (typeof trainings !== "object" || trainings === null || !Object.keys(trainings).length) {
      throw new UserError("config field 'hlsAblation.budgets': expected named training budgets here or in 'search.budgets'");
    }
    // the ablation tests the search's HLS, space and GA unless it names its own
    const inherited = Object.fromEntries(
      Object.entries({ space: search.space, hls: search.hls, ga: search.ga }).filter(([, v]) => v !== undefined),
    );
    for (const split of splits) {
      requireSplit(config, "hlsAblation.splits", split);
      for (const [budget, training] of Object.entries(trainings)) {
        stages.push(...hlsAblationStages(split, budget, withBackend({ ...inherited, ...rest, training })));
      }
    }
  }
  if (config.gaLrMomWd) {
    const { runs, ...shared } = config.gaLrMomWd as { runs?: Record<string, Record<string, unknown>>; split?: string };
    if (typeof runs !== "object" || runs === null) {
      throw new UserError("config field 'gaLrMomWd.runs': expected an object of named runs (baseline, run1, ...)");
    }
    requireSplit(config, "gaLrMomWd", String(shared.split));
    for (const [run, overrides] of Object.entries(runs)) {
      const ga = { ...((shared as Record<string, unknown>).ga as object), ...(overrides.ga as object) };
      stages.push(gaLrMomWdStage(withBackend({ ...shared, ...overrides, ga, run }) as never) as Stage);
    }
  }
  if (config.cpmlho) {
    const { runs, ...shared } = config.cpmlho as { runs?: Record<string, { split?: string; cpmlho?: object }>; cpmlho?: object };
    if (typeof runs !== "object" || runs === null) {
      throw new UserError("config field 'cpmlho.runs': expected an object of named runs, each with a 'split'");
    }
    for (const [run, r] of Object.entries(runs)) {
      requireSplit(config, `cpmlho.runs.${run}.split`, String(r.split));
      stages.push(cpmlhoStage(withBackend({ ...shared, ...r, run, cpmlho: { ...shared.cpmlho, ...r.cpmlho } }) as never) as Stage);
    }
  }
  if (config.report !== undefined) {
    const upstream = stages.map((s) => s.name).filter((n) => !n.startsWith("fetch:") && !n.startsWith("subsample:"));
    // fetch stages are listed too, so that data that is not available shows in the report with how to provide it
    const fetches = stages.map((s) => s.name).filter((n) => n.startsWith("fetch:"));
    stages.push(reportStage({ ...(config.report as Record<string, unknown>), config }, [...fetches, ...upstream]) as Stage);
  }
  return stages;
}

/** The split a section refers to, or a UserError naming the section and the splits that exist. */
export function requireSplit(config: ExperimentConfig, section: string, split: string): void {
  if (!(split in config.splits)) {
    throw new UserError(
      `config field '${section}.split': unknown split '${split}'; defined splits: ${Object.keys(config.splits).join(", ") || "none"}`,
    );
  }
}
