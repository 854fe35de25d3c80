// nn/mlp_spec.ts imported directly: a stored MLP spec and weight grouping are checked without TensorFlow.js.
import { assert, assertEquals } from "../assert.ts";
import { GroupScheme, MlpSpec } from "../../nn/mlp_spec.ts";
import { rng } from "../fixtures/random.ts";

Deno.test("MlpSpec: the paper's shapes are accepted as given, absent (0-width) layers included", () => {
  for (
    const s of [{ input: 784, hidden: [50], classes: 10 }, { input: 784, hidden: [0, 15], classes: 10 }, {
      input: 1,
      hidden: [],
      classes: 1,
    }]
  ) {
    assertEquals(MlpSpec.parse(s), s);
  }
});

Deno.test("MlpSpec: hostile specs refused (extra or missing keys, fractions, negatives, zero input or classes, strings, NaN)", () => {
  const base = { input: 784, hidden: [50], classes: 10 };
  const bad: unknown[] = [
    { ...base, extra: 1 },
    { input: 784, hidden: [50] },
    { hidden: [50], classes: 10 },
    { ...base, hidden: undefined },
    { ...base, input: 0 },
    { ...base, classes: 0 },
    { ...base, input: 78.4 },
    { ...base, hidden: [-1] },
    { ...base, hidden: [1.5] },
    { ...base, hidden: ["50"] },
    { ...base, hidden: 50 },
    { ...base, input: "784" },
    { ...base, classes: NaN },
    { ...base, input: Infinity },
    { ...base, hidden: [null] },
    null,
    [],
    "784-50-10",
  ];
  for (const b of bad) assert(!MlpSpec.safeParse(b).success, JSON.stringify(b));
});

Deno.test("property: a random spec is accepted iff input, classes >= 1 and every width >= 0, all whole numbers", () => {
  const next = rng(11);
  const num = () => {
    const r = next();
    return r < 0.15 ? -Math.floor(next() * 3) : r < 0.3 ? Math.round(next() * 40) / 4 : Math.floor(next() * 1000);
  };
  let accepted = 0;
  for (let i = 0; i < 500; i++) {
    const s = { input: num(), hidden: Array.from({ length: Math.floor(next() * 4) }, num), classes: num() };
    const whole = (x: number) => Number.isInteger(x);
    const expect = whole(s.input) && s.input >= 1 && whole(s.classes) && s.classes >= 1 && s.hidden.every((h) => whole(h) && h >= 0);
    assertEquals(MlpSpec.safeParse(s).success, expect, JSON.stringify(s));
    if (expect) accepted++;
  }
  assert(accepted > 50 && accepted < 450, `both sides exercised (${accepted} accepted)`);
});

Deno.test("GroupScheme: the three groupings, nothing else", () => {
  assertEquals(GroupScheme.options, ["1HP", "2HP", "perLayer"]);
  for (const bad of ["1hp", "3HP", "perlayer", "", "per-layer"]) assert(!GroupScheme.safeParse(bad).success, bad);
});
