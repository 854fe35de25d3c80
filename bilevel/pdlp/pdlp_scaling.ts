/**
 * Diagonal preconditioning of LP (11)'s K = [H_wλ H_ww] without forming H.
 *
 * PDLP equilibrates with ℓ∞ Ruiz (needs entries) then Pock-Chambolle (needs ℓ1 norms); products only give
 * ℓ2 norms, by Hutchinson probes: for Rademacher z, E[(H D z)_i²] = Σ_j H_ij² d_j². So this is ℓ2 Ruiz.
 * It is symmetric: rows and dw columns share one scale d, so D H_ww D stays symmetric and one HVP per probe
 * estimates both the row norms and the dw column norms (column j of H_ww is row j). H_wλ has few columns
 * (one per λ) and is read exactly, column by column, at no HVP cost.
 */
import { Rng } from "../../data/rng.ts";
import type { DiagonalScaling } from "./pdlp_types.ts";

/** The operators the scaling needs (already divided by ε if the caller normalises rows). */
export interface SymmetricBlocks {
  n: number;
  m: number;
  hvp: (v: Float64Array) => Float64Array;
  hWLtimes: (dl: Float64Array) => Float64Array;
}

/**
 * Symmetric ℓ2 Ruiz equilibration. Returns row scales d (length m) and column scales [dλ; d] (length n + m),
 * plus the estimated norms of the scaled rows (their maximum sets PDHG's first step). Cost: iterations ×
 * probes HVPs. Rows that are empty in the estimate keep scale 1.
 */
export function symmetricRuiz(b: SymmetricBlocks, opts: { iterations: number; probes: number; seed: number }): DiagonalScaling {
  const { n, m } = b;
  const rng = new Rng(opts.seed);
  // H_wλ column by column (n products with H_wλ, no HVP)
  const hwl: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const e = new Float64Array(n);
    e[k] = 1;
    hwl.push(b.hWLtimes(e));
  }
  const d = new Float64Array(m).fill(1);
  const dl = new Float64Array(n).fill(1);
  let rowNorms = new Float64Array(m);
  for (let it = 0; it < opts.iterations; it++) {
    // e_i ≈ Σ_j H_ij² d_j²
    const est = new Float64Array(m);
    for (let p = 0; p < opts.probes; p++) {
      const z = Float64Array.from({ length: m }, (_, j) => (rng.next() < 0.5 ? -d[j] : d[j]));
      const hz = b.hvp(z);
      for (let i = 0; i < m; i++) est[i] += hz[i] * hz[i] / opts.probes;
    }
    const row2 = new Float64Array(m), col2 = new Float64Array(m), lam2 = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      let s = est[i];
      for (let k = 0; k < n; k++) {
        const h = hwl[k][i] * dl[k];
        s += h * h;
        lam2[k] += (hwl[k][i] * d[i]) ** 2 * dl[k] * dl[k];
      }
      row2[i] = d[i] * d[i] * s;
      col2[i] = d[i] * d[i] * est[i];
    }
    rowNorms = row2.map(Math.sqrt);
    // divide by the square root of the geometric mean of row and column norm (both are ‖·‖², hence ^1/8)
    for (let i = 0; i < m; i++) {
      const f = row2[i] > 0 && col2[i] > 0 ? Math.pow(row2[i] * col2[i], 0.125) : row2[i] > 0 ? Math.pow(row2[i], 0.25) : 1;
      d[i] /= f;
      rowNorms[i] /= f * f; // approximately (the columns moved too)
    }
    for (let k = 0; k < n; k++) if (lam2[k] > 0) dl[k] /= Math.pow(lam2[k], 0.25);
  }
  const col = new Float64Array(n + m);
  col.set(dl, 0);
  col.set(d, n);
  return { row: d.slice(), col, scaledRowNorms: opts.iterations > 0 ? rowNorms : undefined };
}
