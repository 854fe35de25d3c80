// nn/backend_check.ts imported directly: the backend schema every stage's parameters take, its default, and
// which backends are usable here without loading TensorFlow.js.
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { BackendName, BackendParam, backendProblem, TENSORFLOW_MISSING } from "../../nn/backend_check.ts";

Deno.test("BackendName: exactly wasm, cpu and tensorflow; case, whitespace and other names refused", () => {
  for (const ok of ["wasm", "cpu", "tensorflow"]) assertEquals(BackendName.parse(ok), ok);
  for (const bad of ["WASM", " wasm", "wasm ", "gpu", "webgl", "tensorflow-gpu", "", null, undefined, 0, ["wasm"]]) {
    assert(!BackendName.safeParse(bad).success, JSON.stringify(bad));
  }
});

Deno.test("BackendParam: absent means wasm, a given backend is kept, a wrong one is still refused", () => {
  assertEquals(BackendParam.parse(undefined), "wasm");
  assertEquals(BackendParam.parse("cpu"), "cpu");
  assert(!BackendParam.safeParse("gpu").success);
  assert(!BackendParam.safeParse(null).success, "null is not 'absent'");
});

Deno.test("backendProblem: wasm and cpu always usable; tensorflow usable iff its package is in the import map, else the install command", () => {
  assertEquals(backendProblem("wasm"), undefined);
  assertEquals(backendProblem("cpu"), undefined);
  const imports = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).imports as Record<string, string>;
  const installed = Object.keys(imports).some((k) => k.startsWith("@tensorflow/tfjs-node"));
  assertEquals(backendProblem("tensorflow"), installed ? undefined : TENSORFLOW_MISSING);
  // the message names the command that fixes it and the backends that work everywhere
  assertMatch(TENSORFLOW_MISSING, /deno add npm:@tensorflow\/tfjs-node@4\.22\.0/);
  assertMatch(TENSORFLOW_MISSING, /--backend tensorflow/);
  assertMatch(TENSORFLOW_MISSING, /'wasm' and 'cpu' work everywhere/);
  // the pinned version is the one of the installed TensorFlow.js
  const tfjs = imports["@tensorflow/tfjs"].split("@").pop();
  assert(TENSORFLOW_MISSING.includes(`tfjs-node@${tfjs}`), `install command pins ${tfjs}`);
});
