/** The provenance section: the run and its machine (filled in on export), the libraries, every artifact's digest, the config. */
import { esc, mdText } from "./format.ts";
import { runFactsTable } from "./run_facts.ts";
import { type ReportWriter, section, type SectionParts } from "./section.ts";
import type { ReportInput } from "./types.ts";

/** Hex digits of each sha256 shown on the page; the CSV and the run manifest hold all 64. */
export const DIGEST_SHOWN = 16;

/** Stages of one seed, variant or population, which feed the merges the report reads (search-seed:…, hls-ablation-variant:…, population:…). */
const PER_SEED = /^([a-z-]+-(seed|variant)|population):/;

/** The provenance section. */
export function provenanceSection(w: ReportWriter, inp: ReportInput): SectionParts {
  const sec = section("Provenance", "provenance");
  sec.html.push(runFactsTable("html"));
  sec.md.push(runFactsTable("md"));
  w.table(sec, {
    id: "environment",
    caption: "The libraries and config behind this report (the machine is in the run's facts above)",
    head: ["what", "value"],
    rows: Object.entries(inp.environment).map(([k, v]) => [k, v]),
  });
  const ran = inp.stages.filter((s) => !s.notRun);
  const rows = ran.flatMap((s) => Object.entries(s.digests).map(([n, d]) => [s.name, n, d]));
  const id = w.csv({ id: "artifacts", caption: "artifacts", head: ["stage", "output", "sha256"], rows });
  // per-seed stages feed the merges the report reads; their digests are in the CSV and the run manifest
  const shown = rows.filter(([s]) => !PER_SEED.test(s));
  const perSeed = new Set(rows.filter(([s]) => PER_SEED.test(s)).map(([s]) => s)).size;
  sec.html.push(`<details><summary>Every number above comes from the artifacts of ${ran.length} stages (sha256)</summary>`);
  w.table(sec, {
    id: "artifacts-shown",
    caption:
      `Artifacts the report reads (first ${DIGEST_SHOWN} hex digits of each sha256; all 64, and those of the ${perSeed} per-seed and per-variant stages, in table-${id}.csv and the run manifest)`,
    head: ["stage", "output", "sha256"],
    rows: shown.map(([s, n, d]) => [s, n, d.slice(0, DIGEST_SHOWN)]),
  }, { csv: false });
  sec.html.push("</details>");
  const cfg = JSON.stringify(inp.config, null, 1);
  sec.html.push(`<details><summary>Config</summary><pre>${esc(cfg)}</pre></details>`);
  sec.md.push(`${mdText("Config:")}\n\n\`\`\`json\n${cfg}\n\`\`\`\n`);
  return sec;
}
