// Thin seam over node:assert/strict (the Deno standard library's @std/assert is not reachable here).
import assertNode from "node:assert/strict";

/** Asserts a condition. */
export function assert(cond: unknown, msg?: string): asserts cond {
  assertNode.ok(cond, msg);
}
/** Asserts deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assertNode.deepStrictEqual(actual, expected, msg);
}
/** Asserts a string matches a pattern. */
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  assertNode.match(actual, re, msg);
}
/** Asserts |actual - expected| <= tol. */
export function assertClose(actual: number, expected: number, tol: number, msg?: string): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new assertNode.AssertionError({ message: `${msg ?? ""} expected ${expected} ± ${tol}, got ${actual}`.trim() });
  }
}
/** Asserts an (async) function throws an error whose message matches. */
export async function assertRejects(fn: () => unknown, re: RegExp): Promise<void> {
  let threw = false;
  try {
    await fn();
  } catch (e) {
    threw = true;
    assertNode.match((e as Error).message, re);
  }
  if (!threw) throw new assertNode.AssertionError({ message: `expected an error matching ${re}` });
}
