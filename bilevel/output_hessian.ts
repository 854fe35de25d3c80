import { tf } from "../nn/backend.ts";
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
  const raw = tf.tidy(() => {
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
    return { BtB: BtB.dataSync(), AtB: AtB.dataSync() };
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
 * layer): k² entries, each a sum over the N examples, in float64.
 */
export function outputLayerHessianSubset(weights: Float32Array[], sizes: number[], part: TensorPart, lambdaOut: number, indices: number[]): Float64Array {
  const L = sizes.length - 1;
  const h = sizes[L - 1];
  const C = sizes[L];
  const { a, p } = tf.tidy(() => {
    let act: tf.Tensor2D = part.x;
    for (let l = 0; l < L - 1; l++) {
      act = tf.relu(tf.add(tf.matMul(act, tf.tensor2d(weights[2 * l], [sizes[l], sizes[l + 1]])), tf.tensor1d(weights[2 * l + 1]))) as tf.Tensor2D;
    }
    const logits = tf.add(tf.matMul(act, tf.tensor2d(weights[2 * L - 2], [h, C])), tf.tensor1d(weights[2 * L - 1]));
    return { a: act.dataSync() as Float32Array, p: tf.softmax(logits as tf.Tensor2D).dataSync() as Float32Array };
  });
  const n = part.n;
  // flat index → (input i or h for the bias, class c)
  const coord = indices.map((q) => (q < h * C ? [Math.floor(q / C), q % C] : [h, q - h * C]));
  const k = indices.length;
  const H = new Float64Array(k * k);
  for (let r = 0; r < k; r++) {
    const [i, c] = coord[r];
    for (let s = r; s < k; s++) {
      const [j, d] = coord[s];
      let sum = 0;
      for (let e = 0; e < n; e++) {
        const ai = i === h ? 1 : a[e * h + i];
        const aj = j === h ? 1 : a[e * h + j];
        if (ai === 0 || aj === 0) continue;
        const pc = p[e * C + c];
        sum += ai * aj * pc * ((c === d ? 1 : 0) - p[e * C + d]);
      }
      let v = sum / n;
      if (r === s && i < h) v += 2 * lambdaOut;
      H[r * k + s] = H[s * k + r] = v;
    }
  }
  return H;
}
