import { z } from "zod";
import { SkipStage, UserError } from "../pipeline/errors.ts";
import type { Stage } from "../pipeline/stage.ts";
import { DatasetNameSchema, DEFAULT_SOURCES, HOW_TO_PROVIDE, SourceSchema } from "../data/datasets.ts";
import { encodeData } from "../data/codec.ts";
import { canonicalJson } from "../pipeline/hash.ts";
import { DATA_RESOURCES } from "./_resources.ts";

import { loadModule } from "./_lazy.ts";
const READERS = new URL("../data/fetch.ts", import.meta.url);

export const FetchParams = z.strictObject({
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
    resources: DATA_RESOURCES,
    schema: FetchParams,
    params,
    description: `official ${params.dataset} files, checked against pinned digests`,
    async run({ params, progress }) {
      progress(0, 1, "reading sources");
      const sources = params.sources ?? DEFAULT_SOURCES[params.dataset];
      // loaded here: the readers bring node:zlib and node:stream, which a run with nothing to fetch need not load
      const { fetchDataset } = await loadModule<typeof import("../data/fetch.ts")>(READERS);
      const r = await fetchDataset(params.dataset, sources);
      if (!r.ok) {
        const detail = r.attempts.map((a) => `  - ${a}`).join("\n");
        if (r.kind === "invalid") throw new UserError(`no valid source for ${params.dataset}; every source failed a check:\n${detail}`);
        throw new SkipStage(
          `data not available: ${params.dataset} (tried: ${r.attempts.join("; ")}). To provide it: ${HOW_TO_PROVIDE[params.dataset]}`,
        );
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

/**
 * For `verify --rerun`: an archived config may choose among this checkout's own pinned data sources (its
 * DEFAULT_SOURCES), never add one. Any other source (a URL, a directory, a package, an archive path) is
 * dropped, with a note; a data set left with no source falls back to the defaults. The data digests are
 * pinned, so the same data gives the same artifacts whichever pinned source supplies it.
 */
export function pinnedSourcesOnly(raw: unknown): { config: unknown; notes: string[] } {
  const notes: string[] = [];
  if (typeof raw !== "object" || raw === null) return { config: raw, notes };
  const config = structuredClone(raw) as { datasets?: Record<string, { sources?: unknown[] }> };
  for (const [name, ds] of Object.entries(config.datasets ?? {})) {
    if (!ds || typeof ds !== "object" || ds.sources === undefined) continue;
    const pinned = (DEFAULT_SOURCES as Record<string, unknown[]>)[name] ?? [];
    const allowed = new Set(pinned.map((p) => canonicalJson(p)));
    const sources = Array.isArray(ds.sources) ? ds.sources : [ds.sources];
    const kept = sources.filter((s) => {
      const parsed = SourceSchema.safeParse(s);
      const ok = parsed.success && allowed.has(canonicalJson(parsed.data));
      if (!ok) {
        notes.push(`the archived config's source ${JSON.stringify(s)} for ${name} is not one of this checkout's pinned sources: not used`);
      }
      return ok;
    });
    if (kept.length) ds.sources = kept;
    else delete ds.sources;
  }
  return { config, notes };
}
