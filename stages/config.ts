import { z } from "zod";
import { DatasetNameSchema, SourceSchema } from "../data/datasets.ts";
import { SubsampleParams } from "./subsample.ts";

/**
 * The experiment config: which data sets and splits exist, and the parameters of each experiment stage.
 * Sections left out are stages left out. Stage-specific sections are validated again by their stage.
 */
export const ExperimentConfig = z.strictObject({
  /** A free-form description, shown in the report. */
  description: z.string().default(""),
  /** TensorFlow.js backend: wasm (default), cpu, or tensorflow (tfjs-node / tfjs-node-gpu, if installed). */
  backend: z.enum(["wasm", "cpu", "tensorflow"]).default("wasm"),
  datasets: z.partialRecord(DatasetNameSchema, z.strictObject({ sources: z.array(SourceSchema).optional() })).default({}),
  splits: z.record(
    z.string().regex(/^[a-z0-9-]+$/, "split names use a-z, 0-9 and '-'"),
    SubsampleParams.partial({ nTrain: true, nVal: true, seed: true, stratify: true }),
  ).default({}),
  baseline: z.unknown().optional(),
  lpFinetune: z.unknown().optional(),
  search: z.unknown().optional(),
  /** The HLS ablation (stages/hls_ablation.ts): `splits`, optional `budgets` (default: the search's), seeds, variants. */
  hlsAblation: z.unknown().optional(),
  gaLrMomWd: z.unknown().optional(),
  cpmlho: z.unknown().optional(),
  report: z.unknown().optional(),
}).strict();
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;
