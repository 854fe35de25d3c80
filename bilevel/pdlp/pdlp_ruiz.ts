import { Rng } from "../../data/rng.ts";
import type { DiagonalScaling } from "./pdlp_types.ts";

/** A linear operator K (nRows × nCols) known only through its products x ↦ Kx and y ↦ Kᵀy. */
export interface ProbedOperator {
  apply: (x: Float64Array) => Float64Array;
  applyT: (y: Float64Array) => Float64Array;
  nRows: number;
  nCols: number;
}

/**
 * ℓ2 Ruiz equilibration without the matrix: row and column norms of D_r K D_c are estimated from
 * Rademacher probes (E[(K D_c z)_i²] = Σ_j K_ij² d_j², Hutchinson style), and each round divides rows and
 * columns by the square roots of their norms. Two products per probe. The ℓ∞ Ruiz of PDLP needs the entries;
 * ℓ2 norms are what products can estimate, and for equilibration a 30 % estimate is as good as exact.
 */
export function ruizByProbes(op: ProbedOperator, opts: { iterations: number; probes: number; seed: number }): DiagonalScaling {
  const { apply, applyT, nRows, nCols } = op;
  const row = new Float64Array(nRows).fill(1);
  const col = new Float64Array(nCols).fill(1);
  const rng = new Rng(opts.seed);
  let rn = new Float64Array(nRows);
  for (let it = 0; it < opts.iterations; it++) {
    rn = new Float64Array(nRows);
    const cn = new Float64Array(nCols);
    for (let p = 0; p < opts.probes; p++) {
      const zc = Float64Array.from({ length: nCols }, (_, j) => (rng.next() < 0.5 ? -col[j] : col[j]));
      const kz = apply(zc);
      for (let i = 0; i < nRows; i++) rn[i] += (row[i] * kz[i]) ** 2 / opts.probes;
      const zr = Float64Array.from({ length: nRows }, (_, i) => (rng.next() < 0.5 ? -row[i] : row[i]));
      const ktz = applyT(zr);
      for (let j = 0; j < nCols; j++) cn[j] += (col[j] * ktz[j]) ** 2 / opts.probes;
    }
    // squared norms → divide by norm^(1/2) = (norm²)^(1/4); empty rows/columns are left alone
    for (let i = 0; i < nRows; i++) if (rn[i] > 0) row[i] /= Math.pow(rn[i], 0.25);
    for (let j = 0; j < nCols; j++) if (cn[j] > 0) col[j] /= Math.pow(cn[j], 0.25);
  }
  return { row, col };
}
