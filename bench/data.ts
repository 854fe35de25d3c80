// Cold fetch + subsample of MNIST and Fashion-MNIST through the real CLI in a fresh store: wall time and
// peak resident memory of the process (goal: under 5 s and 500 MB each).
import { fromFileUrl } from "../pipeline/paths.ts";
import { printTable, runMeasured } from "./_util.ts";

const root = fromFileUrl(new URL("../", import.meta.url)).replace(/\/$/, "");
const rows = [];
for (const dataset of ["mnist", "fashion-mnist"]) {
  const dir = await Deno.makeTempDir({ prefix: "hpo-bench-data-" });
  Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify({ splits: { s: { dataset, nTrain: 5000, nVal: 2500 } } }));
  const r = await runMeasured(Deno.execPath(), [
    "run",
    "-A",
    `${root}/main.ts`,
    "reproduce",
    "--config",
    `${dir}/c.json`,
    "--store",
    `${dir}/store`,
    "--quiet",
  ]);
  rows.push({
    dataset,
    ok: r.code === 0 ? "yes" : `no: ${r.stderr.trim().split("\n").pop()}`,
    "wall s": r.seconds,
    "peak RSS MB": r.peakMb,
    "goal": "< 5 s, < 500 MB",
  });
  await Deno.remove(dir, { recursive: true });
}
printTable("Cold fetch + subsample (5,000 / 2,500 / 10,000)", rows);
