import type { Weights } from "../../nn/mlp.ts";
import type { HlsOptions } from "./hls_options.ts";
import { disposePart, splitPart, type TensorPart } from "../../nn/data_tensors.ts";
import type { Metrics } from "../../nn/train.ts";
import { MlpDerivatives, objectiveGradient } from "../hessian/hvp.ts";
import { type Direction, solveDirection } from "./hls_direction.ts";
import type { LinePoint } from "./hls_records.ts";
import { preloadLpSolver } from "../lp/lp.ts";
import { type LineModel, metricsAlong, rankByCriterion, tGrid, weightsAt } from "./hls_line.ts";
import {
  coordinateBox,
  fromCoordinate,
  lambdaPerCoordinate,
  type LambdaSpace,
  LINEAR_NONNEGATIVE,
  onBound,
  projectCoordinate,
  toCoordinate,
} from "./lambda_scale.ts";

export { selectBlock } from "./hls_direction.ts";
export { tGrid } from "./hls_line.ts";

export { HLS_PRESETS, HlsOptions, HlsOptionsFields } from "./hls_options.ts";
// a line point is a record HLS stores (a schema apart, so that a stored one is checked without TensorFlow.js)
export type { LinePoint } from "./hls_records.ts";

/** What hyper local search returns: the fine-tuned model (or the input, unchanged, and why). */
export interface HlsResult {
  improved: boolean;
  path: Direction["path"];
  /** Why nothing changed, or which fallback was taken. */
  notes: string[];
  lpStatus?: Direction["lpStatus"];
  /** The matrix-free solver's certificate (relative gap, residuals), when it solved the LP. */
  certificate?: Direction["certificate"];
  boxActive: number;
  blockSize: number;
  lambdaScale: LambdaSpace["scale"];
  /** The LP's direction in the scale's units. */
  dLambda: number[];
  lambdasBefore: number[];
  lambdas: number[];
  /** Per λ: whether it ends on a bound of its space. */
  lambdaOnBound: boolean[];
  /** Lower-level stationarity ‖∇_w f(w, λ)‖ on the training data, before and after the step. */
  gradNormBefore: number;
  gradNormAfter: number;
  weights: Weights;
  before: LinePoint;
  best: LinePoint;
  line: LinePoint[];
  /** Wall time: in total, building LP (11) (derivatives, H_ww), solving it, and the line search. */
  cost: { seconds: number; hvps: number; buildSeconds: number; lpSeconds: number; lineSeconds: number };
}

/** The model HLS starts from, and the space its λ lives in (default: the scale's whole range). */
export interface HlsModel {
  sizes: number[];
  weights: Weights;
  groups: number[];
  lambdas: number[];
  space?: LambdaSpace;
}

/** Data for HLS: `val` selects (and, held-out, is split into selection and ranking parts). */
export interface HlsData {
  train: TensorPart;
  val: TensorPart;
  test?: TensorPart;
  /** heldOutSplit(val, opts), when the caller fine-tunes many models on the same data (saves a gather each). */
  heldOut?: [TensorPart, TensorPart];
  /**
   * The model's scores as given (t = 0) on the ranking part and the test set, when the caller has them from
   * training's own evaluation: the line search then scores those data at the chosen t only.
   */
  asGiven?: { rank?: Metrics; test?: Metrics };
}

/** The held-out selection's split of the validation set: [selection part, ranking part]. */
export function heldOutSplit(val: TensorPart, opts: Pick<HlsOptions, "heldOutFraction">): [TensorPart, TensorPart] {
  return splitPart(val, Math.max(1, Math.min(val.n - 1, Math.round(val.n * opts.heldOutFraction))));
}

/**
 * Starts loading HiGHS when HLS with these options solves its LPs by HiGHS, so that loading it overlaps the
 * caller's training. Not for 'simplex', which needs HiGHS only as a fallback (loading it costs the main
 * thread 60-90 ms that most studies then never use).
 */
export function warmUpHls(opts: Pick<HlsOptions, "solver">): void {
  if (opts.solver === "highs" || opts.solver === "auto") preloadLpSolver();
}

/** Optional extras: progress, and `trace` to evaluate train/test/rank at every t (for figures). */
export interface HlsExtras {
  onProgress?: (step: number, total: number, label: string) => void;
  trace?: boolean;
}

function flatten(w: Weights): Float64Array {
  const out = new Float64Array(w.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of w) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** ‖∇_w f(w, λ)‖ on `part`, f = L + Σ λ_k ||W_(k)||². */
function lowerLevelGradNorm(model: HlsModel, weights: Weights, lambdas: number[], part: TensorPart): number {
  return norm(objectiveGradient({ ...model, weights, lambdas }, part, true));
}

/** The λ space actually used: log10 cannot start from λ = 0, which falls back to the linear scale. */
function effectiveSpace(model: HlsModel, opts: HlsOptions, notes: string[]): LambdaSpace {
  const space = model.space ?? (opts.lambdaScale === "log10" ? { scale: "log10", min: -Infinity, max: Infinity } : LINEAR_NONNEGATIVE);
  if (space.scale === "log10" && model.lambdas.some((l) => !(l > 0))) {
    notes.push("λ = 0 has no log10 coordinate: searched on the linear scale (λ ≥ 0)");
    return LINEAR_NONNEGATIVE;
  }
  return space;
}

/**
 * Hyper local search on a trained MLP (main paper, section 2; method.md): builds LP (11) from exact
 * derivatives at (λ, w) in the coordinates of `lambdaScale`, solves it, then walks a t grid along
 * (λ(t), w + t dw) with λ(t) projected into its space, and keeps the best t by the criterion on the
 * selection data (t = 0 included). With held-out selection the chosen model is also scored on data that
 * played no part in choosing it. Any solver failure leaves the model unchanged and says why.
 *
 * @example
 * ```ts
 * const r = await hyperLocalSearch({ sizes, weights, groups, lambdas }, { train, val, test }, HlsOptions.parse({ preset: "paper" }));
 * if (r.improved) console.log(r.dLambda, r.notes);
 * ```
 */
export async function hyperLocalSearch(model: HlsModel, data: HlsData, opts: HlsOptions, extras: HlsExtras = {}): Promise<HlsResult> {
  const t0 = performance.now();
  const notes: string[] = [];
  const space = effectiveSpace(model, opts, notes);
  const owned = opts.selection === "held-out" && !data.heldOut ? heldOutSplit(data.val, opts) : undefined;
  const heldOut = opts.selection === "held-out" ? data.heldOut ?? owned : undefined;
  const [select, rank] = heldOut ?? [data.val, data.val];
  const dTrain = new MlpDerivatives(model, data.train);
  try {
    const w0 = flatten(model.weights);
    // not dTrain.gradient: that builds the cache Hessian-vector products need, which output blocks never use
    const gradNormBefore = lowerLevelGradNorm(model, model.weights, model.lambdas, data.train);
    const c0 = model.lambdas.map((l) => toCoordinate(space, l));
    const dir = await directionAt({ model, space, c0, w0, select, dTrain, train: data.train, opts, onProgress: extras.onProgress });
    notes.push(...dir.notes);
    const tLine = performance.now();
    const lambdasAt = (t: number) => c0.map((c, k) => fromCoordinate(space, projectCoordinate(space, c + t * dir.dc[k])));
    const lm: LineModel = { sizes: model.sizes, weights: model.weights, w0, dw: dir.dw };
    const grid = dir.solved ? tGrid(opts) : [0];
    const sel = metricsAlong(lm, grid, select);
    const gradNormAt = (t: number) => lowerLevelGradNorm(model, weightsAt(w0, dir.dw, t, model.weights), lambdasAt(t), data.train);
    const chosen = chooseStep({ grid, sel, opts, gradNormBefore, gradNormAt });
    notes.push(...chosen.notes);
    const parts = { rank: heldOut ? rank : undefined, train: data.train, test: data.test };
    const line = traceLine({ lm, grid, iBest: chosen.index, sel, lambdasAt, parts, asGiven: data.asGiven, trace: !!extras.trace });
    const best = line[chosen.index];
    const improved = best.t > 0;
    if (dir.solved && !improved) notes.push(`no t > 0 improved the ${opts.criterion} on the selection data: model unchanged`);
    return {
      improved,
      path: dir.path,
      notes,
      lpStatus: dir.lpStatus,
      certificate: dir.certificate,
      boxActive: dir.boxActive,
      blockSize: dir.blockSize,
      lambdaScale: space.scale,
      dLambda: [...dir.dc],
      lambdasBefore: [...model.lambdas],
      lambdas: best.lambdas,
      lambdaOnBound: best.lambdas.map((l) => onBound(space, l)),
      gradNormBefore,
      gradNormAfter: improved ? chosen.gradNorm ?? gradNormAt(best.t) : gradNormBefore,
      weights: improved ? weightsAt(w0, dir.dw, best.t, model.weights) : model.weights,
      before: line[0],
      best,
      line,
      cost: {
        seconds: (performance.now() - t0) / 1000,
        hvps: dTrain.hvpCount,
        buildSeconds: (tLine - t0) / 1000 - dir.lpSeconds,
        lpSeconds: dir.lpSeconds,
        lineSeconds: (performance.now() - tLine) / 1000,
      },
    };
  } finally {
    dTrain.dispose();
    owned?.forEach(disposePart);
  }
}

/** LP (11) at (λ, w) in the space's coordinates: ∇_w F on the selection data, the box on dc, the solve. */
async function directionAt(a: {
  model: HlsModel;
  space: LambdaSpace;
  c0: number[];
  w0: Float64Array;
  select: TensorPart;
  dTrain: MlpDerivatives;
  train: TensorPart;
  opts: HlsOptions;
  onProgress?: HlsExtras["onProgress"];
}): Promise<Direction> {
  const { model, space, opts } = a;
  const gradF = Float64Array.from(objectiveGradient(model, a.select, false));
  const boxes = a.c0.map((c) => coordinateBox(space, c, opts.lambdaBox));
  return await solveDirection(
    {
      ...model,
      coordinateFactor: model.lambdas.map((l) => lambdaPerCoordinate(space, l)),
      lower: boxes.map((b) => b.lo),
      upper: boxes.map((b) => b.hi),
      w0: a.w0,
      gradF,
      dTrain: a.dTrain,
      train: a.train,
    },
    opts,
    a.onProgress,
  );
}

/**
 * The grid index of the chosen t: the best by the criterion, skipping any t whose lower-level gradient norm
 * breaks `maxStationarityRatio` (each such check costs one gradient on the training data).
 */
function chooseStep(a: {
  grid: number[];
  sel: Metrics[];
  opts: HlsOptions;
  gradNormBefore: number;
  gradNormAt: (t: number) => number;
}): { index: number; gradNorm?: number; notes: string[] } {
  const order = rankByCriterion(a.sel, a.opts.criterion);
  const limit = a.opts.maxStationarityRatio;
  if (limit === undefined) return { index: order[0], notes: [] };
  let refused = 0;
  for (const i of order) {
    if (a.grid[i] === 0) break;
    const g = a.gradNormAt(a.grid[i]);
    if (g <= limit * a.gradNormBefore) {
      return { index: i, gradNorm: g, notes: refused ? [`${refused} better t refused: ‖∇_w f‖ beyond ${limit}× its value at t = 0`] : [] };
    }
    refused++;
  }
  return { index: 0, notes: refused ? [`${refused} t refused: ‖∇_w f‖ beyond ${limit}× its value at t = 0`] : [] };
}

/**
 * Line points: selection metrics everywhere; ranking/train/test everywhere when traced, else at t = 0 and
 * the chosen t, where scores the caller gave for t = 0 (`asGiven`) are taken as they are.
 */
function traceLine(a: {
  lm: LineModel;
  grid: number[];
  iBest: number;
  sel: Metrics[];
  lambdasAt: (t: number) => number[];
  parts: { rank?: TensorPart; train: TensorPart; test?: TensorPart };
  asGiven?: HlsData["asGiven"];
  trace: boolean;
}): LinePoint[] {
  const at = a.trace ? a.grid.map((_, i) => i) : [...new Set([0, a.iBest])];
  /** Scores on `part` at the points `at`, those at t = 0 from `given` when there is one. */
  const along = (part: TensorPart | undefined, given?: Metrics): (Metrics | undefined)[] | undefined => {
    if (!part) return undefined;
    const needed = at.filter((i) => !(given && a.grid[i] === 0));
    const scored = needed.length ? metricsAlong(a.lm, needed.map((i) => a.grid[i]), part) : [];
    return at.map((i) => (needed.includes(i) ? scored[needed.indexOf(i)] : given));
  };
  const rank = along(a.parts.rank, a.trace ? undefined : a.asGiven?.rank);
  const test = along(a.parts.test, a.trace ? undefined : a.asGiven?.test);
  const train = a.trace ? along(a.parts.train) : undefined;
  return a.grid.map((t, i) => {
    const j = at.indexOf(i);
    const p: LinePoint = { t, lambdas: a.lambdasAt(t), val: a.sel[i] };
    if (j >= 0) {
      p.rank = rank?.[j] ?? a.sel[i];
      if (train) p.train = train[j];
      if (test) p.test = test[j];
    }
    return p;
  });
}
