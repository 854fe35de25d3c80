// Wall time of `reproduce --jobs 1` against `--jobs N` (default 2) with workers that stay up, and against
// `--jobs N --isolate` (a fresh process for every stage), with the speedups, medians of --reps runs.
//
//   deno run -A bench/parallel.ts                      # CPU-bound toy: gen → 4 independent units → merge
//   deno run -A bench/parallel.ts --smoke              # configs/smoke.json's search units (search-seed:*, merges)
//   deno run -A bench/parallel.ts --config configs/default.json   # the protocol's search units (hours)
//   deno run -A bench/parallel.ts --config configs/default.json --store DIR \
//     --only hls-ablation:mnist:short,search:mnist:short: --force hls-ablation-variant:mnist:short,search-seed:mnist:short \
//     --set hlsAblation.seeds=[1,2] --set search.seeds=[1,2]    # chosen units on a store that holds their inputs
//   options: --jobs N (default 2), --reps K (default 3), --units U and --iters I (toy size),
//            --only, --force, --set (repeatable), --store (kept; default: a fresh one, filled first),
//            --executor slurm (the N-job runs go through Slurm; $SLURM_CONF names the cluster, see
//            tests/fixtures/slurm_cluster.sh), --slurm-mem MB
//
// The toy's units are a deterministic integer loop (no I/O), so the toy measures the engine's parallelism
// (process start-up, scheduling) on its own; the config modes measure the real stages (TensorFlow.js wasm,
// one thread each). For a config, the store is filled once with everything the search units need
// (`--only search:`), then each timed run forces the search units and their merges. The load average is
// printed before and after each run: on a shared machine the figures mean little unless it is idle.
import { parseArgs } from "node:util";
import { makeParallelToy } from "../tests/fixtures/parallel_toy.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    smoke: { type: "boolean" },
    config: { type: "string" },
    jobs: { type: "string", default: "2" },
    reps: { type: "string", default: "3" },
    units: { type: "string", default: "4" },
    iters: { type: "string", default: "400000000" },
    executor: { type: "string", default: "local" },
    "slurm-mem": { type: "string", default: "512" },
    only: { type: "string", default: "search:" },
    force: { type: "string", default: "search-seed:,search:" },
    set: { type: "string", multiple: true, default: [] },
    store: { type: "string" },
  },
});
const jobs = Number(values.jobs);
const reps = Number(values.reps);
const root = new URL("..", import.meta.url).pathname;
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The executor flags of a run with j jobs (a 1-job run is always the sequential, in-process one). */
const via = (j: number) => (j > 1 && values.executor === "slurm" ? ["--executor", "slurm", "--slurm-mem", values["slurm-mem"]!] : []);

/** One way of running: the flags it adds to reproduce. */
interface Mode {
  label: string;
  args: string[];
}

const MODES: Mode[] = [
  { label: "--jobs 1", args: ["--jobs", "1"] },
  { label: `--jobs ${jobs}`, args: ["--jobs", String(jobs), ...via(jobs)] },
  ...(values.executor === "local" ? [{ label: `--jobs ${jobs} --isolate`, args: ["--jobs", String(jobs), "--isolate"] }] : []),
];

interface Runner {
  label: string;
  prepare(): Promise<void>;
  run(mode: Mode): Promise<number>;
  cleanup(): void;
}

async function timed(cmd: Deno.Command): Promise<number> {
  const t0 = performance.now();
  const out = await cmd.output();
  const s = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`run failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  return s;
}

function toyRunner(): Runner {
  const toy = makeParallelToy();
  const units = Array.from({ length: Number(values.units) }, (_, i) => i + 1);
  toy.write("config.json", JSON.stringify({ a: 3, units, iters: Number(values.iters), ms: 0 }));
  let n = 0;
  const cmd = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", `${root}deno.json`, `${toy.dir}/main.ts`, ...args],
      cwd: toy.dir,
      env: { TOY_COUNT: `${toy.dir}/counts.txt`, TOY_TRACE: toy.traceFile },
      stdout: "null",
      stderr: "piped",
    });
  return {
    label: `toy: gen → ${units.length} CPU-bound units (${values.iters} xorshift steps each) → merge`,
    prepare: () => Promise.resolve(),
    // a fresh store per run: every stage computes
    run: (m) => timed(cmd(["reproduce", ...m.args, "--quiet", "--store", `${toy.dir}/store-${n++}`])),
    cleanup: () => toy.cleanup(),
  };
}

function configRunner(config: string): Runner {
  const store = values.store ?? Deno.makeTempDirSync({ prefix: "hpo-bench-parallel-" });
  const sets = values.set!.flatMap((s) => ["--set", s]);
  const base = [
    "run",
    "-A",
    "--quiet",
    `${root}main.ts`,
    "reproduce",
    "--config",
    config,
    "--store",
    store,
    "--no-export",
    "--quiet",
    ...sets,
  ];
  const cmd = (extra: string[]) =>
    new Deno.Command(Deno.execPath(), { args: [...base, ...extra], cwd: root, stdout: "null", stderr: "piped" });
  return {
    label: `${config}: --only ${values.only} --force ${values.force}${sets.length ? ` ${sets.join(" ")}` : ""}`,
    // everything the forced units need, once, then the units themselves (not timed)
    prepare: async () => void (await timed(cmd(["--only", values.only!, "--jobs", String(jobs)]))),
    run: (m) => timed(cmd(["--only", values.only!, "--force", values.force!, ...m.args])),
    cleanup: () => values.store === undefined && Deno.removeSync(store, { recursive: true }),
  };
}

const runner = values.smoke || values.config ? configRunner(values.config ?? "configs/smoke.json") : toyRunner();
try {
  console.log(`bench/parallel: ${runner.label}${values.executor === "slurm" ? " (--jobs N through Slurm)" : ""}`);
  console.log(`cores ${navigator.hardwareConcurrency}, load average before ${load()}`);
  await runner.prepare();
  const times = MODES.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    // alternate the order so a change of load hits every mode alike
    const order = MODES.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const before = load();
      const s = await runner.run(MODES[i]);
      times[i].push(s);
      console.log(`  run ${r + 1} ${MODES[i].label}: ${s.toFixed(1)} s (load ${before} → ${load()})`);
    }
  }
  const m1 = median(times[0]);
  for (const [i, m] of MODES.entries()) {
    const mi = median(times[i]);
    const vs = i ? `, ${(m1 / mi).toFixed(2)}× over --jobs 1` : "";
    console.log(`${m.label}: median ${mi.toFixed(1)} s of [${times[i].map((t) => t.toFixed(1)).join(", ")}]${vs}`);
  }
  console.log(`load average after ${load()}`);
} finally {
  runner.cleanup();
}
