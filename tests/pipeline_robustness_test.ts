import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeToyProject } from "./fixtures/toy_project.ts";
import { readTar, writeTarGz } from "../util/tar.ts";

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
