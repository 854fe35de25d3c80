// A float64 reference MLP in plain JavaScript (no TensorFlow.js): loss and gradient by hand-written
// backpropagation, used as an independent oracle for the float32 R-operator and for finite differences.

/** Flat float64 parameters [W1, b1, ...] for layer sizes `sizes`; x row-major [n, in]; labels ints. */
export function loss64(
  theta: Float64Array,
  sizes: number[],
  x: Float64Array,
  labels: number[],
  groups: number[],
  lambdas: number[],
): number {
  return lossGrad64(theta, sizes, x, labels, groups, lambdas).loss;
}

/** Loss and gradient in float64. */
export function lossGrad64(
  theta: Float64Array,
  sizes: number[],
  x: Float64Array,
  labels: number[],
  groups: number[],
  lambdas: number[],
): { loss: number; grad: Float64Array } {
  const n = labels.length;
  const L = sizes.length - 1;
  const offs: number[] = [];
  let o = 0;
  for (let l = 0; l < L; l++) {
    offs.push(o);
    o += sizes[l] * sizes[l + 1] + sizes[l + 1];
  }
  const acts: Float64Array[] = [x];
  const zs: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const [fi, fo] = [sizes[l], sizes[l + 1]];
    const W = offs[l], B = W + fi * fo;
    const z = new Float64Array(n * fo);
    const a = acts[l];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fo; j++) {
        let s = theta[B + j];
        for (let k = 0; k < fi; k++) s += a[i * fi + k] * theta[W + k * fo + j];
        z[i * fo + j] = s;
      }
    }
    zs.push(z);
    acts.push(l < L - 1 ? z.map((v) => (v > 0 ? v : 0)) : z);
  }
  const C = sizes[L];
  const logits = acts[L];
  let loss = 0;
  let delta = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[i * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[i * C + c] - m);
    const lse = m + Math.log(s);
    loss -= (logits[i * C + labels[i]] - lse) / n;
    for (let c = 0; c < C; c++) delta[i * C + c] = (Math.exp(logits[i * C + c] - lse) - (c === labels[i] ? 1 : 0)) / n;
  }
  const grad = new Float64Array(theta.length);
  for (let l = L - 1; l >= 0; l--) {
    const [fi, fo] = [sizes[l], sizes[l + 1]];
    const W = offs[l], B = W + fi * fo;
    const a = acts[l];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fo; j++) {
        const d = delta[i * fo + j];
        grad[B + j] += d;
        for (let k = 0; k < fi; k++) grad[W + k * fo + j] += a[i * fi + k] * d;
      }
    }
    if (l > 0) {
      const prev = new Float64Array(n * fi);
      const zp = zs[l - 1];
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < fi; k++) {
          if (zp[i * fi + k] <= 0) continue;
          let s = 0;
          for (let j = 0; j < fo; j++) s += delta[i * fo + j] * theta[W + k * fo + j];
          prev[i * fi + k] = s;
        }
      }
      delta = prev;
    }
    const lam = lambdas[groups[l]] ?? 0;
    for (let q = W; q < B; q++) {
      loss += lam * theta[q] * theta[q];
      grad[q] += 2 * lam * theta[q];
    }
  }
  return { loss, grad };
}

/** Forward pass in float64 to the output layer: its input A = [a_{L-1}, 1] (N × (h+1)) and the logits (N × C). */
export function outputInputs64(theta: Float64Array, sizes: number[], x: Float64Array): { A: Float64Array; logits: Float64Array } {
  const n = x.length / sizes[0];
  const L = sizes.length - 1;
  let a = x;
  let o = 0;
  let logits = new Float64Array(0);
  for (let l = 0; l < L; l++) {
    const [fi, fo] = [sizes[l], sizes[l + 1]];
    const z = new Float64Array(n * fo);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fo; j++) {
        let s = theta[o + fi * fo + j];
        for (let k = 0; k < fi; k++) s += a[i * fi + k] * theta[o + k * fo + j];
        z[i * fo + j] = l < L - 1 && s < 0 ? 0 : s;
      }
    }
    o += fi * fo + fo;
    if (l < L - 1) a = z;
    else logits = z;
  }
  const h = sizes[L - 1];
  const A = new Float64Array(n * (h + 1));
  for (let i = 0; i < n; i++) {
    A.set(a.subarray(i * h, i * h + h), i * (h + 1));
    A[i * (h + 1) + h] = 1;
  }
  return { A, logits };
}

/**
 * The output-layer Hessian in float64, summed example by example: (1/N) Σ_n S_n ⊗ A_n A_nᵀ + 2λ on weight
 * diagonals, with S_n = diag(p) − ppᵀ formed so that p_c(1 − p_c) never subtracts (1 − p_c = Σ_{d≠c} p_d).
 * Flat layout [W_L row-major (h × C), b_L], like bilevel/hessian/output_hessian.ts.
 */
export function outputHessian64(theta: Float64Array, sizes: number[], x: Float64Array, lambdaOut: number): Float64Array {
  const L = sizes.length - 1;
  const h = sizes[L - 1], C = sizes[L], h1 = h + 1, dim = h1 * C;
  const { A, logits } = outputInputs64(theta, sizes, x);
  const n = logits.length / C;
  const pos = (i: number, c: number) => (i < h ? i * C + c : h * C + c);
  const H = new Float64Array(dim * dim);
  const S = new Float64Array(C * C);
  for (let s = 0; s < n; s++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[s * C + c]);
    const e = Array.from({ length: C }, (_, c) => Math.exp(logits[s * C + c] - m));
    const sum = e.reduce((t, v) => t + v, 0);
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        S[c * C + d] = c === d ? (e[c] / sum) * (e.reduce((t, v, q) => (q === c ? t : t + v), 0) / sum) : -(e[c] / sum) * (e[d] / sum);
      }
    }
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        const w = S[c * C + d] / n;
        for (let i = 0; i < h1; i++) {
          const wi = w * A[s * h1 + i];
          const row = pos(i, c) * dim;
          for (let j = 0; j < h1; j++) H[row + pos(j, d)] += wi * A[s * h1 + j];
        }
      }
    }
  }
  for (let i = 0; i < h; i++) for (let c = 0; c < C; c++) H[pos(i, c) * dim + pos(i, c)] += 2 * lambdaOut;
  return H;
}

/** Eigenvalues of a symmetric matrix (row-major n × n) by cyclic Jacobi rotations in float64, ascending. */
export function symmetricEigenvalues(M: Float64Array, n: number): number[] {
  const a = Float64Array.from(M);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * diag) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => x - y);
}
