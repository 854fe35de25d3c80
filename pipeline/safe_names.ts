// Names that become parts of paths the program writes (a report folder named after a config file, an
// exported output's file name) and paths named by the user's overrides: each must be one plain path
// segment, so that every path written stays inside the folder it names. Refused, never silently
// rewritten: the user learns which name was wrong and why.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { UserError } from "./errors.ts";
import { printable } from "./printable.ts";

/** Longest path segment accepted, in UTF-8 bytes (most file systems allow 255). */
export const MAX_SEGMENT_BYTES = 200;

// C0, DEL, C1, bidi embeddings/overrides and isolates, line/paragraph separators, BOM: never in a file name
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/;

/** Why `name` cannot be one path segment, or undefined when it can. */
export function segmentProblem(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name === "." || name === "..") return `'${name}' names a folder that is already there, not a new one`;
  if (name.includes("/") || name.includes("\\")) return "it contains a path separator";
  if (CONTROL.test(name)) return "it contains a control or bidirectional-override character";
  if (name.trim() !== name) return "it begins or ends with white space";
  if (new TextEncoder().encode(name).length > MAX_SEGMENT_BYTES) return `it is longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

/**
 * Returns `name` when it is one plain path segment (no separator, not '.' or '..', no control characters,
 * not empty, at most MAX_SEGMENT_BYTES); otherwise a UserError that says `what` it is (e.g. "the report
 * folder name from the config file 'x.json'"), what is wrong and how to fix it.
 */
export function safeSegment(name: string, what: string, fix = "rename it"): string {
  const problem = segmentProblem(name);
  if (problem) throw new UserError(`${what} '${printable(name.slice(0, 80))}' cannot be used as a file name: ${problem}; ${fix}`);
  return name;
}

/** True when `path` is `dir` or lies inside it (both resolved; no '..' step leads out). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  // ('..x' is a name inside; only a '..' step leads out)
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** `path` resolved, when it lies inside `dir`; a UserError naming both otherwise (the last guard before a write). */
export function insideOrRefuse(dir: string, path: string, what: string): string {
  const p = resolve(dir, path);
  if (!isInside(dir, p)) throw new UserError(`${what} ${printable(p)} would lie outside ${printable(resolve(dir))}; refusing to write it`);
  return p;
}

/** Path segments of a `--set a.b.c=value` override that would reach an object's prototype instead of the config. */
const FORBIDDEN_KEYS = new Set(["__proto__", "prototype", "constructor"]);

/** Why a dotted `--set` path cannot be used, or undefined (empty steps, prototype keys, control characters, length). */
export function overridePathProblem(path: string): string | undefined {
  if (path.length > 1000) return "it is longer than 1000 characters";
  if (CONTROL.test(path)) return "it contains a control or bidirectional-override character";
  const parts = path.split(".");
  if (parts.some((p) => p === "")) return "it has an empty step (two dots, or a dot at an end)";
  const bad = parts.find((p) => FORBIDDEN_KEYS.has(p));
  if (bad) return `'${bad}' is not a config key`;
  return undefined;
}
