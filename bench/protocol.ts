// The full protocol's wall time, broken down by stage and by training versus HLS, read from the last run's
// manifest and artifacts (run `deno task reproduce` first). Prints what the run measured.
import { fromFileUrl } from "../pipeline/paths.ts";
import { readManifest } from "../pipeline/store/manifest.ts";
import { ArtifactStore } from "../pipeline/store/store.ts";
import { printTable } from "./_util.ts";
import { mergeVolatile } from "../util/volatile.ts";

const root = fromFileUrl(new URL("../", import.meta.url)).replace(/\/$/, "");
const storeRoot = Deno.env.get("HPO_STORE") ?? `${root}/artifacts`;
const m = await readManifest(`${storeRoot}/manifests/latest.json`);
if (!m) {
  console.log(`no manifest in ${storeRoot}: run 'deno task reproduce' first`);
  Deno.exit(0);
}
const store = new ArtifactStore(storeRoot);
const rows: Record<string, string | number>[] = [];
const totals = new Map<string, { wall: number; hls: number }>();
for (const s of m.stages) {
  const row: Record<string, string | number> = {
    stage: s.stage,
    status: s.status,
    "wall s": (s.wallMs ?? 0) / 1000,
    "HLS s": "",
    "training and evaluation s": "",
  };
  if (s.stage.startsWith("search:") && s.outputs["summary.json"]) {
    const read = async (name: string) => JSON.parse(new TextDecoder().decode(await store.getObject(s.outputs[name].digest)));
    // timings live in the volatile companion of the summary
    const sum = mergeVolatile(
      await read("summary.json"),
      s.outputs["summary.volatile.json"] ? await read("summary.volatile.json") : undefined,
    );
    const hls = sum.perSeed.reduce((a: number, p: { hlsSeconds: number }) => a + p.hlsSeconds, 0);
    // the work ran in the per-seed units search-seed:<split>:<budget>:<method>:<seed>; the merge is cheap
    const unitPrefix = `search-seed:${s.stage.slice("search:".length)}:`;
    const wall = m.stages.filter((u) => u.stage.startsWith(unitPrefix)).reduce(
      (a, u) => a + (u.wallMs ?? 0) / 1000,
      (s.wallMs ?? 0) / 1000,
    );
    row["wall s"] = wall;
    row["HLS s"] = hls;
    row["training and evaluation s"] = wall - hls;
    const key = s.stage.split(":").slice(1, 3).join(":");
    const t = totals.get(key) ?? { wall: 0, hls: 0 };
    totals.set(key, { wall: t.wall + wall, hls: t.hls + hls });
  }
  rows.push(row);
}
printTable(`Run ${m.runId} (${m.state}); wall times as recorded when each stage was computed`, rows);
printTable(
  "Search protocol totals per data set and budget (3 methods × ±HLS × 40 models × all seeds)",
  [...totals].map(([k, t]) => ({ "data set:budget": k, "wall s": t.wall, "HLS s": t.hls, "training s": t.wall - t.hls })),
);
