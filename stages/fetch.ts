import { z } from "zod";
import { SkipStage, UserError } from "../pipeline/errors.ts";
import type { Stage } from "../pipeline/stage.ts";
import { DatasetNameSchema, DEFAULT_SOURCES, HOW_TO_PROVIDE, SourceSchema } from "../data/datasets.ts";
import { fetchDataset } from "../data/fetch.ts";
import { encodeData } from "../data/codec.ts";

export const FetchParams = z.object({
  dataset: DatasetNameSchema,
  /** Sources tried in order; default: the data set's offline source, then its official URL. */
  sources: z.array(SourceSchema).optional(),
});
export type FetchParams = z.infer<typeof FetchParams>;

/**
 * fetch:<dataset>: reads the official files from the first source that has them, checks them against the
 * pinned digests and formats, and stores the whole train and test sets as compact uint8 artifacts.
 */
export function fetchStage(params: FetchParams): Stage<FetchParams> {
  return {
    name: `fetch:${params.dataset}`,
    module: import.meta.url,
    deps: [],
    schema: FetchParams,
    params,
    description: `official ${params.dataset} files, checked against pinned digests`,
    async run({ params, progress }) {
      progress(0, 1, "reading sources");
      const sources = params.sources ?? DEFAULT_SOURCES[params.dataset];
      const r = await fetchDataset(params.dataset, sources);
      if (!r.ok) {
        const detail = r.attempts.map((a) => `  - ${a}`).join("\n");
        if (r.kind === "invalid") throw new UserError(`no valid source for ${params.dataset}; every source failed a check:\n${detail}`);
        throw new SkipStage(`data not available: ${params.dataset} (tried: ${r.attempts.join("; ")}). To provide it: ${HOW_TO_PROVIDE[params.dataset]}`);
      }
      const d = r.dataset;
      progress(1, 1, `from ${d.provenance.source}`);
      return encodeData({
        meta: {
          name: d.name,
          shape: d.shape,
          classes: d.classes,
          counts: { train: d.trainLabels.length, test: d.testLabels.length },
          provenance: d.provenance,
        },
        parts: { train: { x: d.trainImages, y: d.trainLabels }, test: { x: d.testImages, y: d.testLabels } },
      });
    },
  };
}
