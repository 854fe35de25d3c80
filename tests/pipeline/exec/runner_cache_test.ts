import { assertEquals, assertMatch } from "../../assert.ts";
import { makeToyProject } from "../../fixtures/toy_project.ts";

Deno.test("a second run computes nothing; a parameter change reruns only that stage and descendants", async () => {
  const toy = makeToyProject();
  try {
    let r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(toy.takeCounts(), ["gen", "double", "slow"]);
    r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(toy.takeCounts(), []);
    assertMatch(r.stderr, /0 computed, 3 cached/);
    // b only feeds 'slow'
    toy.write("config.json", `{ "a": 3, "b": 5 }`);
    const st = await toy.cli("status");
    assertMatch(st.stdout, /cached\s+gen/);
    assertMatch(st.stdout, /stale\s+slow\s+\(parameter b: 1 -> 5\)/);
    r = await toy.cli("reproduce");
    assertEquals(toy.takeCounts(), ["slow"]);
    // a feeds gen -> double -> slow
    toy.write("config.json", `{ "a": 4, "b": 5 }`);
    r = await toy.cli("reproduce");
    assertEquals(toy.takeCounts(), ["gen", "double", "slow"]);
  } finally {
    toy.cleanup();
  }
});

Deno.test("editing an imported module reruns its importers and descendants; an unused module reruns nothing", async () => {
  const toy = makeToyProject();
  try {
    assertEquals((await toy.cli("reproduce")).code, 0);
    toy.takeCounts();
    toy.write("unused.ts", "// edited comment\nexport const nothing = 1;\n");
    await toy.cli("reproduce");
    assertEquals(toy.takeCounts(), []);
    // lib.ts is imported by double only; same behaviour, new code digest
    toy.write("lib.ts", "// why: identity scaling, edited\nexport function scale(x: number): number { return x * 1; }\n");
    const st = await toy.cli("status");
    assertMatch(st.stdout, /stale\s+double\s+\(code file lib\.ts changed\)/);
    assertMatch(st.stdout, /cached\s+gen/);
    await toy.cli("reproduce");
    // double recomputed; its output is identical so slow is a cache hit
    assertEquals(toy.takeCounts(), ["double"]);
    toy.write("lib.ts", "export function scale(x: number): number { return x * 3; }\n");
    await toy.cli("reproduce");
    assertEquals(toy.takeCounts(), ["double", "slow"]);
  } finally {
    toy.cleanup();
  }
});

Deno.test("--only, --force and --from select what runs", async () => {
  const toy = makeToyProject();
  try {
    await toy.cli("reproduce", "--only", "double");
    assertEquals(toy.takeCounts(), ["gen", "double"]);
    await toy.cli("reproduce", "--force", "gen");
    assertEquals(toy.takeCounts(), ["gen", "slow"]);
    await toy.cli("reproduce", "--from", "double");
    assertEquals(toy.takeCounts(), ["double", "slow"]);
    const bad = await toy.cli("reproduce", "--only", "nosuch");
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /unknown stage 'nosuch'; stages in this config: gen, double, slow/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("bad input: missing config, invalid field, bad JSON each give one clear error and exit 2", async () => {
  const toy = makeToyProject();
  try {
    let r = await toy.cli("reproduce", "--config", "nope.json");
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /config file not found: .*nope\.json/);
    toy.write("bad.json", `{ "a": "three", "b": 1 }`);
    r = await toy.cli("reproduce", "--config", "bad.json");
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /bad\.json: field 'a'/);
    toy.write("broken.json", `{ "a": 3, `);
    r = await toy.cli("status", "--config", "broken.json");
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /broken\.json is not valid JSON/);
    r = await toy.cli("frobnicate");
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /unknown command 'frobnicate'/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("a corrupt cache entry is reported, removed and recomputed, never trusted", async () => {
  const toy = makeToyProject();
  try {
    await toy.cli("reproduce");
    toy.takeCounts();
    const runs = [...Deno.readDirSync(`${toy.dir}/artifacts/runs`)].flatMap((d) =>
      [...Deno.readDirSync(`${toy.dir}/artifacts/runs/${d.name}`)].map((f) => `${toy.dir}/artifacts/runs/${d.name}/${f.name}`)
    );
    const genEntry = runs.find((p) => Deno.readTextFileSync(p).includes('"stage": "gen"'))!;
    Deno.writeTextFileSync(genEntry, "{ not json");
    const r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /corrupt cache entry .* removed/);
    assertEquals(toy.takeCounts(), ["gen"]);
  } finally {
    toy.cleanup();
  }
});

Deno.test("status explains staleness against the last run of the config asked about, not another config's later run", async () => {
  const toy = makeToyProject();
  try {
    toy.write("other.json", `{ "a": 5, "b": 1 }`);
    assertEquals((await toy.cli("reproduce")).code, 0); // config.json: a = 3
    assertEquals((await toy.cli("reproduce", "--config", "other.json")).code, 0); // a later run of another config: a = 5
    toy.write("config.json", `{ "a": 4, "b": 1 }`);
    const st = await toy.cli("status");
    assertMatch(st.stdout, /stale\s+gen\s+\(parameter a: 3 -> 4\)/);
  } finally {
    toy.cleanup();
  }
});
