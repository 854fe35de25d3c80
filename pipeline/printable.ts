// Text from a config, an archive or a store printed to a terminal: control characters (C0, DEL, C1) and
// bidirectional overrides are shown as escapes, so that a hostile name cannot move the cursor, clear the
// screen or reverse the reading order of what follows it.

// C0 controls, DEL, C1 controls, the bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069),
// the line and paragraph separators, and the byte-order mark.
// deno-lint-ignore no-control-regex -- matching control characters is this module's purpose
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/g;

/**
 * A string safe to print on one terminal line: each control or bidi-override character becomes `\xNN` or
 * `\u{NNNN}`; everything else is kept as it is.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * printable("stage\u001b[2Jname"); // "stage\\x1b[2Jname"
 * ```
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}
