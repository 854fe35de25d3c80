/**
 * The timing appendix: every wall time the artifacts record, and nothing else (names that say what was timed,
 * no result). It is the report stage's volatile part: a rerun of the same config may change it, and
 * `verify --rerun` allows that; everything else the report stage writes must come back byte for byte.
 */
import { timingSpec } from "./charts.ts";
import { fmt } from "./format.ts";
import { pageHtml, pageMd } from "./page.ts";
import { ReportWriter, section, type SectionParts } from "./section.ts";
import { relativePaths } from "./build.ts";
import { TIMING_PREFIX } from "./timing_names.ts";
import { equalTimeSection } from "./equal_time_section.ts";
import { methodName, type Report, type ReportInput } from "./types.ts";

/** Seconds per stage and part, from the timings recorded in each artifact. */
export function timingRows(inp: ReportInput): { stage: string; part: string; seconds: number }[] {
  const rows: { stage: string; part: string; seconds: number }[] = [];
  if (inp.baseline) rows.push({ stage: "baseline-train", part: "training and evaluation", seconds: inp.baseline.seconds ?? NaN });
  if (inp.finetune) {
    const lp = inp.finetune.cases.reduce((a, c) => a + c.cost.lpSeconds, 0);
    const all = inp.finetune.cases.reduce((a, c) => a + c.cost.seconds, 0);
    rows.push({ stage: "lp-finetune", part: "HLS: LP solve", seconds: lp }, {
      stage: "lp-finetune",
      part: "HLS: derivatives and line search",
      seconds: all - lp,
    });
  }
  for (const { stage, summary: s } of inp.searches) {
    const train = s.perSeed.filter((p) => !p.hls || s.method === "microga").reduce((a, p) => a + p.seconds - p.hlsSeconds, 0);
    const hls = s.perSeed.reduce((a, p) => a + p.hlsSeconds, 0);
    rows.push({ stage, part: "training and evaluation", seconds: train }, { stage, part: "HLS", seconds: hls });
  }
  return rows.filter((r) => Number.isFinite(r.seconds));
}

const s1 = (x: number | undefined) => fmt(x, 1);

/** The appendix's one section: the figure and a table per kind of stage that recorded time. */
async function timingSection(w: ReportWriter, inp: ReportInput): Promise<SectionParts> {
  const sec = section("Where the time went", "timing");
  w.text(
    sec,
    "Measured wall times of the run's stages (stages reused from the cache keep the times of the run that computed them, maybe on another machine). They vary from run to run and are not verified byte for byte; the report beside this page holds the results.",
    "note",
  );
  const rows = timingRows(inp);
  if (rows.length) {
    await w.figure(sec, "timing", timingSpec(rows), "Seconds per stage, training versus hyper local search");
    w.table(sec, {
      id: "timing",
      caption: "Seconds per stage",
      head: ["stage", "part", "seconds"],
      rows: rows.map((t) => [t.stage, t.part, s1(t.seconds)]),
    });
  }
  if (inp.finetune?.cases.length) {
    w.table(sec, {
      id: "finetune",
      caption: "Section II fine-tuning: seconds per λ grouping",
      head: ["λ groups", "#HP", "seconds", "LP seconds"],
      rows: inp.finetune.cases.map((c) => [c.grouping, String(c.hyperparameters), s1(c.cost.seconds), s1(c.cost.lpSeconds)]),
    });
  }
  if (inp.searches.length) {
    w.table(sec, {
      id: "search-per-seed",
      caption: "Section IV searches: wall seconds per seed, and of them HLS",
      head: ["search", "method", "seed", "HLS", "wall s", "HLS s"],
      rows: inp.searches.flatMap(({ summary: s }) =>
        s.perSeed.map((
          p,
        ) => [
          `${s.dataset} · ${s.budget}`,
          methodName(s.method),
          String(p.seed),
          p.hls ? "with" : "without",
          s1(p.seconds),
          s1(p.hlsSeconds),
        ])
      ),
    });
    const trials = inp.searches.flatMap(({ summary: s, studies }) =>
      (studies?.results ?? []).flatMap((r) =>
        r.trials.map((t) => [s.dataset, s.budget, s.method, String(r.seed), String(r.hls), String(t.index), fmt(t.trainSeconds, 4)])
      )
    );
    if (trials.length) {
      const id = w.csv({
        id: "trials",
        caption: "training seconds of every trial",
        head: ["dataset", "budget", "method", "seed", "hls", "trial", "train_seconds"],
        rows: trials,
      });
      w.text(sec, `Every trial's training time (${trials.length} rows) is in timing-table-${id}.csv.`, "note");
    }
  }
  for (const a of inp.ablations ?? []) {
    w.table(sec, {
      id: `ablation-${a.dataset}-${a.budget}`,
      caption: `HLS ablation, ${a.dataset} · ${a.budget}: each variant's wall time against no HLS (summed over seeds)`,
      head: ["variant", "seconds", "no HLS seconds", "time × no HLS"],
      rows: a.summary.map((v) => [v.name, s1(v.seconds), s1(v.referenceSeconds), fmt(v.seconds / v.referenceSeconds, 2)]),
      note: "One-shot variants: HLS and training over training only; micro-GA variants: the study with HLS over the study without.",
    });
  }
  if (inp.gaLrMomWd?.length) {
    w.table(sec, {
      id: "seed001",
      caption: "Seed 001: minutes per GA run",
      head: ["run", "minutes"],
      rows: inp.gaLrMomWd.map(({ result: r }) => [String(r.run), fmt((r.seconds as number) / 60, 2)]),
    });
  }
  const vol = inp.stages.flatMap((s) => Object.entries(s.volatileDigests ?? {}).map(([n, d]) => [s.name, n, d]));
  if (vol.length) w.csv({ id: "artifacts", caption: "timing artifacts", head: ["stage", "output", "sha256"], rows: vol });
  return sec;
}

/** The timing appendix as a page of its own (HTML and Markdown, run facts filled at export), its figure and tables. */
export async function buildTimingAppendix(inp: ReportInput, roots: Record<string, string> = {}): Promise<Report> {
  const rel = (s: string) => relativePaths(s, roots);
  const w = new ReportWriter({ prefix: TIMING_PREFIX });
  const sec = await timingSection(w, inp);
  // equal wall time beside equal model count: from per-model times, so here and not on the main page
  const secs = [sec, equalTimeSection(w, inp)].filter((x): x is SectionParts => x !== undefined);
  const title = `${inp.title}: timing appendix`;
  const back = "Timing appendix of the report beside it (report.html).";
  const map = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, rel(v)]));
  return {
    html: rel(pageHtml(title, back, secs)),
    markdown: rel(pageMd(title, back, secs)),
    figures: map(w.figures),
    tables: map(w.tables),
  };
}
