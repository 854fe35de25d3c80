import type { z } from "zod";
import { UserError } from "./errors.ts";

/** Formats the first zod issue as "field 'a.b': message". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `field '${i.path.length ? i.path.join(".") : "(root)"}': ${i.message}`)
    .join("; ");
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
  if (eq <= 0) throw new UserError(`--set expects path=value, got '${text}'`);
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
  if (!r.success) throw new UserError(`config file ${path}: ${describeZodError(r.error)}`);
  return { raw, config: r.data };
}
