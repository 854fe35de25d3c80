import { z } from "zod";
import { tf } from "../nn/backend.ts";
import { mlpShapes, type Weights } from "../nn/mlp.ts";
import type { TensorPart } from "../nn/data_tensors.ts";
import { evaluate, type Metrics } from "../nn/train.ts";
import { MlpDerivatives, parameterOffsets } from "./hvp.ts";
import { type LpSolution, solveDirectionLp } from "./lp.ts";
import { closedFormDirection } from "./closed_form.ts";
import { outputLayerHessian, outputLayerHessianSubset } from "./output_hessian.ts";
import { outputLayerOnly, outputLineMetrics } from "./line_metrics.ts";

/** Options of hyper local search (LP fine-tuning). Defaults are documented in the README. */
export const HlsOptions = z.object({
  /** Which weights enter the LP: all of them, the output layer, or the k with the largest |∇_w F|. */
  block: z.enum(["all", "output", "topk"]).default("output"),
  k: z.number().int().min(1).default(200),
  /** Refuse an LP over more weights than this (dense LP cost grows ~m³). */
  maxLpWeights: z.number().int().min(1).default(1500),
  /** auto: closed form over all weights when its assumptions hold, otherwise HiGHS on the block. */
  solver: z.enum(["highs", "closed-form", "auto"]).default("highs"),
  epsilon: z.number().positive().default(1e-3),
  /** Trust-region box |dw_j| ≤ δ; needed because H_ww is often singular (LP unbounded otherwise). */
  delta: z.number().positive().default(1),
  /** Line-search grid over t: 0 and `points` log-spaced values in [tMin, tMax]. */
  tMin: z.number().positive().default(1e-4),
  tMax: z.number().positive().default(1),
  points: z.number().int().min(1).default(20),
  timeLimitS: z.number().positive().default(60),
});
export type HlsOptions = z.infer<typeof HlsOptions>;

/** One point of the line search along (λ + t dλ, w + t dw). */
export interface LinePoint {
  t: number;
  lambdas: number[];
  train: Metrics;
  val: Metrics;
  test?: Metrics;
}

/** What hyper local search returns: the fine-tuned model (or the input, unchanged, and why). */
export interface HlsResult {
  improved: boolean;
  path: "highs" | "closed-form" | "none";
  /** Why nothing changed, or which fallback was taken. */
  notes: string[];
  lpStatus?: LpSolution["status"];
  boxActive: number;
  blockSize: number;
  dLambda: number[];
  lambdas: number[];
  weights: Weights;
  before: LinePoint;
  best: LinePoint;
  line: LinePoint[];
  cost: { seconds: number; hvps: number; lpSeconds: number };
}

/** Flat copy of weights (float64) and back. */
function flatten(w: Weights): Float64Array {
  const out = new Float64Array(w.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of w) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

function unflattenLike(flat: Float64Array, like: Weights): Weights {
  let o = 0;
  return like.map((x) => {
    const r = Float32Array.from(flat.subarray(o, o + x.length));
    o += x.length;
    return r;
  });
}

/** Log-spaced t grid with 0 first. */
export function tGrid(o: Pick<HlsOptions, "tMin" | "tMax" | "points">): number[] {
  if (o.points === 1) return [0, o.tMax];
  const r = Math.log(o.tMax / o.tMin);
  return [0, ...Array.from({ length: o.points }, (_, i) => o.tMin * Math.exp((r * i) / (o.points - 1)))];
}

/**
 * Hyper local search on a trained MLP (main paper, section 2): builds LP (11) from exact derivatives at
 * (λ, w), solves it (HiGHS on a block of weights, or the closed form over all weights), then searches t on
 * a grid along (λ + t dλ, w + t dw) with λ clipped at 0, keeping the point of lowest validation loss
 * (t = 0 included, so validation loss never gets worse). Any solver failure leaves the model unchanged and
 * says why.
 */
export async function hyperLocalSearch(
  model: { sizes: number[]; weights: Weights; groups: number[]; lambdas: number[] },
  data: { train: TensorPart; val: TensorPart; test?: TensorPart },
  opts: HlsOptions,
  onProgress?: (step: number, total: number, label: string) => void,
): Promise<HlsResult> {
  const t0 = performance.now();
  const shapes = mlpShapes(model.sizes);
  const offsets = parameterOffsets(shapes);
  const n = model.lambdas.length;
  const w0 = flatten(model.weights);
  const m = w0.length;
  const dTrain = new MlpDerivatives(model.weights, model.sizes, data.train, model.groups, model.lambdas);
  const dVal = new MlpDerivatives(model.weights, model.sizes, data.val, model.groups, model.lambdas);
  const notes: string[] = [];
  let lpSeconds = 0;
  let lpStatus: LpSolution["status"] | undefined;
  let boxActive = 0;
  let path: HlsResult["path"] = "none";
  let dLambda: Float64Array = new Float64Array(n);
  let dwFull: Float64Array = new Float64Array(m);
  let blockSize = 0;
  try {
    const gradF = Float64Array.from(dVal.gradient(false).grad);
    // group of each flat index (−1 for biases)
    const groupOf = new Int32Array(m).fill(-1);
    for (const o of offsets) if (o.isWeight) groupOf.fill(model.groups[o.layer], o.start, o.start + o.length);
    const hvp64 = (v: Float64Array) => Float64Array.from(dTrain.hvp(Float32Array.from(v)));
    const hWLtimes = (dl: Float64Array) => w0.map((w, j) => (groupOf[j] >= 0 ? 2 * w * dl[groupOf[j]] : 0));
    const hLWtimes = (u: Float64Array) => {
      const out = new Float64Array(n);
      for (let j = 0; j < m; j++) if (groupOf[j] >= 0) out[groupOf[j]] += 2 * w0[j] * u[j];
      return out;
    };
    let solved = false;
    if (opts.solver !== "highs") {
      const cf = closedFormDirection({
        hvp: hvp64,
        gradF,
        gradLambdaF: new Float64Array(n),
        hWLtimes,
        hLWtimes,
        lambdas: model.lambdas,
        epsilon: opts.epsilon,
      });
      if (cf.ok) {
        const maxDw = cf.dw.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        if (maxDw <= opts.delta) {
          dLambda = cf.dLambda;
          dwFull = cf.dw;
          path = "closed-form";
          solved = true;
          blockSize = m;
        } else notes.push(`closed form's |dw| reaches ${maxDw.toExponential(2)} > δ = ${opts.delta}: the box would bind`);
      } else notes.push(`closed form not applicable: ${cf.reason}`);
      if (!solved && opts.solver === "closed-form") notes.push("solver 'closed-form' requested: no fallback, model unchanged");
      else if (!solved) notes.push("falling back to HiGHS on the block");
    }
    if (!solved && opts.solver !== "closed-form") {
      let block = selectBlock(opts, offsets, gradF);
      const outputStart = offsets[offsets.length - 2].start;
      let outputSubset = false;
      if (opts.block === "output" && block.length > opts.maxLpWeights) {
        // e.g. no hidden layer: 784×10 + 10 output weights. Keep the k with the largest |∇_w F|.
        block = [...block].sort((x, y) => Math.abs(gradF[y]) - Math.abs(gradF[x]) || x - y).slice(0, opts.k).sort((x, y) => x - y);
        outputSubset = true;
        notes.push(`output layer too large for the LP: using its ${block.length} weights with the largest |∇_w F|`);
      }
      blockSize = block.length;
      if (block.length > opts.maxLpWeights) {
        notes.push(`LP block of ${block.length} weights exceeds maxLpWeights = ${opts.maxLpWeights}; choose block 'output' or 'topk'`);
      } else {
        const bm = block.length;
        let hWW: Float64Array;
        const lambdaOut = model.lambdas[model.groups[model.groups.length - 1]] ?? 0;
        if (opts.block === "output" && !outputSubset) {
          // exact, in closed form (tested against HVP columns)
          hWW = outputLayerHessian(model.weights, model.sizes, data.train, lambdaOut);
        } else if (outputSubset) {
          hWW = outputLayerHessianSubset(model.weights, model.sizes, data.train, lambdaOut, block.map((j) => j - outputStart));
        } else {
          hWW = new Float64Array(bm * bm);
          const e = new Float32Array(m);
          for (let c = 0; c < bm; c++) {
            e.fill(0);
            e[block[c]] = 1;
            const col = dTrain.hvp(e);
            for (let r = 0; r < bm; r++) hWW[r * bm + c] = col[block[r]];
            onProgress?.(c + 1, bm, "H_ww columns");
          }
        }
        // symmetrise away float32 rounding so that the LP sees an exactly symmetric H_ww
        for (let r = 0; r < bm; r++) {
          for (let c = r + 1; c < bm; c++) hWW[r * bm + c] = hWW[c * bm + r] = (hWW[r * bm + c] + hWW[c * bm + r]) / 2;
        }
        const hWL = new Float64Array(bm * n);
        block.forEach((j, r) => {
          if (groupOf[j] >= 0) hWL[r * n + groupOf[j]] = 2 * w0[j];
        });
        const sol = await solveDirectionLp({
          gradF: Float64Array.from(block, (j) => gradF[j]),
          gradLambdaF: new Float64Array(n),
          hWL,
          hWW,
          lambdas: model.lambdas,
          epsilon: opts.epsilon,
          delta: opts.delta,
        }, { timeLimitS: opts.timeLimitS });
        lpSeconds = sol.seconds;
        lpStatus = sol.status;
        boxActive = sol.boxActive;
        if (sol.status === "optimal") {
          dLambda = sol.dLambda!;
          block.forEach((j, r) => (dwFull[j] = sol.dw![r]));
          path = "highs";
          solved = true;
          if (sol.boxActive > 0) notes.push(`trust-region box binds on ${sol.boxActive} of ${bm} weights`);
        } else notes.push(`LP ${sol.status} (${sol.solverStatus}): model unchanged`);
      }
    }
    // line search (t = 0 is the model as given)
    const line: LinePoint[] = [];
    const grid = solved ? tGrid(opts) : [0];
    const lambdasAt = (t: number) => model.lambdas.map((l, k) => Math.max(0, l + t * dLambda[k]));
    if (outputLayerOnly(model.sizes, dwFull)) {
      // one forward pass per data part for the whole grid (logits are affine in t; see line_metrics.ts)
      const at = (part: TensorPart) => outputLineMetrics(model.sizes, model.weights, dwFull, grid, part);
      const [tr, va, te] = [at(data.train), at(data.val), data.test ? at(data.test) : undefined];
      grid.forEach((t, i) => line.push({ t, lambdas: lambdasAt(t), train: tr[i], val: va[i], test: te?.[i] }));
    } else {
      for (const t of grid) {
        const wt = w0.map((w, j) => w + t * dwFull[j]);
        const tensors = tf.tidy(() => unflattenLike(wt, model.weights).map((x, i) => tf.tensor(x, shapes[i])));
        try {
          line.push({
            t,
            lambdas: lambdasAt(t),
            train: evaluate(tensors, data.train),
            val: evaluate(tensors, data.val),
            test: data.test ? evaluate(tensors, data.test) : undefined,
          });
        } finally {
          tf.dispose(tensors);
        }
      }
    }
    const before = line[0];
    const best = line.reduce((a, b) => (b.val.loss < a.val.loss ? b : a), before);
    const improved = best.t > 0;
    if (solved && !improved) notes.push("no t > 0 lowered the validation loss: model unchanged");
    const bestW = improved ? unflattenLike(w0.map((w, j) => w + best.t * dwFull[j]), model.weights) : model.weights;
    return {
      improved,
      path,
      notes,
      lpStatus,
      boxActive,
      blockSize,
      dLambda: [...dLambda],
      lambdas: best.lambdas,
      weights: bestW,
      before,
      best,
      line,
      cost: { seconds: (performance.now() - t0) / 1000, hvps: dTrain.hvpCount, lpSeconds },
    };
  } finally {
    dTrain.dispose();
    dVal.dispose();
  }
}

/** Flat indices of the weights that enter the LP. */
export function selectBlock(
  opts: Pick<HlsOptions, "block" | "k">,
  offsets: ReturnType<typeof parameterOffsets>,
  gradF: Float64Array,
): number[] {
  if (opts.block === "all") return Array.from({ length: gradF.length }, (_, i) => i);
  if (opts.block === "output") {
    const last = offsets.slice(-2);
    return last.flatMap((o) => Array.from({ length: o.length }, (_, i) => o.start + i));
  }
  const idx = Array.from({ length: gradF.length }, (_, i) => i);
  idx.sort((a, b) => Math.abs(gradF[b]) - Math.abs(gradF[a]) || a - b);
  return idx.slice(0, Math.min(opts.k, idx.length)).sort((a, b) => a - b);
}
