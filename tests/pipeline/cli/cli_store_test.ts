// The store's commands (pipeline/cli/cli_store.ts), imported directly and run in this process on a store
// built by a two-stage toy run: status (cached / stale, --verify naming what a damaged file is), gc's
// --keep-runs checks and --dry-run, and archive.
import { assert, assertEquals, assertMatch, assertRejects } from "../../assert.ts";
import { archiveCommand, gcCommand, statusCommand } from "../../../pipeline/cli/cli_store.ts";
import type { CliValues, CommandContext } from "../../../pipeline/cli/cli_args.ts";
import type { Experiment } from "../../../pipeline/plan/experiment.ts";
import { EngineNames } from "../../../pipeline/names.ts";
import { UserError } from "../../../pipeline/errors.ts";
import { runPipeline } from "../../../pipeline/exec/runner.ts";
import { captureLog, type InlineToy, makeInlineToy } from "../../fixtures/inline_toy.ts";

type Config = { a: number };

function context(toy: InlineToy, values: Partial<CliValues>, a = 3): CommandContext<Config> {
  const exp: Experiment<Config> = {
    projectRoot: toy.dir,
    defaultConfig: "config.json",
    loadConfig: () => Promise.resolve({ raw: { a }, config: { a } }),
    parseConfig: (raw) => raw as Config,
    buildStages: (c) => toy.stages(c.a),
  };
  return {
    exp,
    values: values as CliValues,
    rest: [],
    storeRoot: toy.store,
    configPath: `${toy.dir}/config.json`,
    overrides: [],
    names: new EngineNames("HPO"),
  };
}

async function withRun(fn: (toy: InlineToy) => Promise<void>): Promise<void> {
  const toy = makeInlineToy();
  try {
    await runPipeline(toy.stages(3), { storeRoot: toy.store, projectRoot: toy.dir, quiet: true, signals: false });
    await fn(toy);
  } finally {
    toy.cleanup();
  }
}

const latest = (toy: InlineToy) => JSON.parse(Deno.readTextFileSync(`${toy.store}/manifests/latest.json`));

Deno.test("status: every stage cached after a run; a parameter change makes gen and its descendant stale", async () => {
  await withRun(async (toy) => {
    let r = await captureLog(() => statusCommand(context(toy, {})));
    assertEquals(r.value, 0);
    assertEquals(r.lines.map((l) => l.split(/\s+/).slice(0, 2).join(" ")), ["cached gen", "cached double"]);
    r = await captureLog(() => statusCommand(context(toy, {}, 4)));
    assertEquals(r.value, 0);
    assertMatch(r.lines[0], /^stale\s+gen\s+\(.*a: 3 -> 4/);
    assertMatch(r.lines[1], /^stale\s+double/);
  });
});

Deno.test("status --verify: a clean store exits 0; a damaged object exits 1 and is named by stage and output", async () => {
  await withRun(async (toy) => {
    let r = await captureLog(() => statusCommand(context(toy, { verify: true })));
    assertEquals(r.value, 0);
    assertMatch(r.lines.at(-1)!, /status --verify: \d+ store file\(s\) rehashed, 0 damaged$/);
    const d = latest(toy).stages.find((s: { stage: string }) => s.stage === "double").outputs["y.json"].digest;
    Deno.writeTextFileSync(`${toy.store}/objects/${d.slice(0, 2)}/${d}`, '{"y":7}');
    r = await captureLog(() => statusCommand(context(toy, { verify: true })));
    assertEquals(r.value, 1);
    const damaged = r.lines.filter((l) => l.startsWith("DAMAGED"));
    assertEquals(damaged.length, 1, r.lines.join("\n"));
    assertMatch(damaged[0], new RegExp(`${d}.*\\(output 'y\\.json' of stage 'double'\\)`));
    assertMatch(r.lines.at(-1)!, /1 damaged; remove the damaged/);
  });
});

/** Overwrites the cache entry file of a stage of the last run with `text`; returns its path. */
function damageEntry(toy: InlineToy, stage: string, text: string): string {
  const key = latest(toy).stages.find((s: { stage: string }) => s.stage === stage).key as string;
  const entry = `${toy.store}/runs/${key.slice(0, 2)}/${key}.json`;
  assert(Deno.statSync(entry).isFile, `no entry file ${entry}`);
  Deno.writeTextFileSync(entry, text);
  return entry;
}

Deno.test("status: a truncated cache entry makes its stage stale (never trusted), and its descendant waits on it", async () => {
  await withRun(async (toy) => {
    damageEntry(toy, "gen", "{ truncated");
    const r = await captureLog(() => statusCommand(context(toy, {})));
    assertEquals(r.value, 0);
    assertMatch(r.lines[0], /^stale\s+gen\s+\(cache entry missing/);
    assertMatch(r.lines[1], /^stale\s+double\s+\(upstream 'gen' must run first\)/);
  });
});

Deno.test({
  // Was a bug (pipeline/cli/cli_store.ts statusCommand): the status rows are computed first, and reading the
  // cache (ArtifactStore.readRun) removes a corrupt entry; the --verify pass that follows no longer sees it,
  // so `status --verify` prints "0 damaged" and exits 0 on a store it has just found damaged.
  name: "status --verify: a damaged cache entry is reported (exit 1), named as the stage's entry",
  async fn() {
    await withRun(async (toy) => {
      damageEntry(toy, "gen", "{ truncated");
      const r = await captureLog(() => statusCommand(context(toy, { verify: true })));
      assertEquals(r.value, 1, r.lines.join("\n"));
      assertMatch(r.lines.find((l) => l.startsWith("DAMAGED"))!, /\(cache entry of stage 'gen'\)/);
    });
  },
});

Deno.test({
  // Was a bug (pipeline/cli/cli_store.ts gcCommand): Number("Infinity") and Number("1e400") are Infinity, which the
  // check lets through as if 'all' had been written; the message promises "a whole number >= 1 or 'all'".
  name: "gc --keep-runs: 'Infinity' and '1e400' are refused like any other non-whole number",
  async fn() {
    await withRun(async (toy) => {
      for (const bad of ["Infinity", "1e400"]) {
        await assertRejects(() => gcCommand(context(toy, { "keep-runs": bad })), UserError, /--keep-runs expects/, bad);
      }
    });
  },
});

Deno.test("gc --keep-runs: 0, negative, fractional, empty and non-numbers are refused before anything is removed", async () => {
  await withRun(async (toy) => {
    const before = JSON.stringify(latest(toy));
    for (const bad of ["0", "-1", "1.5", "", "abc", "NaN", "ALL", "-Infinity", "0x0"]) {
      await assertRejects(
        () => gcCommand(context(toy, { "keep-runs": bad })),
        UserError,
        /--keep-runs expects a whole number >= 1 or 'all'/,
        bad,
      );
    }
    assertEquals(JSON.stringify(latest(toy)), before);
  });
});

Deno.test("gc --dry-run removes nothing and says so; gc with 'all' or a number keeps the last run's artifacts", async () => {
  await withRun(async (toy) => {
    // an orphan object (no run references it) is what gc would remove
    const orphan = `${toy.store}/objects/ab/${"ab".padEnd(64, "0")}`;
    Deno.mkdirSync(`${toy.store}/objects/ab`, { recursive: true });
    Deno.writeTextFileSync(orphan, "x");
    let r = await captureLog(() => gcCommand(context(toy, { "dry-run": true })));
    assertEquals(r.value, 0);
    assertMatch(r.lines.at(-1)!, /^gc --dry-run: would remove 1 artifact\(s\)/);
    assert(Deno.statSync(orphan).isFile, "dry run kept the orphan");
    r = await captureLog(() => gcCommand(context(toy, { "keep-runs": "all" })));
    assertMatch(r.lines.at(-1)!, /^gc: removed 1 artifact\(s\).*; 2 artifact\(s\) kept$/);
    r = await captureLog(() => gcCommand(context(toy, { "keep-runs": "1" })));
    assertMatch(r.lines.at(-1)!, /^gc: removed 0 artifact\(s\).*; 2 artifact\(s\) kept$/);
    // the run is still cached
    assertEquals((await captureLog(() => statusCommand(context(toy, {})))).lines.filter((l) => l.startsWith("cached")).length, 2);
  });
});

Deno.test("archive: writes the last complete run to --out and reports its counts; no run is a UserError", async () => {
  await withRun(async (toy) => {
    const out = `${toy.dir}/run.tar.gz`;
    const r = await captureLog(() => archiveCommand(context(toy, { out })));
    assertEquals(r.value, 0);
    assertMatch(r.lines[0], new RegExp(`^archive ${out}: \\d+ files, 2 artifacts, \\d+\\.\\d\\d MB$`));
    assert(Deno.statSync(out).size > 0);
  });
  const empty = makeInlineToy();
  try {
    await assertRejects(() => archiveCommand(context(empty, { out: `${empty.dir}/x.tar.gz` })), UserError, /run 'reproduce' first/);
  } finally {
    empty.cleanup();
  }
});
