import type { z } from "zod";
import { UserError } from "./errors.ts";
import { didYouMean } from "./did_you_mean.ts";
import { printable } from "./printable.ts";
import { overridePathProblem } from "./safe_names.ts";

/** A zod schema's internals, as far as finding the keys an object accepts needs them. */
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
  out?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  items?: { _zod: { def: SchemaDef } }[];
}

/** The keys the object at `path` in a schema accepts, or [] where that is not an object of known keys. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let def: SchemaDef | undefined = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = () => {
    // wrappers (optional, default, preprocess, refinements) around the object that holds the keys
    // (z.preprocess(f, s) is a pipe from a transform into s: the keys are s's)
    while (def?.innerType || def?.type === "pipe") {
      def = def.innerType?._zod.def ?? (def.in?._zod.def.type === "transform" ? def.out : def.in)?._zod.def;
    }
  };
  for (const step of path) {
    unwrap();
    if (def?.type === "object") def = def.shape?.[String(step)]?._zod.def;
    else if (def?.type === "record") def = def.valueType?._zod.def;
    else if (def?.type === "array") def = def.element?._zod.def;
    else if (def?.type === "tuple") def = def.items?.[Number(step)]?._zod.def;
    else return [];
  }
  unwrap();
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** The params of a custom issue that stands for unknown keys found by another schema (see unknownKeysIssue). */
interface UnknownKeysParams {
  unknownKeys: { key: string; hint: string }[];
}

/**
 * A custom issue for unknown keys at `path` of `schema`, for a schema that validates a part of its input by
 * another schema (zod would otherwise lose which keys were allowed there). describeZodError formats it.
 */
export function unknownKeysIssue(a: { valid: readonly string[]; path: PropertyKey[]; keys: readonly string[] }) {
  const { valid, path, keys } = a;
  const unknownKeys = keys.map((key) => ({ key, hint: keyHint(key, valid) }));
  return {
    code: "custom" as const,
    path,
    message: `unknown key(s) ${keys.join(", ")}`,
    params: { unknownKeys } satisfies UnknownKeysParams,
  };
}

/** " (did you mean 'budget'?)", else the keys allowed there, else "". */
function keyHint(key: string, valid: readonly string[]): string {
  return didYouMean(key, [...valid]) || (valid.length ? `; valid keys here: ${valid.join(", ")}` : "");
}

/** "unknown key 'search.budgt' (did you mean 'budget'?)", naming the keys allowed there when none is close. */
export function unknownKeyMessage(schema: z.ZodType, path: readonly PropertyKey[], keys: readonly string[]): string {
  const valid = keysAt(schema, path);
  return keys.map((k) => `unknown key '${[...path, k].join(".")}'${keyHint(k, valid)}`).join("; ");
}

/**
 * Formats the first zod issues as "field 'a.b': message"; an unknown key as "unknown key 'a.b' (did you
 * mean 'c'?)" when the schema is given.
 */
export function describeZodError(error: z.ZodError, schema?: z.ZodType): string {
  const lines = error.issues
    .map((i) => {
      if (i.code === "unrecognized_keys" && schema) return unknownKeyMessage(schema, i.path, i.keys);
      // a schema that validates a part by another schema reports its unknown keys with the hints that one gave
      const keys = i.code === "custom" ? (i.params as UnknownKeysParams | undefined)?.unknownKeys : undefined;
      if (keys) return keys.map(({ key, hint }) => `unknown key '${[...i.path, key].join(".")}'${hint}`).join("; ");
      return `field '${i.path.length ? i.path.join(".") : "(root)"}': ${i.message}`;
    });
  // the same problem can come from several places (a shared field checked once per run): say it once
  return [...new Set(lines)].slice(0, 3).join("; ");
}

/** Sets a dotted path in a JSON object (creating objects on the way), for `--set a.b=value` overrides. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Parses "a.b=value" (value as JSON, or as a plain string when it is not JSON). */
export function parseOverride(text: string): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UserError(`--set expects path=value, got '${printable(text)}'`);
  const problem = overridePathProblem(text.slice(0, eq));
  if (problem) {
    throw new UserError(
      `--set ${
        printable(text.slice(0, 80))
      }: the path cannot be used: ${problem}; give a dotted path of config keys, e.g. search.budget=20`,
    );
  }
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch { /* a plain string */ }
  return [text.slice(0, eq), value];
}

/**
 * Reads a JSON config file, applies overrides, and validates it with a zod schema. Every failure is a
 * UserError that names the file and the field.
 */
export async function loadJsonConfig<T>(
  path: string,
  schema: z.ZodType<T>,
  overrides: [string, unknown][] = [],
): Promise<{ raw: unknown; config: T }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`config file not found: ${path}`);
    throw new UserError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UserError(`config file ${path}: expected a JSON object at the top level`);
  }
  for (const [p, v] of overrides) setPath(raw as Record<string, unknown>, p, v);
  const r = schema.safeParse(raw);
  if (!r.success) throw new UserError(`config file ${path}: ${describeZodError(r.error, schema)}`);
  return { raw, config: r.data };
}
