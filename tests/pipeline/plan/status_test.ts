import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { makeMissingToy } from "../../fixtures/missing_toy.ts";

/** status's rows as { stage: [state, reasons] }. */
function rows(stdout: string): Record<string, [string, string]> {
  return Object.fromEntries(
    stdout.trim().split("\n").map((l) => {
      const m = /^(\S+)\s+(\S+)(?:\s+\((.*)\))?$/.exec(l)!;
      return [m[2], [m[1], m[3] ?? ""]];
    }),
  );
}

const CAUSE = "put data.bin in data/ (no offline copy)";

for (const jobs of ["1", "2"]) {
  Deno.test(`right after a complete run (--jobs ${jobs}) status shows nothing stale; what a missing input blocks is not-run with its root cause`, async () => {
    const toy = makeMissingToy();
    try {
      // before any run: everything is stale or never run, nothing claims to be not-run yet
      const before = rows((await toy.cli("status")).stdout);
      assertEquals(before["data"][0], "stale");
      const r = await toy.cli("reproduce", "--jobs", jobs);
      assertEquals(r.code, 0, r.stderr);
      // reproduce's root-cause line names the five stages the missing input stopped
      assertMatch(r.stderr, new RegExp(`not run \\(5 stages: data, part:1, part:2, part:3, merge\\): ${CAUSE.replace(/[()/.]/g, "\\$&")}`));
      const st = await toy.cli("status");
      assertEquals(st.code, 0, st.stderr);
      const got = rows(st.stdout);
      assertEquals(Object.values(got).filter(([state]) => state === "stale"), [], st.stdout);
      assertEquals(got["gen"][0], "cached");
      // the report read the merge as an optional not-run input: its key holds the merge's exact reason
      assertEquals(got["report"][0], "cached", st.stdout);
      assertEquals(got["data"], ["not-run", CAUSE]);
      for (const p of ["part:1", "part:2", "part:3"]) assertEquals(got[p], ["not-run", `needs 'data', which did not run: ${CAUSE}`]);
      assertEquals(got["merge"], ["not-run", `needs 'part:1', which did not run: ${CAUSE}`]);
      // a second run computes nothing, and status still agrees with it
      const again = await toy.cli("reproduce", "--jobs", jobs);
      assertMatch(again.stderr, /0 computed, 2 cached, 5 not run/);
      assertEquals(rows((await toy.cli("status")).stdout), got);
    } finally {
      toy.cleanup();
    }
  });
}

Deno.test("status after a change upstream of a not-run stage: the changed stage is stale, what it feeds waits on it", async () => {
  const toy = makeMissingToy();
  try {
    assertEquals((await toy.cli("reproduce", "--jobs", "1")).code, 0);
    toy.write("config.json", `{ "a": 4, "parts": 3, "missing": "${CAUSE}" }`);
    const got = rows((await toy.cli("status")).stdout);
    assertEquals(got["gen"], ["stale", "parameter a: 3 -> 4"]);
    // the parts still cannot run (data did not), whatever gen becomes: not-run, not stale
    assertEquals(got["part:1"][0], "not-run");
    assertEquals(got["merge"][0], "not-run");
    // the report reads gen, which must run first
    assertEquals(got["report"][0], "stale");
    assertMatch(got["report"][1], /upstream 'gen' must run first/);
    // a new part (never run) is not-run from the start: reproduce would not run it either
    toy.write("config.json", `{ "a": 3, "parts": 4, "missing": "${CAUSE}" }`);
    const more = rows((await toy.cli("status")).stdout);
    assertEquals(more["part:4"], ["not-run", `needs 'data', which did not run: ${CAUSE}`]);
    const r = await toy.cli("reproduce", "--jobs", "1");
    assertMatch(r.stderr, /0 computed, 2 cached, 6 not run/);
    assert(!Object.values(rows((await toy.cli("status")).stdout)).some(([s]) => s === "stale"));
  } finally {
    toy.cleanup();
  }
});

Deno.test("a simulated edit changes exactly that file's digest, and only for the modules that import it", async () => {
  const { CodeDigester } = await import("../../../pipeline/plan/code_digest.ts");
  const dir = await Deno.makeTempDir({ prefix: "hpo-edit-" });
  try {
    Deno.writeTextFileSync(`${dir}/a.ts`, `import { b } from "./b.ts";\nexport const a = b + 1;\n`);
    Deno.writeTextFileSync(`${dir}/b.ts`, `export const b = 1;\n`);
    Deno.writeTextFileSync(`${dir}/c.ts`, `export const c = 1;\n`);
    const plain = new CodeDigester(dir);
    const edited = new CodeDigester(dir, {}, { simulatedEdits: ["b.ts"] });
    const a = plain.digest(`${dir}/a.ts`), a2 = edited.digest(`${dir}/a.ts`);
    assert(a.digest !== a2.digest, "a.ts imports b.ts");
    assertEquals(Object.keys(a.files).filter((f) => a.files[f] !== a2.files[f]), ["b.ts"]);
    // a module that does not import it keeps its digest; the file on disk is untouched
    assertEquals(edited.digest(`${dir}/c.ts`), plain.digest(`${dir}/c.ts`));
    assertEquals(new CodeDigester(dir).digest(`${dir}/a.ts`), a);
    // an absolute path names the same file
    assertEquals(new CodeDigester(dir, {}, { simulatedEdits: [`${dir}/b.ts`] }).digest(`${dir}/a.ts`), a2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
