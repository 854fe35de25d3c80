/** Where the time went: seconds per stage, training against hyper local search. */
import { timingSpec } from "./charts.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import type { ReportInput } from "./types.ts";

/** Seconds per stage and part, from the timings recorded in each artifact. */
export function timingRows(inp: ReportInput): { stage: string; part: string; seconds: number }[] {
  const rows: { stage: string; part: string; seconds: number }[] = [];
  if (inp.baseline) rows.push({ stage: "baseline-train", part: "training and evaluation", seconds: inp.baseline.seconds });
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
  return rows;
}

/** The timing section, or undefined when nothing recorded time. */
export async function timingSection(w: ReportWriter, inp: ReportInput): Promise<SectionParts | undefined> {
  const rows = timingRows(inp);
  if (!rows.length) return undefined;
  const sec = section("Where the time went", "timing");
  await w.figure(
    sec,
    "timing",
    timingSpec(rows),
    "Seconds per stage, training versus hyper local search (from the timings recorded in each artifact)",
  );
  w.table(sec, {
    id: "timing",
    caption: "Seconds per stage",
    head: ["stage", "part", "seconds"],
    rows: rows.map((t) => [t.stage, t.part, t.seconds.toFixed(1)]),
  });
  return sec;
}
