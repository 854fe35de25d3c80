import { z } from "zod";
import type { ArtifactSet, Stage } from "../pipeline/stage.ts";
import { isNotRun, type NotRun } from "../pipeline/stage.ts";
import { fromFileUrl } from "../pipeline/paths.ts";
import type { ReportInput } from "../report/build.ts";
import { reportEnvironment } from "./environment.ts";
import { checkShape, loadModule, readWithVolatile } from "./_load.ts";
import { StudyResult } from "../search/records.ts";
import { GaLrMomWdRecord } from "../search/ga_lr_mom_wd.ts";
import { SearchSummary } from "../search/summary.ts";
import { AblationOutput } from "../search/ablation_records.ts";
import { CpmlhoRecord } from "../cpmlho/cpmlho_records.ts";
import { FinetuneOutput } from "../bilevel/hls/hls_records.ts";
import { BaselineHistory } from "../nn/train_records.ts";
import { SubsampleParams } from "./subsample.ts";
import { LIGHT_RESOURCES } from "./_resources.ts";
import { isTimingOutput, TIMING_HTML, TIMING_MD, TIMING_PREFIX } from "../report/timing_names.ts";

const REPORT_BUILD = new URL("../report/build.ts", import.meta.url);
const TIMING_APPENDIX = new URL("../report/timing_appendix.ts", import.meta.url);

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

/** Upstream outputs that hold timings (the engine's default volatile names): read only by the timing appendix. */
const isUpstreamVolatile = (name: string) => name.includes(".volatile.");

/** What the report stage computes from: the results alone (for the page) and the results with their timings (for the appendix). */
interface ReportInputs {
  stable: ReportInput;
  withTimings: ReportInput;
}

/**
 * report: one self-contained HTML file and a Markdown report made from the artifacts' results only, each
 * figure as figure-<name>.svg and each table as table-<id>.csv (every trial in table-trials.csv); and a timing
 * appendix (timing.html, timing.md, timing-figure-*.svg, timing-table-*.csv) made from their timings. The page
 * never sees a timing, so it is a function of verified results and comes back byte for byte on a rerun; the
 * appendix is the stage's only volatile output.
 */
export function reportStage(params: z.input<typeof ReportParams>, upstream: string[]): Stage<ReportParams> {
  return {
    name: "report",
    module: import.meta.url,
    resources: LIGHT_RESOURCES,
    deps: upstream.map((stage) => ({ stage, optional: true })),
    schema: ReportParams,
    params,
    // wall times, and only they, may differ on a rerun: they live in the timing appendix alone
    isVolatileOutput: isTimingOutput,
    async run({ params: p, inputs, progress }) {
      progress(0, 2, "reading artifacts");
      const { stable, withTimings } = await readInputs(p, upstream, inputs);
      progress(1, 2, "rendering");
      const { buildReport } = await loadModule<typeof import("../report/build.ts")>(REPORT_BUILD);
      const { buildTimingAppendix } = await loadModule<typeof import("../report/timing_appendix.ts")>(TIMING_APPENDIX);
      const roots = pathRoots();
      const r = await buildReport(stable, roots);
      const t = await buildTimingAppendix(withTimings, roots);
      progress(2, 2);
      const enc = new TextEncoder();
      const out: Record<string, Uint8Array> = { "report.html": enc.encode(r.html), "report.md": enc.encode(r.markdown) };
      for (const [k, svg] of Object.entries(r.figures)) out[`figure-${k}.svg`] = enc.encode(svg);
      for (const [k, csv] of Object.entries(r.tables)) out[`table-${k}.csv`] = enc.encode(csv);
      const clash = Object.keys(out).filter(isTimingOutput);
      if (clash.length) throw new Error(`report outputs named like the timing appendix (would be unverified): ${clash.join(", ")}`);
      out[TIMING_HTML] = enc.encode(t.html);
      out[TIMING_MD] = enc.encode(t.markdown);
      for (const [k, svg] of Object.entries(t.figures)) out[`${TIMING_PREFIX}figure-${k}.svg`] = enc.encode(svg);
      for (const [k, csv] of Object.entries(t.tables)) out[`${TIMING_PREFIX}table-${k}.csv`] = enc.encode(csv);
      return out;
    },
  };
}

/** The report's two inputs from the upstream artifacts: results only, and results with timings merged back in. */
export async function readInputs(
  p: ReportParams,
  upstream: string[],
  inputs: Record<string, ArtifactSet | NotRun | undefined>,
): Promise<ReportInputs> {
  const { description, backend, splits, searchBudget, config } = p.facts;
  const empty = (): ReportInput => ({
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
  });
  const stable = empty(), withTimings = empty();
  for (const name of upstream) {
    const a = inputs[name];
    if (!a) continue;
    if (isNotRun(a)) {
      for (const inp of [stable, withTimings]) inp.stages.push({ name, notRun: a.notRun, digests: {} });
      continue;
    }
    const digests = (keep: (n: string) => boolean) => Object.fromEntries(a.names().filter(keep).map((n) => [n, a.digest(n)]));
    const results = digests((n) => !isUpstreamVolatile(n));
    stable.stages.push({ name, digests: results });
    withTimings.stages.push({ name, digests: results, volatileDigests: digests(isUpstreamVolatile) });
    await collect(name, (file) => a.json(file), stable, p.includeTrials);
    // results with a schema checked against it once, where their timings are merged back in (the page's copy is
    // the same file less its timings)
    await collect(
      name,
      async <T>(file: string) => {
        const value = await readWithVolatile<T>(a, file);
        const schema = checkedOutput(name, file);
        if (schema) checkShape(name, file, schema, value);
        return value;
      },
      withTimings,
      p.includeTrials,
    );
  }
  return { stable, withTimings };
}

type Read = <T>(file: string) => Promise<T>;

/** What a search merge writes in `studies.json`: each seed's runs without and with HLS. */
const StudiesFile = z.looseObject({ results: z.array(StudyResult) });

/**
 * The schema an upstream output the report reads is checked against: every one it reads has one (the science's,
 * or for the studies file the merge's wrapper around the science's).
 */
export function checkedOutput(stage: string, file: string): z.ZodType | undefined {
  if (file === "studies.json") return StudiesFile;
  if (stage === "baseline-train" && file === "history.json") return BaselineHistory;
  if (stage === "lp-finetune" && file === "finetune.json") return FinetuneOutput;
  if (stage.startsWith("search:") && file === "summary.json") return SearchSummary;
  if (stage.startsWith("hls-ablation:") && file === "ablation.json") return AblationOutput;
  if (stage.startsWith("ga-lr-mom-wd:") && file === "result.json") return GaLrMomWdRecord;
  if (stage.startsWith("cpmlho:") && file === "result.json") return CpmlhoRecord;
  return undefined;
}

async function collect(name: string, read: Read, inp: ReportInput, includeTrials: boolean): Promise<void> {
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
