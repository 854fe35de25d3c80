// The layering rule of docs/architecture.md, enforced: the engine (pipeline/) knows nothing of the science,
// and the science (data/, nn/, bilevel/, search/, report/) knows nothing of the engine or the stages.
import { assert, assertEquals } from "./assert.ts";
import { fromFileUrl } from "../pipeline/paths.ts";

const root = fromFileUrl(new URL("..", import.meta.url)).replace(/\/$/, "");
const SCIENCE = ["data", "nn", "bilevel", "search", "report"];
/** Which top-level folders each layer may import from (besides itself and npm/node modules). */
const ALLOWED: Record<string, string[]> = {
  pipeline: ["util"],
  util: [],
  ...Object.fromEntries(SCIENCE.map((d) => [d, [...SCIENCE, "util"]])),
};

function* tsFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(`${root}/${dir}`)) {
    if (e.isDirectory) yield* tsFiles(`${dir}/${e.name}`);
    else if (e.name.endsWith(".ts")) yield `${dir}/${e.name}`;
  }
}

/** Top-level folders a file imports from, by resolving its relative import specifiers. */
export function importedFolders(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith(".")) continue;
    const resolved = new URL(spec, `file:///${file}`).pathname.slice(1);
    out.push(resolved.split("/")[0]);
  }
  return out;
}

Deno.test("import parser: resolves relative specifiers to their top-level folder (static, re-export, dynamic)", () => {
  const src =
    `import { a } from "../pipeline/x.ts";\nexport { b } from "./y.ts";\nconst c = await import("../../nn/z.ts");\nimport "npm:zod";`;
  assertEquals(importedFolders("search/sub/f.ts", src), ["search", "search", "nn"]);
});

Deno.test("layers: pipeline/ imports no science, the science imports neither pipeline/ nor stages/", () => {
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
