// What a stage's code digest covers: every module it imports, statically or by a literal dynamic import, and
// every module it names by URL (`new URL("./x.ts", import.meta.url)`: how stages load their science lazily).
import { assert, assertEquals } from "../../assert.ts";
import { CodeDigester, importSpecifiers } from "../../../pipeline/plan/code_digest.ts";

Deno.test("importSpecifiers: static, export-from, literal dynamic, type-position and URL-named modules; not data or directory URLs", () => {
  const src = `
import { a } from "./a.ts";
import type { T } from "../t.ts";
export { b } from "./b.ts";
import "./side.ts";
const m = await import("./dyn.ts");
type M = typeof import("./typed.ts");
const SCIENCE = new URL("../science/run.ts", import.meta.url);
const OTHER = new URL( './other.js' , import.meta.url );
const root = new URL("..", import.meta.url);
const data = new URL("./table.json", import.meta.url);
const tmpl = new URL(\`../\${p}\`, import.meta.url);
const elsewhere = new URL("./x.ts", "file:///somewhere/");
import { z } from "zod";
`;
  assertEquals(importSpecifiers(src).sort(), [
    "../science/run.ts",
    "../t.ts",
    "./a.ts",
    "./b.ts",
    "./dyn.ts",
    "./other.js",
    "./side.ts",
    "./typed.ts",
    "zod",
  ]);
});

Deno.test("a module named by URL is part of the naming module's digest: editing it changes the digest", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/stages`);
    Deno.mkdirSync(`${dir}/science`);
    Deno.writeTextFileSync(`${dir}/science/helper.ts`, "export const k = 1;\n");
    Deno.writeTextFileSync(`${dir}/science/run.ts`, 'import { k } from "./helper.ts";\nexport const run = () => k;\n');
    Deno.writeTextFileSync(
      `${dir}/stages/s.ts`,
      'const SCIENCE = new URL("../science/run.ts", import.meta.url);\nexport const go = () => import(SCIENCE.href);\n',
    );
    const before = new CodeDigester(dir).digest(`${dir}/stages/s.ts`);
    assertEquals(Object.keys(before.files).sort(), ["science/helper.ts", "science/run.ts", "stages/s.ts"]);
    Deno.writeTextFileSync(`${dir}/science/helper.ts`, "export const k = 2;\n");
    const after = new CodeDigester(dir).digest(`${dir}/stages/s.ts`);
    assert(after.digest !== before.digest, "an edit of a module the science imports changes the stage's digest");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
