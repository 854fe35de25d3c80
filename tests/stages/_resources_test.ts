// stages/_resources.ts imported directly: what stages ask a cluster scheduler for.
import { assert, assertEquals } from "../assert.ts";
import { DATA_RESOURCES, LIGHT_RESOURCES, trainingResources } from "../../stages/_resources.ts";

Deno.test("fixed resources: one CPU, whole positive memory and minutes", () => {
  for (const r of [DATA_RESOURCES, LIGHT_RESOURCES]) {
    assertEquals(r.cpus, 1);
    assert(Number.isInteger(r.memMB) && r.memMB! > 0);
    assert(Number.isInteger(r.timeMin) && r.timeMin! > 0);
  }
});

Deno.test("trainingResources: minutes = ceil(base + perEpoch × epochs), one epoch and 3072 MB by default", () => {
  assertEquals(trainingResources({ base: 5, perEpoch: 2 }), { cpus: 1, memMB: 3072, timeMin: 7 });
  assertEquals(trainingResources({ base: 5, perEpoch: 2, epochs: 10, memMB: 8000 }), { cpus: 1, memMB: 8000, timeMin: 25 });
  assertEquals(trainingResources({ base: 0.1, perEpoch: 0.1, epochs: 3 }).timeMin, 1);
  assertEquals(trainingResources({ base: 2.5, perEpoch: 0.25, epochs: 2 }).timeMin, 3);
  assertEquals(trainingResources({ base: 3, perEpoch: 1, epochs: 0 }).timeMin, 3, "epochs 0 is not 'default'");
});

Deno.test("property: the time limit is a whole number covering the estimate by less than a minute, and grows with epochs", () => {
  let a = 5;
  const next = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 300; i++) {
    const base = next() * 30, perEpoch = next() * 10, epochs = Math.floor(next() * 50);
    const t = trainingResources({ base, perEpoch, epochs }).timeMin!;
    const est = base + perEpoch * epochs;
    assert(Number.isInteger(t) && t >= est && t < est + 1, `${t} for ${est}`);
    assert(trainingResources({ base, perEpoch, epochs: epochs + 1 }).timeMin! >= t);
  }
});
