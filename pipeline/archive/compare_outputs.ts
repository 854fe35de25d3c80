// One stage's outputs as archived against the same outputs computed again: the rule verify --rerun and the
// spot check share. Volatile outputs (timings) may differ; every other byte must not.

/** An output whose digest differs, or that one side lacks (undefined). */
export interface OutputMismatch {
  file: string;
  archived?: string;
  recomputed?: string;
}

/**
 * Compares two sets of output digests by name: a volatile output present on both sides may differ (counted),
 * anything else that differs or is missing on one side is a mismatch.
 */
export function compareOutputs(
  archived: Record<string, { digest: string }>,
  recomputed: Record<string, { digest: string }>,
  isVolatile: (name: string) => boolean,
): { mismatches: OutputMismatch[]; volatileDiffs: number } {
  const mismatches: OutputMismatch[] = [];
  let volatileDiffs = 0;
  for (const file of new Set([...Object.keys(archived), ...Object.keys(recomputed)])) {
    const x = archived[file]?.digest;
    const y = recomputed[file]?.digest;
    if (x === y) continue;
    if (x !== undefined && y !== undefined && isVolatile(file)) volatileDiffs++;
    else mismatches.push({ file, archived: x, recomputed: y });
  }
  return { mismatches, volatileDiffs };
}
