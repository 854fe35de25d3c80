import { permutation, type Rng } from "./rng.ts";

/** Indices of a train/validation split drawn from one pool. */
export interface SplitIndices {
  train: Uint32Array;
  val: Uint32Array;
}

/** How many examples each part of a split gets, and whether classes keep their proportions. */
export interface SplitSizes {
  nTrain: number;
  nVal: number;
  /** Each class in proportion to its frequency (default false: the paper's plain permutation). */
  stratify?: boolean;
}

/**
 * Draws disjoint training and validation indices from a pool of `labels.length` examples. Without
 * stratification (the paper's way) it takes the first nTrain + nVal of a seeded permutation. With it,
 * each class contributes in proportion to its frequency (largest-remainder rounding), then the chosen
 * indices are shuffled. Indices are returned sorted within each part, so the split itself is order-free.
 */
export function drawSplit(labels: Uint8Array, { nTrain, nVal, stratify = false }: SplitSizes, rng: Rng): SplitIndices {
  const n = labels.length;
  if (!Number.isInteger(nTrain) || !Number.isInteger(nVal) || nTrain < 1 || nVal < 0) {
    throw new Error(`split sizes must be whole numbers (train >= 1, val >= 0), got train=${nTrain} val=${nVal}`);
  }
  if (nTrain + nVal > n) throw new Error(`cannot draw ${nTrain} + ${nVal} examples from a pool of ${n}`);
  let chosen: Uint32Array;
  if (!stratify) {
    chosen = permutation(n, rng).subarray(0, nTrain + nVal);
  } else {
    chosen = stratifiedPick(labels, nTrain + nVal, rng);
  }
  const train = Uint32Array.from(chosen.subarray(0, nTrain)).sort();
  const val = Uint32Array.from(chosen.subarray(nTrain)).sort();
  return { train, val };
}

function stratifiedPick(labels: Uint8Array, k: number, rng: Rng): Uint32Array {
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const quotas = classes.map((c) => (k * byClass.get(c)!.length) / labels.length);
  const take = quotas.map(Math.floor);
  let left = k - take.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) if (left-- > 0) take[i]++;
  const picked: number[] = [];
  classes.forEach((c, ci) => {
    const pool = byClass.get(c)!;
    const perm = permutation(pool.length, rng);
    for (let j = 0; j < take[ci]; j++) picked.push(pool[perm[j]]);
  });
  const perm = permutation(picked.length, rng);
  return Uint32Array.from(perm, (p) => picked[p]);
}

/** Gathers rows (each `rowBytes` long) of a flat uint8 array by index. */
export function gatherRows(data: Uint8Array, rowBytes: number, idx: Uint32Array): Uint8Array {
  const out = new Uint8Array(idx.length * rowBytes);
  idx.forEach((r, i) => out.set(data.subarray(r * rowBytes, (r + 1) * rowBytes), i * rowBytes));
  return out;
}
