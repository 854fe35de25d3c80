import { tf } from "../nn/backend.ts";
import type { Rng } from "../data/rng.ts";
import type { ImageShape } from "../nn/cnn.ts";

/** Where cutout acts and how much: the batch's image shape, the holes per image and their side (rounded). */
export interface CutoutOptions {
  image: ImageShape;
  holes: number;
  length: number;
}

/**
 * Cutout (DeVries and Taylor 2017): zeroes `holes` squares of side `length` at seeded random centres
 * (clipped at the border) in each image of a batch of flattened HWC rows.
 */
export function applyCutout(x: tf.Tensor2D, cut: CutoutOptions, rng: Rng): tf.Tensor2D {
  const { image, holes, length } = cut;
  const h = Math.round(holes), len = Math.round(length);
  if (h <= 0 || len <= 0) return x.clone();
  const [H, W, C] = image;
  const n = x.shape[0];
  const mask = new Float32Array(n * H * W * C).fill(1);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < h; k++) {
      const cy = rng.int(H), cx = rng.int(W);
      const y0 = cy - (len >> 1), x0 = cx - (len >> 1);
      for (let y = Math.max(0, y0); y < Math.min(H, y0 + len); y++) {
        for (let xx = Math.max(0, x0); xx < Math.min(W, x0 + len); xx++) {
          for (let c = 0; c < C; c++) mask[((i * H + y) * W + xx) * C + c] = 0;
        }
      }
    }
  }
  return tf.tidy(() => tf.mul(x, tf.tensor2d(mask, [n, H * W * C])) as tf.Tensor2D);
}
