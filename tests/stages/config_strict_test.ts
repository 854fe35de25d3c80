// Every config schema is strict at every depth: a typo is refused before anything runs, naming the stage or
// file and the key, instead of being silently ignored; the shipped configs all validate.
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { ExperimentConfig } from "../../stages/config.ts";
import { describeZodError, keysAt } from "../../pipeline/config.ts";
import { buildStages } from "../../stages/registry.ts";
import { validateParams } from "../../pipeline/plan/keys.ts";
import { fromFileUrl } from "../../pipeline/paths.ts";

// deno-lint-ignore no-explicit-any
type Json = any; // a parsed config, mutated freely by the cases below
const root = fromFileUrl(new URL("../..", import.meta.url)).replace(/\/$/, "");
const smoke = () => JSON.parse(Deno.readTextFileSync(`${root}/configs/smoke.json`));

/** The error validating a config (config schema, then every stage's params) gives, or "" when it is valid. */
function problem(raw: unknown): string {
  try {
    const r = ExperimentConfig.safeParse(raw);
    if (!r.success) return describeZodError(r.error, ExperimentConfig);
    validateParams(buildStages(r.data));
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
    [
      "training budget field",
      (c) => (c.search.budgets.short.lr = 0.1),
      /unknown key 'search\.budgets\.short\.lr'; valid keys here: optimizer, learningRate/,
    ],
    ["baseline training field", (c) => (c.baseline.training.lr = 0.1), /unknown key 'baseline\.training\.lr'/],
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

/** Every object in a JSON value with its path. */
function* objectsIn(v: Json, path: string[] = []): Generator<[string[], Json]> {
  if (typeof v !== "object" || v === null) return;
  if (!Array.isArray(v)) yield [path, v];
  for (const [k, c] of Object.entries(v)) yield* objectsIn(c, [...path, k]);
}

Deno.test("a typo of any key anywhere in the shipped configs is refused before anything runs, naming its path and the key meant", () => {
  let checked = 0;
  for (const f of ["default.json", "smoke.json", "seed001.json", "seed001-reduced.json", "seed003.json"]) {
    const base = JSON.parse(Deno.readTextFileSync(`${root}/configs/${f}`));
    for (const [path, obj] of objectsIn(base)) {
      // objects of named entries (splits, budgets, runs) take any name: a typo there is a new entry
      const valid = keysAt(ExperimentConfig, path);
      if ((!valid.length && !path.includes("runs")) || path.at(-1) === "runs") continue;
      for (const key of Object.keys(obj).filter((k) => k.length >= 4 && (valid.includes(k) || path.includes("runs")))) {
        const typo = key.slice(0, 2) + key.slice(3); // one letter dropped
        if (Object.keys(obj).includes(typo)) continue;
        const c = structuredClone(base);
        const node = path.reduce((n: Json, k) => n[k], c);
        node[typo] = node[key];
        delete node[key];
        const p = problem(c);
        const where = [...path, typo].join(".");
        assert(p.includes(`unknown key '${where}'`), `${f}: ${where}: ${p || "accepted"}`);
        assertMatch(p, /did you mean '[^']+'\?/, `${f}: ${where}`);
        checked++;
      }
    }
  }
  assert(checked > 100, `only ${checked} keys checked`);
});

Deno.test("keysAt sees through optional, default, preprocess and refinements; references between sections are checked", () => {
  assertEquals(keysAt(ExperimentConfig, ["search", "hls"]).includes("lambdaScale"), true);
  assertEquals(keysAt(ExperimentConfig, ["search", "budgets", "any-name"]).includes("epochs"), true);
  assertEquals(keysAt(ExperimentConfig, ["splits"]), []);
  const c = smoke();
  c.search.splits = ["mnist-small", "nope"];
  assertMatch(problem(c), /field 'search\.splits\.1': unknown split 'nope'; defined splits: mnist-small/);
  const d = smoke();
  delete d.baseline;
  assertMatch(problem(d), /field 'lpFinetune': needs a 'baseline' section/);
});
