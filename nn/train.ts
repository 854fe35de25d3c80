import { tf } from "./backend.ts";
import { crossEntropy, forward, l2Penalty, type Weights } from "./mlp.ts";
import type { TensorPart } from "./data_tensors.ts";
import type { Rng } from "../data/rng.ts";
import { epochPlans } from "./batch_plan.ts";
import { batchTensors, hostPart } from "./host_batches.ts";
import { trainMlps } from "./train_mlps.ts";
import { TensorOptimizer, weightDecayPenalty } from "./optimizers.ts";

export { type Metrics, TrainOptions } from "./train_options.ts";
import type { Metrics, TrainOptions } from "./train_options.ts";
export type { EpochRecord, EvalParts, OnStep } from "./train_records.ts";
import type { EpochRecord, EvalParts, OnStep } from "./train_records.ts";

/**
 * Mean cross-entropy and accuracy of a model on a data part, in chunks to bound memory.
 *
 * Deliberately not shared with CPMLHO's evaluator (cpmlho/cpmlho_model.ts) or the stacked one
 * (nn/mlp_stack.ts chunkedStackMetrics): each weighs a chunk's mean loss by its rows in its own
 * arithmetic (here a float32 product on the backend, CPMLHO's a float64 one on the host, the stack's a
 * float64 sum of per-model sums), so one shared loop would change the last bits of every stored loss of
 * one of them, and issue 28 asks that stored outputs stay byte-identical.
 */
export function evaluate(params: tf.Tensor[], part: TensorPart, chunk = 5000, forwardFn: ForwardFn = mlpForward): Metrics {
  let lossSum = 0;
  let correct = 0;
  for (let s = 0; s < part.n; s += chunk) {
    const e = Math.min(part.n, s + chunk);
    const [l, c] = tf.tidy(() => {
      const x = part.x.slice([s, 0], [e - s, -1]);
      const logits = forwardFn(params, x, false, 0);
      const loss = tf.mul(crossEntropy(logits, part.oneHot.slice([s, 0], [e - s, -1])), e - s);
      const right = tf.sum(tf.equal(tf.argMax(logits, 1), part.y.slice([s], [e - s])).toFloat());
      return [loss.dataSync()[0], right.dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / part.n, acc: correct / part.n };
}

/** What training needs to know about the objective f(w, λ) = L_train + Σ λ_k ||W_(k)||². */
export interface Objective {
  groups: number[];
  lambdas: number[];
}

/** A network's forward pass: logits from parameters and a batch; `training` enables dropout, seeded by `seed`. */
export type ForwardFn = (params: tf.Tensor[], x: tf.Tensor2D, training: boolean, seed: number) => tf.Tensor2D;

/** The MLP forward pass as a ForwardFn (no dropout). */
export const mlpForward: ForwardFn = (params, x) => forward(params, x);

/** What a training run needs: initial weights and their shapes, data, objective, settings, seeded stream. */
export interface TrainArgs {
  /** Initial weights [W1, b1, …] (or a network's parameter list), float32. */
  init: Weights;
  /** Shape of each entry of `init`. */
  shapes: number[][];
  train: TensorPart;
  objective: Objective;
  training: TrainOptions;
  /** Draws the batch order (trainNetwork forks its dropout stream from it). */
  rng: Rng;
  /** Parts to evaluate on after each epoch (default none). */
  evalParts?: EvalParts;
  onStep?: OnStep;
}

/** A training run of any network: TrainArgs plus its forward pass. */
export interface TrainNetworkArgs extends TrainArgs {
  forwardFn: ForwardFn;
}

/**
 * Trains an MLP's weights on `train` by mini-batch Adam or SGD(momentum) with a seeded batch order,
 * minimising f(w, λ) = L_train(w) + Σ_k λ_k ||W_(k)||² (+ weightDecay/2·||w||²). Deterministic for a given
 * seed and backend. Evaluates on the given parts after each epoch. Leaks no tensors. This is the fast path
 * (nn/train_mlps.ts: hand-written backward pass, host-side optimiser); `trainNetwork` with `mlpForward`
 * is the autodiff reference it is tested against.
 */
export function trainMlp(a: TrainArgs): { weights: Weights; history: EpochRecord[]; steps: number } {
  const { init, shapes, objective } = a;
  const matrices = shapes.filter((_, i) => i % 2 === 0);
  const member = {
    hidden: matrices.slice(0, -1).map((s) => s[1]),
    init,
    layerLambdas: objective.groups.map((g) => objective.lambdas[g] ?? 0),
  };
  const out = trainMlps([member], {
    input: matrices[0][0],
    classes: matrices[matrices.length - 1][1],
    train: a.train,
    training: a.training,
    rng: a.rng,
    evalParts: a.evalParts,
    onStep: a.onStep,
  });
  return { weights: out.weights[0], history: out.history[0], steps: out.steps };
}

/**
 * The general training loop, by automatic differentiation, for any forward function (the CNN, networks
 * with dropout, and MLPs: with `mlpForward` it is the reference that trainMlp's fast path is tested against).
 * Weight groups index the even parameter slots (weight matrices / kernels); biases are never penalised.
 */
export function trainNetwork(a: TrainNetworkArgs): { weights: Weights; history: EpochRecord[]; steps: number } {
  const { init, shapes, forwardFn, train, objective, training: opts, rng, evalParts = {}, onStep } = a;
  // tf.variable copies its initial value, so the temporaries are disposed by tidy.
  const vars = tf.tidy(() => init.map((w, i) => tf.variable(tf.tensor(w, shapes[i]), true)));
  const optimizer = new TensorOptimizer(vars, opts);
  const history: EpochRecord[] = [];
  const host = hostPart(train);
  // A separate stream for dropout masks, so that adding dropout does not change the batch order.
  const dropoutRng = rng.fork("dropout");
  let step = 0;
  const lossFn = (xb: tf.Tensor2D, yb: tf.Tensor2D, seed: number) => () => {
    let loss = tf.add(crossEntropy(forwardFn(vars, xb, true, seed), yb), l2Penalty(vars, objective.groups, objective.lambdas));
    if (opts.weightDecay > 0) loss = tf.add(loss, weightDecayPenalty(vars, opts.weightDecay));
    return loss as tf.Scalar;
  };
  for (const plan of epochPlans(train.n, opts, rng)) {
    const { epoch, learningRate: lr } = plan;
    for (const [b, rows] of plan.batches.entries()) {
      step++;
      tf.tidy(() => {
        const { x: xb, y: yb } = batchTensors(host, rows);
        const { grads } = tf.variableGrads(lossFn(xb, yb, dropoutRng.nextU32()), vars);
        optimizer.step(grads, lr);
      });
      onStep?.(epoch, b + 1, plan.stepsPerEpoch);
    }
    if (!plan.complete) break;
    const rec: EpochRecord = { epoch, steps: step, learningRate: lr };
    for (const k of ["train", "val", "test"] as const) if (evalParts[k]) rec[k] = evaluate(vars, evalParts[k]!, 5000, forwardFn);
    history.push(rec);
  }
  const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
  tf.dispose(vars);
  optimizer.dispose();
  return { weights, history, steps: step };
}
