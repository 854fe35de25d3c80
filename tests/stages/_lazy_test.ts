// stages/_lazy.ts imported directly: a science module loaded by URL when a stage computes.
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { loadModule } from "../../stages/_lazy.ts";

Deno.test("loadModule: loads the module a URL names, once (the same instance on a second load)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hpo-lazy-" });
  try {
    Deno.writeTextFileSync(`${dir}/m.ts`, "export const loaded = { at: Math.random() };\nexport function f(x: number) { return 2 * x; }\n");
    const url = new URL(`file://${dir}/m.ts`);
    const m = await loadModule<{ loaded: { at: number }; f(x: number): number }>(url);
    assertEquals(m.f(21), 42);
    const again = await loadModule<typeof m>(new URL(url.href));
    assert(again.loaded === m.loaded, "one module instance");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadModule: a missing module, or one that does not parse, rejects (naming the file)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hpo-lazy-" });
  try {
    await assertRejects(() => loadModule(new URL(`file://${dir}/absent.ts`)), /absent\.ts/);
    Deno.writeTextFileSync(`${dir}/broken.ts`, "export const = ;\n");
    await assertRejects(() => loadModule(new URL(`file://${dir}/broken.ts`)), /broken\.ts/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadModule: resolves the science's stage modules by the URL a stage names (relative to stages/)", async () => {
  const m = await loadModule<Record<string, unknown>>(new URL("../../stages/_resources.ts", import.meta.url));
  assertEquals(typeof m.trainingResources, "function");
});
