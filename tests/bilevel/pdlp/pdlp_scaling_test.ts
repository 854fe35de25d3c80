import { assert, assertClose, assertEquals } from "../../assert.ts";
import { type SymmetricBlocks, symmetricRuiz } from "../../../bilevel/pdlp/pdlp_scaling.ts";
import { mv } from "../../fixtures/dense_lp.ts";
import { Rng } from "../../../data/rng.ts";

/** Blocks over a dense symmetric H (m × m) and a dense H_wλ (m × n), counting the products. */
function blocks(H: Float64Array, HWL: Float64Array, m: number, n: number): SymmetricBlocks & { hvps: number; hwl: number } {
  const b = {
    n,
    m,
    hvps: 0,
    hwl: 0,
    hvp: (v: Float64Array) => (b.hvps++, mv(H, m, m, v)),
    hWLtimes: (dl: Float64Array) => (b.hwl++, mv(HWL, m, n, dl)),
  };
  return b;
}

/** ℓ2 norms of the rows of D·[H_wλ H_ww]·diag(dλ, d), and of the columns of D·H_wλ·diag(dλ). */
function scaledNorms(H: Float64Array, HWL: Float64Array, m: number, n: number, row: Float64Array, col: Float64Array) {
  const rows = new Float64Array(m), lam = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < n; k++) {
      const v = (row[i] * HWL[i * n + k] * col[k]) ** 2;
      rows[i] += v, lam[k] += v;
    }
    for (let j = 0; j < m; j++) rows[i] += (row[i] * H[i * m + j] * col[n + j]) ** 2;
  }
  return { rows: [...rows].map(Math.sqrt), lam: [...lam].map(Math.sqrt) };
}
const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);

Deno.test("symmetric ruiz: a diagonal H is scaled to unit diagonal in one round; rows and dw columns share one scale", () => {
  const rng = new Rng(1);
  for (let t = 0; t < 10; t++) {
    const m = 1 + rng.int(7), n = 1 + rng.int(3);
    const H = new Float64Array(m * m);
    for (let i = 0; i < m; i++) H[i * m + i] = (rng.next() < 0.5 ? -1 : 1) * 10 ** (6 * rng.next() - 3);
    const s = symmetricRuiz(blocks(H, new Float64Array(m * n), m, n), { iterations: 1, probes: 1, seed: t });
    for (let i = 0; i < m; i++) assertClose(Math.abs(s.row[i] * H[i * m + i] * s.col[n + i]), 1, 1e-12);
    assertEquals([...s.col.slice(n)], [...s.row], "column scales of dw are the row scales");
    assertEquals([...s.col.slice(0, n)], Array(n).fill(1), "an empty H_wλ column keeps scale 1");
  }
});

Deno.test("symmetric ruiz: an ill-scaled dense H and H_wλ come out equilibrated; the estimated row norms are close to the true ones", () => {
  const rng = new Rng(8);
  const m = 12, n = 2;
  const sc = Array.from({ length: m }, () => 10 ** (4 * rng.next() - 2));
  const B = Float64Array.from({ length: m * m }, () => rng.normal());
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[i * m + j] = sc[i] * sc[j] * (B[i * m + j] + B[j * m + i]);
  const HWL = Float64Array.from({ length: m * n }, (_, k) => sc[Math.floor(k / n)] * rng.normal() * (k % n === 0 ? 100 : 0.01));
  const ones = (k: number) => new Float64Array(k).fill(1);
  const before = scaledNorms(H, HWL, m, n, ones(m), ones(n + m));
  assert(spread(before.rows) > 100, "badly scaled to begin with");
  const b = blocks(H, HWL, m, n);
  const s = symmetricRuiz(b, { iterations: 10, probes: 32, seed: 3 });
  assertEquals(b.hvps, 10 * 32, "iterations × probes HVPs");
  assertEquals(b.hwl, n, "H_wλ read once, column by column");
  const after = scaledNorms(H, HWL, m, n, s.row, s.col);
  assert(spread(after.rows) < 4, `row norms ${after.rows}`);
  for (const v of after.lam) assert(v > 0.3 && v < 3, `H_wλ column norm ${v}`);
  // the estimate sets PDHG's first step: it must be within a small factor of the truth
  const est = [...s.scaledRowNorms!];
  assertEquals(est.length, m);
  const ratio = est.map((e, i) => e / after.rows[i]);
  for (const q of ratio) assert(q > 0.4 && q < 2.5, `estimated / true row norm ${q}`);
  // what the caller uses (the first step is 1 / the largest) holds after any number of rounds, not only at convergence
  for (const it of [1, 2, 3, 5]) {
    const t = symmetricRuiz(blocks(H, HWL, m, n), { iterations: it, probes: 32, seed: 3 });
    const truth = Math.max(...scaledNorms(H, HWL, m, n, t.row, t.col).rows);
    const q = Math.max(...t.scaledRowNorms!) / truth;
    assert(q > 0.5 && q < 2, `${it} rounds: largest estimated / true row norm ${q}`);
  }
});

Deno.test("symmetric ruiz: no rounds is the identity with no norm estimate; a zero H keeps every scale 1", () => {
  const H = Float64Array.of(4, 1, 1, 9), HWL = Float64Array.of(1, 2);
  const s = symmetricRuiz(blocks(H, HWL, 2, 1), { iterations: 0, probes: 4, seed: 1 });
  assertEquals([...s.row, ...s.col], [1, 1, 1, 1, 1]);
  assertEquals(s.scaledRowNorms, undefined);
  const z = symmetricRuiz(blocks(new Float64Array(4), new Float64Array(2), 2, 1), { iterations: 3, probes: 2, seed: 1 });
  assertEquals([...z.row, ...z.col], [1, 1, 1, 1, 1]);
  for (const v of z.scaledRowNorms!) assertEquals(v, 0);
  // H_wλ alone (H = 0): a row with no H_ww part is divided by the square root of its H_wλ norm
  const w = symmetricRuiz(blocks(new Float64Array(4), Float64Array.of(100, 0.01), 2, 1), { iterations: 1, probes: 1, seed: 1 });
  assertClose(w.row[0], 0.1, 1e-12);
  assertClose(w.row[1], 10, 1e-9);
  assertClose(w.col[0], 1 / Math.sqrt(Math.hypot(100, 0.01)), 1e-12, "the λ column by the root of its norm");
});
