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
/** An error class, checked with `instanceof`. */
// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function fail(message: string, msg?: string): never {
  throw new assertNode.AssertionError({ message: msg ? `${msg}: ${message}` : message });
}

/** Checks a caught value against the expected class and message pattern; returns it as that class. */
function expectError<E extends Error>(e: unknown, cls: ErrorClass<E> | undefined, re: RegExp | undefined, msg?: string): E {
  if (cls && !(e instanceof cls)) fail(`expected ${cls.name}, got ${e instanceof Error ? e.constructor.name : typeof e}: ${e}`, msg);
  const text = e instanceof Error ? e.message : String(e);
  if (re && !re.test(text)) fail(`expected an error matching ${re}, got: ${text}`, msg);
  return e as E;
}

/** Splits the optional (class, pattern, message) arguments of assertThrows and assertRejects. */
function expected<E extends Error>(
  a: ErrorClass<E> | RegExp | undefined,
  b: RegExp | string | undefined,
  c: string | undefined,
): { cls?: ErrorClass<E>; re?: RegExp; msg?: string } {
  return typeof a === "function" ? { cls: a, re: b as RegExp | undefined, msg: c } : { re: a, msg: b as string | undefined };
}

/**
 * Asserts that `fn` throws, optionally an instance of `errorClass` and with a message matching `re`; returns the error.
 *
 * @example
 * ```ts
 * const e = assertThrows(() => parse("x"), UserError, /unknown key/);
 * ```
 */
export function assertThrows(fn: () => unknown, re?: RegExp, msg?: string): Error;
export function assertThrows<E extends Error>(fn: () => unknown, errorClass: ErrorClass<E>, re?: RegExp, msg?: string): E;
export function assertThrows<E extends Error>(fn: () => unknown, a?: ErrorClass<E> | RegExp, b?: RegExp | string, c?: string): E {
  const { cls, re, msg } = expected(a, b, c);
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    return expectError(e, cls, re, msg);
  }
  if (result instanceof Promise) fail("the function returned a promise: use assertRejects", msg);
  return fail(`expected ${cls?.name ?? "an error"}${re ? ` matching ${re}` : ""}, but nothing was thrown`, msg);
}

/** Asserts that `fn` (async) rejects, optionally with an instance of `errorClass` whose message matches `re`; returns the error. */
export function assertRejects(fn: () => unknown, re?: RegExp, msg?: string): Promise<Error>;
export function assertRejects<E extends Error>(fn: () => unknown, errorClass: ErrorClass<E>, re?: RegExp, msg?: string): Promise<E>;
export async function assertRejects<E extends Error>(
  fn: () => unknown,
  a?: ErrorClass<E> | RegExp,
  b?: RegExp | string,
  c?: string,
): Promise<E> {
  const { cls, re, msg } = expected(a, b, c);
  try {
    await fn();
  } catch (e) {
    return expectError(e, cls, re, msg);
  }
  return fail(`expected ${cls?.name ?? "an error"}${re ? ` matching ${re}` : ""}, but nothing was thrown`, msg);
}
