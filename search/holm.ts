/**
 * Holm's step-down correction for a family of m tests: it controls the family-wise error rate (the chance of
 * even one false "helps" or "hurts" in the family) at α under any dependence between the tests, and rejects
 * everything Bonferroni rejects and sometimes more.
 */

/**
 * Holm-adjusted p-values, in the order given: sort ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)).
 * A test is rejected at family-wise level α exactly when its adjusted p-value is ≤ α. Ties keep their input
 * order (their adjusted values are equal anyway). Throws on a p-value outside [0, 1] or not a number.
 */
export function holmAdjust(ps: readonly number[]): number[] {
  for (const [i, p] of ps.entries()) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value ${i} is ${p}, expected a number in [0, 1]`);
  }
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}
