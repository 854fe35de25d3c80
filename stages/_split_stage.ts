// The skeleton of every stage that computes on one split: its dependency on subsample:<split> (and any other
// upstream it reads), the split loaded as tensors under the stage's backend and freed afterwards. Each such
// stage then says only what it computes.
import type { z } from "zod";
import type { ArtifactSet, NotRun, Progress, Stage, StageOutputs } from "../pipeline/stage.ts";
import type { BackendName } from "../nn/backend_check.ts";
import { type LoadedSplit, withSplit } from "./_load.ts";

/** What a split stage's computation receives. */
export interface SplitContext<P> {
  params: P;
  split: LoadedSplit;
  /** The backend TensorFlow.js reports using. */
  backend: string;
  /** Upstream outputs by stage name: the split's, and those of `reads`. */
  inputs: Record<string, ArtifactSet | NotRun>;
  progress: Progress;
}

/**
 * A stage on subsample:<split>, also reading the stages `reads`, that runs `compute` with the split loaded.
 *
 * @example
 * ```ts
 * splitStage({ name: "baseline-train", module: import.meta.url, split: "mnist", resources, schema, params,
 *   compute: async ({ params, split, backend }) => jsonWithVolatile("history.json", await train(split, params)) });
 * ```
 */
export function splitStage<P extends { backend: BackendName }>(a: {
  name: string;
  /** The stage's own module (import.meta.url): its code digest. */
  module: string;
  split: string;
  reads?: string[];
  resources: NonNullable<Stage["resources"]>;
  schema: z.ZodType<P>;
  params: unknown;
  compute: (c: SplitContext<P>) => Promise<StageOutputs>;
}): Stage<P> {
  const dep = `subsample:${a.split}`;
  return {
    name: a.name,
    module: a.module,
    deps: [dep, ...(a.reads ?? [])].map((stage) => ({ stage })),
    resources: a.resources,
    schema: a.schema,
    params: a.params,
    run: ({ params, inputs, progress }) =>
      withSplit(
        { backend: params.backend, input: inputs[dep] },
        (split, backend) => a.compute({ params, split, backend, inputs, progress }),
      ),
  };
}
