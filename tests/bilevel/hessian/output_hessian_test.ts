// The output-layer Hessian against an independent float64 reference (tests/ref/mlp64.ts), itself checked
// against central differences of the float64 analytic gradient, on an untrained, a trained and a confident
// model (p within ~1e-10 of one-hot: where blockdiag(AᵀPA) − BᵀB cancelled).
import { assert, assertEquals } from "../../assert.ts";
import { useBackend } from "../../../nn/backend.ts";
import { Rng } from "../../../data/rng.ts";
import { outputLayerHessian, outputLayerHessianSubset } from "../../../bilevel/hessian/output_hessian.ts";
import { lossGrad64, outputHessian64, symmetricEigenvalues } from "../../ref/mlp64.ts";
import { referenceCases } from "../../ref/models.ts";
import { solveDirectionLp } from "../../../bilevel/lp/lp.ts";
import { closedFormDirection } from "../../../bilevel/lp/closed_form.ts";

await useBackend("wasm");

const LAMBDA_OUT = 1e-5; // the bottom of the search space: the data term dominates the block
const cases = referenceCases();

/** ‖a − b‖_F / ‖b‖_F and the largest entrywise relative error over entries above 1e-12 of b's largest. */
function errors(a: ArrayLike<number>, b: ArrayLike<number>): { frob: number; maxRel: number } {
  let num = 0, den = 0, big = 0;
  for (let i = 0; i < b.length; i++) big = Math.max(big, Math.abs(b[i]));
  let maxRel = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
    if (Math.abs(b[i]) > 1e-12 * big) maxRel = Math.max(maxRel, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  }
  return { frob: Math.sqrt(num / den), maxRel };
}

Deno.test("the fixtures: the trained model fits every example, the confident one is within 1e-8 of one-hot everywhere", () => {
  assert(cases[0].minGap > 1e-2, `untrained min gap ${cases[0].minGap}`);
  assert(cases[2].minGap < 1e-8, `confident min gap ${cases[2].minGap}`);
  const c = cases[1];
  const { loss } = lossGrad64(c.theta, c.sizes, c.x64, c.labels, new Array(c.sizes.length - 1).fill(0), [0]);
  assert(loss < 0.05, `trained loss ${loss}`);
});

Deno.test("symmetricEigenvalues (float64 Jacobi) on known spectra", () => {
  const rng = new Rng(4);
  const n = 12;
  // Q diag(ev) Qᵀ with Q from Gram-Schmidt
  const ev = Array.from({ length: n }, (_, i) => (i - 3) * 0.7 + (i === 5 ? 1e-9 : 0));
  const Q: number[][] = [];
  while (Q.length < n) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (const q of Q) {
      const d = q.reduce((s, x, i) => s + x * v[i], 0);
      q.forEach((x, i) => (v[i] -= d * x));
    }
    const nv = Math.hypot(...v);
    Q.push(v.map((x) => x / nv));
  }
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = Q.reduce((s, q, k) => s + q[i] * ev[k] * q[j], 0);
  const got = symmetricEigenvalues(M, n);
  [...ev].sort((a, b) => a - b).forEach((e, i) => assert(Math.abs(got[i] - e) < 1e-12, `eigenvalue ${i}: ${got[i]} vs ${e}`));
});

for (const c of cases) {
  Deno.test(`float64 reference Hessian equals central differences of the float64 gradient (${c.name})`, () => {
    const L = c.sizes.length - 1;
    const groups = new Array(L).fill(0).map((_, l) => (l === L - 1 ? 1 : 0));
    const lambdas = [0, LAMBDA_OUT];
    const ref = outputHessian64(c.theta, c.sizes, c.x64, LAMBDA_OUT);
    const dim = (c.sizes[L - 1] + 1) * c.sizes[L];
    const start = c.theta.length - dim;
    for (let col = 0; col < dim; col += 3) {
      const step = 1e-4;
      const tp = c.theta.slice(), tm = c.theta.slice();
      tp[start + col] += step;
      tm[start + col] -= step;
      const gp = lossGrad64(tp, c.sizes, c.x64, c.labels, groups, lambdas).grad;
      const gm = lossGrad64(tm, c.sizes, c.x64, c.labels, groups, lambdas).grad;
      const fd = Array.from({ length: dim }, (_, r) => (gp[start + r] - gm[start + r]) / (2 * step));
      const e = errors(Array.from({ length: dim }, (_, r) => ref[r * dim + col]), fd);
      assert(e.frob < 1e-5, `column ${col}: reference vs finite differences ${e.frob}`);
    }
  });

  Deno.test(`outputLayerHessian and its subset match the float64 reference (${c.name}): rel. Frobenius < 1e-5, entries < 5e-5, no negative eigenvalue`, () => {
    const L = c.sizes.length - 1;
    const dim = (c.sizes[L - 1] + 1) * c.sizes[L];
    const ref = outputHessian64(c.theta, c.sizes, c.x64, LAMBDA_OUT);
    const H = outputLayerHessian(c, c.part, LAMBDA_OUT);
    const e = errors(H, ref);
    assert(e.frob < 1e-5 && e.maxRel < 5e-5, `${c.name}: Frobenius ${e.frob}, largest entry error ${e.maxRel}`);
    for (let r = 0; r < dim; r++) for (let s = 0; s < r; s++) assertEquals(H[r * dim + s], H[s * dim + r], "symmetric");
    // The true block is PSD (one exact zero: the bias direction 1_C, which softmax ignores) + 2λ on
    // weights. Count eigenvalues below −1e-12 of the largest (float64 rounding of the exact zero stays near 1e-18).
    const evRef = symmetricEigenvalues(ref, dim);
    const ev = symmetricEigenvalues(H, dim);
    const lmax = evRef[dim - 1];
    assert(evRef[0] > -1e-12 * lmax, `the reference itself is PSD (${evRef[0]})`);
    const negative = ev.filter((v) => v < -1e-12 * lmax).length;
    assertEquals(negative, 0, `${c.name}: eigenvalues ${ev.slice(0, 3)} (largest ${lmax})`);
    // the subset form on chosen weight and bias entries
    const rng = new Rng(8);
    const pick = [...new Set([0, 1, dim - 1, dim - c.sizes[L], ...Array.from({ length: 14 }, () => rng.int(dim))])];
    const S = outputLayerHessianSubset(c, c.part, LAMBDA_OUT, pick);
    const sub = pick.flatMap((r) => pick.map((s) => ref[r * dim + s]));
    const es = errors(S, sub);
    assert(es.frob < 1e-5 && es.maxRel < 5e-5, `${c.name} subset: Frobenius ${es.frob}, largest entry error ${es.maxRel}`);
  });
}

for (const c of cases) {
  Deno.test(`LP (11) on the output-layer weight block equals the closed form where both apply (${c.name}): objective and dw to 1e-6, same dλ`, async () => {
    // H_ww: the weight entries of the output block (λ_out > 0 makes it positive definite; the bias
    // direction 1_C would be singular). δ far above |dw| so the box does not bind.
    const L = c.sizes.length - 1;
    const h = c.sizes[L - 1], C = c.sizes[L];
    const k = h * C;
    const idx = Array.from({ length: k }, (_, j) => j);
    const lambdaOut = 1e-3;
    const H = outputLayerHessianSubset(c, c.part, lambdaOut, idx);
    const start = c.theta.length - (h + 1) * C;
    // F = the unpenalised loss (a stand-in for L_val): its gradient on the block, in float64
    const gradF = lossGrad64(c.theta, c.sizes, c.x64, c.labels, new Array(L).fill(0), [0]).grad.slice(start, start + k);
    const hWL = Float64Array.from({ length: k }, (_, j) => 2 * c.weights[2 * L - 2][j]); // ∂∇_w f/∂λ_out
    const matvec = (v: Float64Array) =>
      Float64Array.from({ length: k }, (_, r) => H.subarray(r * k, r * k + k).reduce((s, x, j) => s + x * v[j], 0));
    const epsilon = 1e-6;
    const lp = await solveDirectionLp({ gradF, gradLambdaF: new Float64Array(1), hWL, hWW: H, lambdas: [lambdaOut], epsilon, delta: 1e6 });
    const cf = closedFormDirection({
      hvp: matvec,
      gradF,
      gradLambdaF: new Float64Array(1),
      hWLtimes: (dl) => hWL.map((x) => x * dl[0]),
      hLWtimes: (u) => Float64Array.of(u.reduce((s, x, j) => s + x * hWL[j], 0)),
      lambdas: [lambdaOut],
      epsilon,
      cgTol: 1e-14,
      cgMaxIter: 10 * k,
    });
    assert(cf.ok, !cf.ok ? cf.reason : "");
    assertEquals(lp.status, "optimal");
    assertEquals(lp.boxActive, 0);
    assertEquals(lp.dropped, 0);
    const relObj = Math.abs(lp.objective! - cf.objective) / Math.abs(cf.objective);
    assert(relObj < 1e-6, `objective: LP ${lp.objective}, closed form ${cf.objective} (rel ${relObj})`);
    assertEquals(lp.dLambda![0], cf.dLambda[0]);
    const num = Math.hypot(...lp.dw!.map((v, j) => v - cf.dw[j])), den = Math.hypot(...cf.dw);
    assert(num / den < 1e-6, `dw rel err ${num / den}`);
  });
}
