// pipeline/plan/status.ts imported directly (status_test.ts drives it through the CLI on a toy project).
import { assert, assertEquals, assertRejects } from "../../assert.ts";
import { diffPaths, pipelineStatus } from "../../../pipeline/plan/status.ts";
import { UserError } from "../../../pipeline/errors.ts";
import type { Stage } from "../../../pipeline/stage.ts";
import { PROJECT_ROOT } from "../../fixtures/toy_project.ts";
import { z } from "zod";
import { Rng } from "../../../data/rng.ts";

Deno.test("diffPaths: no path for equal values; dotted paths to each differing leaf, sorted, at most 8", () => {
  assertEquals(diffPaths({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), [], "key order does not matter");
  assertEquals(diffPaths({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 5, d: 3 } }), ["b.c: 2 -> 5"]);
  assertEquals(diffPaths({ z: 1, a: 1 }, { z: 2, a: 2 }), ["a: 1 -> 2", "z: 1 -> 2"]);
  assertEquals(diffPaths({ a: [1, 2] }, { a: [1, 3, 4] }), ["a.1: 2 -> 3", "a.2: undefined -> 4"]);
  assertEquals(diffPaths({ a: 1 }, {}), ["a: 1 -> undefined"]);
  assertEquals(diffPaths(3, 4), ["(params): 3 -> 4"]);
  assertEquals(diffPaths({ a: [1] }, { a: { 0: 1 } }), ['a: [1] -> {"0":1}'], "an array is not an object with the same keys");
  assertEquals(diffPaths({ a: null }, { a: {} }), ["a: null -> {}"]);
  const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, "0")}`, i]));
  const moved = Object.fromEntries(Object.entries(many).map(([k, v]) => [k, v + 1]));
  const d = diffPaths(many, moved);
  assertEquals(d.length, 8);
  assertEquals(d[0], "k00: 0 -> 1");
  // property: a random edit of a random nested value is found at its path, and nothing else
  const rng = new Rng(5);
  for (let t = 0; t < 200; t++) {
    const v = { p: { q: rng.int(5), r: [rng.int(5), rng.int(5)] }, s: rng.int(5) };
    const w = structuredClone(v);
    const which = rng.int(4);
    if (which === 0) w.p.q += 1;
    else if (which === 1) w.p.r[1] += 1;
    else if (which === 2) w.s += 1;
    assertEquals(diffPaths(v, w).map((x) => x.split(":")[0]), [[], ["s"], ["p.r.1"], ["p.q"]][[3, 2, 1, 0][which]]);
  }
});

const st = (name: string, deps: (string | [string, boolean])[] = []): Stage =>
  ({
    name,
    // a small module of the project with no imports of its own: its code digest is cheap and stable
    module: new URL("../../../pipeline/not_run.ts", import.meta.url).href,
    deps: deps.map((d) => (typeof d === "string" ? { stage: d } : { stage: d[0], optional: d[1] })),
    schema: z.object({}),
    params: {},
    run: () => Promise.resolve({}),
  }) as unknown as Stage;

Deno.test("pipelineStatus on an empty store: roots never run, the rest wait on them naming three and counting the rest", async () => {
  const storeRoot = await Deno.makeTempDir();
  try {
    const stages = [
      st("merge", ["b", "c", "d", "e", "f"]),
      st("a"),
      ...["b", "c", "d", "e", "f"].map((n) => st(n, ["a"])),
      st("lone"),
      st("four", ["b", "c", "d", "e"]),
      st("three", ["b", "c", "d"]),
    ];
    const out = await pipelineStatus(stages, { storeRoot, projectRoot: PROJECT_ROOT });
    const by = Object.fromEntries(out.map((s) => [s.stage, s]));
    assertEquals(out.length, stages.length);
    assertEquals(out.map((s) => s.stage).indexOf("a") < out.map((s) => s.stage).indexOf("merge"), true, "in dependency order");
    assertEquals([by.a.state, by.a.reasons], ["stale", ["never run"]]);
    assertEquals([by.lone.state, by.lone.reasons], ["stale", ["never run"]]);
    assert(by.a.key && /^[0-9a-f]{16,}$/.test(by.a.key), `a key: ${by.a.key}`);
    assertEquals(by.b.reasons, ["upstream 'a' must run first"]);
    assertEquals(by.b.key, undefined, "no key while an input is unknown");
    assertEquals(by.merge.reasons, ["upstream 'b', 'c', 'd' and 2 more must run first"]);
    assertEquals(by.four.reasons, ["upstream 'b', 'c', 'd' and 1 more must run first"]);
    assertEquals(by.three.reasons, ["upstream 'b', 'c', 'd' must run first"]);
    for (const s of out) assert(s.state !== "cached" && s.state !== "not-run");
  } finally {
    await Deno.remove(storeRoot, { recursive: true });
  }
});

Deno.test("pipelineStatus refuses a config whose stages do not form a DAG", async () => {
  const storeRoot = await Deno.makeTempDir();
  try {
    const o = { storeRoot, projectRoot: PROJECT_ROOT };
    await assertRejects(() => pipelineStatus([st("a", ["b"]), st("b", ["a"])], o), UserError, /dependency cycle/);
    await assertRejects(() => pipelineStatus([st("a", ["ghost"])], o), UserError, /unknown stage 'ghost'/);
  } finally {
    await Deno.remove(storeRoot, { recursive: true });
  }
});
