import { type Stage, untyped } from "../pipeline/stage.ts";
import type { ExperimentConfig } from "./config.ts";
import { fetchStage } from "./fetch.ts";
import { subsampleStage } from "./subsample.ts";
import { baselineStage } from "./baseline_train.ts";
import { lpFinetuneStages } from "./lp_finetune.ts";
import { addSearchStages } from "./search.ts";
import { addHlsAblationStages } from "./hls_ablation.ts";
import { StagePool } from "./_pool.ts";
import { reportStage } from "./report.ts";
import { gaLrMomWdStage } from "./ga_lr_mom_wd.ts";
import { cpmlhoStage } from "./cpmlho.ts";

/**
 * Builds the stage DAG a (validated) experiment config describes. References between sections (split
 * names, the baseline the LP fine-tune needs) are checked by the config schema.
 */
export function buildStages(config: ExperimentConfig): Stage[] {
  const { backend } = config;
  // identical work (a population the searches and the ablation both need) is one stage
  const pool = new StagePool();
  const add = (s: Stage) => void pool.add(s);
  const needed = new Set(Object.values(config.splits).map((s) => s.dataset));
  for (const ds of needed) add(untyped(fetchStage({ dataset: ds, sources: config.datasets[ds]?.sources })));
  for (const [name, split] of Object.entries(config.splits)) add(untyped(subsampleStage(name, split)));
  if (config.baseline) {
    add(untyped(baselineStage({ ...config.baseline, backend })));
    if (config.lpFinetune) lpFinetuneStages({ ...config.lpFinetune, backend }, config.baseline.split).forEach(add);
  }
  if (config.search) {
    const { splits, methods, budgets, ...rest } = config.search;
    for (const split of splits) {
      for (const [budget, training] of Object.entries(budgets)) {
        for (const method of methods) addSearchStages(pool, split, budget, { ...rest, training, method, backend });
      }
    }
  }
  if (config.hlsAblation) {
    const { splits, budgets, ...rest } = config.hlsAblation;
    // the ablation tests the search's HLS, space and GA unless it names its own
    const { space, hls, ga } = config.search ?? {};
    const inherited = Object.fromEntries(Object.entries({ space, hls, ga }).filter(([, v]) => v !== undefined));
    for (const split of splits) {
      for (const [budget, training] of Object.entries(budgets ?? config.search?.budgets ?? {})) {
        addHlsAblationStages(pool, split, budget, { ...inherited, ...rest, training, backend });
      }
    }
  }
  for (const [run, params] of Object.entries(config.gaLrMomWd?.runs ?? {})) {
    add(untyped(gaLrMomWdStage({ ...params, run, backend })));
  }
  for (const [run, params] of Object.entries(config.cpmlho?.runs ?? {})) {
    add(untyped(cpmlhoStage({ ...params, run, backend })));
  }
  const stages = pool.stages();
  if (config.report !== undefined) {
    const upstream = stages.map((s) => s.name).filter((n) => !n.startsWith("fetch:") && !n.startsWith("subsample:"));
    // fetch stages are listed too, so that data that is not available shows in the report with how to provide it
    const fetches = stages.map((s) => s.name).filter((n) => n.startsWith("fetch:"));
    stages.push(untyped(reportStage({ ...config.report, facts: reportFacts(config) }, [...fetches, ...upstream])));
  }
  return stages;
}

/** What the report needs to know of the config: its description, backend, split sizes, search budget, and the config itself to show. */
function reportFacts(config: ExperimentConfig) {
  // where the jobs ran is no result: a change of partition must not recompute the report
  const { slurm: _where, ...shown } = config;
  return {
    description: config.description,
    backend: config.backend,
    splits: config.splits,
    searchBudget: config.search?.budget,
    config: shown,
  };
}
