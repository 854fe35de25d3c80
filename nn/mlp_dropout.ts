import { tf } from "./backend.ts";
import { matMulFast } from "./fast_matmul.ts";
import { dropout } from "./cnn.ts";
import type { ForwardFn } from "./train.ts";

/** An MLP forward pass with (standard, inverted) dropout before each dense layer at fixed rates. */
export function mlpDropoutForward(rates: number[]): ForwardFn {
  return (p, x, training, seed) => {
    let a = x;
    const L = p.length / 2;
    for (let l = 0; l < L; l++) {
      a = dropout(a, rates[l] ?? 0, training, seed + l);
      const z = tf.add(matMulFast(a, p[2 * l] as tf.Tensor2D), p[2 * l + 1]) as tf.Tensor2D;
      a = l < L - 1 ? (tf.relu(z) as tf.Tensor2D) : z;
    }
    return a;
  };
}
