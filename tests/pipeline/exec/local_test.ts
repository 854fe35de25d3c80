import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { alive, makeParallelToy, manifest, type Rec, stableDigests } from "../../fixtures/parallel_toy.ts";
import { PROJECT_ROOT } from "../../fixtures/toy_project.ts";
import { LocalProcessExecutor } from "../../../pipeline/exec/local.ts";
import type { JobReport, JobSink } from "../../../pipeline/exec/executor.ts";

Deno.test("-j 2 without --isolate: two workers compute every unit, with the artifacts and keys of -j 1, and end with the run", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3, 4, 5, 6], "ms": 300, "iters": 200000 }`);
    const seq = await toy.run("reproduce", "-j", "1", "--store", `${toy.dir}/s1`);
    assertEquals(seq.code, 0, seq.stderr);
    Deno.writeTextFileSync(toy.traceFile, "");
    const par = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s2`);
    assertEquals(par.code, 0, par.stderr);
    assertMatch(par.stderr, /8 computed, 0 cached/);
    const starts = toy.trace().filter((t) => t.event === "start" && t.stage.startsWith("unit:"));
    assertEquals(starts.length, 6);
    const pids = new Set(starts.map((t) => t.pid));
    // no history in a fresh store: every unit goes to a child, and the children are the run's two workers
    assert(pids.size <= 2, `6 units in ${pids.size} processes: workers are reused`);
    const jobs = manifest(`${toy.dir}/s2`).stages.filter((r) => r.stage.startsWith("unit:")).map((r) => Number(r.job?.slice(4)));
    assertEquals(new Set(jobs), pids, "the manifest names the worker that computed each unit");
    assertEquals(stableDigests(`${toy.dir}/s2`), stableDigests(`${toy.dir}/s1`));
    const keys = (s: string) => Object.fromEntries(manifest(s).stages.filter((r) => r.stage !== "merge").map((r) => [r.stage, r.key]));
    assertEquals(keys(`${toy.dir}/s2`), keys(`${toy.dir}/s1`));
    for (const pid of pids) assert(!alive(pid), `worker ${pid} ended with the run`);
    assertEquals([...Deno.readDirSync(`${toy.dir}/s2/tmp`)].map((e) => e.name), [], "no spec, snapshot or scratch left");
  } finally {
    toy.cleanup();
  }
});

Deno.test("a worker that dies mid-stage fails that stage alone; the others finish in workers started anew; the fixed rerun completes", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3, 4, 5], "ms": 200, "crash": [2] }`);
    const r = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    assertEquals(r.code, 1, r.stderr);
    assertMatch(r.stderr, /\[unit:2\] FAILED \(pid \d+\): the child process exited with code 3 without a result/);
    const status = Object.fromEntries(manifest(`${toy.dir}/s`).stages.map((s) => [s.stage, s.status]));
    assertEquals(status, {
      gen: "computed",
      "unit:1": "computed",
      "unit:2": "failed",
      "unit:3": "computed",
      "unit:4": "computed",
      "unit:5": "computed",
      merge: "pending",
    });
    toy.write("config.json", `{ "a": 3, "units": [1, 2, 3, 4, 5], "ms": 200 }`);
    const fixed = await toy.run("reproduce", "-j", "2", "--store", `${toy.dir}/s`);
    assertEquals(fixed.code, 0, fixed.stderr);
    assertMatch(fixed.stderr, /2 computed, 5 cached/);
  } finally {
    toy.cleanup();
  }
});

/** The local executor over the fake worker (tests/fixtures/fake_stage_worker.ts), with a job file per call. */
function fakeExecutor(o: ConstructorParameters<typeof LocalProcessExecutor>[1] = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "local-exec-test-" });
  const ex = new LocalProcessExecutor({ mainModule: new URL("../../fixtures/fake_stage_worker.ts", import.meta.url).pathname }, o);
  let n = 0;
  const said: string[] = [];
  const sink: JobSink = { say: (l) => said.push(l), event() {}, progress() {} };
  return {
    ex,
    said,
    start(stage: string, job: Record<string, unknown> = {}) {
      const specPath = `${dir}/job-${n++}.json`;
      Deno.writeTextFileSync(specPath, JSON.stringify({ stage, ...job }));
      return ex.start({ stage, key: "k", specPath, storeRoot: dir }, sink);
    },
    async close() {
      await ex.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

async function finished(h: { id: string; done: Promise<JobReport> }): Promise<{ pid: number; report: JobReport }> {
  return { pid: Number(h.id.slice(4)), report: await h.done };
}

Deno.test("the local executor: a free worker takes the next job; one over the memory cap or the job cap is retired and replaced", async () => {
  const f = fakeExecutor({ retireAboveBytes: 5000, retireAfterJobs: 3 });
  try {
    const a = await finished(f.start("s1"));
    const b = await finished(f.start("s2"));
    assertEquals(a.report.status, "computed");
    assertEquals(b.pid, a.pid, "the second job went to the worker the first left free");
    const c = await finished(f.start("s3"));
    assertEquals(c.pid, a.pid);
    const d = await finished(f.start("s4"));
    assert(d.pid !== a.pid, "after 3 jobs the worker is retired: a fourth starts another");
    const e = await finished(f.start("s5", { rss: 6000 }));
    assertEquals(e.pid, d.pid);
    const g = await finished(f.start("s6"));
    assert(g.pid !== d.pid, "a worker that reported more memory than the cap is not reused");
    // two jobs at once: two workers
    const [p, q] = await Promise.all([finished(f.start("p", { sleepMs: 300 })), finished(f.start("q", { sleepMs: 300 }))]);
    assert(p.pid !== q.pid, "a busy worker is never given a second job");
    assertEquals(f.ex.processes().length, 2, "the idle workers are listed (a signal must end them)");
    const idle = f.ex.processes();
    await f.ex.close();
    for (const pid of idle) assert(!alive(pid), `idle worker ${pid} ended when the executor closed`);
    for (const pid of [a.pid, d.pid]) assert(!alive(pid), `retired worker ${pid} ended`);
  } finally {
    await f.close();
  }
});

Deno.test("the local executor: a worker that ends mid-job fails that job with its stderr; a cancelled one is never reused", async () => {
  const f = fakeExecutor();
  try {
    const a = await finished(f.start("ok"));
    const crash = await finished(f.start("dies", { stderr: "out of memory (fake)", exitCode: 7 }));
    assertEquals(crash.pid, a.pid);
    assertEquals(crash.report.status, "failed");
    assert(crash.report.status === "failed");
    assertMatch(crash.report.message, /exited with code 7 without a result/);
    assertMatch(crash.report.log ?? "", /out of memory \(fake\)/);
    const next = await finished(f.start("after"));
    assertEquals(next.report.status, "computed");
    assert(next.pid !== a.pid, "the dead worker is replaced");
    // a line written after the result reaches no job (the worker is idle), and does not break the next
    const stray = await finished(f.start("stray", { stray: "printed while idle" }));
    const again = await finished(f.start("again", { say: "hello" }));
    assertEquals(again.pid, stray.pid);
    assertEquals(again.report.status, "computed");
    assert(f.said.includes("hello"));
    // cancel: the process ends, the job reports the signal, the next job gets a fresh worker
    const slow = f.start("slow", { sleepMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    await slow.cancel();
    const cancelled = await finished(slow);
    assertEquals(cancelled.report.status, "failed");
    assert(!alive(cancelled.pid));
    const fresh = await finished(f.start("fresh"));
    assert(fresh.pid !== cancelled.pid);
  } finally {
    await f.close();
  }
});

Deno.test("run-stage --serve computes each spec named on stdin, one result line each, and ends at the end of stdin", async () => {
  const toy = makeParallelToy();
  try {
    toy.write("config.json", `{ "a": 3, "units": [1, 2] }`);
    const store = `${toy.dir}/s`;
    assertEquals((await toy.run("reproduce", "-j", "1", "--store", store)).code, 0);
    const recs = manifest(store).stages as (Rec & { codeDigest: string })[];
    const gen = recs.find((r) => r.stage === "gen")!;
    const spec = (unit: string, key: string) => {
      const u = recs.find((r) => r.stage === unit)!;
      const path = `${toy.dir}/${unit.replace(":", "-")}-${key.slice(0, 4)}.json`;
      const config = { a: 3, units: [1, 2] };
      Deno.writeTextFileSync(
        path,
        JSON.stringify({
          version: 1,
          runId: "x",
          stage: unit,
          key,
          codeDigest: u.codeDigest,
          config,
          inputs: { gen: { outputs: gen.outputs } },
          force: true,
        }),
      );
      return path;
    };
    const key = (unit: string) => recs.find((r) => r.stage === unit)!.key!;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--config",
        `${PROJECT_ROOT}/deno.json`,
        `${toy.dir}/main.ts`,
        "run-stage",
        "--serve",
        "--store",
        store,
      ],
      cwd: toy.dir,
      env: { NO_COLOR: "1", TOY_TRACE: toy.traceFile },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    // a forged key between two honest specs: refused, and the worker goes on with the next
    const lines = [spec("unit:1", key("unit:1")), spec("unit:2", "0".repeat(64)), "", spec("unit:2", key("unit:2"))];
    await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
    await w.close();
    const out = await child.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const results = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("@hpo-run-stage ")).map((l) =>
      JSON.parse(l.slice("@hpo-run-stage ".length))
    ).filter((m) => m.type === "result");
    assertEquals(results.map((m) => m.report.status), ["computed", "failed", "computed"]);
    assertMatch(results[1].report.message, /refusing to compute 'unit:2' under a key the run did not plan/);
    assertEquals(results[2].report.outputs["u.json"].digest, recs.find((r) => r.stage === "unit:2")!.outputs["u.json"].digest);
    assert(results.every((m) => m.rss > 10_000_000), "each result carries the worker's resident memory");
    assertEquals(new Set(toy.trace().filter((t) => t.event === "start").slice(-2).map((t) => t.pid)).size, 1, "one process computed both");
    // neither --spec nor --serve, or both: one line naming what is expected, exit 2
    for (const args of [["run-stage"], ["run-stage", "--serve", "--spec", "x.json"]]) {
      const r = await toy.run(...args, "--store", store);
      assertEquals(r.code, 2);
      assertMatch(r.stderr, /run-stage needs either --spec FILE or --serve/);
    }
  } finally {
    toy.cleanup();
  }
});
