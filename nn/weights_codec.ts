import type { MlpSpec, Weights } from "./mlp.ts";

/** A stored MLP: its spec, the λ it was trained with and its grouping, and the weights. */
export interface StoredModel {
  spec: MlpSpec;
  meta: Record<string, unknown>;
  weights: Weights;
}

/** Encodes a model as `model.json` (spec, meta, array lengths) and `weights.f32` (little-endian float32). */
export function encodeModel(m: StoredModel): Record<string, Uint8Array> {
  const total = m.weights.reduce((a, w) => a + w.length, 0);
  const flat = new Float32Array(total);
  let off = 0;
  for (const w of m.weights) {
    flat.set(w, off);
    off += w.length;
  }
  const head = { spec: m.spec, meta: m.meta, lengths: m.weights.map((w) => w.length) };
  return { "model.json": new TextEncoder().encode(JSON.stringify(head, null, 1)), "weights.f32": new Uint8Array(flat.buffer) };
}

/** Decodes what encodeModel wrote; checks the byte count against the declared lengths. */
export function decodeModel(modelJson: Uint8Array, weightsF32: Uint8Array): StoredModel {
  const head = JSON.parse(new TextDecoder().decode(modelJson)) as { spec: MlpSpec; meta: Record<string, unknown>; lengths: number[] };
  const total = head.lengths.reduce((a, b) => a + b, 0);
  if (weightsF32.byteLength !== total * 4) {
    throw new Error(`weights.f32 has ${weightsF32.byteLength} bytes, model.json declares ${total} float32 values`);
  }
  const flat = new Float32Array(weightsF32.slice().buffer);
  const weights: Weights = [];
  let off = 0;
  for (const n of head.lengths) {
    weights.push(flat.slice(off, off + n));
    off += n;
  }
  return { spec: head.spec, meta: head.meta, weights };
}
