import { assert, assertEquals, assertMatch, assertRejects } from "../../assert.ts";
import { alive, makeParallelToy, manifest, type Rec, stableDigests } from "../../fixtures/parallel_toy.ts";
import { PROJECT_ROOT } from "../../fixtures/toy_project.ts";
import { ArtifactStore } from "../../../pipeline/store/store.ts";
import { sha256 } from "../../../pipeline/hash.ts";

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("--jobs 2 runs independent stages at once, each in its own process, with the artifacts and keys of --jobs 1", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 1200, "iters": 200000 }`);
    const seq = await toy.run("reproduce", "--jobs", "1", "--store", `${toy.dir}/s1`);
    assertEquals(seq.code, 0, seq.stderr);
    const seqPids = new Set(toy.trace().map((t) => t.pid));
    assertEquals(seqPids.size, 1, "a sequential run computes in one process");
    Deno.writeTextFileSync(toy.traceFile, "");
    const par = await toy.run("reproduce", "-j", "2", "--isolate", "--store", `${toy.dir}/s2`);
    assertEquals(par.code, 0, par.stderr);
    assertMatch(par.stderr, /5 computed, 0 cached/);
    // progress: the run's k/N with an ETA, and each running stage with its job
    assertMatch(par.stderr, /\[run\] \d\/5 stages settled; running 2\/2: unit:\d \(pid \d+.*ETA/);
    assertMatch(par.stderr, /\[unit:1\] \d\/5 \d+% elapsed .* ETA/);
    const tr = toy.trace();
    const units = tr.filter((t) => t.event === "start" && t.stage.startsWith("unit:"));
    assertEquals(new Set(units.map((t) => t.pid)).size, 3, "each unit in its own process");
    const span = (
      s: string,
    ) => [tr.find((t) => t.event === "start" && t.stage === s)!.at, tr.find((t) => t.event === "end" && t.stage === s)!.at];
    const [a0, a1] = span("unit:1"), [b0, b1] = span("unit:2");
    assert(a0 < b1 && b0 < a1, `unit:1 and unit:2 overlapped in time: ${[a0, a1, b0, b1]}`);
    // bit-identical stable artifacts; the same keys for every stage whose inputs are stable
    assertEquals(stableDigests(`${toy.dir}/s2`), stableDigests(`${toy.dir}/s1`));
    const keys = (s: string) => Object.fromEntries(manifest(s).stages.filter((r) => r.stage !== "merge").map((r) => [r.stage, r.key]));
    assertEquals(keys(`${toy.dir}/s2`), keys(`${toy.dir}/s1`));
    const m2 = manifest(`${toy.dir}/s2`);
    assertEquals(m2.state, "complete");
    assert(m2.stages.filter((r) => r.stage.startsWith("unit:")).every((r) => /^pid \d+$/.test(r.job ?? "")), "job ids in the manifest");
    // how each stage was computed (the ETA keeps their wall times apart): a fresh process each, or the one process
    assert(m2.stages.filter((r) => r.stage.startsWith("unit:")).every((r) => r.executor === "process"), "--isolate: a process each");
    assert(manifest(`${toy.dir}/s1`).stages.every((r) => r.status !== "computed" || r.executor === "inline"), "--jobs 1: inline");
    // a rerun computes nothing; an added unit reuses the others (its own entry, plus the merge)
    const again = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s2`);
    assertMatch(again.stderr, /0 computed, 5 cached/);
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3, 4], "ms": 1200, "iters": 200000 }`);
    Deno.writeTextFileSync(toy.traceFile, "");
    const more = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s2`);
    assertEquals(more.code, 0, more.stderr);
    assertMatch(more.stderr, /2 computed, 4 cached/);
    // the merge is light: computed in the scheduling process, not in a child of its own (no job id); the units
    // go to a worker, or here when one is the only stage that can run
    Deno.writeTextFileSync(toy.traceFile, "");
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3, 4, 5, 6], "ms": 1200, "iters": 200000 }`);
    const light = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s2`);
    assertMatch(light.stderr, /3 computed, 5 cached/);
    const recs = Object.fromEntries(manifest(`${toy.dir}/s2`).stages.map((r) => [r.stage, r]));
    assertEquals([recs["merge"].status, recs["merge"].job, recs["merge"].executor], ["computed", undefined, "inline"]);
    assertEquals([recs["unit:5"].status, recs["unit:6"].status], ["computed", "computed"]);
    const pids = Object.fromEntries(toy.trace().filter((t) => t.event === "start").map((t) => [t.stage, t.pid]));
    for (const u of ["unit:5", "unit:6"]) {
      assertEquals(recs[u].job === undefined, pids[u] === pids["merge"], `${u}: no job id exactly when it ran in the scheduling process`);
      assertEquals(recs[u].executor, recs[u].job === undefined ? "inline" : "worker");
    }
    // no store lock, job spec or scratch directory is left behind
    assert(!(await exists(`${toy.dir}/s2/LOCK`)));
    assertEquals([...Deno.readDirSync(`${toy.dir}/s2/tmp`)].map((e) => e.name), []);
  } finally {
    toy.cleanup();
  }
});

Deno.test("a failing stage does not disturb the others: the rest of the DAG finishes, what needs it does not start, exit 1", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 600, "fail": [2] }`);
    const r = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    // the exit code of the failure a sequential run would have had: a stage failed (1)
    assertEquals(r.code, 1, r.stderr);
    assertMatch(r.stderr, /\[unit:2\] FAILED \(pid \d+\): unit 2 was told to fail/);
    assertMatch(r.stderr, /1 stage\(s\) failed: unit:2; every stage that does not need them finished, 1 that do did not start/);
    assertMatch(r.stderr, /error: stage 'unit:2' failed: unit 2 was told to fail \(rerun with --debug/);
    const m = manifest(`${toy.dir}/s`);
    assertEquals(m.state, "failed");
    const status = Object.fromEntries(m.stages.map((s) => [s.stage, s.status]));
    assertEquals(status, { gen: "computed", "unit:1": "computed", "unit:2": "failed", "unit:3": "computed", merge: "pending" });
    assertMatch(m.stages.find((s) => s.stage === "merge")!.reason!, /needs 'unit:2', which failed/);
    // fixed: only the failed unit and what needs it compute
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 600 }`);
    const fixed = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    assertEquals(fixed.code, 0, fixed.stderr);
    assertMatch(fixed.stderr, /2 computed, 3 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("SIGTERM stops every child, releases the lock, leaves the store consistent; a rerun completes with the same digests", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 20000 }`);
    const run = toy.start("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    await waitFor(() => toy.trace().filter((t) => t.event === "start").length >= 2, 30000, "two units to start");
    const children = toy.trace().map((t) => t.pid);
    assert(children.every(alive));
    const t0 = Date.now();
    run.kill("SIGTERM");
    const st = await run.status;
    await run.stdout.cancel();
    await run.stderr.cancel();
    assertEquals(st.code, 143);
    assert(Date.now() - t0 < 5000, "stopped promptly");
    for (const pid of children) assert(!alive(pid), `child ${pid} is gone`);
    assert(!(await exists(`${toy.dir}/s/LOCK`)), "the lock is released");
    assertEquals(manifest(`${toy.dir}/s`).state, "interrupted");
    const v = await toy.run("status", "--verify", "--store", `${toy.dir}/s`);
    assertEquals(v.code, 0, v.stdout + v.stderr);
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 300 }`);
    const r = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    assertEquals(r.code, 0, r.stderr);
    const ref = await toy.run("reproduce", "-j", "1", "--store", `${toy.dir}/ref`);
    assertEquals(ref.code, 0, ref.stderr);
    assertEquals(stableDigests(`${toy.dir}/s`), stableDigests(`${toy.dir}/ref`));
  } finally {
    toy.cleanup();
  }
});

Deno.test("a child whose parent is killed (SIGKILL) ends itself and commits no cache entry", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 20000 }`);
    const run = toy.start("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    await waitFor(() => toy.trace().filter((t) => t.event === "start").length >= 2, 30000, "two units to start");
    const children = toy.trace().map((t) => t.pid);
    run.kill("SIGKILL");
    await run.status;
    await run.stdout.cancel();
    await run.stderr.cancel();
    await waitFor(() => !children.some(alive), 5000, "the orphaned children to end");
    const entries = await new ArtifactStore(`${toy.dir}/s`).listRunPaths();
    assertEquals(entries.length, 1, "only gen's entry");
  } finally {
    toy.cleanup();
  }
});

Deno.test("the store takes concurrent writers of the same objects and entries from several processes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hpo-conc-" });
  try {
    const storeUrl = new URL("../../../pipeline/store/store.ts", import.meta.url).href;
    const script = `${dir}/w.ts`;
    // every writer stores the same 3 objects (one of 4 MB) and the same entry, 15 times over
    Deno.writeTextFileSync(
      script,
      `import { ArtifactStore } from "${storeUrl}";
const s = new ArtifactStore(Deno.args[0]);
const big = new Uint8Array(4 << 20); for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
for (let k = 0; k < 15; k++) {
  const refs = { big: await s.putObject(big), a: await s.putObject(new TextEncoder().encode("a")), b: await s.putObject(new Uint8Array(0)) };
  await s.writeRun({ key: "ab".repeat(32), stage: "x", outputs: refs, wallMs: 1, createdAt: "now" });
  const back = await s.getObject(refs.big.digest);
  if (back.length !== big.length) throw new Error("short read");
  if (!(await s.readRun("ab".repeat(32)))) throw new Error("entry not readable");
}
`,
    );
    const procs = [0, 1, 2].map(() =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "--config", `${PROJECT_ROOT}deno.json`, script, `${dir}/store`],
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    for (const out of await Promise.all(procs)) assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const store = new ArtifactStore(`${dir}/store`);
    const { damage } = await store.verify();
    assertEquals(damage, []);
    assertEquals((await store.listObjects()).length, 3);
    assertEquals((await store.inventory()).temps, []);
    assertEquals(sha256(await store.getObject(sha256(new TextEncoder().encode("a")))), sha256(new TextEncoder().encode("a")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a module edited mid-run does not reach the children: they run the source the run digested", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 1500 }`);
    const run = toy.start("reproduce", "-j", "2", "--isolate", "--store", `${toy.dir}/s`);
    await waitFor(() => toy.trace().some((t) => t.stage === "unit:1" && t.event === "start"), 30000, "unit:1 to start");
    // the merge's module changes while the units run; the merge's child starts after the edit
    toy.write(
      "stages/merge.ts",
      Deno.readTextFileSync(`${toy.dir}/stages/merge.ts`).replace('trace("start", "merge")', 'trace("start", "merge-edited")'),
    );
    const st = await run.output();
    assertEquals(st.code, 0, new TextDecoder().decode(st.stderr));
    assert(toy.trace().some((t) => t.stage === "merge"), "the merge ran the old code");
    assert(!toy.trace().some((t) => t.stage === "merge-edited"));
    // stored under the old code's digest, so the edited stage reruns now
    const again = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /1 computed, 3 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("run-stage refuses to store under a key other than the one its run planned", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1] }`);
    const store = `${toy.dir}/s`;
    assertEquals((await toy.run("reproduce", "-j", "1", "--store", store)).code, 0);
    const m = manifest(store);
    const gen = m.stages.find((r) => r.stage === "gen")!;
    const unit = m.stages.find((r) => r.stage === "unit:1")! as Rec & { codeDigest: string };
    const spec = {
      version: 1,
      runId: "x",
      stage: "unit:1",
      key: "0".repeat(64),
      codeDigest: unit.codeDigest,
      config: { a: 3, units: [1] },
      inputs: { gen: { outputs: gen.outputs } },
      force: true,
    };
    Deno.writeTextFileSync(`${toy.dir}/spec.json`, JSON.stringify(spec));
    const r = await toy.run("run-stage", "--spec", `${toy.dir}/spec.json`, "--store", store);
    assertEquals(r.code, 1);
    assertMatch(
      r.stdout,
      /"status":"failed".*refusing to compute 'unit:1' under a key the run did not plan: its parameters or inputs differ/,
    );
    // with the right key it computes, and reports the outputs the sequential run stored
    Deno.writeTextFileSync(`${toy.dir}/spec.json`, JSON.stringify({ ...spec, key: unit.key }));
    const ok = await toy.run("run-stage", "--spec", `${toy.dir}/spec.json`, "--store", store);
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    const result = JSON.parse(ok.stdout.trim().split("\n").pop()!.replace(/^@hpo-run-stage /, ""));
    assertEquals(result.report.status, "computed");
    assertEquals(result.report.outputs["u.json"].digest, unit.outputs["u.json"].digest);
  } finally {
    toy.cleanup();
  }
});

Deno.test("a child that reads a damaged input: the parent recomputes its producer and runs the child again", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 100 }`);
    const store = `${toy.dir}/s`;
    assertEquals((await toy.run("reproduce", "-j", "1", "--store", store)).code, 0);
    const gen = manifest(store).stages.find((r) => r.stage === "gen")!.outputs["x.json"].digest;
    const path = `${store}/objects/${gen.slice(0, 2)}/${gen}`;
    const bytes = Deno.readFileSync(path);
    bytes[0] ^= 1; // same size: the cache entry still looks whole; the read finds it
    Deno.chmodSync(path, 0o644);
    Deno.writeFileSync(path, bytes);
    const r = await toy.run("reproduce", "-j", "2", "--isolate", "--force", "unit:1,unit:2", "--store", store);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /input [0-9a-f]{12} \(from 'gen'\) was damaged and has been removed; recomputing 'gen'/);
    const v = await toy.run("status", "--verify", "--store", store);
    assertEquals(v.code, 0, v.stdout);
  } finally {
    toy.cleanup();
  }
});

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a store locked from another host (a shared file system) is not taken over, even if that pid is not alive here", async () => {
  const { acquireStoreLock } = await import("../../../pipeline/store/lock.ts");
  const { claimStore } = await import("../../../pipeline/store/store_root.ts");
  const dir = await Deno.makeTempDir({ prefix: "hpo-lock-" });
  try {
    await claimStore(dir); // a store (marked), so that its LOCK is the question, not the directory
    const other = { pid: 999999, command: "reproduce", since: "2026-01-01T00:00:00Z", host: "login-node-2" };
    Deno.writeTextFileSync(`${dir}/LOCK`, JSON.stringify(other));
    await assertRejects(async () => (await acquireStoreLock(dir, "reproduce")).release(), /locked by process 999999 on host login-node-2/);
    // the same pid without a host (or on this host) and dead: taken over as before
    Deno.writeTextFileSync(`${dir}/LOCK`, JSON.stringify({ ...other, host: undefined }));
    const lock = await acquireStoreLock(dir, "reproduce");
    assertEquals(lock.holder.host, Deno.hostname());
    lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
