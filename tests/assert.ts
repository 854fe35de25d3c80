// Thin seam over node:assert/strict (the Deno standard library's @std/assert is not reachable here), and one
// shared check of a stored artifact against the schema its reader checks it by.
import assertNode from "node:assert/strict";
import type { z } from "zod";
import type { ArtifactSet } from "../pipeline/stage.ts";
import { jsonWithVolatile, readChecked } from "../stages/_load.ts";

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

/** A hostile edit of a stored artifact (made to a copy of its stable JSON; its timings stay), and the field its refusal must name. */
export interface Hostile {
  what: string;
  /** Edits the copy in place (its result is ignored). */
  // deno-lint-ignore no-explicit-any
  edit?: (stored: any) => unknown;
  /** What stands in the copy's place instead (a file that is not an object). */
  replaceWith?: unknown;
  at: RegExp;
}

/** An in-memory upstream stage holding `files` (name → bytes). */
export function artifactsOf(stage: string, files: Record<string, Uint8Array>): ArtifactSet {
  const dec = new TextDecoder();
  return {
    stage,
    names: () => Object.keys(files),
    digest: () => "0".repeat(64),
    bytes: (n) => Promise.resolve(files[n]),
    json: <T>(n: string) => Promise.resolve(JSON.parse(dec.decode(files[n])) as T),
  };
}

/**
 * Asserts what reading a stored artifact through `schema` (stages/_load.ts readChecked) must do: the value as
 * its writer writes it (stable bytes and timings apart) passes and reads back to the very bytes written; each
 * hostile edit of it is refused naming the stage, the file and the field. Returns the value as read.
 *
 * @example
 * ```ts
 * const read = await assertArtifactChecked({ stage: "cpmlho:x", file: "result.json", schema: CpmlhoRecord, written, hostile });
 * ```
 */
export async function assertArtifactChecked<S extends z.ZodType>(
  a: { stage: string; file: string; schema: S; written: unknown; hostile: Hostile[] },
): Promise<z.output<S>> {
  const dec = new TextDecoder(), enc = new TextEncoder();
  const files = jsonWithVolatile(a.file, a.written);
  const read = await readChecked(artifactsOf(a.stage, files), a.file, a.schema);
  assertEquals(dec.decode(jsonWithVolatile(a.file, read)[a.file]), dec.decode(files[a.file]), "reads back to the bytes written");
  for (const h of a.hostile) {
    const stored = JSON.parse(dec.decode(files[a.file]));
    h.edit?.(stored);
    const edited = "replaceWith" in h ? h.replaceWith : stored;
    const forged = { ...files, [a.file]: enc.encode(JSON.stringify(edited)) };
    const e = await assertRejects(() => readChecked(artifactsOf(a.stage, forged), a.file, a.schema), undefined, h.what);
    assert(e.message.startsWith(`${a.stage}'s ${a.file} is not what this code writes: at `), `${h.what}: ${e.message}`);
    assert(h.at.test(e.message), `${h.what}: "${e.message}" does not name ${h.at}`);
  }
  return read;
}

/** A schema without the default (or prefault) a stage added to it. */
function withoutDefault(s: z.ZodType): z.ZodType {
  const def = s._zod.def as { type: string; innerType?: z.ZodType };
  return (def.type === "default" || def.type === "prefault") && def.innerType ? def.innerType : s;
}

/**
 * Asserts that a stage's parameter schema takes every field of the science's schema as the science declares it,
 * adding at most a default: no field redeclared (so the two cannot drift apart).
 */
export function assertTakesFields(stage: z.ZodObject, science: z.ZodObject): void {
  for (const [k, field] of Object.entries(science.shape)) {
    assert(k in stage.shape, `the stage's parameters lack the science's field ${k}`);
    assert(withoutDefault(stage.shape[k] as z.ZodType) === field, `the stage redeclares the science's field ${k}`);
  }
}
