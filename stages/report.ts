import { z } from "zod";
import type { ArtifactSet, Stage } from "../pipeline/stage.ts";
import { isNotRun } from "../pipeline/stage.ts";
import { buildReport, type ReportInput } from "../report/build.ts";
import { environmentInfo } from "./environment.ts";
import { readWithVolatile } from "./_load.ts";

export const ReportParams = z.object({
  title: z.string().default("Hyperparameter tuning as a bilevel program: reproduction report"),
  /** The whole experiment config, shown in the provenance section. */
  config: z.unknown(),
  /** Include every trial of every search (the scatter plot and studies files are larger). */
  includeTrials: z.boolean().default(true),
});
export type ReportParams = z.infer<typeof ReportParams>;

/** report: one self-contained HTML file and a Markdown summary, made from the artifacts only. */
export function reportStage(params: z.input<typeof ReportParams>, upstream: string[]): Stage<ReportParams> {
  return {
    name: "report",
    module: import.meta.url,
    deps: upstream.map((stage) => ({ stage, optional: true })),
    schema: ReportParams,
    params,
    // the report embeds timings (its timing section and figure): a view, verified through its inputs
    isVolatileOutput: () => true,
    async run({ params: p, inputs, progress }) {
      progress(0, 2, "reading artifacts");
      const cfg = (p.config ?? {}) as { description?: string; backend?: string };
      const inp: ReportInput = {
        title: p.title,
        description: cfg.description ?? "",
        config: p.config,
        environment: {
          ...environmentInfo(cfg.backend ?? "wasm"),
          deno: Deno.version.deno,
          v8: Deno.version.v8,
          typescript: Deno.version.typescript,
          os: `${Deno.build.os} ${Deno.build.arch}`,
        },
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
      const r = await buildReport(inp);
      progress(2, 2);
      const enc = new TextEncoder();
      const out: Record<string, Uint8Array> = { "report.html": enc.encode(r.html), "report.md": enc.encode(r.markdown) };
      for (const [k, svg] of Object.entries(r.figures)) out[`figure-${k}.svg`] = enc.encode(svg);
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
