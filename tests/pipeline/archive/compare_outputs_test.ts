import { assertEquals } from "../../assert.ts";
import { compareOutputs } from "../../../pipeline/archive/compare_outputs.ts";
import { Rng } from "../../../data/rng.ts";

const d = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { digest: v }]));
const vol = (n: string) => n.includes(".volatile.");

Deno.test("compare outputs: equal sets match; a differing stable output, or one missing on either side, is a mismatch", () => {
  const a = d({ "r.json": "1", "t.volatile.json": "2" });
  assertEquals(compareOutputs(a, a, vol), { mismatches: [], volatileDiffs: 0 });
  assertEquals(compareOutputs(a, d({ "r.json": "9", "t.volatile.json": "2" }), vol), {
    mismatches: [{ file: "r.json", archived: "1", recomputed: "9" }],
    volatileDiffs: 0,
  });
  assertEquals(compareOutputs(a, d({ "r.json": "1", "t.volatile.json": "3" }), vol), { mismatches: [], volatileDiffs: 1 });
  // a volatile output missing on one side is still a mismatch: it may differ, not vanish
  assertEquals(compareOutputs(a, d({ "r.json": "1" }), vol).mismatches, [{
    file: "t.volatile.json",
    archived: "2",
    recomputed: undefined,
  }]);
  assertEquals(compareOutputs(d({}), d({ "new.json": "5" }), vol).mismatches, [{ file: "new.json", archived: undefined, recomputed: "5" }]);
  assertEquals(compareOutputs(d({}), d({}), vol), { mismatches: [], volatileDiffs: 0 });
});

Deno.test("compare outputs: against a brute-force reference on 500 random pairs of output sets", () => {
  const rng = new Rng(2);
  const names = ["a.json", "b.volatile.json", "c.csv", "d.volatile.svg", "e.bin"];
  for (let t = 0; t < 500; t++) {
    const side = () => Object.fromEntries(names.filter(() => rng.next() < 0.7).map((n) => [n, String(rng.int(2))]));
    const [x, y] = [side(), side()];
    const got = compareOutputs(d(x), d(y), vol);
    const want = names.filter((n) => x[n] !== y[n] && !(n in x && n in y && vol(n)));
    assertEquals(got.mismatches.map((m) => m.file).sort(), want.sort());
    assertEquals(got.volatileDiffs, names.filter((n) => n in x && n in y && x[n] !== y[n] && vol(n)).length);
    for (const m of got.mismatches) assertEquals([m.archived, m.recomputed], [x[m.file], y[m.file]]);
  }
});
