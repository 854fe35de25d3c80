import { tf } from "./backend.ts";
import { layerSizes, type Weights } from "./mlp.ts";
import type { TensorPart } from "./data_tensors.ts";
import { hostPart, StepBatches } from "./host_batches.ts";
import {
  chunkedStackMetrics,
  downloadStack,
  forwardStack,
  packStack,
  perWeightVector,
  stackGradients,
  type StackLayout,
  stackLayout,
  unpackStack,
  uploadStack,
} from "./mlp_stack.ts";
import type { EpochRecord, EvalParts, OnStep } from "./train_records.ts";
import type { Metrics, TrainOptions } from "./train_options.ts";
import type { Rng } from "../data/rng.ts";
import { epochPlans } from "./batch_plan.ts";
import { HostOptimizer } from "./optimizers.ts";

/** One model to train: its architecture, initial weights and L2 coefficient per weight matrix. */
export interface MlpMember {
  /** Hidden widths; 0 means the layer is absent. */
  hidden: number[];
  /** Initial weights [W1, b1, …] at the true widths. */
  init: Weights;
  /** λ of each weight matrix (biases are never penalised): the objective is L_train + Σ_l λ_l ||W_l||². */
  layerLambdas: number[];
}

/** The result of training a list of members: weights and per-epoch history in member order. */
export interface MlpsResult {
  weights: Weights[];
  history: EpochRecord[][];
  steps: number;
}

/** What the members are trained on and how: layer widths in and out, data, settings, seeded stream. */
export interface TrainMlpsArgs {
  /** Input features and classes, shared by every member. */
  input: number;
  classes: number;
  train: TensorPart;
  training: TrainOptions;
  /** Draws the batch order every member shares. */
  rng: Rng;
  /** Parts to evaluate on after each epoch (default none). */
  evalParts?: EvalParts;
  onStep?: OnStep;
}

/** Members grouped by depth, each group one padded stack. */
function stacksOf(sizesList: number[][]): { layout: StackLayout; members: number[] }[] {
  const byDepth = new Map<number, number[]>();
  sizesList.forEach((s, i) => byDepth.set(s.length, [...(byDepth.get(s.length) ?? []), i]));
  return [...byDepth.values()].map((members) => ({ layout: stackLayout(members.map((i) => sizesList[i])), members }));
}

/** Loss and accuracy of every member of a stack on a data part. */
function evaluateStack(st: StackLayout, theta: Float32Array, part: TensorPart): Metrics[] {
  const params = uploadStack(st, theta);
  try {
    return chunkedStackMetrics(part, st.K, (x) => forwardStack(st, params, x).at(-1)!);
  } finally {
    tf.dispose(params);
  }
}

/**
 * Loss and accuracy of several MLPs (given by their true layer widths and weights) on a data part, all
 * models of a depth evaluated in one stacked forward pass.
 */
export function evaluateMlps(sizesList: number[][], weights: Weights[], part: TensorPart): Metrics[] {
  const out: Metrics[] = new Array(sizesList.length);
  for (const { layout, members } of stacksOf(sizesList)) {
    evaluateStack(layout, packStack(layout, members.map((i) => weights[i])), part).forEach((m, j) => (out[members[j]] = m));
  }
  return out;
}

/**
 * Trains several MLPs at once, minimising for each f(w, λ) = L_train(w) + Σ_l λ_l ||W_l||² (+ weightDecay/2
 * ·||w||²) by mini-batch Adam or SGD(momentum). All members see the same seeded batch order (drawn from
 * `rng` exactly as the single-model trainer draws it), so a member's result does not depend on which other
 * models it is trained with, beyond float32 rounding. Models of one depth share a padded stack
 * (see mlp_stack.ts). Deterministic for given members, options and seed; leaks no tensors.
 *
 * @example
 * ```ts
 * const spec = { input: 784, hidden: [15], classes: 10 };
 * const { weights } = trainMlps([{ hidden: spec.hidden, init: initWeights(spec, new Rng(1)), layerLambdas: [1e-4, 1e-4] }], {
 *   input: 784, classes: 10, train, training: TrainOptions.parse({ epochs: 1 }), rng: new Rng(2),
 * });
 * ```
 */
export function trainMlps(members: MlpMember[], a: TrainMlpsArgs): MlpsResult {
  const { input, classes, train, training: opts, rng, evalParts = {}, onStep } = a;
  const sizesList = members.map((m) => layerSizes({ input, hidden: m.hidden, classes }));
  const host = hostPart(train);
  if (host.features !== input || host.classes !== classes) {
    throw new Error(`training data is ${host.features} features × ${host.classes} classes, the models expect ${input} × ${classes}`);
  }
  const stacks = stacksOf(sizesList).map(({ layout, members: idx }) => ({
    layout,
    idx,
    theta: packStack(layout, idx.map((i) => members[i].init)),
    grad: new Float32Array(layout.size),
    optimizer: new HostOptimizer(opts, layout.size, perWeightVector(layout, (k, l) => 2 * (members[idx[k]].layerLambdas[l] ?? 0))),
  }));
  const history: EpochRecord[][] = members.map(() => []);
  // Drawn exactly as trainNetwork draws it, so that one member alone reproduces the single-model trainer.
  rng.fork("dropout");
  let steps = 0;
  const batches = new StepBatches(host);
  for (const plan of epochPlans(train.n, opts, rng)) {
    const { epoch, learningRate: lr } = plan;
    for (const [b, rows] of plan.batches.entries()) {
      const { x: xb, y: yb, xT } = batches.batch(rows);
      for (const s of stacks) {
        tf.tidy(() => {
          const p = uploadStack(s.layout, s.theta);
          downloadStack(s.layout, stackGradients(s.layout, p, { acts: forwardStack(s.layout, p, xb), xT, y: yb }), s.grad);
        });
        s.optimizer.step(s.theta, s.grad, lr);
      }
      tf.dispose([xb, xT, yb]);
      onStep?.(epoch, b + 1, plan.stepsPerEpoch);
    }
    steps = plan.stepsAfter;
    if (!plan.complete) break;
    const recs: EpochRecord[] = members.map(() => ({ epoch, steps, learningRate: lr }));
    for (const k of ["train", "val", "test"] as const) {
      if (!evalParts[k]) continue;
      for (const s of stacks) evaluateStack(s.layout, s.theta, evalParts[k]!).forEach((m, j) => (recs[s.idx[j]][k] = m));
    }
    recs.forEach((r, i) => history[i].push(r));
  }
  const weights: Weights[] = new Array(members.length);
  for (const s of stacks) unpackStack(s.layout, s.theta).forEach((w, j) => (weights[s.idx[j]] = w));
  return { weights, history, steps };
}
