// A block of the Hessian H[B, B] of f(w, λ) = L(w) + Σ λ_k ||W_(k)||² for a small block B of weights, by the
// R-operator of hvp.ts run for all of B's columns at once and read only at B's rows.
//
// Why not one HVP per column: each full HVP multiplies the whole first layer twice (n × 784 × width), while
// the block needs neither product: a column's tangent enters as a rank-one term at its own layer, and a row
// at layer l is a dot product over the n examples, all of B's rows against all columns' tangents in one
// matMul. Tangents are laid out [n, columns, width], so that each layer's product with W is one plain matMul
// and a row read needs no transpose. bench/hessian_block.ts measures it against one HVP per column.
import { tf } from "../../nn/backend.ts";
import { mlpShapes, parameterOffsets } from "../../nn/mlp.ts";

/** The forward and backward pass at the current weights, as MlpDerivatives keeps it (one per model). */
export interface ForwardPass {
  /** acts[l]: layer l's input [n, in_l] (acts[0] = x), and transposed. */
  acts: tf.Tensor2D[];
  actsT: tf.Tensor2D[];
  WT: tf.Tensor2D[];
  masks: tf.Tensor2D[];
  p: tf.Tensor2D;
  /** One-hot of each example's most likely class, and p with that class zeroed. */
  top: tf.Tensor2D;
  pRest: tf.Tensor2D;
  /** deltas[l] = dL/dz_l (mean over n). */
  deltas: tf.Tensor2D[];
  loss: number;
}

/** The softmax's probabilities as the R-operator uses them (see softmaxJacobianTimes), shaped to broadcast. */
export interface SoftmaxAt {
  p: tf.Tensor;
  pRest: tf.Tensor;
  top: tf.Tensor;
}

/**
 * R(δ_out): the softmax cross-entropy's Jacobian applied to the logits' tangent `rlogits` (class on the last
 * axis; `s` shaped to broadcast against it). R(δ)_c = p_c (rz_c − Σ_d p_d rz_d)/n; for the most likely class t
 * the difference is formed as Σ_{d≠t} p_d (rz_t − rz_d), since rz_t − Σ_d p_d rz_d cancels when p_t ≈ 1 (HVPs
 * 0.1-0.6% off on a confident model, before).
 */
export function softmaxJacobianTimes<T extends tf.Tensor>(s: SoftmaxAt, rlogits: T, n: number): T {
  const diff = tf.sub(rlogits, tf.sum(tf.mul(s.p, rlogits), -1, true));
  const diffTop = tf.sub(tf.mul(rlogits, tf.sum(s.pRest, -1, true)), tf.sum(tf.mul(s.pRest, rlogits), -1, true));
  const diffStable = tf.add(tf.mul(diff, tf.sub(1, s.top)), tf.mul(diffTop, s.top));
  return tf.div(tf.mul(s.p, diffStable), n) as T;
}

/** Where a flat parameter lives: W_l[i, k], or b_l[k] (bias, i = -1). */
interface Coordinate {
  layer: number;
  bias: boolean;
  i: number;
  k: number;
}

function coordinatesOf(sizes: number[], indices: number[]): Coordinate[] {
  const offsets = parameterOffsets(mlpShapes(sizes));
  const total = offsets.at(-1)!.start + offsets.at(-1)!.length;
  return indices.map((j) => {
    const o = offsets.find((x) => j >= x.start && j < x.start + x.length);
    if (!o) throw new Error(`parameter ${j} is outside the model (${total} parameters)`);
    const out = sizes[o.layer + 1];
    const at = j - o.start;
    return o.isWeight
      ? { layer: o.layer, bias: false, i: Math.floor(at / out), k: at % out }
      : { layer: o.layer, bias: true, i: -1, k: at };
  });
}

/** [n, C, a] · [a, b] → [n, C, b]: one plain matMul. */
function matMul3(x: tf.Tensor3D, w: tf.Tensor2D): tf.Tensor3D {
  const [n, c, a] = x.shape;
  return tf.reshape(tf.matMul(tf.reshape(x, [n * c, a]), w), [n, c, w.shape[1]]);
}

/** A column's rank-one entry at one layer: row `row` of the given rows (or a row of ones) at position `pos`. */
type Entry = { row: number | "ones"; pos: number } | undefined;

/**
 * [n, C, width]: for each column c with an entry, rowsT[row] ⊗ e_pos (rowsT is [m, n]); zeros for the others.
 * Exactly the values the full HVP's x·V_W (+ V_b) gives for a one-hot V: a product by 1 and sums of zeros.
 */
function rankOne(rowsT: tf.Tensor2D, entries: Entry[], width: number): tf.Tensor3D {
  const C = entries.length;
  // gathers only the C rows needed (never a copy of rowsT, which is [784, n] at the first layer)
  const picked = tf.gather(rowsT, entries.map((e) => (e && e.row !== "ones" ? e.row : 0)));
  const isRow = tf.tensor2d(entries.map((e) => (e && e.row !== "ones" ? 1 : 0)), [C, 1]);
  const isOnes = tf.tensor2d(entries.map((e) => (e?.row === "ones" ? 1 : 0)), [C, 1]);
  const a = tf.transpose(tf.add(tf.mul(picked, isRow), isOnes)); // [n, C]
  const onehot = new Float32Array(C * width);
  entries.forEach((e, c) => {
    if (e) onehot[c * width + e.pos] = 1;
  });
  return tf.mul(tf.expandDims(a, 2), tf.tensor3d(onehot, [1, C, width])) as tf.Tensor3D;
}

/**
 * H[B, B] (row-major, entry r·|B| + c = ∂²f/∂w_{B_r}∂w_{B_c}) from the pass at the current weights: the
 * R-operator's forward and backward passes for the columns of B in chunks of at most `maxFloats` per tangent
 * tensor, read only at the rows of B. The penalty's 2λ enters the diagonal of weights (not biases) with
 * `withPenalty`. Exact up to float32 rounding, as the HVPs are; not symmetrised. Default chunk 2M floats (8 MB):
 * Section II's 150-weight block on the 5×50 MLP peaked at 1.8 GB with 8M and 0.8 GB with 2M, and its unit ran
 * faster (14 s against 20 s).
 */
export function hessianBlockOf(a: {
  pass: ForwardPass;
  W: tf.Tensor2D[];
  sizes: number[];
  n: number;
  indices: number[];
  /** λ of each layer's weights. */
  lambdaOfLayer: number[];
  withPenalty: boolean;
  maxFloats?: number;
  onChunk?: (done: number, total: number) => void;
}): Float64Array {
  const coords = coordinatesOf(a.sizes, a.indices);
  const bm = coords.length;
  const out = new Float64Array(bm * bm);
  // a column's largest tensors: its tangents [n, width] (never the input's width)
  const chunk = Math.max(1, Math.floor((a.maxFloats ?? 1 << 21) / (a.n * Math.max(...a.sizes.slice(1)))));
  for (let c0 = 0; c0 < bm; c0 += chunk) {
    const cols = coords.slice(c0, c0 + chunk);
    const block = columnsAtRows(a, cols, coords);
    cols.forEach((_, c) => {
      for (let r = 0; r < bm; r++) out[r * bm + c0 + c] = block[r * cols.length + c];
    });
    a.onChunk?.(Math.min(bm, c0 + chunk), bm);
  }
  if (a.withPenalty) {
    coords.forEach((x, r) => {
      if (!x.bias) out[r * bm + r] += 2 * (a.lambdaOfLayer[x.layer] ?? 0);
    });
  }
  return out;
}

/** H's columns `cols` at the rows `rows`: [R × C] row-major, from one R-forward and one R-backward pass. */
function columnsAtRows(
  a: { pass: ForwardPass; W: tf.Tensor2D[]; sizes: number[]; n: number },
  cols: Coordinate[],
  rows: Coordinate[],
): Float32Array {
  const { pass, W, n } = a;
  const L = W.length, C = cols.length;
  const lowRow = Math.min(...rows.map((r) => r.layer));
  // values: [R_l, C·width], one row per row of B, or [1, C·width] shared by all of them (`shared`, biases)
  const reads: { rows: number[]; values: tf.Tensor2D; width: number; pos: number[]; shared: boolean }[] = [];
  tf.tidy(() => {
    // R-forward: racts[l] is the tangent of layer l's input; a column enters at its own layer as a rank-one term
    const racts: (tf.Tensor3D | undefined)[] = new Array(L);
    let rlogits!: tf.Tensor3D;
    for (let l = Math.min(...cols.map((c) => c.layer)); l < L; l++) {
      const here: Entry[] = cols.map((c) => (c.layer === l ? { row: c.bias ? "ones" : c.i, pos: c.k } : undefined));
      let rz = here.some((e) => e) ? rankOne(pass.actsT[l], here, a.sizes[l + 1]) : undefined;
      const ra = racts[l];
      if (ra) rz = rz ? tf.add(rz, matMul3(ra, W[l])) : matMul3(ra, W[l]);
      if (l < L - 1) racts[l + 1] = tf.mul(rz!, tf.expandDims(pass.masks[l], 1)) as tf.Tensor3D;
      else rlogits = rz!;
    }
    const s = { p: tf.expandDims(pass.p, 1), pRest: tf.expandDims(pass.pRest, 1), top: tf.expandDims(pass.top, 1) };
    let rdelta = softmaxJacobianTimes(s, rlogits, n);
    // R-backward, down to the lowest layer with a row of B; each row's entries for every column in one matMul:
    // [R_l, n] · [n, C·width], of which entry (r, c, pos_r) is kept
    const keep = (values: tf.Tensor2D, rowsHere: number[], width: number, pos: number[], shared = false) =>
      reads.push({ rows: rowsHere, values: tf.keep(values), width, pos, shared });
    for (let l = L - 1; l >= lowRow; l--) {
      const at = rows.map((r, i) => ({ r, i })).filter((x) => x.r.layer === l);
      const weights = at.filter((x) => !x.r.bias), biases = at.filter((x) => x.r.bias);
      const out = a.sizes[l + 1], inp = a.sizes[l];
      const rdFlat = tf.reshape(rdelta, [n, C * out]);
      const deltasT = l > 0 ? tf.transpose(pass.deltas[l]) as tf.Tensor2D : undefined; // read below only where l > 0
      if (weights.length) {
        const rowsHere = weights.map((x) => x.i);
        // Σ_n a_l[n, i] R(δ_l)[n, c, k]
        keep(tf.matMul(tf.gather(pass.actsT[l], weights.map((x) => x.r.i)), rdFlat), rowsHere, out, weights.map((x) => x.r.k));
        const ra = racts[l];
        if (ra && deltasT) {
          // Σ_n R(a_l)[n, c, i] δ_l[n, k] (a tangent of layer l's input exists only for l > 0)
          const flat = tf.reshape(ra, [n, C * inp]) as tf.Tensor2D;
          keep(tf.matMul(tf.gather(deltasT, weights.map((x) => x.r.k)), flat), rowsHere, inp, weights.map((x) => x.r.i));
        }
      }
      if (biases.length) {
        keep(tf.sum(rdFlat, 0, true) as tf.Tensor2D, biases.map((x) => x.i), out, biases.map((x) => x.r.k), true);
      }
      if (l > lowRow) {
        let next = matMul3(rdelta, pass.WT[l]);
        // the direction's own term δ_l V_Wᵀ: δ_l's column k at position i
        const here: Entry[] = cols.map((c) => (c.layer === l && !c.bias ? { row: c.k, pos: c.i } : undefined));
        if (here.some((e) => e)) next = tf.add(next, rankOne(deltasT!, here, inp));
        rdelta = tf.mul(next, tf.expandDims(pass.masks[l - 1], 1)) as tf.Tensor3D;
      }
    }
  });
  const result = new Float32Array(rows.length * C);
  try {
    for (const r of reads) {
      const v = r.values.dataSync() as Float32Array;
      r.rows.forEach((row, j) => {
        const base = r.shared ? 0 : j * C * r.width;
        for (let c = 0; c < C; c++) result[row * C + c] += v[base + c * r.width + r.pos[j]];
      });
    }
  } finally {
    tf.dispose(reads.map((r) => r.values));
  }
  return result;
}
