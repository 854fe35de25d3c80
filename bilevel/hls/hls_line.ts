import { tf } from "../../nn/backend.ts";
import { mlpShapes, type Weights } from "../../nn/mlp.ts";
import type { TensorPart } from "../../nn/data_tensors.ts";
import { evaluate, type Metrics } from "../../nn/train.ts";
import { movedLineMetrics, outputLayerOnly, outputLineMetrics } from "./line_metrics.ts";

/** Log-spaced t grid with 0 first. */
export function tGrid(o: { tMin: number; tMax: number; points: number }): number[] {
  if (o.points === 1) return [0, o.tMax];
  const r = Math.log(o.tMax / o.tMin);
  return [0, ...Array.from({ length: o.points }, (_, i) => o.tMin * Math.exp((r * i) / (o.points - 1)))];
}

/** Weights w + t·dw (float32, in the model's layout) from flat float64 w and dw. */
export function weightsAt(w0: Float64Array, dw: Float64Array, t: number, like: Weights): Weights {
  let o = 0;
  return like.map((x) => {
    const r = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) r[i] = w0[o + i] + t * dw[o + i];
    o += x.length;
    return r;
  });
}

/** The model and direction a line search walks along. */
export interface LineModel {
  sizes: number[];
  weights: Weights;
  /** Flat float64 copy of `weights`. */
  w0: Float64Array;
  /** Flat direction over all parameters (zero outside the LP's block). */
  dw: Float64Array;
}

/**
 * Loss and accuracy of w + t·dw on `part` for each t. A direction confined to the output layer takes one
 * forward pass for the whole grid (logits are affine in t, line_metrics.ts); any other takes the layers
 * before the first it moves once and that layer's product once, for two t or more (movedLineMetrics), and
 * a forward pass for a single t.
 */
export function metricsAlong(m: LineModel, ts: number[], part: TensorPart): Metrics[] {
  if (outputLayerOnly(m.sizes, m.dw)) return outputLineMetrics(m, ts, part);
  if (ts.length > 1) return movedLineMetrics(m, ts, part);
  const shapes = mlpShapes(m.sizes);
  return ts.map((t) => {
    const tensors = tf.tidy(() => weightsAt(m.w0, m.dw, t, m.weights).map((x, i) => tf.tensor(x, shapes[i])));
    try {
      return evaluate(tensors, part);
    } finally {
      tf.dispose(tensors);
    }
  });
}

/**
 * Indices of `scores` ordered best first by the criterion: lower loss, or higher accuracy with lower loss
 * breaking ties; equal scores keep grid order (so t = 0 wins a tie against any t > 0).
 */
export function rankByCriterion(scores: Metrics[], criterion: "loss" | "accuracy"): number[] {
  const idx = scores.map((_, i) => i);
  const key = (m: Metrics) => (criterion === "loss" ? [m.loss] : [-m.acc, m.loss]);
  return idx.sort((a, b) => {
    const [ka, kb] = [key(scores[a]), key(scores[b])];
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return a - b;
  });
}
