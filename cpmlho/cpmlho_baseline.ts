import type { tf } from "../nn/backend.ts";
import { Rng } from "../data/rng.ts";
import { cnnLogits, convLayout, dropout as dropoutAt, type ImageShape } from "../nn/cnn.ts";
import { initParams } from "../nn/init.ts";
import { applyCutout } from "./cutout.ts";

/**
 * The network CPMLHO tunes, as a plain (non-hypernetwork) model for the baselines: same layers, standard
 * inverted dropout at fixed rates before each layer and, for the CNN, cutout applied to training batches.
 * Parameter order: [W1, b1, W2, b2, W3, b3].
 */
export function cpmlhoCnnBaseline(image: ImageShape, channels: [number, number], classes: number) {
  const { shapes: conv, flat } = convLayout(image, channels);
  const shapes = [...conv, [flat, classes], [classes]];
  return {
    shapes,
    init(rng: Rng): Float32Array[] {
      return initParams(shapes, rng, "glorot");
    },
    /** A ForwardFn (nn/train.ts) with dropout `rates` and cutout (holes, length) during training. */
    forward(rates: number[], cutout: [number, number]) {
      return (p: tf.Tensor[], x: tf.Tensor2D, training: boolean, seed: number): tf.Tensor2D => {
        const drop = (a: tf.Tensor2D, l: number) => dropoutAt(a, rates[l], training, seed + l);
        const xin = training ? applyCutout(x, { image, holes: cutout[0], length: cutout[1] }, new Rng(seed)) : x;
        return cnnLogits(p, xin, image, { beforeConv: drop, beforeDense: (a, l) => drop(a, l + 2) });
      };
    },
  };
}
