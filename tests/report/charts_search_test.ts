import { assert, assertEquals } from "../assert.ts";
import { convergenceSpec, pairedHlsSpec, slicesSpec, trialHistorySpec } from "../../report/charts_search.ts";
import { renderSvg } from "../../report/charts.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const values = (spec: unknown) => (spec as Any).data.values as Any[];

Deno.test("convergence: markers on the first, the last and about every fifth of the generations; non-finite values dropped", () => {
  for (const last of [0, 1, 4, 5, 6, 11, 49, 50]) {
    const rows = Array.from({ length: last + 1 }, (_, g) => ({ panel: "p", generation: g, best: 1 / (g + 1), run: "with HLS", seed: 1 }));
    const marked = values(convergenceSpec(rows)).filter((v) => v.marker).map((v) => v.generation);
    assertEquals(marked[0], 0);
    assertEquals(marked[marked.length - 1], last);
    assert(marked.length <= 7, `${last}: ${marked.length} markers`);
    if (last >= 5) assert(marked.length >= 4, `${last}: ${marked}`);
    for (let i = 1; i < marked.length; i++) assert(marked[i] - marked[i - 1] <= Math.max(1, Math.ceil(last / 5)), `${last}: ${marked}`);
  }
  const spec = convergenceSpec([
    { panel: "b", generation: 0, best: NaN, run: "with HLS", seed: 10 },
    { panel: "b", generation: 1, best: 0.123456789, run: "with HLS", seed: 2 },
    { panel: "a", generation: 0, best: Infinity, run: "without HLS", seed: 1 },
  ]) as Any;
  assertEquals(values(spec).map((v) => v.best), [0.1235], "rounded to 4 digits, non-finite dropped");
  assertEquals(spec.facet.sort, ["b", "a"], "panels in first-seen order, not alphabetical");
  assertEquals(spec.spec.layer[0].encoding.color.sort, [1, 2, 10], "seeds in numeric order (not 1, 10, 2)");
});

Deno.test("trial history and slices: values rounded, facets in first-seen order", () => {
  const pts = [
    { panel: "z", method: "micro-GA", run: "with HLS", trial: 1, mean: 0.123456, lo: 0.1, hi: 0.2 },
    { panel: "a", method: "Grid search", run: "without HLS", trial: 1, mean: 1, lo: 1, hi: 1 },
  ];
  const h = trialHistorySpec(pts) as Any;
  assertEquals(h.facet.row.sort, ["z", "a"]);
  assertEquals(h.facet.column.sort, ["micro-GA", "Grid search"]);
  assertEquals(values(h)[0].mean, 0.1235);
  const s = slicesSpec([{ panel: "p", hp: "neurons", x: 1.23456, run: "with HLS", mean: 0.5, lo: 0.4, hi: 0.6, n: 3 }]) as Any;
  assertEquals(values(s)[0].x, 1.235);
  assertEquals(values(s)[0].face, "with HLS");
  assertEquals(trialHistorySpec([]).data, { values: [] });
});

Deno.test("paired HLS: each method at its own x, without HLS left and with right; a seed's pair joined", () => {
  const rows = ["Grid search", "micro-GA"].flatMap((method) =>
    ["1", "2"].flatMap((seed) =>
      ["without HLS", "with HLS"].map((run) => ({ panel: "p", method, seed, run, testAcc: run === "with HLS" ? 0.8 : 0.7 }))
    )
  );
  rows.push({ panel: "p", method: "micro-GA", seed: "3", run: "with HLS", testAcc: NaN });
  const spec = pairedHlsSpec(rows) as Any;
  const v = values(spec);
  assertEquals(v.length, 8, "the NaN accuracy is not drawn");
  for (const p of v) {
    const m = p.pair.split("|")[1];
    const centre = ["Grid search", "micro-GA"].indexOf(m);
    assertEquals(p.x, centre + (p.testAcc === 0.8 ? 0.25 : -0.25));
  }
  assertEquals(spec.spec.encoding.x.scale.domain, [-0.5, 1.5]);
  assertEquals(spec.spec.encoding.x.axis.labelExpr, `["Grid search","micro-GA"][datum.value]`);
});

Deno.test("the four specs render to SVG", async () => {
  const svgs = await Promise.all([
    renderSvg(convergenceSpec([{ panel: "p", generation: 0, best: 1, run: "with HLS", seed: 1 }, {
      panel: "p",
      generation: 1,
      best: 0.5,
      run: "with HLS",
      seed: 1,
    }])),
    renderSvg(trialHistorySpec([{ panel: "p", method: "m", run: "with HLS", trial: 1, mean: 1, lo: 0.9, hi: 1.1 }])),
    renderSvg(pairedHlsSpec([{ panel: "p", method: "m", seed: "1", run: "with HLS", testAcc: 0.5 }])),
    renderSvg(slicesSpec([{ panel: "p", hp: "layers", x: 1, run: "without HLS", mean: 0.5, lo: 0.4, hi: 0.6, n: 2 }])),
  ]);
  for (const s of svgs) assert(s.startsWith("<svg") && s.includes("</svg>"), s.slice(0, 50));
});
