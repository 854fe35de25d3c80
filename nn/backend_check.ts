// Which TensorFlow.js backend can be used here, without loading TensorFlow.js (the CLI checks it before any
// stage runs).
import { z } from "zod";

/** The TensorFlow.js backends this project can use: the one schema every stage's parameters take. */
export const BackendName = z.enum(["wasm", "cpu", "tensorflow"]);
export type BackendName = z.infer<typeof BackendName>;

/** A stage's `backend` parameter: WebAssembly unless the config says otherwise. */
export const BackendParam = BackendName.default("wasm");

/** Why a backend cannot be used here (with the command that installs it), or undefined when it can. */
export function backendProblem(name: BackendName): string | undefined {
  if (name !== "tensorflow") return undefined;
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      import.meta.resolve(pkg);
      return undefined;
    } catch { /* not in the import map: try the next */ }
  }
  return TENSORFLOW_MISSING;
}

export const TENSORFLOW_MISSING =
  "backend 'tensorflow' is not installed: on a machine with internet (and CUDA for the GPU build) add it with " +
  "'deno add npm:@tensorflow/tfjs-node@4.22.0' (or npm:@tensorflow/tfjs-node-gpu@4.22.0), then rerun with --backend tensorflow; " +
  "'wasm' and 'cpu' work everywhere";
