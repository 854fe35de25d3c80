import { tf, tidyRead } from "../../nn/backend.ts";
import { hostTransposedInputs, type TensorPart } from "../../nn/data_tensors.ts";
import { forward, mlpShapes } from "../../nn/mlp.ts";

/** An MLP's weights [W1, b1, …] (float32) and layer widths [input, hidden…, classes]. */
export interface OutputLayerModel {
  weights: Float32Array[];
  sizes: number[];
}

/**
 * The output layer's input a_{L-1} (N × h, on the device; `owned` false when it is the data's own x,
 * which must not be disposed) and the logits (read, float32).
 */
function outputInputs(
  weights: Float32Array[],
  sizes: number[],
  part: TensorPart,
): { a: tf.Tensor2D; owned: boolean; logits: Float32Array } {
  const L = sizes.length - 1;
  const shapes = mlpShapes(sizes);
  const params = weights.map((w, i) => tf.tensor(w, shapes[i]));
  try {
    const a = tf.tidy(() => forward(params, part.x, { layers: L - 1 }));
    const { logits } = tidyRead(() => ({ logits: forward(params.slice(2 * L - 2), a) }));
    return { a, owned: a !== part.x, logits };
  } finally {
    tf.dispose(params);
  }
}

/**
 * The exact Hessian of f = mean softmax cross-entropy + λ_out ||W_L||² with respect to the output layer's
 * parameters (W_L, b_L), everything else fixed. With A = [a_{L-1}, 1] (N × (h+1)) and p the softmax
 * outputs: H[(i,c),(j,d)] = (1/N) Σ_n A_ni A_nj p_nc (δ_cd − p_nd) + 2λ_out δ (weights only).
 *
 * Each off-diagonal class block (c < d) is −Aᵀ diag(p_c p_d) A: per-example weights formed first (float64
 * softmax of the logits), then summed over examples by float32 matrix products. Each
 * diagonal block is then minus the sum of the off-diagonal blocks of its row (in float64), since
 * p_c(1 − p_c) = Σ_{d≠c} p_c p_d. Why: the earlier form blockdiag(Aᵀ diag(p_c) A) − BᵀB subtracted two
 * nearly equal float32 sums when p is confident (errors of several % and spurious negative eigenvalues on
 * a trained 5×50 model). Here A ≥ 0 (ReLU outputs, pixels in [0, 1], the ones column), so every block is
 * a sum of like-signed terms, accurate entry by entry; and every class row of the data term sums to 0
 * up to float64 rounding, as softmax's shift invariance demands (the bias direction 1_C is an exact null
 * vector, not a float32-sized negative eigenvalue). Returned in the flat layout [W_L row-major (h × C), b_L].
 */
export function outputLayerHessian(model: OutputLayerModel, part: TensorPart, lambdaOut: number): Float64Array {
  const { sizes } = model;
  const L = sizes.length - 1;
  const h = sizes[L - 1];
  const C = sizes[L];
  const dim = (h + 1) * C;
  const n = part.n;
  const { a, owned, logits } = outputInputs(model.weights, sizes, part);
  const A = tf.concat([a, tf.ones([n, 1])], 1) as tf.Tensor2D;
  if (owned) a.dispose();
  const wts = pairWeights(logits, n, C);
  const H = new Float64Array(dim * dim);
  try {
    offDiagonalBlocks(H, { A, wts, h, C });
  } finally {
    A.dispose();
  }
  diagonalBlocks(H, h, C);
  const pos = flatPosition(h, C);
  for (let i = 0; i < h; i++) for (let c = 0; c < C; c++) H[pos(i, c) * dim + pos(i, c)] += 2 * lambdaOut;
  return H;
}

/** Row-major index of the class pair (c, d), c < d, among the C(C − 1)/2 pairs. */
function pairIndex(C: number, c: number, d: number): number {
  return c * C - (c * (c + 1)) / 2 + (d - c - 1);
}

/** Flat position of (input i, class c): W_L[i, c] at i*C + c (i < h), b_L[c] at h*C + c (i = h). */
function flatPosition(h: number, C: number): (i: number, c: number) => number {
  return (i, c) => (i < h ? i * C + c : h * C + c);
}

/**
 * The float64 softmax of example s's float32 logits, unnormalised: fills `e` with exp(z_c − max z) and returns
 * their sum (p_c = e_c / sum). Both weightings below divide by the sum themselves, each in the form it needs.
 */
function shiftedExp(logits: Float32Array, s: number, C: number, e: Float64Array): number {
  let m = -Infinity;
  for (let c = 0; c < C; c++) m = Math.max(m, logits[s * C + c]);
  let sum = 0;
  for (let c = 0; c < C; c++) sum += e[c] = Math.exp(logits[s * C + c] - m);
  return sum;
}

/** Per-example p_c p_d for c < d, from a float64 softmax of the float32 logits; pair-major (Q × N). */
function pairWeights(logits: Float32Array, n: number, C: number): Float32Array {
  const wts = new Float32Array(((C * (C - 1)) / 2) * n);
  const e = new Float64Array(C);
  for (let s = 0; s < n; s++) {
    const sum = shiftedExp(logits, s, C, e);
    for (let c = 0; c < C; c++) for (let d = c + 1; d < C; d++) wts[pairIndex(C, c, d) * n + s] = (e[c] / sum) * (e[d] / sum);
  }
  return wts;
}

/** Fills the off-diagonal class blocks (c ≠ d) of H: −Aᵀ diag(p_c p_d) A / N, each symmetrised. */
function offDiagonalBlocks(H: Float64Array, a: { A: tf.Tensor2D; wts: Float32Array; h: number; C: number }): void {
  const { A, wts, h, C } = a;
  const n = A.shape[0], h1 = h + 1, dim = h1 * C, Q = (C * (C - 1)) / 2;
  const pos = flatPosition(h, C);
  const pairs: [number, number][] = [];
  for (let c = 0; c < C; c++) for (let d = c + 1; d < C; d++) pairs.push([c, d]);
  // Yᵀ[(k, i), n] = w_k[n]·A[n, i] for a chunk of pairs k, times A: rows (k, i), columns j of block k.
  // This orientation (tall times thin) ran 2.5× faster on wasm than AᵀY or BᵀB; chunks of pairs keep
  // Yᵀ under 2^24 floats.
  const At = tf.transpose(A);
  const chunk = Math.max(1, Math.floor(2 ** 24 / (n * h1)));
  try {
    for (let k0 = 0; k0 < Q; k0 += chunk) {
      const kn = Math.min(chunk, Q - k0);
      const { blocks } = tidyRead(() => {
        const w = tf.tensor2d(wts.subarray(k0 * n, (k0 + kn) * n), [kn, n]);
        const Yt = tf.reshape(tf.mul(tf.expandDims(w, 1), tf.expandDims(At, 0)), [kn * h1, n]);
        return { blocks: tf.matMul(Yt, A) };
      });
      for (let k = 0; k < kn; k++) {
        const [c, d] = pairs[k0 + k];
        for (let i = 0; i < h1; i++) {
          for (let j = 0; j < h1; j++) {
            // each block is symmetric in (i, j) up to rounding: average the two computed halves
            const v = -(blocks[(k * h1 + i) * h1 + j] + blocks[(k * h1 + j) * h1 + i]) / (2 * n);
            H[pos(i, c) * dim + pos(j, d)] = v;
            H[pos(j, d) * dim + pos(i, c)] = v;
          }
        }
      }
    }
  } finally {
    At.dispose();
  }
}

/** Fills each diagonal class block with minus the sum of the off-diagonal blocks of its row (float64). */
function diagonalBlocks(H: Float64Array, h: number, C: number): void {
  const h1 = h + 1, dim = h1 * C;
  const pos = flatPosition(h, C);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < h1; i++) {
      for (let j = 0; j < h1; j++) {
        let v = 0;
        for (let d = 0; d < C; d++) if (d !== c) v -= H[pos(i, c) * dim + pos(j, d)];
        H[pos(i, c) * dim + pos(j, c)] = v;
      }
    }
  }
}

/**
 * The same Hessian restricted to chosen rows/columns of the output layer (flat indices within
 * [W_L row-major, b_L]), for output layers too large for the full block (e.g. 784×10 without a hidden
 * layer). For chosen entries r = (i_r, c_r), with V[n, r] = A[n, i_r]:
 * H[r, s] = (1/N) Σ_n V_nr V_ns S_n[c_r, c_s], S = diag(p) − ppᵀ. Two Gram matrices, each a sum of
 * like-signed terms (V ≥ 0): UᵀU with U[n, r] = V_nr·p_{n,c_r} gives the entries of different classes
 * (negated), and, class by class, G_cᵀG_c with G_c[n, r] = V_nr·√(p_c(1 − p_c)) (1 − p_c formed as
 * Σ_{d≠c} p_d in float64) the entries of the same class. Why not [c_r = c_s]·UᵀV − UᵀU (an earlier form):
 * it cancels when p is confident. Uᵀ and G_cᵀ are built on the host from the activations transposed (each
 * row a contiguous run over examples); the same-class products cost about 1/C of a full k × N × k product.
 */
export function outputLayerHessianSubset(
  { weights, sizes }: OutputLayerModel,
  part: TensorPart,
  lambdaOut: number,
  indices: number[],
): Float64Array {
  const L = sizes.length - 1;
  const h = sizes[L - 1];
  const C = sizes[L];
  const n = part.n;
  const k = indices.length;
  const { aT, logits } = transposedOutputInputs(weights, sizes, part);
  const { p, sq } = classWeights(logits, n, C);
  // flat index → (input i, or h for the bias; class c)
  const inputOf = indices.map((q) => (q < h * C ? Math.floor(q / C) : h));
  const classOf = indices.map((q) => (q < h * C ? q % C : q - h * C));
  const ones = new Float32Array(n).fill(1);
  const inputRow = (r: number) => (inputOf[r] === h ? ones : aT.subarray(inputOf[r] * n, (inputOf[r] + 1) * n));
  /** Rows r of Mᵀ (k_rows × N): Mᵀ[r, s] = V_{s, r}·w_{c_r}[s]. */
  const weightedRows = (rows: number[], w: Float64Array[]) => {
    const out = new Float32Array(rows.length * n);
    rows.forEach((r, q) => {
      const v = inputRow(r), wc = w[classOf[r]], o = q * n;
      for (let e = 0; e < n; e++) out[o + e] = v[e] * wc[e];
    });
    return out;
  };
  const all = indices.map((_, r) => r);
  const utu = gram(weightedRows(all, p), k, n);
  const H = new Float64Array(k * k);
  for (let r = 0; r < k; r++) {
    for (let s = 0; s < r; s++) {
      if (classOf[r] === classOf[s]) continue;
      // average the two computed halves so that H is exactly symmetric
      H[r * k + s] = H[s * k + r] = -(utu[r * k + s] + utu[s * k + r]) / (2 * n);
    }
  }
  for (let c = 0; c < C; c++) {
    const rows = all.filter((r) => classOf[r] === c);
    if (!rows.length) continue;
    const kc = rows.length;
    const gtg = gram(weightedRows(rows, sq), kc, n);
    for (let a = 0; a < kc; a++) {
      for (let b = 0; b <= a; b++) H[rows[a] * k + rows[b]] = H[rows[b] * k + rows[a]] = (gtg[a * kc + b] + gtg[b * kc + a]) / (2 * n);
    }
  }
  for (let r = 0; r < k; r++) if (inputOf[r] < h) H[r * k + r] += 2 * lambdaOut;
  return H;
}

/** MᵀM (k × k, float32 products summed on the device) from Mᵀ given row-major (k × N). */
function gram(mT: Float32Array, k: number, n: number): Float32Array {
  return tidyRead(() => {
    const Mt = tf.tensor2d(mT, [k, n]);
    // an explicit transpose then a plain product: wasm's transposed matMul is ~10× slower (fast_matmul.ts)
    return { g: tf.matMul(Mt, tf.transpose(Mt)) };
  }).g as Float32Array;
}

/**
 * The output layer's inputs transposed (h × N, host) and the logits. Without a hidden layer these are the
 * data's inputs, whose transpose the part keeps on the host (hostTransposedInputs).
 */
function transposedOutputInputs(weights: Float32Array[], sizes: number[], part: TensorPart): { aT: Float32Array; logits: Float32Array } {
  const act = outputInputs(weights, sizes, part);
  try {
    if (!act.owned) return { aT: hostTransposedInputs(part), logits: act.logits };
    return { aT: tidyRead(() => ({ t: tf.transpose(act.a) })).t as Float32Array, logits: act.logits };
  } finally {
    if (act.owned) act.a.dispose();
  }
}

/** Per class c (class-major, each of length N): p_c and √(p_c(1 − p_c)), from a float64 softmax, 1 − p_c as Σ_{d≠c} p_d. */
function classWeights(logits: Float32Array, n: number, C: number): { p: Float64Array[]; sq: Float64Array[] } {
  const p = Array.from({ length: C }, () => new Float64Array(n));
  const sq = Array.from({ length: C }, () => new Float64Array(n));
  const e = new Float64Array(C);
  for (let s = 0; s < n; s++) {
    const sum = shiftedExp(logits, s, C, e);
    for (let c = 0; c < C; c++) {
      let rest = 0;
      for (let d = 0; d < C; d++) if (d !== c) rest += e[d];
      p[c][s] = e[c] / sum;
      sq[c][s] = Math.sqrt(p[c][s] * (rest / sum));
    }
  }
  return { p, sq };
}
