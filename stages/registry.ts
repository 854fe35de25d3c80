import type { Stage } from "../pipeline/stage.ts";
import { UserError } from "../pipeline/errors.ts";
import type { ExperimentConfig } from "./config.ts";
import { fetchStage } from "./fetch.ts";
import { subsampleStage } from "./subsample.ts";

/** Builds the stage DAG an experiment config describes. */
export function buildStages(config: ExperimentConfig): Stage[] {
  const stages: Stage[] = [];
  const needed = new Set(Object.values(config.splits).map((s) => s.dataset));
  for (const ds of needed) stages.push(fetchStage({ dataset: ds, sources: config.datasets[ds]?.sources }) as Stage);
  for (const [name, split] of Object.entries(config.splits)) stages.push(subsampleStage(name, split) as Stage);
  return stages;
}

/** The split a section refers to, or a UserError naming the section and the splits that exist. */
export function requireSplit(config: ExperimentConfig, section: string, split: string): void {
  if (!(split in config.splits)) {
    throw new UserError(`config field '${section}.split': unknown split '${split}'; defined splits: ${Object.keys(config.splits).join(", ") || "none"}`);
  }
}
