import { z } from "zod";
import { keysAt, unknownKeysIssue } from "../pipeline/config.ts";
import { DatasetNameSchema, SourceSchema } from "../data/datasets.ts";
import { TrainOptions } from "../nn/train_options.ts";
import { SubsampleParams } from "./subsample.ts";
import { BaselineParams } from "./baseline_train.ts";
import { LpFinetuneParams } from "./lp_finetune.ts";
import { SearchParams } from "./search.ts";
import { HlsAblationParams } from "./hls_ablation.ts";
import { GaLrMomWdParams } from "./ga_lr_mom_wd.ts";
import { CpmlhoParams } from "./cpmlho.ts";
import { ReportSection } from "./report.ts";
import { BackendParam } from "../nn/backend_check.ts";

// Every section is its stage's own params schema (strict at every depth), less what the config gives once
// for all stages (the backend) or what the section spreads over several stages (splits, methods, budgets,
// runs). One schema per section: a typo anywhere is refused when the config loads, naming its path.

/** Names that become part of stage names (`search:<split>:<budget>:<method>`, `cpmlho:<run>`). */
const PartName = z.string().regex(/^[A-Za-z0-9_-]+$/, "names use A-Z, a-z, 0-9, '_' and '-'");

/** Named training budgets, e.g. {"short": {"epochs": 1}}. */
const Budgets = z.record(PartName, TrainOptions).refine((b) => Object.keys(b).length > 0, {
  message: 'expected at least one named training budget, e.g. {"short": {"epochs": 1}}',
});

/** search: methods × budgets × splits, each a per-seed search with and without HLS. */
export const SearchSection = SearchParams.omit({ backend: true, method: true, training: true, space: true, hls: true, ga: true })
  .extend({
    splits: z.array(z.string()).min(1),
    methods: z.array(SearchParams.shape.method).min(1),
    budgets: Budgets,
    // no defaults here: the HLS ablation inherits only what the search section states (stage defaults otherwise)
    space: SearchParams.shape.space.unwrap().optional(),
    hls: SearchParams.shape.hls.unwrap().optional(),
    ga: SearchParams.shape.ga.unwrap().optional(),
  });
export type SearchSection = z.infer<typeof SearchSection>;

/** hlsAblation: the paired HLS ablation per split and budget; space, HLS and GA default to the search's. */
export const HlsAblationSection = HlsAblationParams.omit({ backend: true, training: true, space: true, hls: true, ga: true })
  .extend({
    splits: z.array(z.string()).min(1),
    /** Default: the search section's budgets. */
    budgets: Budgets.optional(),
    space: HlsAblationParams.shape.space.unwrap().optional(),
    hls: HlsAblationParams.shape.hls.unwrap().optional(),
    ga: HlsAblationParams.shape.ga.unwrap().optional(),
  });
export type HlsAblationSection = z.infer<typeof HlsAblationSection>;

type JsonObject = { [k: string]: z.core.util.JSONType };
const JsonObject = z.record(z.string(), z.json());

/**
 * A section of named runs: fields shared by every run, and `runs: {name: fields}` that override them (the
 * nested object `nested` merged key by key). Each merged run is validated by the stage's schema; a problem
 * is reported at the path where the offending field was written (shared or in the run).
 */
function runsSection<S extends z.ZodObject>(run: S, nested: string) {
  const allowed = [...Object.keys(run.shape), "runs"];
  return JsonObject.transform((section, ctx) => {
    const { runs, ...shared } = section;
    const unknown = Object.keys(shared).filter((k) => !allowed.includes(k));
    if (unknown.length) ctx.addIssue(unknownKeysIssue({ valid: allowed, path: [], keys: unknown }));
    const named = z.record(PartName, JsonObject).safeParse(runs);
    if (!named.success) {
      ctx.addIssue({ code: "custom", path: ["runs"], message: 'expected an object of named runs, e.g. {"run1": {...}}' });
      return z.NEVER;
    }
    const out: Record<string, z.output<S>> = {};
    for (const [name, own] of Object.entries(named.data)) {
      const nestedShared = shared[nested], nestedOwn = own[nested];
      const merged: JsonObject = { ...shared, ...own };
      if (isObject(nestedShared) || isObject(nestedOwn)) {
        merged[nested] = { ...(isObject(nestedShared) ? nestedShared : {}), ...(isObject(nestedOwn) ? nestedOwn : {}) };
      }
      const r = run.safeParse(merged);
      if (r.success) {
        out[name] = r.data;
        continue;
      }
      for (const issue of r.error.issues) {
        const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
        const inRun = writtenIn(own, issue.path, keys);
        // unknown shared keys are reported once, above
        if (keys.length && !inRun && issue.path.length === 0) continue;
        const path = inRun ? ["runs", name, ...issue.path] : issue.path;
        if (keys.length) ctx.addIssue({ ...unknownKeysIssue({ valid: keysAt(run, issue.path), path: issue.path, keys }), path });
        else ctx.addIssue({ ...issue, path } as z.core.$ZodRawIssue);
      }
    }
    return { runs: out };
  });
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether the field at `path` (or one of `keys` under it) was written in `obj`. */
function writtenIn(obj: JsonObject, path: PropertyKey[], keys: string[]): boolean {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isObject(cur) || !(String(p) in cur)) return false;
    cur = cur[String(p)];
  }
  return keys.length === 0 ? true : isObject(cur) && keys.some((k) => k in cur);
}

/** gaLrMomWd: seed 001's GA runs (and its fixed-SGD baseline); `ga` merged per run. */
export const GaLrMomWdSection = runsSection(GaLrMomWdParams.omit({ backend: true, run: true }), "ga");
export type GaLrMomWdSection = z.infer<typeof GaLrMomWdSection>;

/** cpmlho: seed 003's runs; `cpmlho` merged per run. */
export const CpmlhoSection = runsSection(CpmlhoParams.omit({ backend: true, run: true }), "cpmlho");
export type CpmlhoSection = z.infer<typeof CpmlhoSection>;

/**
 * The experiment config: which data sets and splits exist, and the parameters of each experiment stage.
 * Sections left out are stages left out.
 */
export const ExperimentConfig = z.strictObject({
  /** A free-form description, shown in the report. */
  description: z.string().default(""),
  /** TensorFlow.js backend: wasm (default), cpu, or tensorflow (tfjs-node / tfjs-node-gpu, if installed). */
  backend: BackendParam,
  datasets: z.partialRecord(DatasetNameSchema, z.strictObject({ sources: z.array(SourceSchema).optional() })).default({}),
  splits: z.record(
    z.string().regex(/^[a-z0-9-]+$/, "split names use a-z, 0-9 and '-'"),
    SubsampleParams.partial({ nTrain: true, nVal: true, seed: true, stratify: true }),
  ).default({}),
  baseline: BaselineParams.omit({ backend: true }).optional(),
  lpFinetune: LpFinetuneParams.omit({ backend: true }).optional(),
  search: SearchSection.optional(),
  hlsAblation: HlsAblationSection.optional(),
  gaLrMomWd: GaLrMomWdSection.optional(),
  cpmlho: CpmlhoSection.optional(),
  report: ReportSection.optional(),
  /** Where `--executor slurm` submits (the --partition/--account/--sbatch-args flags and their variables win). */
  slurm: z.strictObject({
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    /** Extra sbatch arguments, one per element, e.g. ["--qos=short"]. */
    sbatchArgs: z.array(z.string().min(1)).optional(),
  }).optional(),
}).superRefine((c, ctx) => {
  // references between sections: every split named exists; the LP fine-tune needs the baseline it tunes
  const splitRefs: [PropertyKey[], string][] = [
    ...(c.baseline ? [[["baseline", "split"], c.baseline.split] as [PropertyKey[], string]] : []),
    ...(c.search?.splits ?? []).map((s, i): [PropertyKey[], string] => [["search", "splits", i], s]),
    ...(c.hlsAblation?.splits ?? []).map((s, i): [PropertyKey[], string] => [["hlsAblation", "splits", i], s]),
    ...Object.entries(c.gaLrMomWd?.runs ?? {}).map(([r, p]): [PropertyKey[], string] => [["gaLrMomWd", "runs", r, "split"], p.split]),
    ...Object.entries(c.cpmlho?.runs ?? {}).map(([r, p]): [PropertyKey[], string] => [["cpmlho", "runs", r, "split"], p.split]),
  ];
  for (const [path, split] of splitRefs) {
    if (split in c.splits) continue;
    const defined = Object.keys(c.splits).join(", ") || "none";
    ctx.addIssue({ code: "custom", path, message: `unknown split '${split}'; defined splits: ${defined}` });
  }
  if (c.lpFinetune && !c.baseline) {
    ctx.addIssue({ code: "custom", path: ["lpFinetune"], message: "needs a 'baseline' section (it fine-tunes the baseline model)" });
  }
  if (c.hlsAblation && !c.hlsAblation.budgets && !c.search) {
    ctx.addIssue({
      code: "custom",
      path: ["hlsAblation", "budgets"],
      message: "expected named training budgets here or in 'search.budgets'",
    });
  }
});
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;
