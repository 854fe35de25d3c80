// The HLS ablation's variants, apart from running them: a config naming them is validated without loading
// TensorFlow.js.
import { z } from "zod";
import { HlsOptionsFields } from "../bilevel/hls/hls_options.ts";

// A variant's HLS override lists its fields in the order the variants below write them (lambdaScale, selection,
// criterion, then what a variant changes), so that a variant stored in ablation.json reads back with its bytes.
const { lambdaScale, selection, criterion, maxStationarityRatio, block, k, ...otherFields } = HlsOptionsFields.partial().shape;

/** Overrides of the base HLS options: any of their fields, none filled in (HlsOptions adds the defaults). */
export const HlsOverride = z.strictObject({ lambdaScale, selection, criterion, maxStationarityRatio, block, k, ...otherFields });

/**
 * One way of running HLS, compared against no HLS on the same base models. one-shot: the `budget` random
 * models of a seed, each fine-tuned, the best by the variant's ranking data kept. microga: a whole micro-GA
 * run with HLS (Lamarckian or Baldwinian) against the micro-GA without HLS from the same initial population.
 * Every field is written out (no defaults), as DEFAULT_VARIANTS and ablation.json hold them.
 */
export const AblationVariant = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string(),
  kind: z.enum(["one-shot", "microga"]),
  hlsMode: z.enum(["lamarckian", "baldwinian"]),
  /** Overrides of the base HLS options. */
  hls: HlsOverride,
  /**
   * One-shot: fine-tune just the `top` models with the lowest validation loss as trained (the others are
   * ranked as trained, on the same ranking data): HLS at a fraction of the cost, if the winner is almost
   * always among the best few anyway. Micro-GA: fine-tune just the offspring that as trained rank among the
   * `top` best of the population and their batch (StudySettings.gaHlsTop).
   */
  top: z.number().int().min(1).optional(),
});
export type AblationVariant = z.infer<typeof AblationVariant>;

/** The paper's HLS, with an exact LP: raw λ, the t chosen on the validation set that ranks the models. */
export const HLS_PAPER = { lambdaScale: "linear", selection: "in-sample", criterion: "loss" } as const;
const HONEST = { lambdaScale: "log10", selection: "held-out", criterion: "loss" } as const;

/** The variants `hls-ablation` runs by default: the paper's HLS, then each change of issue 14 C and D. */
export const DEFAULT_VARIANTS: AblationVariant[] = [
  {
    name: "paper",
    description: "the paper's HLS (raw λ, t chosen in sample), exact LP",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: HLS_PAPER,
  },
  {
    name: "log",
    description: "λ steps in log10 units inside the search space, t chosen in sample",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HLS_PAPER, lambdaScale: "log10" },
  },
  {
    name: "log-heldout",
    description: "log10 λ; t chosen on half of the validation set, models ranked on the other half",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: HONEST,
  },
  {
    name: "log-heldout-acc",
    description: "as log-heldout, t chosen by accuracy",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
  },
  {
    name: "log-heldout-stationary",
    description: "as log-heldout, t refused where ‖∇w f‖ exceeds 1.25× its value at t = 0",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, maxStationarityRatio: 1.25 },
  },
  {
    name: "log-heldout-topk",
    description: "as log-heldout, on the 40 weights of largest |∇w F| (all layers) instead of the output layer",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, block: "topk", k: 40 },
  },
  {
    name: "log-heldout-acc-top5",
    description: "as log-heldout-acc, only the 5 models of lowest validation loss fine-tuned (1/8 of the HLS work)",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
    top: 5,
  },
  {
    name: "log-heldout-acc-top3",
    description: "as log-heldout-acc-top5, with the 3 models of lowest validation loss",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
    top: 3,
  },
  {
    name: "log-heldout-acc-top1",
    description: "as log-heldout-acc-top5, with only the model of lowest validation loss fine-tuned",
    kind: "one-shot",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
    top: 1,
  },
  {
    name: "microga-lamarckian",
    description: "micro-GA with log-heldout HLS, fine-tuned λ written back",
    kind: "microga",
    hlsMode: "lamarckian",
    hls: HONEST,
  },
  {
    name: "microga-lamarckian-top3",
    description: "as microga-lamarckian, HLS only on the models that as trained rank among the population's 3 best",
    kind: "microga",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
    top: 3,
  },
  {
    name: "microga-lamarckian-top1",
    description: "as microga-lamarckian-top3, HLS only on the models that as trained would be the population's best",
    kind: "microga",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
    top: 1,
  },
  {
    name: "microga-lamarckian-acc",
    description: "as microga-lamarckian, t chosen by accuracy (the searches' HLS), on every model",
    kind: "microga",
    hlsMode: "lamarckian",
    hls: { ...HONEST, criterion: "accuracy" },
  },
  {
    name: "microga-baldwinian",
    description: "micro-GA with log-heldout HLS, fitness only",
    kind: "microga",
    hlsMode: "baldwinian",
    hls: HONEST,
  },
];

/** The search method a variant's runs use: random search for one-shot variants, the micro-GA for the others. */
export function variantMethod(v: Pick<AblationVariant, "kind">): "random" | "microga" {
  return v.kind === "one-shot" ? "random" : "microga";
}
