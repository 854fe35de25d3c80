// An MLP's shape and the grouping of its weights under λ's, apart from the network's TensorFlow.js code: a stored spec (finetune.json's base model) is
// checked without loading it.
import { z } from "zod";

/** A fully connected network: input → hidden ReLU layers → softmax over classes. */
export const MlpSpec = z.strictObject({
  input: z.number().int().min(1),
  /** Hidden layer widths. A width of 0 means the layer is absent (so [0, 15] is the same net as [15]). */
  hidden: z.array(z.number().int().min(0)),
  classes: z.number().int().min(1),
});
export type MlpSpec = z.infer<typeof MlpSpec>;

/** How weight matrices are grouped under L2 coefficients (biases are never penalised): one λ, hidden / output, one per layer. */
export const GroupScheme = z.enum(["1HP", "2HP", "perLayer"]);
export type GroupScheme = z.infer<typeof GroupScheme>;
