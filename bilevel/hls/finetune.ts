import type { TensorPart } from "../../nn/data_tensors.ts";
import { type GroupScheme, layerSizes, type MlpSpec, weightGroups, type Weights } from "../../nn/mlp.ts";
import { hyperLocalSearch } from "./hls.ts";
import type { FinetuneCase, LinePoint, TracedPoint } from "./hls_records.ts";
import type { HlsOptions } from "./hls_options.ts";

// a case is the record lp-finetune stores: its schema is apart from this code (no TensorFlow.js there)
export type { FinetuneCase, TracedPoint } from "./hls_records.ts";

/** The point as traced, or an error: a fine-tune's figures plot the training loss at every t. */
function traced(p: LinePoint): TracedPoint {
  if (!p.train) throw new Error(`the line search at t = ${p.t} was not scored on the training data`);
  return { ...p, train: p.train };
}

/**
 * LP fine-tuning of a base model (paper Section II) under each grouping of its weights into λ's (1HP, 2HP,
 * one per layer): the loss along the descent direction (Figures 2-4) and the accuracies before and after.
 */
export async function finetuneGroupings(a: {
  model: { spec: MlpSpec; weights: Weights };
  split: { train: TensorPart; val: TensorPart; test: TensorPart };
  groupings: GroupScheme[];
  hls: HlsOptions;
  onProgress: (step: number, total: number, label: string) => void;
}): Promise<FinetuneCase[]> {
  const { model, groupings } = a;
  const sizes = layerSizes(model.spec);
  const cases: FinetuneCase[] = [];
  for (const [i, g] of groupings.entries()) {
    const { groups, count } = weightGroups(model.spec, g);
    const r = await hyperLocalSearch({ sizes, weights: model.weights, groups, lambdas: new Array(count).fill(0) }, a.split, a.hls, {
      trace: true,
      onProgress: (k, total, label) => a.onProgress(i * total + k, groupings.length * total, `${g}: ${label} ${k}/${total}`),
    });
    cases.push({
      grouping: g,
      hyperparameters: count,
      improved: r.improved,
      verdict: r.improved
        ? `validation loss ${r.before.val.loss.toFixed(4)} -> ${r.best.val.loss.toFixed(4)}`
        : `validation loss did not improve (${r.notes.join("; ") || "no t > 0 better"})`,
      path: r.path,
      lpStatus: r.lpStatus,
      notes: r.notes,
      blockSize: r.blockSize,
      boxActive: r.boxActive,
      lambdaScale: r.lambdaScale,
      dLambda: r.dLambda,
      lambdas: r.lambdas,
      gradNormBefore: r.gradNormBefore,
      gradNormAfter: r.gradNormAfter,
      before: traced(r.before),
      best: traced(r.best),
      line: r.line.map(traced),
      cost: r.cost,
    });
  }
  return cases;
}
