import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { ancestors, descendants, resolveStageNames, topoSort } from "../../../pipeline/plan/dag.ts";
import { UserError } from "../../../pipeline/errors.ts";
import type { Stage } from "../../../pipeline/stage.ts";
import { Rng } from "../../../data/rng.ts";

/** A stage with the fields the DAG reads. */
const st = (name: string, ...deps: (string | [string, boolean])[]): Stage =>
  ({
    name,
    deps: deps.map((d) => (typeof d === "string" ? { stage: d } : { stage: d[0], optional: d[1] })),
  }) as unknown as Stage;

/** A random DAG: stage i may depend only on stages < i (so acyclic), given in a shuffled order. */
function randomDag(rng: Rng, n: number): Stage[] {
  const stages = Array.from({ length: n }, (_, i) => {
    const deps = Array.from({ length: i }, (_, j) => `s${j}`).filter(() => rng.next() < 0.3);
    return st(`s${i}`, ...deps);
  });
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [stages[i], stages[j]] = [stages[j], stages[i]];
  }
  return stages;
}

/** Reachability by brute force (Floyd–Warshall on the dependency relation). */
function closure(stages: Stage[]): Map<string, Set<string>> {
  const names = stages.map((s) => s.name);
  const anc = new Map(stages.map((s) => [s.name, new Set(s.deps.map((d) => d.stage))]));
  for (const k of names) for (const i of names) if (anc.get(i)!.has(k)) { for (const a of anc.get(k)!) anc.get(i)!.add(a); }
  return anc;
}

Deno.test("topoSort: every dependency before its dependant, each stage once, deterministic (300 random DAGs)", () => {
  const rng = new Rng(17);
  for (let t = 0; t < 300; t++) {
    const stages = randomDag(rng, rng.int(12));
    const order = topoSort(stages);
    assertEquals(order.map((s) => s.name).sort(), stages.map((s) => s.name).sort());
    const at = new Map(order.map((s, i) => [s.name, i]));
    for (const s of stages) for (const d of s.deps) assert(at.get(d.stage)! < at.get(s.name)!, `${d.stage} before ${s.name}`);
    assertEquals(topoSort(stages).map((s) => s.name), order.map((s) => s.name), "the same order every time");
  }
  // ties broken by the order given
  assertEquals(topoSort([st("b"), st("a"), st("c", "a")]).map((s) => s.name), ["b", "a", "c"]);
  assertEquals(topoSort([]), []);
});

Deno.test("topoSort: a cycle, a self-loop, an unknown dependency or a duplicate name is refused, naming it", () => {
  assertThrows(() => topoSort([st("a", "b"), st("b", "c"), st("c", "a")]), UserError, /dependency cycle: a -> b -> c -> a/);
  assertThrows(() => topoSort([st("a", "a")]), UserError, /dependency cycle: a -> a/);
  assertThrows(() => topoSort([st("x"), st("a", "x", "zz")]), UserError, /stage 'a' depends on unknown stage 'zz'/);
  assertThrows(() => topoSort([st("a"), st("b"), st("a")]), UserError, /duplicate stage name 'a'/);
  // an optional dependency is still a dependency: it must exist
  assertThrows(() => topoSort([st("a", ["gone", true])]), UserError, /unknown stage 'gone'/);
  // a cycle deep inside a random DAG is found wherever it is
  const rng = new Rng(3);
  for (let t = 0; t < 50; t++) {
    const stages = randomDag(rng, 3 + rng.int(8));
    const names = stages.map((s) => s.name).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    const [lo, hi] = [names[0], names[names.length - 1]];
    const withBack = stages.map((s) => (s.name === lo ? st(lo, ...s.deps.map((d) => d.stage), hi) : s));
    // and hi on lo directly: lo -> hi -> lo
    const cyclic = withBack.map((s) => (s.name === hi ? st(hi, ...s.deps.map((d) => d.stage), lo) : s));
    assertThrows(() => topoSort(cyclic), UserError, /dependency cycle: /);
  }
});

Deno.test("descendants and ancestors: the transitive closure both ways, never the stage itself", () => {
  const rng = new Rng(8);
  for (let t = 0; t < 100; t++) {
    const stages = randomDag(rng, 1 + rng.int(10));
    const anc = closure(stages);
    for (const s of stages) {
      assertEquals([...ancestors(stages, s.name)].sort(), [...anc.get(s.name)!].sort(), `ancestors of ${s.name}`);
      const desc = stages.filter((o) => anc.get(o.name)!.has(s.name)).map((o) => o.name).sort();
      assertEquals([...descendants(stages, s.name)].sort(), desc, `descendants of ${s.name}`);
    }
  }
  assertEquals(ancestors([st("a")], "nope").size, 0);
  assertEquals(descendants([st("a")], "nope").size, 0);
});

Deno.test("resolveStageNames: exact names, 'kind:' and '*' prefixes, a bare kind; unknown ones listed", () => {
  const stages = [st("fetch:mnist"), st("fetch:mnist-extra"), st("search:mnist:short:grid"), st("search:mnist:long:grid"), st("report")];
  const r = (...p: string[]) => [...resolveStageNames(stages, p)].sort();
  assertEquals(r("report"), ["report"]);
  assertEquals(r("fetch:mnist"), ["fetch:mnist"], "an exact name is not a prefix of fetch:mnist-extra");
  assertEquals(r("search:"), ["search:mnist:long:grid", "search:mnist:short:grid"]);
  assertEquals(r("search"), ["search:mnist:long:grid", "search:mnist:short:grid"], "a bare kind selects its stages");
  assertEquals(r("fetch:m*"), ["fetch:mnist", "fetch:mnist-extra"]);
  assertEquals(r("*"), stages.map((s) => s.name).sort());
  assertEquals(r(" report ", "", "  "), ["report"], "blanks trimmed and skipped");
  assertEquals(r(), []);
  const e = assertThrows(() => r("repor"), UserError, /unknown stage 'repor'; stages in this config: fetch:mnist, /);
  assert(e.message.includes("report"));
  assertThrows(() => r("search:cifar:"), UserError, /unknown stage 'search:cifar:'/);
});
