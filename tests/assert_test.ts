// The shared assertions themselves: assertThrows and assertRejects catch what they should and nothing else.
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { AssertionError } from "node:assert";

class CustomError extends Error {}
const boom = (): never => {
  throw new CustomError("boom at 3");
};

Deno.test("assertThrows: returns the error; checks its class and message only when asked", () => {
  const e = assertThrows(boom);
  assert(e instanceof CustomError);
  assertEquals(assertThrows(boom, CustomError, /at \d/).message, "boom at 3");
  assertThrows(boom, /boom/);
  assertThrows(() => assertThrows(() => 1), AssertionError, /nothing was thrown/);
  assertThrows(() => assertThrows(boom, RangeError), AssertionError, /expected RangeError, got CustomError/);
  assertThrows(() => assertThrows(boom, /bang/), AssertionError, /expected an error matching \/bang\/, got: boom at 3/);
  assertThrows(() => assertThrows(() => Promise.resolve(), /x/, "the case"), AssertionError, /^the case: .*use assertRejects/);
});

Deno.test("assertRejects: the same for an async function", async () => {
  const reject = () => Promise.reject(new CustomError("late boom"));
  assertEquals((await assertRejects(reject, CustomError, /late/)).message, "late boom");
  await assertRejects(reject);
  await assertRejects(() => assertRejects(() => Promise.resolve()), AssertionError, /nothing was thrown/);
  await assertRejects(() => assertRejects(reject, TypeError), AssertionError, /expected TypeError/);
});
