// The layering rule of docs/architecture.md, enforced: the engine (pipeline/) knows nothing of the science, the science
// knows nothing of the engine or the stages, each science layer imports only the layers below it (no upward arrow), and
// no module reaches itself through its imports (no circle, type imports included).
import { assert, assertEquals } from "./assert.ts";
import { fromFileUrl } from "../pipeline/paths.ts";

const root = fromFileUrl(new URL("..", import.meta.url)).replace(/\/$/, "");

/** The science, bottom to top: a layer may import the layers before it, never one after it. `cpmlho/` is a study
 * beside `search/` that runs on its samplers and study loop; the report reads the studies' results. */
const SCIENCE_ORDER = ["data", "nn", "bilevel", "search", "cpmlho", "report"];
/** Which top-level folders each layer may import from (besides itself and npm/node modules). */
const ALLOWED: Record<string, string[]> = {
  pipeline: ["util"],
  util: [],
  ...Object.fromEntries(SCIENCE_ORDER.map((d, i) => [d, [...SCIENCE_ORDER.slice(0, i), "util"]])),
};
/** Rooms inside a layer, and which sibling rooms each may import (besides itself and the layers below). Every module of
 * a layer that has rooms lives in one of them; a layer's own folder is a room only where it is named here (the engine's
 * basics, `pipeline/*.ts`, which import no room). */
const ROOMS: Record<string, Record<string, string[]>> = {
  pipeline: {
    "pipeline": [],
    "pipeline/store": ["pipeline"],
    "pipeline/plan": ["pipeline", "pipeline/store"],
    "pipeline/exec": ["pipeline", "pipeline/store", "pipeline/plan"],
    "pipeline/archive": ["pipeline", "pipeline/store", "pipeline/plan", "pipeline/exec"],
    "pipeline/cli": ["pipeline", "pipeline/store", "pipeline/plan", "pipeline/exec", "pipeline/archive"],
  },
  bilevel: {
    "bilevel/hessian": [],
    "bilevel/lp": [],
    "bilevel/pdlp": [],
    "bilevel/hls": ["bilevel/hessian", "bilevel/lp", "bilevel/pdlp"],
  },
};
/** Folders whose modules join the import graph checked for circles. */
const ALL_FOLDERS = [...Object.keys(ALLOWED), "stages", "tests", "bench"];

function* tsFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(`${root}/${dir}`)) {
    if (e.isDirectory) yield* tsFiles(`${dir}/${e.name}`);
    else if (e.name.endsWith(".ts")) yield `${dir}/${e.name}`;
  }
}

/** Project-relative paths of the local modules a file imports: static, type-only, side-effect, re-export and literal
 * dynamic imports, by resolving their relative specifiers. Comment lines (JSDoc `@example`s) are skipped. */
export function importedModules(file: string, text: string): string[] {
  const out: string[] = [];
  text = text.split("\n").filter((line) => !/^\s*(\*|\/\/)/.test(line)).join("\n");
  const re =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith(".")) continue;
    out.push(new URL(spec, `file:///${file}`).pathname.slice(1));
  }
  return out;
}

/** Top-level folders a file imports from. */
export function importedFolders(file: string, text: string): string[] {
  return importedModules(file, text).map((m) => m.split("/")[0]);
}

/** Every circle of a directed graph, one per strongly connected component that has one, each named as a path that
 * returns to where it starts (`a -> b -> a`). Tarjan's algorithm, then a breadth-first walk inside the component. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next), low.set(v, next++), stack.push(v), onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do (w = stack.pop()!, onStack.delete(w), component.push(w)); while (w !== v);
    components.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  const cycles: string[][] = [];
  for (const component of components) {
    const inside = new Set(component);
    const start = component.sort()[0];
    if (component.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    // Shortest way back to `start` within the component.
    const parent = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      if ((graph.get(v) ?? []).includes(start)) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        cycles.push([...path, start]);
        break;
      }
      for (const w of graph.get(v) ?? []) {
        if (inside.has(w) && w !== start && !parent.has(w)) parent.set(w, v), queue.push(w);
      }
    }
  }
  return cycles;
}

Deno.test("import parser: resolves relative specifiers (static, type, side-effect, re-export, dynamic)", () => {
  const src = [
    `import { a } from "../pipeline/x.ts";`,
    `export { b } from "./y.ts";`,
    `const c = await import("../../nn/z.ts");`,
    `import type {\n  T,\n  U,\n} from "./types.ts";`,
    `import "./side.ts";`,
    ` * import { example } from "./in_a_comment.ts";`,
    `import "npm:zod";`,
  ].join("\n");
  assertEquals(importedModules("search/sub/f.ts", src), [
    "search/pipeline/x.ts",
    "search/sub/y.ts",
    "nn/z.ts",
    "search/sub/types.ts",
    "search/sub/side.ts",
  ]);
  assertEquals(importedFolders("search/sub/f.ts", src), ["search", "search", "nn", "search", "search"]);
});

Deno.test("cycle detector: names a circle in a hand-built graph, and finds none in a graph without one", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "d.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", []],
    ["e.ts", ["e.ts"]],
  ]);
  assertEquals(findCycles(graph), [["a.ts", "b.ts", "c.ts", "a.ts"], ["e.ts", "e.ts"]]);
  graph.set("c.ts", []), graph.set("e.ts", ["a.ts"]);
  assertEquals(findCycles(graph), []);
});

Deno.test("layers: pipeline/ imports no science, the science imports neither pipeline/ nor stages/ nor a layer above it", () => {
  const breaches: string[] = [];
  let files = 0;
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    for (const f of tsFiles(layer)) {
      files++;
      for (const dep of importedFolders(f, Deno.readTextFileSync(`${root}/${f}`))) {
        if (dep !== layer && !allowed.includes(dep)) breaches.push(`${f} imports ${dep}/`);
      }
    }
  }
  assert(files > 40, `scanned only ${files} files`);
  assertEquals(breaches, []);
});

Deno.test("rooms: every module of a layer with rooms is in one, and imports only the sibling rooms its room may", () => {
  const breaches: string[] = [];
  for (const [layer, rooms] of Object.entries(ROOMS)) {
    const roomOf = (f: string) => f.split("/").slice(0, -1).slice(0, 2).join("/");
    for (const f of tsFiles(layer)) {
      const room = roomOf(f);
      if (!(room in rooms)) {
        breaches.push(`${f} is in no room of ${layer}/`);
        continue;
      }
      for (const dep of importedModules(f, Deno.readTextFileSync(`${root}/${f}`))) {
        if (dep.startsWith(`${layer}/`) && roomOf(dep) !== room && !rooms[room].includes(roomOf(dep))) {
          breaches.push(`${f} imports ${roomOf(dep)}/`);
        }
      }
    }
  }
  assertEquals(breaches, []);
});

Deno.test("layers: no circle of imports (type imports included) anywhere in the project", () => {
  const graph = new Map<string, string[]>();
  for (const dir of ALL_FOLDERS) {
    for (const f of tsFiles(dir)) graph.set(f, importedModules(f, Deno.readTextFileSync(`${root}/${f}`)));
  }
  graph.set("main.ts", importedModules("main.ts", Deno.readTextFileSync(`${root}/main.ts`)));
  assert(graph.size > 150, `read only ${graph.size} modules`);
  // Tests write toy projects from string literals, whose imports name files that exist only while they run.
  const missing = [...graph].filter(([f]) => !f.startsWith("tests/"))
    .flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${f} -> ${d}`));
  assertEquals(missing, [], "imports that resolve to no module of the project (a parser or path error)");
  assertEquals(findCycles(graph).map((c) => c.join(" -> ")), []);
});
