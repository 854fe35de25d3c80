import * as tf from "@tensorflow/tfjs";
import { type BackendName, TENSORFLOW_MISSING } from "./backend_check.ts";

export { type BackendName, backendProblem } from "./backend_check.ts";

let active: BackendName | undefined;

/**
 * TensorFlow.js's cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js" banner on
 * its first use under Deno: a third party's advice, not our output. Marking it used silences exactly that.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Selects and initialises a TensorFlow.js backend. `wasm` (default) and `cpu` always install here;
 * `tensorflow` needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, whose install step downloads
 * libtensorflow: where it is missing the error says how to install it.
 */
export async function useBackend(name: BackendName): Promise<string> {
  if (active === name) return tf.getBackend();
  if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialise");
  } else if (name === "cpu") {
    await tf.setBackend("cpu");
  } else {
    let loaded = false;
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        await import(pkg);
        loaded = true;
        break;
      } catch { /* try the next */ }
    }
    if (!loaded || !(await tf.setBackend("tensorflow"))) throw new Error(TENSORFLOW_MISSING);
  }
  await tf.ready();
  silenceCpuBanner();
  active = name;
  return tf.getBackend();
}

export { tf };

/**
 * Runs `fn` inside tf.tidy and reads the tensors it returns as float32 arrays, outside the tidy. Why:
 * tf.tidy walks its return value looking for tensors, element by element through typed arrays (~70 ns an
 * element: 0.3 s for a 5,000 × 784 array), so arrays read inside a tidy can cost more than the arithmetic.
 */
export function tidyRead<T extends Record<string, tf.Tensor>>(fn: () => T): { [K in keyof T]: Float32Array } {
  // clones (which share data, no copy), so that a returned input tensor is never disposed below
  const kept = tf.tidy(() => Object.fromEntries(Object.entries(fn()).map(([k, t]) => [k, tf.clone(t)])));
  try {
    return Object.fromEntries(Object.entries(kept).map(([k, t]) => [k, t.dataSync() as Float32Array])) as { [K in keyof T]: Float32Array };
  } finally {
    tf.dispose(Object.values(kept));
  }
}
