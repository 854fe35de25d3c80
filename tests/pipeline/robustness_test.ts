import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { makeToyProject } from "../fixtures/toy_project.ts";
import { alive, makeParallelToy } from "../fixtures/parallel_toy.ts";
import { ArtifactStore } from "../../pipeline/store/store.ts";
import { dirname, resolve } from "node:path";
import { PROJECT_ROOT } from "../fixtures/toy_project.ts";
import { UserError } from "../../pipeline/errors.ts";
import { runPipeline } from "../../pipeline/exec/runner.ts";
import type { Stage } from "../../pipeline/stage.ts";
import { subsampleStage } from "../../stages/subsample.ts";
import { fakeMnistFetch } from "../fixtures/fake_fetch.ts";
import { printable } from "../../pipeline/printable.ts";
import { insideOrRefuse, isInside, safeSegment, segmentProblem } from "../../pipeline/safe_names.ts";
import { parseOverride } from "../../pipeline/config.ts";
import { readTar, writeTarGz } from "../../util/tar.ts";

async function waitForText(path: string, re: RegExp, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (re.test(Deno.readTextFileSync(path))) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${re} in ${path}`);
}

Deno.test("a run killed with SIGKILL mid-stage leaves nothing trusted; the next run resumes", async () => {
  const toy = makeToyProject();
  try {
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 4000 }`);
    const child = toy.spawn("reproduce");
    // gen and double finish quickly; wait until slow has started
    const logDir = `${toy.dir}/artifacts/logs`;
    await waitForText(`${toy.dir}/counts.txt`, /double/, 20000);
    await new Promise((r) => setTimeout(r, 800));
    const logs = [...Deno.readDirSync(logDir)].map((f) => `${logDir}/${f.name}`);
    await waitForText(logs[0], /"stage-start","stage":"slow"/, 10000);
    child.kill("SIGKILL");
    await child.status;
    child.stdout.cancel();
    child.stderr.cancel();
    assertEquals(toy.takeCounts(), ["gen", "double"]);
    // a write the dead process left beside its destination (what happens when tmp/ is on another file system)
    const store = `${toy.dir}/artifacts`;
    const shard = [...Deno.readDirSync(`${store}/objects`)][0].name;
    const leftover = `${store}/objects/${shard}/.hpo-tmp-${shard}00-123-0.tmp`;
    Deno.writeTextFileSync(leftover, "half");
    // the lock file of the dead process is taken over (so the whole store is swept); gen and double are cache hits
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 10 }`);
    const r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(toy.takeCounts(), ["slow"]);
    assertMatch(r.stderr, /1 computed, 2 cached/);
    assertMatch(r.stderr, /removed \d+ leftover temporary file/);
    assert(
      !(() => {
        try {
          Deno.statSync(leftover);
          return true;
        } catch {
          return false;
        }
      })(),
      "the leftover beside an object is gone",
    );
    // after a run that ended cleanly, the next run does not walk the store for leftovers (the no-op stays fast)
    Deno.writeTextFileSync(leftover, "planted");
    const again = await toy.cli("reproduce");
    assertEquals(again.code, 0, again.stderr);
    assert(!/leftover/.test(again.stderr), again.stderr);
    assertEquals((await toy.cli("gc", "--dry-run")).code, 0);
  } finally {
    toy.cleanup();
  }
});

Deno.test("SIGINT stops a stage at once; the next run takes over the lock and resumes; archive says 'interrupted'", async () => {
  const toy = makeToyProject();
  try {
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 5000 }`);
    const child = toy.spawn("reproduce");
    await waitForText(`${toy.dir}/counts.txt`, /double/, 20000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    child.kill("SIGINT");
    const st = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert(!st.success, "interrupted");
    assert(performance.now() - t0 < 2000, "stopped at once, not after the stage");
    const a = await toy.cli("archive", "--out", `${toy.dir}/x.tar.gz`);
    assertEquals(a.code, 2);
    assertMatch(a.stderr, /is interrupted, not complete/);
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 10 }`);
    const r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /1 computed, 2 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("a stage module edited while the run is going does not lend its digest to output of the old code", async () => {
  const toy = makeToyProject();
  try {
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 2500, "after": true }`);
    const child = toy.spawn("reproduce");
    await waitForText(`${toy.dir}/counts.txt`, /double/, 20000);
    // while 'slow' runs, edit the module of 'after', which this process loaded at start and runs next
    toy.write(
      "stages/after.ts",
      Deno.readTextFileSync(`${toy.dir}/stages/after.ts`).replace('from: "after.ts"', 'from: "after.ts, edited"'),
    );
    const st = await child.output();
    assertEquals(st.code, 0, new TextDecoder().decode(st.stderr));
    const r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    // the old code's output was stored under the old code's digest, so the edited stage reruns now
    assertMatch(r.stderr, /1 computed, 3 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("two concurrent runs: the second gets a clear lock error and the store stays consistent", async () => {
  const toy = makeToyProject();
  try {
    toy.write("config.json", `{ "a": 3, "b": 1, "ms": 3000 }`);
    const first = toy.spawn("reproduce");
    await waitForText(`${toy.dir}/counts.txt`, /gen/, 20000);
    const second = await toy.cli("reproduce");
    assertEquals(second.code, 2);
    assertMatch(second.stderr, /locked by process \d+/);
    const st = await first.output();
    assertEquals(st.code, 0, new TextDecoder().decode(st.stderr));
    const again = await toy.cli("reproduce");
    assertMatch(again.stderr, /0 computed, 3 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("archive then verify passes; a flipped byte in an archived artifact is caught; --rerun matches", async () => {
  const toy = makeToyProject();
  try {
    assertEquals((await toy.cli("reproduce")).code, 0);
    const arch = `${toy.dir}/run.tar.gz`;
    const a = await toy.cli("archive", "--out", arch);
    assertEquals(a.code, 0, a.stderr);
    let v = await toy.cli("verify", arch);
    assertEquals(v.code, 0, v.stdout + v.stderr);
    assertMatch(v.stdout, /0 problem/);
    v = await toy.cli("verify", arch, "--rerun");
    assertEquals(v.code, 0, v.stdout + v.stderr);
    assertMatch(v.stdout, /3 stages compared, 0 output mismatch/);
    // flip one byte of one artifact inside the archive
    const files: { name: string; bytes: Uint8Array }[] = [];
    await readTar(arch, (name, bytes) => {
      files.push({ name, bytes });
    });
    const obj = files.find((f) => f.name.startsWith("objects/"))!;
    obj.bytes[0] ^= 0x01;
    const bad = `${toy.dir}/bad.tar.gz`;
    await writeTarGz(bad, files);
    v = await toy.cli("verify", bad);
    assertEquals(v.code, 1);
    assertMatch(v.stdout, new RegExp(`MISMATCH ${obj.name}: sha256`));
    // truncated archive
    const raw = Deno.readFileSync(arch);
    Deno.writeFileSync(`${toy.dir}/trunc.tar.gz`, raw.subarray(0, raw.length >> 1));
    v = await toy.cli("verify", `${toy.dir}/trunc.tar.gz`);
    assertEquals(v.code, 1);
    assertMatch(v.stdout, /unreadable or truncated|missing/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("a flipped byte in a stored artifact is caught when read, removed and recomputed; gc frees unreferenced objects", async () => {
  const toy = makeToyProject();
  try {
    await toy.cli("reproduce");
    toy.takeCounts();
    const objDir = `${toy.dir}/artifacts/objects`;
    const objs = [...Deno.readDirSync(objDir)].flatMap((d) =>
      [...Deno.readDirSync(`${objDir}/${d.name}`)].map((f) => `${objDir}/${d.name}/${f.name}`)
    );
    // corrupt x.json (read by 'double'): a forced rerun of double finds it damaged as it reads it, removes it,
    // recomputes 'gen' (its producer) and carries on
    const x = objs.find((p) => Deno.readTextFileSync(p).includes('"x"'))!;
    const good = Deno.readFileSync(x);
    const b = good.slice();
    b[b.length - 2] ^= 0x01;
    Deno.writeFileSync(x, b);
    const r = await toy.cli("reproduce", "--force", "double");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /was damaged and has been removed; recomputing 'gen'/);
    // 'double' starts, meets the damaged input, 'gen' recomputes, 'double' runs again
    assertEquals(toy.takeCounts(), ["double", "gen", "double"]);
    assertEquals(Deno.readFileSync(x), good);
    const a = await toy.cli("archive", "--out", `${toy.dir}/x.tar.gz`);
    assertEquals(a.code, 0, a.stderr);
    // gc: an unreferenced object is removed
    Deno.mkdirSync(`${objDir}/00`, { recursive: true });
    Deno.writeTextFileSync(`${objDir}/00/${"0".repeat(64)}`, "orphan");
    const g = await toy.cli("gc");
    assertEquals(g.code, 0, g.stderr);
    assertMatch(g.stdout, /removed 1 artifact/);
  } finally {
    toy.cleanup();
  }
});

let robustnessCases = 0;

Deno.test("a child never outlives its parent: kill -9 of 'reproduce -j 2' ends children busy in synchronous code within seconds", async () => {
  const toy = makeParallelToy();
  try {
    // each unit is one long synchronous loop (no await for minutes): only a watch outside the main thread sees the parent die
    toy.write("config.json", `{ "a": 3, "units": [1, 2], "iters": 1000000000000, "ms": 0 }`);
    const run = toy.start("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    const end = Date.now() + 60000;
    while (toy.trace().filter((t) => t.event === "start").length < 2) {
      if (Date.now() > end) throw new Error("the two units did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    const children = toy.trace().filter((t) => t.event === "start").map((t) => t.pid);
    assert(children.every(alive), "the children compute");
    run.kill("SIGKILL");
    await run.status;
    await run.stdout.cancel();
    await run.stderr.cancel();
    const killedAt = Date.now();
    while (children.some(alive) && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 50));
    const left = children.filter(alive);
    for (const pid of left) Deno.kill(pid, "SIGKILL"); // (no stray processes when the assertion fails)
    assertEquals(left, [], `children still computing ${Date.now() - killedAt} ms after their parent died`);
    console.log(`  orphaned children ended ${Date.now() - killedAt} ms after the parent's kill -9`);
    const entries = await new ArtifactStore(`${toy.dir}/s`).listRunPaths();
    assertEquals(entries.length, 1, "only gen's entry: the children committed nothing");
    robustnessCases++;
  } finally {
    toy.cleanup();
  }
});

Deno.test("no silent change of what the user asked: each refused in one line (exit 2), nothing computed", async (t) => {
  const toy = makeToyProject();
  try {
    for (const args of [["--only", ","], ["--only", " , "], ["--force", ","], ["--from", ""]]) {
      await t.step(`reproduce ${args.join(" ")}`, async () => {
        const r = await toy.cli("reproduce", ...args);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, new RegExp(`${args[0]} expects stage names or prefixes ending in ':'`));
        assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
        assertEquals(toy.takeCounts(), [], "nothing ran");
        robustnessCases++;
      });
    }
    await t.step("nTest larger than the test set: refused with the allowed range, not cut", async () => {
      const dir = Deno.makeTempDirSync();
      try {
        const n = 20;
        const fake = fakeMnistFetch(n);
        const run = (nTest: number) =>
          runPipeline([fake, subsampleStage("tiny", { dataset: "mnist", nTrain: 5, nVal: 5, nTest }) as Stage], {
            storeRoot: dir,
            projectRoot: PROJECT_ROOT,
            quiet: true,
          });
        const err = await run(1000000).then(() => undefined, (e) => e);
        assert(err instanceof UserError, String(err));
        assertMatch(err.message, /nTest = 1000000 exceeds the 20 examples of mnist's test set; give nTest between 1 and 20/);
        const ok = await run(20); // the whole test set is allowed
        assertEquals(ok.notRun.length, 0);
        robustnessCases += 2;
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    });
    await t.step("a LOCK that is a directory: the message says so; nothing removed", async () => {
      assertEquals((await toy.cli("reproduce")).code, 0);
      Deno.mkdirSync(`${toy.dir}/artifacts/LOCK/inside`, { recursive: true });
      const r = await toy.cli("reproduce");
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /LOCK is a directory, not the lock file this program writes/);
      assert(Deno.statSync(`${toy.dir}/artifacts/LOCK/inside`).isDirectory);
      Deno.removeSync(`${toy.dir}/artifacts/LOCK`, { recursive: true });
      robustnessCases++;
    });
  } finally {
    toy.cleanup();
  }
});

/** A random string drawn to be hostile: control characters (all of C0, DEL, C1), bidi overrides, separators, dots, length. */
function hostileName(rng: () => number): string {
  const pieces = [
    "..",
    ".",
    "/",
    "\\",
    "\u0000",
    "\u001b[2J",
    "\u202e",
    "\u2066",
    "\u0085",
    "\u009b",
    "a",
    "report",
    " ",
    "é",
    "\u2028",
    "\ufeff",
    "x".repeat(300),
  ];
  let s = "";
  const n = 1 + Math.floor(rng() * 6);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.3) s += String.fromCharCode(Math.floor(rng() * 0x20)); // any C0 control
    else if (r < 0.4) s += String.fromCharCode(0x7f + Math.floor(rng() * 0x21)); // DEL and C1
    else if (r < 0.45) s += String.fromCharCode(0x202a + Math.floor(rng() * 5));
    else s += pieces[Math.floor(rng() * pieces.length)];
  }
  return s;
}

Deno.test("hostile names (property test): a written path stays inside its folder; printed text holds no control characters", async () => {
  let seed = 0x2545f491;
  const rng = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const base = "/srv/project/reports";
  // deno-lint-ignore no-control-regex
  const controls = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/;
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const name = hostileName(rng);
    assert(!controls.test(printable(name)), `printable(${JSON.stringify(name)}) still holds a control character`);
    assert(!controls.test(printable(`stage '${name}' failed`)));
    let ok: string | undefined;
    try {
      ok = safeSegment(name, "the name");
    } catch (e) {
      assert(e instanceof UserError, String(e));
      assert(!controls.test(e.message), `the refusal prints ${JSON.stringify(e.message)}`);
      refused++;
    }
    if (ok === undefined) continue;
    accepted++;
    // an accepted name is one segment: the path is directly inside the folder
    const p = resolve(base, ok, "report.html");
    assert(isInside(base, p) && dirname(dirname(p)) === base, `${JSON.stringify(ok)} leads to ${p}`);
    assertEquals(insideOrRefuse(base, p, "the file"), p);
  }
  assert(accepted > 100 && refused > 1000, `both kinds drawn (${accepted} accepted, ${refused} refused)`);
  // every C0 and C1 control character on its own, and the bidi controls: refused as names, escaped when printed
  for (let c = 0; c <= 0x9f; c++) {
    if (c >= 0x20 && c < 0x7f) continue;
    const ch = String.fromCharCode(c);
    assert(segmentProblem(`a${ch}b`) !== undefined, `U+${c.toString(16)} accepted in a name`);
    assert(!controls.test(printable(`a${ch}b`)));
  }
  for (const bad of ["..", ".", "", "a/b", "/etc", "x".repeat(201), " lead", "trail "]) {
    assert(segmentProblem(bad) !== undefined, `${JSON.stringify(bad)} accepted`);
  }
  for (const escape of ["../x", "../../etc/passwd", "/etc/passwd", "a/../../b"]) {
    assertThrows(() => insideOrRefuse(base, resolve(base, escape), "the file"), UserError, undefined, `${escape} was let out of ${base}`);
  }
  // --set paths that would reach a prototype, or are malformed
  for (const bad of ["__proto__.polluted=1", "a.constructor.prototype.x=1", "a..b=1", ".a=1", "a\u001b=1"]) {
    const e = assertThrows(() => parseOverride(bad), UserError, undefined, `--set ${JSON.stringify(bad)} accepted`);
    assert(!controls.test(e.message), `the refusal prints ${JSON.stringify(e.message)}`);
  }
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  console.log(`  hostile names: ${accepted} accepted (each one segment inside its folder), ${refused} refused`);
  robustnessCases += 4;

  // through the CLI: a config named '...json' (its report folder would be '..') is refused before anything runs
  const toy = makeToyProject();
  try {
    toy.write("...json", `{ "a": 3, "b": 1 }`);
    const before = [...Deno.readDirSync(toy.dir)].map((e) => e.name).sort();
    const r = await toy.cli("reproduce", "--config", `${toy.dir}/...json`);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /the report folder name from the config file '\.\.\.json' '\.\.' cannot be used as a file name/);
    assertEquals(toy.takeCounts(), [], "refused before any stage ran");
    assertEquals(
      [...Deno.readDirSync(toy.dir)].map((e) => e.name).filter((n) => n !== "artifacts").sort(),
      before.filter((n) => n !== "artifacts"),
    );
    // a control character in a config's file name reaches the terminal escaped
    toy.write("x\u001b[2Jy.json", `{ "a": 3, "b": 1 }`);
    const r2 = await toy.cli("reproduce", "--config", `${toy.dir}/x\u001b[2Jy.json`);
    assertEquals(r2.code, 2, r2.stderr);
    assert(!controls.test(r2.stderr.replaceAll("\n", "")), JSON.stringify(r2.stderr));
    assertMatch(r2.stderr, /x\\x1b\[2Jy/);
    robustnessCases += 2;
  } finally {
    toy.cleanup();
  }
});

// The suite's summary, printed once its tests are done (deno test shows it as post-test output).
globalThis.addEventListener("unload", () => console.log(`pipeline robustness cases tried: ${robustnessCases}`));
