// The words for a stage that did not run: one definition shared by the runner (which records them),
// `reproduce` (which groups stages by their root cause) and `status` (which must say the same).

const NEEDS = /^(needs '[^']+', which did not run: )+/;

/**
 * The reason a stage does not run because a (non-optional) dependency did not: the dependency and its own
 * reason. The runner records exactly this string, and a stage that reads the not-run marker optionally
 * has it in its key, so `status` must form it the same way.
 *
 * @example
 * ```ts
 * notRunBecause("fetch:x", "put x.tar.gz in data/"); // "needs 'fetch:x', which did not run: put x.tar.gz in data/"
 * ```
 */
export function notRunBecause(dep: string, depReason: string): string {
  return `needs '${dep}', which did not run: ${depReason}`;
}

/** The root cause of a not-run reason: the chain of "needs 'x', which did not run:" taken off. */
export function rootCause(reason: string): string {
  return reason.replace(NEEDS, "");
}

/** A not-run reason as a person reads it: the stage it waits on directly, then the root cause. */
export function shortNotRunReason(reason: string): string {
  const first = /^needs '([^']+)', which did not run: /.exec(reason);
  return first ? `needs '${first[1]}', which did not run: ${rootCause(reason)}` : reason;
}
