import { sha256 as portableSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

// Two implementations of the same function. node:crypto's is native (about 1 GB/s here) but its module
// costs about 30 ms to load, a tenth of a CLI run that has nothing to compute; @noble/hashes (pure
// TypeScript, audited, about 80 MB/s) loads in 7 ms. Small inputs (code files, cache keys) go to the
// portable one until the native one is loaded for a large input; the digests are the same
// (tests/pipeline/hash_test.ts checks it across sizes).
const NATIVE_FROM = 256 * 1024;
let native: typeof import("node:crypto") | undefined;
const nativeCrypto = () => (native ??= process.getBuiltinModule("node:crypto"));
const utf8 = new TextEncoder();

/** Hex sha256 of bytes or a string (UTF-8). */
export function sha256(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  if (native || bytes.length >= NATIVE_FROM) return nativeCrypto().createHash("sha256").update(bytes).digest("hex");
  return bytesToHex(portableSha256(bytes));
}

/** Streaming sha256 of a file, in bounded memory. */
export async function sha256File(path: string): Promise<string> {
  const h = nativeCrypto().createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) h.update(chunk);
  return h.digest("hex");
}

/**
 * Canonical JSON: object keys sorted, no whitespace, so that equal values give equal text.
 * Rejects values JSON cannot represent faithfully (NaN, Infinity, functions, undefined in arrays).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new Error(`canonicalJson: cannot encode a ${typeof value}`);
}

/** sha256 of the canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
