// Small MLPs for the float64 reference tests: untrained, trained to 100% training accuracy, and confident
// (the trained model with its output layer scaled up, as long training does to the logits), where softmax
// p is within ~1e-6..1e-12 of one-hot and cancellation in a Hessian formula shows.
import { Rng } from "../../data/rng.ts";
import { type TensorPart, toTensorPart } from "../../nn/data_tensors.ts";
import { initWeights, layerSizes, mlpShapes } from "../../nn/mlp.ts";
import { trainMlp, TrainOptions } from "../../nn/train.ts";

/** One reference case: the data (uint8 for the float32 code, float64 for the reference) and a model. */
export interface RefCase {
  name: string;
  sizes: number[];
  weights: Float32Array[];
  /** The same weights as float64, flat [W1, b1, ...]. */
  theta: Float64Array;
  part: TensorPart;
  x64: Float64Array;
  labels: number[];
  /** min over examples of 1 − max_c p_c, in float64: how confident the model is. */
  minGap: number;
}

/**
 * Separable data (a random linear teacher, examples with a teacher margin ≥ 0.5 kept) and the three
 * models. The trained model reaches 100% training accuracy; `confident` multiplies its output layer by
 * `scale`.
 */
export function referenceCases(
  opts: { n?: number; input?: number; hidden?: number[]; classes?: number; epochs?: number; scale?: number } = {},
): RefCase[] {
  const { n = 240, input = 12, hidden = [10], classes: C = 4, epochs = 80, scale = 4 } = opts;
  const rng = new Rng(31);
  const teacher = Float64Array.from({ length: input * C }, () => rng.normal());
  const x = new Uint8Array(n * input), y = new Uint8Array(n);
  for (let i = 0; i < n;) {
    const row = Array.from({ length: input }, () => rng.int(256));
    const score = Array.from({ length: C }, (_, c) => row.reduce((t, v, k) => t + (v / 255 - 0.5) * teacher[k * C + c], 0));
    const sorted = [...score].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 0.5) continue;
    x.set(row, i * input);
    y[i] = score.indexOf(sorted[0]);
    i++;
  }
  const part = toTensorPart({ x, y }, C);
  const spec = { input, hidden, classes: C };
  const sizes = layerSizes(spec);
  const untrained = initWeights(spec, new Rng(1)).map((a) => a.map((v) => v + 0.05 * rng.normal()));
  const groups = new Array(sizes.length - 1).fill(0);
  const trained = trainMlp({
    init: initWeights(spec, new Rng(1)),
    shapes: mlpShapes(sizes),
    train: part,
    objective: { groups, lambdas: [0] },
    training: TrainOptions.parse({ epochs, batchSize: 32, learningRate: 0.01 }),
    rng: new Rng(2),
  }).weights;
  const L = sizes.length - 1;
  const confident = trained.map((a, i) => (i >= 2 * L - 2 ? a.map((v) => v * scale) : a.slice()));
  const x64 = Float64Array.from(x, (v) => v / 255);
  const labels = [...y];
  return ([["untrained", untrained], ["trained", trained], ["confident", confident]] as const).map(([name, weights]) => {
    const theta = Float64Array.from(weights.flatMap((a) => [...a]));
    return { name, sizes, weights: [...weights], theta, part, x64, labels, minGap: minSoftmaxGap(theta, sizes, x64) };
  });
}

/** min over examples of 1 − max_c p_c (computed as Σ_{c≠top} p_c, in float64). */
function minSoftmaxGap(theta: Float64Array, sizes: number[], x: Float64Array): number {
  const n = x.length / sizes[0];
  let a = x, o = 0, gap = 1;
  for (let l = 0; l < sizes.length - 1; l++) {
    const [fi, fo] = [sizes[l], sizes[l + 1]];
    const z = new Float64Array(n * fo);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fo; j++) {
        let s = theta[o + fi * fo + j];
        for (let k = 0; k < fi; k++) s += a[i * fi + k] * theta[o + k * fo + j];
        z[i * fo + j] = l < sizes.length - 2 && s < 0 ? 0 : s;
      }
    }
    o += fi * fo + fo;
    a = z;
  }
  const C = sizes.at(-1)!;
  for (let i = 0; i < n; i++) {
    const zi = a.subarray(i * C, i * C + C);
    const m = Math.max(...zi);
    const rest = zi.reduce((t, v) => (v === m ? t : t + Math.exp(v - m)), 0);
    gap = Math.min(gap, rest / (1 + rest));
  }
  return gap;
}
