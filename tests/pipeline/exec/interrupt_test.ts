// Interruption says what it kept: SIGTERM, SIGINT or SIGHUP to a real `reproduce` process, with --jobs 1
// (the stage computes synchronously in that very process) and --jobs 2 (children), and the closing line.
import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { makeParallelToy, type ParallelToy } from "../../fixtures/parallel_toy.ts";
import { PROJECT_ROOT } from "../../fixtures/toy_project.ts";

const CLI_URL = new URL("../../../pipeline/cli/cli.ts", import.meta.url).href;
const CONFIG_LOADER_URL = new URL("../../../pipeline/config.ts", import.meta.url).href;

// spin:i holds its thread for `ms` without ever awaiting (as a TensorFlow.js training does), reporting
// progress every 50 ms unless told not to.
const SPIN = `import { z } from "zod";
import { trace } from "../trace.ts";
export const spin = (i: number, params: unknown) => ({
  name: \`spin:\${i}\`, module: import.meta.url, deps: [{ stage: "gen" }],
  schema: z.object({ i: z.number(), ms: z.number(), progress: z.boolean() }), params,
  run(ctx: any) {
    trace("start", \`spin:\${i}\`);
    const steps = Math.max(1, Math.round(ctx.params.ms / 50));
    for (let s = 1; s <= steps; s++) {
      const until = Date.now() + ctx.params.ms / steps;
      while (Date.now() < until) { /* busy */ }
      if (ctx.params.progress) ctx.progress(s, steps);
    }
    trace("end", \`spin:\${i}\`);
    return Promise.resolve({ "s.json": new TextEncoder().encode(JSON.stringify({ i })) });
  },
});
`;
const MAIN = `import { cliMain } from "${CLI_URL}";
import { loadJsonConfig } from "${CONFIG_LOADER_URL}";
import { z } from "zod";
import { gen } from "./stages/gen.ts";
import { spin } from "./stages/spin.ts";
const Schema = z.object({ a: z.number(), units: z.array(z.number()), ms: z.number(), progress: z.boolean().default(true) });
const root = new URL(".", import.meta.url).pathname.replace(/\\/$/, "");
Deno.exit(await cliMain({
  projectRoot: root, defaultConfig: "config.json", envPrefix: "HPO",
  loadConfig: (p, o) => loadJsonConfig(p, Schema, o),
  parseConfig: (raw) => Schema.parse(raw),
  buildStages: (c) => [gen({ a: c.a }), ...c.units.map((i) => spin(i, { i, ms: c.ms, progress: c.progress }))] as any,
  sandbox: { denoConfig: "${PROJECT_ROOT}deno.json" },
}, Deno.args));
`;

function spinToy(config: Record<string, unknown>): ParallelToy {
  const toy = makeParallelToy();
  toy.write("stages/spin.ts", SPIN);
  toy.write("main.ts", MAIN);
  toy.write("config.json", JSON.stringify({ a: 3, ...config }));
  return toy;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `reproduce`, sends `signal` once `ready` holds, and returns its exit code and stderr. */
async function interrupt(toy: ParallelToy, args: string[], signal: Deno.Signal, ready: () => boolean) {
  const run = toy.start("reproduce", ...args);
  const err = new Response(run.stderr).text();
  await waitFor(ready, 60000, "the stages to start");
  const children = toy.trace().map((t) => t.pid).filter((p) => p !== run.pid);
  const t0 = Date.now();
  run.kill(signal);
  const st = await run.status;
  await run.stdout.cancel();
  return { code: st.code, stderr: await err, ms: Date.now() - t0, children };
}

const started = (toy: ParallelToy, stage: string) => () => toy.trace().some((t) => t.event === "start" && t.stage === stage);
const lastLine = (s: string) => s.trim().split("\n").pop()!;

Deno.test("--jobs 1: SIGTERM mid-stage (a stage that never awaits) ends the run at its next progress step and says what it kept", async () => {
  const toy = spinToy({ units: [1, 2, 3], ms: 1500 });
  try {
    const store = `${toy.dir}/s`;
    const r = await interrupt(toy, ["--jobs", "1", "--store", store], "SIGTERM", started(toy, "spin:2"));
    assertEquals(r.code, 143, r.stderr);
    assert(r.ms < 2500, `stopped at a progress step, not at the stage's end (${r.ms} ms)`);
    assertEquals(
      lastLine(r.stderr),
      `interrupted by SIGTERM: 2 stages kept (0 cached, 2 computed this run), 1 lost mid-way (spin:2); ` +
        `resume with: deno run -A main.ts reproduce --jobs 1 --store ${store}`,
    );
    assert(!toy.trace().some((t) => t.event === "end" && t.stage === "spin:2"), "spin:2 did not finish");
    const m = JSON.parse(Deno.readTextFileSync(`${store}/manifests/latest.json`));
    assertEquals(m.state, "interrupted");
    assertEquals(m.stages.map((s: { stage: string }) => s.stage), ["gen", "spin:1"]);
    // the resume command, run as printed: what was kept is cached
    const again = await toy.run("reproduce", "--jobs", "1", "--store", store);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /2 computed, 2 cached/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("--jobs 2: SIGTERM ends both children and counts them lost; SIGINT and SIGHUP exit 130 and 129", async () => {
  const toy = spinToy({ units: [1, 2, 3], ms: 20000 });
  try {
    const store = `${toy.dir}/s`;
    const both = () => started(toy, "spin:1")() && started(toy, "spin:2")();
    const r = await interrupt(toy, ["-j", "2", "--store", store], "SIGTERM", both);
    assertEquals(r.code, 143, r.stderr);
    assertMatch(
      lastLine(r.stderr),
      new RegExp(
        `^interrupted by SIGTERM: 1 stage kept \\(0 cached, 1 computed this run\\), 2 lost mid-way \\(spin:[12], spin:[12]\\); ` +
          `resume with: deno run -A main.ts reproduce -j 2 --store ${store}$`,
      ),
    );
    assertEquals(r.children.length, 2);
    for (const pid of r.children) assert(!alive(pid), `child ${pid} is gone`);
    for (const [sig, code] of [["SIGINT", 130], ["SIGHUP", 129]] as const) {
      Deno.writeTextFileSync(toy.traceFile, "");
      const s = await interrupt(toy, ["-j", "2", "--store", store], sig, both);
      assertEquals(s.code, code, s.stderr);
      // gen is cached now
      assertMatch(
        lastLine(s.stderr),
        new RegExp(`^interrupted by ${sig}: 1 stage kept \\(1 cached, 0 computed this run\\), 2 lost mid-way`),
      );
      for (const pid of s.children) assert(!alive(pid), `child ${pid} is gone`);
    }
    assert(!Deno.readDirSync(store).some((e) => e.name === "LOCK"), "the lock is released");
  } finally {
    toy.cleanup();
  }
});

Deno.test("--jobs 1, a stage that neither awaits nor reports progress: the watch says the line and ends the process itself", async () => {
  const toy = spinToy({ units: [1], ms: 12000, progress: false });
  try {
    const store = `${toy.dir}/s`;
    const r = await interrupt(toy, ["--jobs", "1", "--store", store], "SIGTERM", started(toy, "spin:1"));
    // SIGKILL is the only way a worker thread can end its process
    assertEquals(r.code, 137, r.stderr);
    assert(r.ms < 8000, `ended after the grace period, not the stage (${r.ms} ms)`);
    assertMatch(
      lastLine(r.stderr),
      /^interrupted by SIGTERM: 1 stage kept \(0 cached, 1 computed this run\), 1 lost mid-way \(spin:1\); resume with: deno run -A main\.ts reproduce --jobs 1 --store /,
    );
    // the dead run's lock is taken over and the kept stage is reused
    toy.write("config.json", JSON.stringify({ a: 3, units: [1], ms: 10, progress: false }));
    const again = await toy.run("reproduce", "--jobs", "1", "--store", store);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /1 computed, 1 cached/);
  } finally {
    toy.cleanup();
  }
});
