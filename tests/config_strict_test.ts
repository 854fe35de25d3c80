// Every config schema is strict at every depth: a typo is refused before anything runs, naming the stage or
// file and the key, instead of being silently ignored; the shipped configs all validate.
import { assert, assertMatch } from "./assert.ts";
import { ExperimentConfig } from "../stages/config.ts";
import { buildStages } from "../stages/registry.ts";
import { validateParams } from "../pipeline/runner.ts";
import { fromFileUrl } from "../pipeline/paths.ts";

// deno-lint-ignore no-explicit-any
type Json = any; // a parsed config, mutated freely by the cases below
const root = fromFileUrl(new URL("..", import.meta.url)).replace(/\/$/, "");
const smoke = () => JSON.parse(Deno.readTextFileSync(`${root}/configs/smoke.json`));

/** The error validating a config (config schema, then every stage's params) gives, or "" when it is valid. */
function problem(raw: unknown): string {
  try {
    const cfg = ExperimentConfig.parse(raw);
    validateParams(buildStages(cfg));
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("shipped configs validate under the strict schemas", () => {
  for (const f of [...Deno.readDirSync(`${root}/configs`)].map((e) => e.name).filter((n) => n.endsWith(".json"))) {
    assert(
      problem(JSON.parse(Deno.readTextFileSync(`${root}/configs/${f}`))) === "",
      `${f}: ${problem(JSON.parse(Deno.readTextFileSync(`${root}/configs/${f}`)))}`,
    );
  }
});

Deno.test("typos at every depth are refused, naming the key", () => {
  const cases: [string, (c: Json) => void, RegExp][] = [
    ["top level", (c) => (c.serach = {}), /serach/],
    ["search field", (c) => (c.search.budgt = 3), /budgt/],
    ["search.hls field", (c) => (c.search.hls = { lambdaScal: "log10" }), /lambdaScal/],
    ["search.space field", (c) => (c.search.space = { maxLayer: 2 }), /maxLayer/],
    ["search.ga field", (c) => (c.search.ga = { ...c.search.ga, popSize: 3 }), /popSize/],
    ["training budget field", (c) => (c.search.budgets.short.lr = 0.1), /"lr"/],
    ["baseline training field", (c) => (c.baseline.training.lr = 0.1), /"lr"/],
    ["split field", (c) => (c.splits["mnist-small"].nTrian = 5), /nTrian/],
    ["ablation field", (c) => (c.hlsAblation.seedz = [1, 2]), /seedz/],
    ["lp-finetune hls field", (c) => (c.lpFinetune.hls.blok = "all"), /blok/],
  ];
  for (const [what, mutate, re] of cases) {
    const c = smoke();
    mutate(c);
    const p = problem(c);
    assert(p !== "", `${what}: accepted`);
    assertMatch(p, re, what);
  }
});

Deno.test("ranges: epochs 0 or 1e9, a hidden width of 0, tMin ≥ tMax, nVal 0 are refused", () => {
  const cases: [string, (c: Json) => void, RegExp][] = [
    ["epochs 0", (c) => (c.search.budgets.short.epochs = 0), /epochs/],
    ["epochs 1e9", (c) => (c.search.budgets.short.epochs = 1e9), /epochs/],
    ["hidden width 0", (c) => (c.baseline.hidden = [20, 0]), /hidden/],
    ["tMin ≥ tMax", (c) => (c.lpFinetune.hls = { ...c.lpFinetune.hls, tMin: 5, tMax: 1 }), /tMin/],
    ["nVal 0", (c) => (c.splits["mnist-small"].nVal = 0), /nVal/],
  ];
  for (const [what, mutate, re] of cases) {
    const c = smoke();
    mutate(c);
    assertMatch(problem(c), re, what);
  }
});
