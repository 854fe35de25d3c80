// Units the size of a change (issue 25 items 1-3): an edit to HLS code makes stale exactly the stages that run
// HLS and what is downstream of them; identical training is one stage; a variant added or removed leaves
// every other unit as it was. Computed from the code digest machinery and the smoke config's stage list,
// not by running the DAG.
import { assert, assertEquals } from "../assert.ts";
import { CodeDigester } from "../../pipeline/plan/code_digest.ts";
import { fromFileUrl } from "../../pipeline/paths.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { ExperimentConfig } from "../../stages/config.ts";
import { buildStages } from "../../stages/registry.ts";
import { StagePool, workKey } from "../../stages/_pool.ts";
import { populationStage } from "../../stages/population.ts";
import { DEFAULT_VARIANTS } from "../../search/hls_variants.ts";

const ROOT = fromFileUrl(new URL("../..", import.meta.url)).replace(/\/$/, "");
const CODE_DIRS = ["bilevel", "cpmlho", "data", "nn", "pipeline", "report", "search", "stages", "util"];

// the raw config as JSON, edited before it is parsed
type RawConfig = { hlsAblation: Record<string, unknown>; lpFinetune: Record<string, unknown> };

function configOf(file: string, edit: (c: RawConfig) => void = () => {}): ExperimentConfig {
  const raw = JSON.parse(Deno.readTextFileSync(`${ROOT}/configs/${file}`));
  edit(raw);
  return ExperimentConfig.parse(raw);
}

/** A copy of the project's modules in a temporary directory, to edit without touching the checkout. */
function copyProject(): string {
  const dir = Deno.makeTempDirSync({ prefix: "granularity-" });
  const copy = (rel: string) => {
    for (const e of Deno.readDirSync(`${ROOT}/${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory) {
        Deno.mkdirSync(`${dir}/${path}`, { recursive: true });
        copy(path);
      } else if (e.isFile && /\.(ts|js|mjs)$/.test(e.name)) Deno.copyFileSync(`${ROOT}/${path}`, `${dir}/${path}`);
    }
  };
  for (const d of CODE_DIRS) {
    Deno.mkdirSync(`${dir}/${d}`, { recursive: true });
    copy(d);
  }
  return dir;
}

/** Each stage's code digest, its module read from the copy at `root`. */
function digests(stages: Stage[], root: string): Map<string, string> {
  const d = new CodeDigester(root);
  return new Map(stages.map((s) => [s.name, d.digest(`${root}/${fromFileUrl(s.module).slice(ROOT.length + 1)}`).digest]));
}

/** `names` and every stage downstream of them. */
function downstream(stages: Stage[], names: Set<string>): Set<string> {
  const out = new Set(names);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stages) {
      if (!out.has(s.name) && s.deps.some((d) => out.has(d.stage))) grew = out.add(s.name) !== undefined;
    }
  }
  return out;
}

/** The stages a change of `file`'s bytes makes stale: those whose code digest changes, and what is downstream. */
function staleAfterEdit(stages: Stage[], root: string, file: string, before: Map<string, string>): Set<string> {
  const original = Deno.readTextFileSync(`${root}/${file}`);
  Deno.writeTextFileSync(`${root}/${file}`, `${original}\n// an edit\n`);
  try {
    const after = digests(stages, root);
    return downstream(stages, new Set(stages.filter((s) => after.get(s.name) !== before.get(s.name)).map((s) => s.name)));
  } finally {
    Deno.writeTextFileSync(`${root}/${file}`, original);
  }
}

/** The modules under bilevel/ that `entry` loads (transitively, lazily included). */
function bilevelClosure(root: string, entry: string): string[] {
  return Object.keys(new CodeDigester(root).digest(`${root}/${entry}`).files).filter((f) => f.startsWith("bilevel/")).sort();
}

// the stages that run HLS, by name: the searches' runs with HLS, the ablation's variants, the LP fine-tune's groupings
const RUNS_HLS = /^(search-seed|hls-ablation-variant|lp-finetune):/;
const RUNS_FINETUNE = /^lp-finetune:/;

Deno.test("an edit to any HLS-only module makes stale exactly the stages that run HLS, their merges and the report; training stays cached", () => {
  const stages = buildStages(configOf("smoke.json"));
  const root = copyProject();
  try {
    // HLS's modules (everything under bilevel/ that bilevel/hls/hls.ts loads) and those only the LP fine-tune adds
    const hls = bilevelClosure(root, "bilevel/hls/hls.ts");
    const finetuneOnly = bilevelClosure(root, "bilevel/hls/finetune.ts").filter((f) => !hls.includes(f));
    for (
      const m of [
        "bilevel/hls/hls.ts",
        "bilevel/lp/lp_block.ts",
        "bilevel/lp/dense_simplex.ts",
        "bilevel/hls/hls_options.ts",
        "bilevel/hls/hls_line.ts",
      ]
    ) {
      assert(hls.includes(m), `${m} is among the HLS modules: ${hls.join(", ")}`);
    }
    assertEquals(finetuneOnly, ["bilevel/hls/finetune.ts"]);
    const named = (re: RegExp) => downstream(stages, new Set(stages.filter((s) => re.test(s.name)).map((s) => s.name)));
    const expected = named(RUNS_HLS);
    // the expectation itself: every merge and the report, no training
    for (const s of stages) {
      if (/^(search|hls-ablation):|^lp-finetune$|^report$/.test(s.name)) assert(expected.has(s.name), `${s.name} is downstream of HLS`);
      if (/^(population:|baseline-train|fetch:|subsample:)/.test(s.name)) assert(!expected.has(s.name), `${s.name} does not run HLS`);
    }
    const smoke = configOf("smoke.json");
    const searched = smoke.search!.methods.length * smoke.search!.seeds.length;
    const ablationOnly = smoke.hlsAblation!.seeds.filter((x) => !smoke.search!.seeds.includes(x)).length * 2;
    assertEquals(stages.filter((s) => s.name.startsWith("population:")).length, searched + ablationOnly, "the smoke config's populations");
    const before = digests(stages, root);
    for (const [modules, want] of [[hls, expected], [finetuneOnly, named(RUNS_FINETUNE)]] as const) {
      for (const m of modules) {
        const stale = staleAfterEdit(stages, root, m, before);
        const extra = [...stale].filter((n) => !want.has(n));
        const missing = [...want].filter((n) => !stale.has(n));
        assertEquals({ module: m, extra, missing }, { module: m, extra: [], missing: [] });
      }
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("the check can fail: a training stage that names HLS code lazily (by URL) is made stale by an HLS edit", () => {
  const root = copyProject();
  try {
    // a population stage whose module loads the search's HLS step by URL, as a careless refactor might
    Deno.writeTextFileSync(
      `${root}/stages/population_leaky.ts`,
      `${
        Deno.readTextFileSync(`${root}/stages/population.ts`)
      }\nconst LEAK = new URL("../search/study.ts", import.meta.url);\nexport const leak = LEAK;\n`,
    );
    const leaky: Stage = { ...populationStage("mnist-small", "short", { method: "random", seed: 9 }) as unknown as Stage };
    const stages = [{ ...leaky, name: "population:leaky", module: `file://${ROOT}/stages/population_leaky.ts` }];
    const before = digests(stages, root);
    assert(staleAfterEdit(stages, root, "bilevel/lp/lp_block.ts", before).has("population:leaky"), "the leak is seen");
    // and the real population module is not
    const real = [{ ...leaky, name: "population:real" }];
    assertEquals([...staleAfterEdit(real, root, "bilevel/lp/lp_block.ts", digests(real, root))], []);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("no model trained twice: one population per (split, budget, method, seed, training); the ablation reads the searches'", () => {
  for (const file of ["smoke.json", "default.json"]) {
    const stages = buildStages(configOf(file));
    const keys = stages.map(workKey);
    assertEquals(new Set(keys).size, keys.length, `${file}: no two stages do the same work`);
    assertEquals(new Set(stages.map((s) => s.name)).size, stages.length, `${file}: names unique`);
  }
  const stages = buildStages(configOf("smoke.json"));
  const merge = stages.find((s) => s.name === "hls-ablation:mnist-small:short")!;
  const deps = merge.deps.map((d) => d.stage);
  // seeds 1 and 2 are the search's too: its populations, and its runs with HLS where the variant is the search's HLS
  for (const seed of [1, 2]) {
    assert(deps.includes(`population:mnist-small:short:random:${seed}`) && deps.includes(`population:mnist-small:short:microga:${seed}`));
    assert(deps.includes(`search-seed:mnist-small:short:random:${seed}`), "log-heldout-acc is the smoke search's HLS");
    assert(!stages.some((s) => s.name === `hls-ablation-variant:mnist-small:short:log-heldout-acc:${seed}`));
  }
  assert(stages.some((s) => s.name === "hls-ablation-variant:mnist-small:short:log-heldout-acc:3"), "seed 3 is the ablation's own");
  // the default config: 3 splits × 2 budgets × 4 methods (grid, random, micro-GA, TPE) × 3 seeds = 72 search populations, and the
  // ablation's 80 (random and micro-GA, 2 splits × 2 budgets × 10 seeds) of which 24 are the searches' (seeds 1-3, MNIST and Fashion)
  const full = buildStages(configOf("default.json"));
  assertEquals(full.filter((s) => s.name.startsWith("population:")).length, 72 + 80 - 24);
});

Deno.test("different training under a search's population name is a stage of its own, not the search's", () => {
  const stages = buildStages(configOf("smoke.json", (c) => (c.hlsAblation.budgets = { short: { epochs: 2, batchSize: 50 } })));
  const ablationPops = stages.find((s) => s.name === "hls-ablation:mnist-small:short")!.deps.map((d) => d.stage).filter((n) =>
    n.startsWith("population:")
  );
  assertEquals(ablationPops.length, 6);
  for (const n of ablationPops.filter((n) => /:[12]$/.test(n.split("~")[0]))) assert(n.includes("~"), `${n} is not the search's`);
  const byName = new Map(stages.map((s) => [s.name, s]));
  assertEquals((byName.get(ablationPops[0])!.params as { training: { epochs: number } }).training.epochs, 2);
});

Deno.test("adding or removing a variant leaves every other unit's work as it was", () => {
  const all = DEFAULT_VARIANTS.map((v) => v.name);
  const build = (variants: string[]) => buildStages(configOf("smoke.json", (c) => (c.hlsAblation.variants = variants)));
  const full = new Map(build(all).map((s) => [s.name, workKey(s)]));
  for (const drop of ["paper", "log-heldout-topk", "microga-baldwinian"]) {
    const fewer = build(all.filter((v) => v !== drop));
    for (const s of fewer) {
      if (s.name === "hls-ablation:mnist-small:short" || s.name === "report") continue;
      assertEquals(workKey(s), full.get(s.name), `${s.name} unchanged without ${drop}`);
    }
    assert(!fewer.some((s) => s.name.includes(`:${drop}:`)), `${drop}'s units are gone`);
  }
});

Deno.test("StagePool: equal work (defaults filled in) is one stage under the first name; different work under a taken name is renamed", () => {
  const pool = new StagePool();
  const a = populationStage("s", "short", { method: "random", seed: 1 }) as unknown as Stage;
  const same = { ...populationStage("s", "short", { method: "random", seed: 1, budget: 40 }), name: "other" } as unknown as Stage;
  const differ = populationStage("s", "short", { method: "random", seed: 1, budget: 7 }) as unknown as Stage;
  assertEquals(pool.add(a), "population:s:short:random:1");
  assertEquals(pool.add(same), "population:s:short:random:1", "the default budget is 40: the same work");
  const renamed = pool.add(differ);
  assert(renamed.startsWith("population:s:short:random:1~") && renamed.length === "population:s:short:random:1~".length + 8, renamed);
  assertEquals(pool.add(differ), renamed);
  assertEquals(pool.stages().map((s) => s.name), ["population:s:short:random:1", renamed]);
  // another module or other dependencies are other work
  assert(workKey({ ...a, deps: [] }) !== workKey(a) && workKey({ ...a, module: "file:///x.ts" }) !== workKey(a));
});

Deno.test("lp-finetune: one unit per grouping, the merge in the config's order", () => {
  const stages = buildStages(configOf("smoke.json", (c) => (c.lpFinetune.groupings = ["perLayer", "1HP"])));
  const lp = stages.filter((s) => s.name.startsWith("lp-finetune"));
  assertEquals(lp.map((s) => s.name), ["lp-finetune:perLayer", "lp-finetune:1HP", "lp-finetune"]);
  assertEquals(lp[2].deps.map((d) => d.stage), ["lp-finetune:perLayer", "lp-finetune:1HP"]);
  assert(lp.slice(0, 2).every((s) => s.deps.some((d) => d.stage === "baseline-train")));
});
