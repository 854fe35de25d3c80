import { assert, assertClose, assertEquals } from "../../assert.ts";
import { type ProbedOperator, ruizByProbes } from "../../../bilevel/pdlp/pdlp_ruiz.ts";
import { mtv, mv } from "../../fixtures/dense_lp.ts";
import { Rng } from "../../../data/rng.ts";

function dense(A: Float64Array, r: number, c: number): ProbedOperator & { calls: number } {
  const op = {
    calls: 0,
    nRows: r,
    nCols: c,
    apply: (x: Float64Array) => (op.calls++, mv(A, r, c, x)),
    applyT: (y: Float64Array) => (op.calls++, mtv(A, r, c, y)),
  };
  return op;
}

/** ℓ2 norms of the rows and columns of diag(row)·A·diag(col). */
function scaledNorms(A: Float64Array, r: number, c: number, row: Float64Array, col: Float64Array) {
  const rn = new Float64Array(r), cn = new Float64Array(c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const v = (row[i] * A[i * c + j] * col[j]) ** 2;
      rn[i] += v, cn[j] += v;
    }
  }
  return { rows: [...rn].map(Math.sqrt), cols: [...cn].map(Math.sqrt) };
}
const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);

Deno.test("ruiz: one nonzero per row and column is estimated exactly, and one round scales every entry to ±1", () => {
  const rng = new Rng(3);
  for (let t = 0; t < 20; t++) {
    const n = 1 + rng.int(8);
    const perm = Array.from({ length: n }, (_, i) => i).sort(() => rng.next() - 0.5);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) A[i * n + perm[i]] = (rng.next() < 0.5 ? -1 : 1) * 10 ** (6 * rng.next() - 3);
    const { row, col } = ruizByProbes(dense(A, n, n), { iterations: 1, probes: 1, seed: t });
    for (let i = 0; i < n; i++) assertClose(Math.abs(row[i] * A[i * n + perm[i]] * col[perm[i]]), 1, 1e-12, `case ${t} row ${i}`);
  }
});

Deno.test("ruiz: a badly scaled dense matrix comes out equilibrated (row and column norm spreads from 1e6 to under 3)", () => {
  const rng = new Rng(5);
  for (const [r, c] of [[6, 6], [10, 10]]) {
    const rs = Array.from({ length: r }, () => 10 ** (6 * rng.next() - 3)),
      cs = Array.from({ length: c }, () => 10 ** (6 * rng.next() - 3));
    const A = Float64Array.from({ length: r * c }, (_, k) => rs[Math.floor(k / c)] * cs[k % c] * (0.5 + rng.next()));
    const before = scaledNorms(A, r, c, new Float64Array(r).fill(1), new Float64Array(c).fill(1));
    assert(spread(before.rows) > 100 && spread(before.cols) > 100, "the test matrix is badly scaled");
    const op = dense(A, r, c);
    const { row, col } = ruizByProbes(op, { iterations: 12, probes: 32, seed: 1 });
    assertEquals(op.calls, 12 * 32 * 2, "two products per probe");
    const after = scaledNorms(A, r, c, row, col);
    assert(spread(after.rows) < 3, `rows ${after.rows}`);
    assert(spread(after.cols) < 3, `cols ${after.cols}`);
    // square: the fixed point has unit norms
    for (const v of [...after.rows, ...after.cols]) assert(v > 0.3 && v < 3, `norm ${v}`);
    for (const v of [...row, ...col]) assert(v > 0 && Number.isFinite(v), "scales are positive and finite");
  }
});

Deno.test("ruiz: empty rows and columns keep scale 1; no rounds is the identity; the same seed gives the same scaling", () => {
  // 3 × 4, row 1 and column 2 empty
  const A = Float64Array.from([2, 0, 0, 1, 0, 0, 0, 0, 5, -3, 0, 4]);
  const s = ruizByProbes(dense(A, 3, 4), { iterations: 6, probes: 8, seed: 2 });
  assertEquals(s.row[1], 1);
  assertEquals(s.col[2], 1);
  assert(s.row[0] !== 1 && s.col[0] !== 1);
  const id = ruizByProbes(dense(A, 3, 4), { iterations: 0, probes: 8, seed: 2 });
  assertEquals([...id.row, ...id.col], Array(7).fill(1));
  const again = ruizByProbes(dense(A, 3, 4), { iterations: 6, probes: 8, seed: 2 });
  assertEquals([...again.row, ...again.col], [...s.row, ...s.col]);
  const zero = ruizByProbes(dense(new Float64Array(6), 2, 3), { iterations: 3, probes: 4, seed: 1 });
  assertEquals([...zero.row, ...zero.col], Array(5).fill(1), "the zero matrix is left alone, not divided by 0");
});
