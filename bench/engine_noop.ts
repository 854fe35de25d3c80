// Engine overhead: a DAG of the real pipeline's shape (3 fetch, 3 subsample, baseline, finetune, 18 searches,
// report; ~200 artifacts) with trivial computations, using the real stage modules for code digests.
// Prints the first (computing) run, the no-op run in-process, and the no-op CLI run (Deno start-up included).
import { z } from "zod";
import { runPipeline } from "../pipeline/exec/runner.ts";
import type { Stage } from "../pipeline/stage.ts";
import { fromFileUrl } from "../pipeline/paths.ts";
import { median, printTable } from "./_util.ts";

const root = fromFileUrl(new URL("../", import.meta.url)).replace(/\/$/, "");
const importMap = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)).imports;
const mod = (f: string) => new URL(`../stages/${f}`, import.meta.url).href;

function stage(name: string, module: string, deps: string[], outputs: number): Stage {
  return {
    name,
    module,
    deps: deps.map((stage) => ({ stage })),
    schema: z.object({ n: z.number() }),
    params: { n: outputs },
    run() {
      const out: Record<string, Uint8Array> = {};
      for (let i = 0; i < outputs; i++) out[`out-${i}.bin`] = new TextEncoder().encode(`${name}/${i}/${"x".repeat(1000)}`);
      return Promise.resolve(out);
    },
  };
}

const stages: Stage[] = [];
for (const ds of ["mnist", "cifar10", "fashion"]) {
  stages.push(stage(`fetch:${ds}`, mod("fetch.ts"), [], 9), stage(`subsample:${ds}`, mod("subsample.ts"), [`fetch:${ds}`], 9));
  for (const b of ["short", "long"]) {
    for (const m of ["grid", "random", "microga"]) stages.push(stage(`search:${ds}:${b}:${m}`, mod("search.ts"), [`subsample:${ds}`], 8));
  }
}
stages.push(
  stage("baseline-train", mod("baseline_train.ts"), ["subsample:mnist"], 3),
  stage("lp-finetune", mod("lp_finetune.ts"), ["baseline-train"], 1),
);
stages.push(stage("report", mod("report.ts"), stages.filter((s) => s.name.startsWith("search")).map((s) => s.name), 6));
const artifacts = stages.reduce((a, s) => a + (s.params as { n: number }).n, 0);

const store = await Deno.makeTempDir({ prefix: "hpo-bench-" });
const opts = { storeRoot: store, projectRoot: root, importMap, quiet: true };
let t0 = performance.now();
await runPipeline(stages, opts);
const first = (performance.now() - t0) / 1000;
const noop: number[] = [];
for (let i = 0; i < 5; i++) {
  t0 = performance.now();
  const r = await runPipeline(stages, opts);
  noop.push((performance.now() - t0) / 1000);
  if (r.computed.length) throw new Error("no-op run computed something");
}
await Deno.remove(store, { recursive: true });

printTable("Engine overhead (no-op reproduce on a fully cached store)", [
  { what: "stages", value: stages.length },
  { what: "artifacts", value: artifacts },
  { what: "first run (stores everything), s", value: first },
  { what: "no-op run in-process, median of 5, s", value: median(noop) },
  { what: "engine overhead per stage (no-op), ms", value: (1000 * median(noop)) / stages.length },
  { what: "goal (issue 2), s", value: 0.5 },
  { what: "DVC no-op repro (issue 2's figure), s", value: 1 },
]);

// The real CLI, as a fresh process, on the smoke config: first run, then no-op reproduce.
{
  const { runMeasured } = await import("./_util.ts");
  const st = await Deno.makeTempDir({ prefix: "hpo-bench-cli-" });
  const args = ["run", "-A", `${root}/main.ts`, "reproduce", "--config", `${root}/configs/smoke.json`, "--store", st, "--quiet"];
  const cold = await runMeasured(Deno.execPath(), args);
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) warm.push((await runMeasured(Deno.execPath(), args)).seconds);
  await Deno.remove(st, { recursive: true });
  printTable("CLI process, configs/smoke.json (Deno start-up and module loading included; npx adds its own start-up)", [
    { what: "first reproduce (computes everything), s", value: cold.seconds },
    { what: "no-op reproduce, median of 3, s", value: median(warm) },
  ]);
}

// The real CLI on the default config with every stage cached. Computing the default config takes hours, so
// the store is filled by the same stages (names, params, modules, deps: so the same cache keys) whose run
// returns a stub; the CLI then finds every key cached, as after a real run. Issue 17's goal: < 0.25 s.
{
  const { runMeasured } = await import("./_util.ts");
  const { ExperimentConfig } = await import("../stages/config.ts");
  const { buildStages } = await import("../stages/registry.ts");
  const configPath = `${root}/configs/default.json`;
  const raw = JSON.parse(Deno.readTextFileSync(configPath));
  const stub = (name: string): Record<string, Uint8Array> =>
    name === "report"
      ? { "report.html": new TextEncoder().encode("<html></html>"), "report.md": new TextEncoder().encode("# stub\n") }
      : { "out.json": new TextEncoder().encode(JSON.stringify({ stub: name })) };
  const stubbed: Stage[] = buildStages(ExperimentConfig.parse(raw)).map((s) => ({ ...s, run: () => Promise.resolve(stub(s.name)) }));
  const st = await Deno.makeTempDir({ prefix: "hpo-bench-default-" });
  const out = await Deno.makeTempDir({ prefix: "hpo-bench-default-out-" });
  await runPipeline(stubbed, { storeRoot: st, projectRoot: root, importMap, quiet: true, config: raw, configPath });
  // --no-export: the export would write into this checkout's reports/; its cost is a few file copies
  const args = ["run", "-A", `${root}/main.ts`, "reproduce", "--store", st, "--quiet", "--no-export"];
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await runMeasured(Deno.execPath(), args, { cwd: out }));
  if (runs.some((r) => r.code !== 0 || !/0 computed/.test(r.stderr))) throw new Error(`not a no-op: ${runs[0].stderr}`);
  const help = [];
  for (let i = 0; i < 5; i++) help.push((await runMeasured(Deno.execPath(), ["run", "-A", `${root}/main.ts`, "--help"])).seconds);
  await Deno.remove(st, { recursive: true });
  await Deno.remove(out, { recursive: true });
  printTable("CLI process, configs/default.json, every stage cached (Deno start-up and module loading included)", [
    { what: "stages", value: stubbed.length },
    { what: "no-op reproduce, median of 5, s", value: median(runs.map((r) => r.seconds)) },
    { what: "of which: start-up and module loading ('--help'), median of 5, s", value: median(help) },
    { what: "goal (issue 17), s", value: 0.25 },
  ]);
}
