import { z } from "zod";
import type { Stage } from "../pipeline/stage.ts";
import { isNotRun, untyped } from "../pipeline/stage.ts";
import { HlsOptions } from "../bilevel/hls/hls_options.ts";
import { type FinetuneOutput, FinetuneUnit } from "../bilevel/hls/hls_records.ts";
import { jsonWithVolatile, loadModule, readChecked } from "./_load.ts";
import { splitStage } from "./_split_stage.ts";
import { LIGHT_RESOURCES, trainingResources } from "./_resources.ts";
import { BackendParam } from "../nn/backend_check.ts";

const FINETUNE = new URL("../bilevel/hls/finetune.ts", import.meta.url);
const WEIGHTS_CODEC = new URL("../nn/weights_codec.ts", import.meta.url);

export const LpFinetuneParams = z.strictObject({
  backend: BackendParam,
  /** 1HP: one λ; 2HP: hidden / output; 6HP (perLayer): one per layer of the 5-hidden-layer MLP. */
  groupings: z.array(z.enum(["1HP", "2HP", "perLayer"])).default(["1HP", "2HP", "perLayer"]),
  /** Section II default: the k weights with the largest |∇_w F| across all layers, so hidden λ's act. */
  /** In-sample selection on the linear scale: the paper's Section II (the base model has λ = 0). */
  hls: HlsOptions.prefault(
    {
      block: "topk",
      k: 150,
      tMin: 1e-3,
      tMax: 100,
      points: 30,
      timeLimitS: 120,
      lambdaScale: "linear",
      selection: "in-sample",
    },
  ),
});
export type LpFinetuneParams = z.infer<typeof LpFinetuneParams>;

/** The name of one grouping's unit. */
export function lpFinetuneUnitName(grouping: string): string {
  return `lp-finetune:${grouping}`;
}

/** One grouping's parameters: the fine-tune's, with one grouping instead of the list. */
export const LpFinetuneUnitParams = LpFinetuneParams.omit({ groupings: true }).extend({ grouping: z.enum(["1HP", "2HP", "perLayer"]) });
export type LpFinetuneUnitParams = z.infer<typeof LpFinetuneUnitParams>;

/**
 * lp-finetune:<grouping>: LP fine-tuning of the base model with one grouping of its weights (1HP, 2HP or
 * 6HP, paper Section II): the loss along the descent direction and the accuracies before and after. One
 * unit per grouping, so that an interruption loses at most one grouping's work.
 */
function lpFinetuneUnitStage(params: z.input<typeof LpFinetuneUnitParams>, split: string): Stage<LpFinetuneUnitParams> {
  return splitStage({
    name: lpFinetuneUnitName(params.grouping),
    module: import.meta.url,
    split,
    reads: ["baseline-train"],
    // one LP over 150 weights and a traced line search: about 20 s here
    resources: trainingResources({ base: 10, perEpoch: 0 }),
    schema: LpFinetuneUnitParams,
    params,
    async compute({ params: p, split, inputs, progress }) {
      const base = inputs["baseline-train"];
      if (isNotRun(base)) throw new Error("baseline missing");
      const [{ finetuneGroupings }, { decodeModel }] = await Promise.all([
        loadModule<typeof import("../bilevel/hls/finetune.ts")>(FINETUNE),
        loadModule<typeof import("../nn/weights_codec.ts")>(WEIGHTS_CODEC),
      ]);
      const model = decodeModel(await base.bytes("model.json"), await base.bytes("weights.f32"));
      const [c] = await finetuneGroupings({ model, split, groupings: [p.grouping], hls: p.hls, onProgress: progress });
      return jsonWithVolatile("case.json", { base: { spec: model.spec }, hls: p.hls, case: c } satisfies FinetuneUnit);
    },
  });
}

/**
 * lp-finetune: the groupings' units merged (paper Section II): the loss along the descent direction
 * (Figures 2-4) and validation/test accuracy by number of hyperparameters (Figure 5), as `finetune.json`.
 */
function lpFinetuneMergeStage(params: z.input<typeof LpFinetuneParams>, units: string[]): Stage<LpFinetuneParams> {
  return {
    name: "lp-finetune",
    module: import.meta.url,
    resources: LIGHT_RESOURCES,
    light: true,
    deps: units.map((stage) => ({ stage })),
    schema: LpFinetuneParams,
    params,
    async run({ params: p, inputs }) {
      const read = new Map<string, FinetuneUnit>();
      for (const name of units) {
        const a = inputs[name];
        if (!a || isNotRun(a)) throw new Error(`unit ${name} has no output`);
        read.set(name, await readChecked(a, "case.json", FinetuneUnit));
      }
      // in the order the config lists the groupings, as one stage computing them in turn wrote them
      const ordered = p.groupings.map((g) => read.get(lpFinetuneUnitName(g))!);
      return jsonWithVolatile(
        "finetune.json",
        { base: ordered[0]?.base, hls: ordered[0]?.hls, cases: ordered.map((u) => u.case) } satisfies FinetuneOutput,
      );
    },
  };
}

/** The LP fine-tune's stages: one per grouping (lp-finetune:<grouping>), then the merge lp-finetune. */
export function lpFinetuneStages(params: z.input<typeof LpFinetuneParams>, split: string): Stage[] {
  const parsed = LpFinetuneParams.shape.groupings.safeParse(params.groupings);
  const groupings = parsed.success ? [...new Set(parsed.data)] : [];
  const { groupings: _all, ...rest } = params;
  const units = groupings.map((grouping) => lpFinetuneUnitStage({ ...rest, grouping }, split));
  return [...units.map(untyped), untyped(lpFinetuneMergeStage(params, units.map((u) => u.name)))];
}
