import { z } from "zod";
import type { ArtifactSet, Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { fromFileUrl } from "../pipeline/paths.ts";
import type { ReportInput } from "../report/build.ts";
import { reportEnvironment } from "./environment.ts";
import { loadModule, readWithVolatile } from "./_load.ts";
import { SubsampleParams } from "./subsample.ts";
import { LIGHT_RESOURCES } from "./_resources.ts";

const REPORT_BUILD = new URL("../report/build.ts", import.meta.url);

/** The config's report section. */
export const ReportSection = z.strictObject({
  title: z.string().default("Hyperparameter tuning as a bilevel program: reproduction report"),
  /** Include every trial of every search (the scatter plot and studies files are larger). */
  includeTrials: z.boolean().default(true),
});

/** The report's params: its section, and what it needs to know of the whole config. */
export const ReportParams = ReportSection.extend({
  facts: z.strictObject({
    description: z.string(),
    backend: z.string(),
    /** Every split as the config defines it (sizes: the subsample stage's defaults filled in). */
    splits: z.record(z.string(), SubsampleParams.partial({ nTrain: true, nVal: true, seed: true, stratify: true })),
    /** The search section's models per one-shot run, if the config has one. */
    searchBudget: z.number().int().optional(),
    /** The whole validated config (defaults filled in), shown in the provenance section. */
    config: z.json(),
  }),
});
export type ReportParams = z.infer<typeof ReportParams>;

/** Absolute paths the page must not show, and what replaces them: the project root and the home directory. */
function pathRoots(): Record<string, string> {
  const roots: Record<string, string> = { [fromFileUrl(new URL("..", import.meta.url)).replace(/\/$/, "")]: "." };
  const home = Deno.env.get("HOME");
  if (home && home !== "/") roots[home] = "~";
  return roots;
}

/**
 * report: one self-contained HTML file and a Markdown report made from the artifacts only, each figure as
 * figure-<name>.svg and each table as table-<id>.csv (every trial in table-trials.csv).
 */
export function reportStage(params: z.input<typeof ReportParams>, upstream: string[]): Stage<ReportParams> {
  return {
    name: "report",
    module: import.meta.url,
    resources: LIGHT_RESOURCES,
    deps: upstream.map((stage) => ({ stage, optional: true })),
    schema: ReportParams,
    params,
    // the report embeds timings (its timing section and figure): a view, verified through its inputs
    isVolatileOutput: () => true,
    async run({ params: p, inputs, progress }) {
      progress(0, 2, "reading artifacts");
      const { description, backend, splits, searchBudget, config } = p.facts;
      const inp: ReportInput = {
        title: p.title,
        description,
        config,
        splits,
        searchBudget,
        environment: reportEnvironment(backend, config),
        stages: [],
        searches: [],
        gaLrMomWd: [],
        ablations: [],
        cpmlho: [],
      };
      for (const name of upstream) {
        const a = inputs[name];
        if (!a) continue;
        if (isNotRun(a)) {
          inp.stages.push({ name, notRun: a.notRun, digests: {} });
          continue;
        }
        inp.stages.push({ name, digests: Object.fromEntries(a.names().map((n) => [n, a.digest(n)])) });
        await collect(name, a, inp, p.includeTrials);
      }
      progress(1, 2, "rendering");
      const { buildReport } = await loadModule<typeof import("../report/build.ts")>(REPORT_BUILD);
      const r = await buildReport(inp, pathRoots());
      progress(2, 2);
      const enc = new TextEncoder();
      const out: Record<string, Uint8Array> = { "report.html": enc.encode(r.html), "report.md": enc.encode(r.markdown) };
      for (const [k, svg] of Object.entries(r.figures)) out[`figure-${k}.svg`] = enc.encode(svg);
      for (const [k, csv] of Object.entries(r.tables)) out[`table-${k}.csv`] = enc.encode(csv);
      return out;
    },
  };
}

async function collect(name: string, a: ArtifactSet, inp: ReportInput, includeTrials: boolean): Promise<void> {
  // results and their timings are stored apart (timings vary between identical runs); the report shows both
  const read = <T>(file: string): Promise<T> => readWithVolatile<T>(a, file);
  if (name === "baseline-train") inp.baseline = await read("history.json");
  else if (name === "lp-finetune") inp.finetune = await read("finetune.json");
  else if (name.startsWith("search:")) {
    inp.searches.push({
      stage: name,
      summary: await read("summary.json"),
      studies: includeTrials ? await read("studies.json") : undefined,
    });
  } else if (name.startsWith("ga-lr-mom-wd:")) inp.gaLrMomWd!.push({ stage: name, result: await read("result.json") });
  else if (name.startsWith("hls-ablation:")) inp.ablations!.push(await read("ablation.json"));
  else if (name.startsWith("cpmlho:")) inp.cpmlho!.push({ stage: name, result: await read("result.json") });
}
