import { tf, tidyRead } from "../nn/backend.ts";
import type { TensorPart } from "../nn/data_tensors.ts";

/**
 * The exact Hessian of f = mean softmax cross-entropy + λ_out ||W_L||² with respect to the output layer's
 * parameters (W_L, b_L), everything else fixed. With A = [a_{L-1}, 1] (N × (h+1)) and p the softmax
 * outputs: H[(i,c),(j,d)] = (1/N) Σ_n A_ni A_nj p_nc (δ_cd − p_nd) + 2λ_out δ (weights only). Computed as
 * blockdiag_c(Aᵀ diag(p_c) A) − BᵀB with B = [A ⊙ p_1, …, A ⊙ p_C]: one matrix product instead of
 * (h+1)·C Hessian-vector products. Returned in the flat layout [W_L row-major (h × C), b_L].
 */
export function outputLayerHessian(weights: Float32Array[], sizes: number[], part: TensorPart, lambdaOut: number): Float64Array {
  const L = sizes.length - 1;
  const h = sizes[L - 1];
  const C = sizes[L];
  const dim = (h + 1) * C;
  const raw = tidyRead(() => {
    let a: tf.Tensor2D = part.x;
    for (let l = 0; l < L - 1; l++) {
      const W = tf.tensor2d(weights[2 * l], [sizes[l], sizes[l + 1]]);
      a = tf.relu(tf.add(tf.matMul(a, W), tf.tensor1d(weights[2 * l + 1]))) as tf.Tensor2D;
    }
    const logits = tf.add(tf.matMul(a, tf.tensor2d(weights[2 * L - 2], [h, C])), tf.tensor1d(weights[2 * L - 1]));
    const p = tf.softmax(logits as tf.Tensor2D);
    const A = tf.concat([a, tf.ones([part.n, 1])], 1); // N × (h+1)
    // B[:, c*(h+1) + i] = A[:, i] * p[:, c]
    const B = tf.reshape(tf.mul(tf.expandDims(p, 2), tf.expandDims(A, 1)), [part.n, dim]);
    const Bt = tf.transpose(B); // explicit: transposed matMul is slow on wasm (nn/fast_matmul.ts)
    const BtB = tf.matMul(Bt, B); // dim × dim
    const AtB = tf.matMul(tf.transpose(A), B); // (h+1) × dim: block c is Aᵀ diag(p_c) A
    return { BtB, AtB };
  });
  // Reorder from (c, i) to the flat layout: W_L[i, c] at i*C + c (i < h), b_L[c] at h*C + c (i = h).
  const pos = (i: number, c: number) => (i < h ? i * C + c : h * C + c);
  const H = new Float64Array(dim * dim);
  const n = part.n;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i <= h; i++) {
      const r = pos(i, c);
      for (let d = 0; d < C; d++) {
        for (let j = 0; j <= h; j++) {
          let v = -raw.BtB[(c * (h + 1) + i) * dim + d * (h + 1) + j];
          if (c === d) v += raw.AtB[i * dim + c * (h + 1) + j];
          H[r * dim + pos(j, d)] = v / n;
        }
      }
      if (i < h) H[r * dim + r] += 2 * lambdaOut;
    }
  }
  return H;
}

/**
 * The same Hessian restricted to chosen rows/columns of the output layer (flat indices within
 * [W_L row-major, b_L]), for output layers too large for the full block (e.g. 784×10 without a hidden
 * layer). For chosen entries r = (i_r, c_r): with U[n, r] = A[n, i_r]·p[n, c_r] and V[n, r] = A[n, i_r],
 * H[r, s] = (1/N) ([c_r = c_s]·(UᵀV)[r, s] − (UᵀU)[r, s]) (+ 2λ_out on weight diagonals): two matrix
 * products (a k² loop over all N examples took ~1 s at k = 200, N = 5,000).
 */
export function outputLayerHessianSubset(
  weights: Float32Array[],
  sizes: number[],
  part: TensorPart,
  lambdaOut: number,
  indices: number[],
): Float64Array {
  const L = sizes.length - 1;
  const h = sizes[L - 1];
  const C = sizes[L];
  const n = part.n;
  const { a, p } = tidyRead(() => {
    let act: tf.Tensor2D = part.x;
    for (let l = 0; l < L - 1; l++) {
      act = tf.relu(
        tf.add(tf.matMul(act, tf.tensor2d(weights[2 * l], [sizes[l], sizes[l + 1]])), tf.tensor1d(weights[2 * l + 1])),
      ) as tf.Tensor2D;
    }
    const logits = tf.add(tf.matMul(act, tf.tensor2d(weights[2 * L - 2], [h, C])), tf.tensor1d(weights[2 * L - 1]));
    return { a: act, p: tf.softmax(logits as tf.Tensor2D) };
  });
  // flat index → (input i, or h for the bias; class c)
  const coord = indices.map((q) => (q < h * C ? [Math.floor(q / C), q % C] : [h, q - h * C]));
  const k = indices.length;
  // U and V built on the host row by row (each example's activations are contiguous: ~20x faster than
  // column by column for N × 784 inputs); only Uᵀ is transposed on the device
  const u = new Float32Array(n * k), v = new Float32Array(n * k);
  for (let e = 0; e < n; e++) {
    for (let r = 0; r < k; r++) {
      const [i, c] = coord[r];
      const ai = i === h ? 1 : a[e * h + i];
      v[e * k + r] = ai;
      u[e * k + r] = ai * p[e * C + c];
    }
  }
  const { utv, utu } = tidyRead(() => {
    const U = tf.tensor2d(u, [n, k]), V = tf.tensor2d(v, [n, k]);
    const Ut = tf.transpose(U);
    return { utv: tf.matMul(Ut, V), utu: tf.matMul(Ut, U) };
  });
  const H = new Float64Array(k * k);
  for (let r = 0; r < k; r++) {
    for (let s = 0; s < k; s++) H[r * k + s] = ((coord[r][1] === coord[s][1] ? utv[r * k + s] : 0) - utu[r * k + s]) / n;
    if (coord[r][0] < h) H[r * k + r] += 2 * lambdaOut;
  }
  return H;
}
