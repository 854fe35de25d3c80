import { tf, useBackend } from "../nn/backend.ts";
await useBackend((Deno.args[0] ?? "wasm") as "wasm" | "cpu");
const x = tf.randomUniform([5000, 784]);
const v = tf.randomUniform([784, 50]);
const d = tf.randomUniform([5000, 50]);
const xt = tf.transpose(x);
const time = (name: string, f: () => tf.Tensor) => {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) {
    const r = f();
    r.dataSync();
    r.dispose();
  }
  console.log(name, ((performance.now() - t0) / 5).toFixed(1), "ms");
};
time("x·V (5000x784 · 784x50)", () => tf.matMul(x, v));
time("xᵀ·d transposeA", () => tf.matMul(x, d, true, false));
time("xt·d pre-transposed", () => tf.matMul(xt, d));
time("dᵀ·x then T", () => tf.matMul(d, x, true, false));
const W = tf.randomUniform([784, 50]);
time("d·Wᵀ transposeB (5000x50 · 50x784)", () => tf.matMul(d, W, false, true));
const Wt = tf.transpose(W);
time("d·Wt pre-transposed", () => tf.matMul(d, Wt));
time("transpose x (5000x784)", () => tf.transpose(x));
const xb = tf.randomUniform([64, 784]);
const db = tf.randomUniform([64, 15]);
time("batch 64: xbᵀ·db transposeA", () => tf.matMul(xb, db, true, false));
time("batch 64: transpose(xb)·db", () => tf.matMul(tf.transpose(xb), db));
