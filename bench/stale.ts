// What would an edit cost? On a store holding a run of a config, `status` as if the given modules had
// been edited (their digests changed, the files untouched): how many stages go stale, which families, and
// the recorded single-core time of the stages that would rerun against the whole run's.
//
//   deno run -A bench/stale.ts --store DIR --config configs/default.json --edit bilevel/lp/lp_block.ts
//   deno run -A bench/stale.ts                      # runs configs/smoke.json into a fresh store first
//   options: --edit FILE (repeatable; default: every module the config's stages import, one at a time,
//            summarised per module), --jobs N for the run it makes (default 2)
//
// The time is the sum of the stale stages' latest recorded wall times in the store (each stage's own
// compute time, i.e. CPU-bound single-core time), beside the sum over every stage of the config.
import { reproduceInto } from "./_util.ts";
import { parseArgs } from "node:util";
import { stageFamily } from "../pipeline/plan/eta.ts";
import { readWallHistory } from "../pipeline/plan/wall_history.ts";
import { formatDuration } from "../pipeline/exec/progress.ts";
import { pipelineStatus } from "../pipeline/plan/status.ts";
import { CodeDigester } from "../pipeline/plan/code_digest.ts";
import { ExperimentConfig } from "../stages/config.ts";
import { buildStages } from "../stages/registry.ts";
import { loadJsonConfig } from "../pipeline/config.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    store: { type: "string" },
    config: { type: "string", default: "configs/smoke.json" },
    edit: { type: "string", multiple: true },
    jobs: { type: "string", default: "2" },
    quick: { type: "boolean" }, // (bench/run_all.ts passes it on; the smoke config is already quick)
  },
});
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const importMap = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)).imports;
const configPath = `${root}/${values.config}`.replace(`${root}/${root}`, root);

let store = values.store;
let made: string | undefined;
if (!store) {
  made = store = Deno.makeTempDirSync({ prefix: "hpo-bench-stale-" });
  console.log(`bench/stale: running ${values.config} with --jobs ${values.jobs} into ${store}`);
  await reproduceInto({ config: values.config!, store, jobs: values.jobs! });
}

try {
  const { config } = await loadJsonConfig(configPath, ExperimentConfig, []);
  const stages = buildStages(config);
  const wall = new Map<string, number>();
  for (const r of await readWallHistory(store)) wall.set(r.stage, r.wallMs);
  const total = stages.reduce((a, s) => a + (wall.get(s.name) ?? 0), 0);
  const status = (edits: string[]) =>
    pipelineStatus(stages, { storeRoot: store!, projectRoot: root, importMap, configPath, simulatedEdits: edits });
  const base = await status([]);
  const count = (rows: typeof base, state: string) => rows.filter((r) => r.state === state).length;
  console.log(
    `bench/stale: ${values.config} on ${store}: ${stages.length} stages; as stored: ${count(base, "cached")} cached, ` +
      `${count(base, "stale")} stale, ${count(base, "not-run")} not run; the whole run's recorded time ${formatDuration(total / 1000)}`,
  );
  // default: every module some stage's code covers, each on its own
  const digester = new CodeDigester(root, importMap);
  const edits = values.edit?.length
    ? values.edit.map((e) => [e])
    : [...new Set(stages.flatMap((s) => Object.keys(digester.digest(s.module).files)))].sort().map((f) => [f]);
  if (count(base, "stale")) {
    console.log(`(${count(base, "stale")} stages are stale already: the 'new' column counts only what the edit adds)`);
  }
  const staleBefore = new Set(base.filter((r) => r.state === "stale").map((r) => r.stage));
  console.log("| edited module | stale | new | families | recorded time of the stale stages | share of the run |");
  console.log("| ------------- | ----- | --- | -------- | --------------------------------- | ---------------- |");
  for (const e of edits) {
    const rows = await status(e);
    const stale = rows.filter((r) => r.state === "stale");
    const fresh = stale.filter((r) => !staleBefore.has(r.stage)).length;
    const families = new Map<string, number>();
    for (const r of stale) families.set(stageFamily(r.stage), (families.get(stageFamily(r.stage)) ?? 0) + 1);
    const ms = stale.reduce((a, r) => a + (wall.get(r.stage) ?? 0), 0);
    const fam = [...families].map(([f, n]) => `${f} ×${n}`).join(", ");
    console.log(
      `| ${e.join(", ")} | ${stale.length} | ${fresh} | ${fam.length > 160 ? fam.slice(0, 157) + "..." : fam} | ${
        formatDuration(ms / 1000)
      } | ` +
        `${total ? ((100 * ms) / total).toFixed(0) : "?"}% |`,
    );
  }
} finally {
  if (made) Deno.removeSync(made, { recursive: true });
}
