import { forward } from "./mlp.ts";
import { dropout } from "./cnn.ts";
import type { ForwardFn } from "./train.ts";

/** An MLP forward pass with (standard, inverted) dropout before each dense layer at fixed rates. */
export function mlpDropoutForward(rates: number[]): ForwardFn {
  return (p, x, training, seed) => forward(p, x, { before: (a, l) => dropout(a, rates[l] ?? 0, training, seed + l) });
}
