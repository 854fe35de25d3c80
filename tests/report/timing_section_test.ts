import { assert, assertEquals } from "../assert.ts";
import { hasTimings, timingLinkSection } from "../../report/timing_section.ts";
import type { ReportInput } from "../../report/build.ts";
import { TIMING_HTML, TIMING_MD } from "../../report/timing_names.ts";
import { ablationInput, finetuneInput, searchInput } from "../report_fixtures.ts";

const base: ReportInput = { title: "T", description: "", config: {}, splits: {}, environment: {}, stages: [], searches: [] };

Deno.test("timing link: present exactly when some experiment ran, and holds no number", () => {
  const cases: [Partial<ReportInput>, boolean][] = [
    [{}, false],
    [{ ablations: [] }, false],
    [{ gaLrMomWd: [] }, false],
    [{ baseline: { backend: "wasm", seconds: 1, steps: 0, history: [] } }, true],
    [{ finetune: finetuneInput(4) }, true],
    [{ searches: [searchInput({ dataset: "d", split: "d", budget: "b", method: "grid", seeds: [1], models: 2, epochs: 1 })] }, true],
    [{ ablations: [ablationInput({ dataset: "d", budget: "b", seeds: 1, models: 2, variants: ["paper"] })] }, true],
  ];
  for (const [o, want] of cases) {
    const inp = { ...base, ...o };
    assertEquals(hasTimings(inp), want, JSON.stringify(Object.keys(o)));
    const sec = timingLinkSection(inp);
    assertEquals(sec !== undefined, want);
    if (sec) {
      assertEquals(sec.id, "timing");
      assert(sec.html.join("").includes(`<a href="${TIMING_HTML}">`));
      assert(sec.md.join("").includes(`](${TIMING_MD})`));
      assert(!/\d+(\.\d+)? ?s\b|seconds: \d/.test(sec.md.join("")), "no measured time on the verified page");
    }
  }
});
