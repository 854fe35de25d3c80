// A float64 reference MLP in plain JavaScript (no TensorFlow.js): loss and gradient by hand-written
// backpropagation, used as an independent oracle for the float32 R-operator and for finite differences.

/** Flat float64 parameters [W1, b1, ...] for layer sizes `sizes`; x row-major [n, in]; labels ints. */
export function loss64(theta: Float64Array, sizes: number[], x: Float64Array, labels: number[], groups: number[], lambdas: number[]): number {
  return lossGrad64(theta, sizes, x, labels, groups, lambdas).loss;
}

/** Loss and gradient in float64. */
export function lossGrad64(theta: Float64Array, sizes: number[], x: Float64Array, labels: number[], groups: number[], lambdas: number[]): { loss: number; grad: Float64Array } {
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
