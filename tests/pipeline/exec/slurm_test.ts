// The Slurm executor against a real single-node cluster (munged, slurmctld, slurmd) that
// tests/fixtures/slurm_cluster.sh brings up. Where Slurm cannot start (not root, packages missing), each
// test says so and is skipped: never silently.
import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { makeParallelToy, type ParallelToy } from "../../fixtures/parallel_toy.ts";

const SCRIPT = new URL("../../fixtures/slurm_cluster.sh", import.meta.url).pathname;
const DIR = Deno.env.get("HPO_SLURM_DIR") ?? "/tmp/hpo-slurm";
const SLURM_CONF = `${DIR}/slurm.conf`;

function sh(cmd: string, args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  try {
    const o = new Deno.Command(cmd, { args, env: { SLURM_CONF, ...env }, stdout: "piped", stderr: "piped" }).outputSync();
    return { code: o.code, out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr) };
  } catch (e) {
    return { code: 127, out: (e as Error).message };
  }
}

/** Brings the cluster up if it is not; the reason it cannot, or undefined when it is up. */
let started = false;
function cluster(): string | undefined {
  if (sh("sinfo", ["-h", "-o", "%T"]).out.includes("idle")) return undefined;
  const r = sh("sh", [SCRIPT, "start"], { HPO_SLURM_DIR: DIR });
  if (r.code !== 0) return `Slurm could not start here: ${r.out.trim().split("\n").pop()}`;
  started = true;
  return undefined;
}
const skip = cluster();
if (skip) console.log(`pipeline_slurm_test: SKIPPED: ${skip}`);

type Rec = { stage: string; status: string; job?: string; volatile?: string[]; outputs: Record<string, { digest: string }> };
const manifest = (store: string): { state: string; stages: Rec[] } => JSON.parse(Deno.readTextFileSync(`${store}/manifests/latest.json`));
/** Each stage's outputs apart from those its stage declares volatile (timings, documents that embed them). */
const stable = (store: string) =>
  Object.fromEntries(
    manifest(store).stages.map((r) => [
      r.stage,
      Object.entries(r.outputs).filter(([n]) => !(r.volatile ?? []).includes(n)).map(([n, o]) => `${n}:${o.digest}`),
    ]),
  );
const slurm = (toy: ParallelToy, ...args: string[]) =>
  toy.cliEnv({ TOY_TRACE: toy.traceFile, SLURM_CONF }, "reproduce", "--executor", "slurm", "--slurm-mem", "200", ...args);
/** Starts a two-job Slurm run of the toy into `<toy>/s`, without waiting. */
const spawnSlurm = (toy: ParallelToy) =>
  toy.spawnEnv(
    { TOY_TRACE: toy.traceFile, SLURM_CONF },
    "reproduce",
    "--executor",
    "slurm",
    "--slurm-mem",
    "200",
    "-j",
    "2",
    "--store",
    `${toy.dir}/s`,
  );
/** Waits (up to a minute) until the toy's trace has `n` stage starts. */
async function startsSeen(toy: ParallelToy, n: number, what: string): Promise<void> {
  const end = Date.now() + 60000;
  while (toy.trace().filter((t) => t.event === "start").length < n) {
    assert(Date.now() < end, what);
    await new Promise((r) => setTimeout(r, 200));
  }
}
/** Every "slurm-submitted" event in a store's run logs (all runs). */
const submissions = (store: string): { output: string; sbatch: string[]; resources: { timeMin: number } }[] =>
  [...Deno.readDirSync(`${store}/logs`)].filter((e) => e.name.endsWith(".jsonl") && e.name !== "errors.jsonl")
    .flatMap((e) => Deno.readTextFileSync(`${store}/logs/${e.name}`).trim().split("\n")).map((l) => JSON.parse(l))
    .filter((e) => e.event === "slurm-submitted");
/** Jobs of this store's runs that are queued or running ("id name state"); a finished job may linger as COMPLETING. */
const queue = (store: string) =>
  sh("squeue", ["-h", "-o", "%i %j %T %o"]).out.trim().split("\n").filter((l) => l.includes(store) && !/ COMPLETING /.test(l));

Deno.test({
  name: "--executor slurm: every stage a Slurm job, the artifacts of a local run; a rerun submits nothing",
  ignore: !!skip,
  async fn() {
    const toy = makeParallelToy();
    try {
      toy.write("config.json", `{ "a": 3, "units": [1, 2, 3], "ms": 500 }`);
      const r = await slurm(toy, "-j", "3", "--store", `${toy.dir}/s`);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stderr, /\[unit:1\] running as slurm job \d+/);
      const m = manifest(`${toy.dir}/s`);
      assert(m.stages.every((s) => /^slurm job \d+$/.test(s.job ?? "")), "job ids in the manifest");
      const local = await toy.run("reproduce", "-j", "1", "--store", `${toy.dir}/local`);
      assertEquals(local.code, 0, local.stderr);
      assertEquals(stable(`${toy.dir}/s`), stable(`${toy.dir}/local`));
      const again = await slurm(toy, "--store", `${toy.dir}/s`);
      assertMatch(again.stderr, /0 computed, 5 cached/);
      assert(!/slurm job/.test(again.stderr), "nothing submitted");
      // job scripts and outputs stay in the store's logs
      assert([...Deno.readDirSync(`${toy.dir}/s/logs/slurm`)].some((e) => e.name.endsWith(".out")));
    } finally {
      toy.cleanup();
    }
  },
});

Deno.test({
  name: "--executor slurm: a second run in the same store reads its own jobs' output, not the files of the first run's jobs",
  ignore: !!skip,
  async fn() {
    const toy = makeParallelToy();
    try {
      toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 300 }`);
      const first = await slurm(toy, "-j", "2", "--store", `${toy.dir}/s`);
      assertEquals(first.code, 0, first.stderr);
      const before = manifest(`${toy.dir}/s`).stages.find((r) => r.stage === "unit:1")!.outputs["t.volatile.json"].digest;
      // forced: the same keys, new jobs, new volatile outputs; the job files of the first run are still there
      const second = await slurm(toy, "-j", "2", "--force", "unit:", "--store", `${toy.dir}/s`);
      assertEquals(second.code, 0, second.stderr);
      const rec = manifest(`${toy.dir}/s`).stages.find((r) => r.stage === "unit:1")!;
      assertEquals(rec.status, "computed");
      assert(rec.outputs["t.volatile.json"].digest !== before, "the second run's own output, not the first run's report");
      const outs = [...Deno.readDirSync(`${toy.dir}/s/logs/slurm`)].filter((e) => e.name.endsWith(".out")).map((e) => e.name);
      const submitted = submissions(`${toy.dir}/s`);
      assertEquals(outs.length, submitted.length, `one output file per job of either run: ${outs.join(", ")}`);
      assertEquals(new Set(submitted.map((e) => e.output)).size, submitted.length, "no two jobs share an output file");
    } finally {
      toy.cleanup();
    }
  },
});

Deno.test({
  name: "--executor slurm: a failing job is reported with its log; the others finish",
  ignore: !!skip,
  async fn() {
    const toy = makeParallelToy();
    try {
      toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 200, "fail": [2] }`);
      const r = await slurm(toy, "-j", "2", "--store", `${toy.dir}/s`);
      assertEquals(r.code, 1, r.stderr);
      assertMatch(r.stderr, /\[unit:2\] FAILED \(slurm job \d+\): unit 2 was told to fail/);
      const status = Object.fromEntries(manifest(`${toy.dir}/s`).stages.map((s) => [s.stage, s.status]));
      assertEquals(status, { gen: "computed", "unit:1": "computed", "unit:2": "failed", merge: "pending" });
    } finally {
      toy.cleanup();
    }
  },
});

Deno.test({
  name:
    "--executor slurm: SIGTERM cancels every job (scancel), releases the lock; a job cancelled by someone else is a failure with its log",
  ignore: !!skip,
  async fn() {
    const toy = makeParallelToy();
    try {
      toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 30000 }`);
      const run = spawnSlurm(toy);
      await startsSeen(toy, 2, "two units started");
      assertEquals(queue(`${toy.dir}/s/`).length, 2, queue(`${toy.dir}/s/`).join("; "));
      run.kill("SIGTERM");
      const st = await run.status;
      await run.stdout.cancel();
      await run.stderr.cancel();
      assertEquals(st.code, 143);
      assertEquals(queue(`${toy.dir}/s/`), [], "no job of the run is left");
      assert(!existsSync(`${toy.dir}/s/LOCK`));
      assertEquals(manifest(`${toy.dir}/s`).state, "interrupted");
      // someone else cancels a job: the run reports it, with its log, and the rest goes on
      toy.write("config.json", `{ "a": 3, "units": [1, 2], "ms": 6000 }`);
      const run2 = spawnSlurm(toy);
      await startsSeen(toy, 4, "two units started again");
      const victim = queue(`${toy.dir}/s/`).find((l) => l.includes("unit:1"))!.split(" ")[0];
      sh("scancel", [victim]);
      const out = await run2.output();
      const err = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, err);
      assertMatch(err, new RegExp(`\\[unit:1\\] FAILED \\(slurm job ${victim}\\): slurm job ${victim} was cancelled`));
      assertEquals(manifest(`${toy.dir}/s`).stages.find((s) => s.stage === "unit:2")!.status, "computed");
    } finally {
      toy.cleanup();
    }
  },
});

// The real pipeline on configs/smoke.json (issue 16's test): every stage a Slurm job, where jobs go from the
// config's own `slurm` section (the fixture's only partition; a comment to find in the submissions).
const SMOKE = {
  ...JSON.parse(Deno.readTextFileSync(new URL("../../../configs/smoke.json", import.meta.url))),
  slurm: { partition: "debug", sbatchArgs: ["--comment=from-the-config"] },
};

Deno.test({
  name: "--executor slurm on the real pipeline (configs/smoke.json): the same artifact digests as a sequential local run",
  ignore: !!skip,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "hpo-slurm-real-" });
    const main = new URL("../../../main.ts", import.meta.url).pathname;
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "reproduce", "--config", `${dir}/c.json`, "--no-export", "--quiet", ...args],
        env: { NO_COLOR: "1", SLURM_CONF },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    try {
      Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify(SMOKE));
      const viaSlurm = await cli("--executor", "slurm", "--slurm-mem", "1024", "--store", `${dir}/slurm`);
      assertEquals(viaSlurm.code, 0, viaSlurm.stderr);
      const local = await cli("--jobs", "1", "--store", `${dir}/local`);
      assertEquals(local.code, 0, local.stderr);
      const a = stable(`${dir}/slurm`), b = stable(`${dir}/local`);
      assertEquals(a, b);
      assert(Object.values(a).flat().length > 20, "compared the stable outputs of every stage");
      const m = manifest(`${dir}/slurm`);
      assert(m.stages.filter((s) => s.status === "computed").every((s) => /^slurm job \d+$/.test(s.job ?? "")));
      // the config's partition and sbatch arguments reached every submission; stages declare their own time limits
      const submitted = submissions(`${dir}/slurm`);
      assert(submitted.length > 5, `${submitted.length} submissions logged`);
      for (const e of submitted) {
        assert(e.sbatch.includes("--partition=debug") && e.sbatch.includes("--comment=from-the-config"), JSON.stringify(e.sbatch));
      }
      assert(new Set(submitted.map((e) => e.resources.timeMin)).size > 1, "stages declare different time limits");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// Teardown, not a test: the cluster this file started is stopped when the file's tests are done (also under --filter).
globalThis.addEventListener("unload", () => {
  if (started) sh("sh", [SCRIPT, "stop"], { HPO_SLURM_DIR: DIR });
});

function existsSync(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
