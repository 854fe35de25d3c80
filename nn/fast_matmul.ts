import { tf } from "./backend.ts";

/**
 * a·b with a gradient that never asks the backend for a transposed matmul. Why: on the wasm backend,
 * matMul with transposeA or transposeB runs ~10x slower than an explicit transpose followed by a plain
 * matMul (measured: 5000×784ᵀ·5000×50 takes 169 ms vs 14 ms; bench/matmul_transpose.ts), and tfjs's own
 * matMul gradient uses the transposed forms.
 */
export const matMulFast: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((a: tf.Tensor2D, b: tf.Tensor2D, save: any) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as tf.Tensor2D[];
        return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
      },
    };
  }) as never,
) as never;
