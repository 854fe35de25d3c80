/**
 * Timings differ from run to run; results must not. These helpers split a result object into its stable
 * part and its volatile part (keys ending in "seconds"/"Seconds"), with the same nesting, so that results
 * are stored byte-reproducibly and timings beside them; `mergeVolatile` puts them back together for display.
 */
const VOLATILE_KEY = /(^|[a-z])[sS]econds$/;

/** Splits `value` into stable and volatile parts. */
export function splitVolatile(value: unknown): { stable: unknown; volatile: unknown } {
  if (Array.isArray(value)) {
    const parts = value.map(splitVolatile);
    return { stable: parts.map((p) => p.stable), volatile: parts.map((p) => p.volatile ?? null) };
  }
  if (value !== null && typeof value === "object") {
    const stable: Record<string, unknown> = {};
    const vol: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (VOLATILE_KEY.test(k)) vol[k] = v;
      else {
        const p = splitVolatile(v);
        stable[k] = p.stable;
        if (p.volatile !== undefined && !(typeof p.volatile === "object" && p.volatile !== null && isEmpty(p.volatile))) {
          vol[k] = p.volatile;
        }
      }
    }
    return { stable, volatile: isEmpty(vol) ? undefined : vol };
  }
  return { stable: value, volatile: undefined };
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.every((x) => x === null || x === undefined || (typeof x === "object" && isEmpty(x)));
  return typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

/** Deep-merges a volatile part back into its stable part. */
export function mergeVolatile<T>(stable: T, vol: unknown): T {
  // timings of another shape (a damaged or forged file) are not merged in: the file is read as it is
  if (vol === undefined || vol === null || Array.isArray(stable) !== Array.isArray(vol)) return stable;
  if (Array.isArray(stable) && Array.isArray(vol)) return stable.map((s, i) => mergeVolatile(s, vol[i])) as T;
  if (stable !== null && typeof stable === "object" && typeof vol === "object") {
    const out: Record<string, unknown> = { ...(stable as Record<string, unknown>) };
    for (const [k, v] of Object.entries(vol as Record<string, unknown>)) out[k] = k in out ? mergeVolatile(out[k], v) : v;
    return out as T;
  }
  return stable;
}

/** Output name of the volatile companion of a result file: "summary.json" → "summary.volatile.json". */
export function volatileName(name: string): string {
  return name.replace(/\.json$/, ".volatile.json");
}

/** Encodes a result as two outputs: the stable JSON and its volatile timings. */
export function jsonWithVolatile(name: string, value: unknown): Record<string, Uint8Array> {
  const { stable, volatile } = splitVolatile(value);
  const enc = new TextEncoder();
  return { [name]: enc.encode(JSON.stringify(stable, null, 1)), [volatileName(name)]: enc.encode(JSON.stringify(volatile ?? {}, null, 1)) };
}
