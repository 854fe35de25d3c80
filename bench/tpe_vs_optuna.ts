// This TPE (search/tpe.ts) against Optuna 3.1's TPESampler on the search space of the protocol (layers int
// 0..3, neurons int 1..15, log10 λ float on [−5, −1]) and a cheap deterministic objective with a known
// optimum (no training), `--seeds` studies × `--trials` trials each. Prints the distribution of the best
// value after 10, 20 and 40 trials (median and quartiles) for this TPE, Optuna's, and random search, and
// two-sample tests (Mann-Whitney U and Kolmogorov-Smirnov, with p-values) of this TPE against Optuna's.
// Then a sharper check, one step: from the same history of 20 and of 35 random trials, one proposal per seed
// (2000 seeds) by each, and the tests on each parameter's proposals.
// Optuna runs as a peer (bench/peers/optuna_tpe.py) under Debian's python3-optuna; without it, the peer's
// rows are skipped with a line saying how to install it.
// Run: deno run -A bench/tpe_vs_optuna.ts [--seeds 100] [--trials 40] [--batches 1,2,5] [--multivariate] [--step-seeds 2000]
import { Rng } from "../data/rng.ts";
import { genomeTpeCodec, genomeTpeSampler, proposeTpe, type TpeSettings, tpeSettings } from "../search/tpe.ts";
import { RandomSampler } from "../search/samplers.ts";
import type { Genome, SearchSpace } from "../search/space.ts";
import { ks2Sample, mannWhitneyU } from "./tpe_two_sample.ts";
import { printTable } from "./_util.ts";

const SPACE: SearchSpace = { maxLayers: 3, maxNeurons: 15, log10LambdaMin: -5, log10LambdaMax: -1 };

/** The synthetic objective: 0 at 2 layers × 11 neurons, log10 λ = −3.3; the peer's objective_value is the same. */
export function objective(g: Genome): number {
  return 0.3 * Math.abs(g.layers - 2) + ((g.neurons - 11) / 5) ** 2 + 0.5 * (g.log10Lambda + 3.3) ** 2;
}

function numberArg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return fallback;
  const v = Number(Deno.args[at + 1]);
  if (!(Number.isInteger(v) && v >= 1)) {
    console.error(`${name}: expected a whole number ≥ 1, got ${Deno.args[at + 1] ?? "nothing"}`);
    Deno.exit(2);
  }
  return v;
}

const seeds = numberArg("--seeds", 100);
const trials = numberArg("--trials", 40);
const batchesAt = Deno.args.indexOf("--batches");
const batches = batchesAt >= 0 ? Deno.args[batchesAt + 1]?.split(",").map(Number) ?? [] : [1, 2, 5];
if (!batches.length || batches.some((b) => !(Number.isInteger(b) && b >= 1))) {
  console.error(`--batches: expected whole numbers ≥ 1 separated by commas, e.g. 1,2,5; got ${Deno.args[batchesAt + 1] ?? "nothing"}`);
  Deno.exit(2);
}
const multivariate = Deno.args.includes("--multivariate");
const checkpoints = [10, 20, 40].filter((k) => k <= trials);

/** Each seed's objective values in trial order. */
type Runs = number[][];

function runOurs(settings: Partial<TpeSettings>): { runs: Runs; seconds: number } {
  const t0 = performance.now();
  const runs = Array.from({ length: seeds }, (_, seed) => {
    const sampler = genomeTpeSampler(SPACE, trials, new Rng(seed), settings);
    const values: number[] = [];
    for (let batch = sampler.ask(); batch.length; batch = sampler.ask()) {
      const obs = batch.map((genome) => ({ genome, fitness: objective(genome) }));
      values.push(...obs.map((o) => o.fitness));
      sampler.tell(obs);
    }
    return values;
  });
  return { runs, seconds: (performance.now() - t0) / 1000 };
}

function runRandom(): Runs {
  return Array.from({ length: seeds }, (_, seed) => new RandomSampler(SPACE, trials, new Rng(1_000_000 + seed)).ask().map(objective));
}

/** The Python with Optuna importable, and its version. */
function optunaPython(): { py: string; version: string } | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      const r = new Deno.Command(py, { args: ["-c", "import optuna; print(optuna.__version__)"], stdout: "piped", stderr: "null" })
        .outputSync();
      if (r.success) return { py, version: new TextDecoder().decode(r.stdout).trim() };
    } catch { /* not there */ }
  }
  return undefined;
}

async function runOptuna(py: string, variant: "independent" | "multivariate"): Promise<{ runs: Runs; seconds: number }> {
  const t0 = performance.now();
  const peer = new URL("./peers/optuna_tpe.py", import.meta.url).pathname;
  const out = await new Deno.Command(py, { args: [peer, "0", String(seeds), String(trials), variant], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`the Optuna peer failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  const parsed = JSON.parse(new TextDecoder().decode(out.stdout)) as { runs: { values: number[]; params: number[][] }[] };
  // the peer's objective must be this one: recompute every value from its parameters
  for (const r of parsed.runs) {
    r.params.forEach(([layers, neurons, log10Lambda], i) => {
      const mine = objective({ layers, neurons, log10Lambda });
      if (Math.abs(mine - r.values[i]) > 1e-12) throw new Error(`the peer's objective differs: ${r.values[i]} against ${mine}`);
    });
  }
  return { runs: parsed.runs.map((r) => r.values), seconds: (performance.now() - t0) / 1000 };
}

const bestAfter = (runs: Runs, k: number) => runs.map((v) => Math.min(...v.slice(0, k)));

function quantile(xs: number[], q: number): number {
  // linear interpolation between order statistics (numpy's default)
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q, lo = Math.floor(h);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (h - lo);
}

const fmt = (x: number) => x.toPrecision(3);
function distributionRow(name: string, runs: Runs, seconds?: number): Record<string, string | number> {
  const row: Record<string, string | number> = { sampler: name };
  for (const k of checkpoints) {
    const b = bestAfter(runs, k);
    row[`best after ${k}: median [q1, q3]`] = `${fmt(quantile(b, 0.5))} [${fmt(quantile(b, 0.25))}, ${fmt(quantile(b, 0.75))}]`;
  }
  row["s per study"] = seconds === undefined ? "" : (seconds / seeds).toFixed(3);
  return row;
}

function testRow(name: string, a: Runs, b: Runs): Record<string, string | number> {
  const row: Record<string, string | number> = { comparison: name };
  for (const k of checkpoints) {
    const [x, y] = [bestAfter(a, k), bestAfter(b, k)];
    row[`after ${k}: MWU p`] = mannWhitneyU(x, y).p.toFixed(3);
    row[`after ${k}: KS D, p`] = `${ks2Sample(x, y).d.toFixed(2)}, ${ks2Sample(x, y).p.toFixed(3)}`;
  }
  return row;
}

console.log(`# TPE against Optuna: ${seeds} seeds × ${trials} trials, objective minimum 0 at 2 layers × 11 neurons, log10 λ = −3.3`);
const ours = runOurs({ batchSize: 1, multivariate });
const ours31 = runOurs({ batchSize: 1, multivariate, optuna31LogPdf: true });
const byBatch = batches.filter((b) => b !== 1).map((b) => ({ b, r: runOurs({ batchSize: b, multivariate }) }));
const random = runRandom();
const found = optunaPython();
const optuna = found ? await runOptuna(found.py, multivariate ? "multivariate" : "independent") : undefined;
const variant = multivariate ? "multivariate" : "independent";

printTable(`Best value after k trials (${variant} TPE)`, [
  distributionRow("this TPE, batch 1", ours.runs, ours.seconds),
  distributionRow("this TPE, Optuna 3.1.0's density (no −log σ), batch 1", ours31.runs, ours31.seconds),
  ...byBatch.map(({ b, r }) => distributionRow(`this TPE, batch ${b} (constant liar)`, r.runs, r.seconds)),
  ...(optuna ? [distributionRow(`Optuna ${found!.version} TPESampler`, optuna.runs, optuna.seconds)] : []),
  distributionRow("random search", random),
]);
if (!optuna) {
  console.log(
    "\nOptuna peer skipped: no python3 imports optuna. Install Debian's: apt-get update && apt-get install -y python3-optuna",
  );
}
const tests = [
  ...(optuna
    ? [
      testRow("this TPE vs Optuna", ours.runs, optuna.runs),
      testRow("this TPE (3.1.0 density) vs Optuna", ours31.runs, optuna.runs),
      testRow("random search vs Optuna (the tests' power)", random, optuna.runs),
    ]
    : []),
  testRow("random search vs this TPE", random, ours.runs),
  ...byBatch.map(({ b, r }) => testRow(`this TPE batch ${b} vs batch 1`, r.runs, ours.runs)),
];
printTable("Two-sample tests, two-sided (p < 0.05: the distributions differ)", tests);

/** One proposal per seed from the peer's history, by Optuna and by this TPE (both densities). */
async function stepCheck(py: string, length: number, count: number): Promise<Record<string, string | number>[]> {
  const peer = new URL("./peers/optuna_tpe.py", import.meta.url).pathname;
  const out = await new Deno.Command(py, { args: [peer, "step", String(count), String(length)], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`the Optuna peer failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  const { history, proposals } = JSON.parse(new TextDecoder().decode(out.stdout)) as { history: number[][]; proposals: number[][] };
  const told = history.map((h) => ({ x: h.slice(0, 3), y: h[3] }));
  const dists = genomeTpeCodec(SPACE).dists;
  const rows = [];
  for (const optuna31LogPdf of [false, true]) {
    const settings = tpeSettings({ optuna31LogPdf });
    const ours = Array.from({ length: count }, (_, s) => {
      const rng = new Rng(s);
      return proposeTpe({ dists, told, settings }, { startup: rng.fork("startup"), model: rng.fork("model") });
    });
    const row: Record<string, string | number> = {
      history: length,
      "this TPE's density": optuna31LogPdf ? "Optuna 3.1.0's" : "normalised",
    };
    ["layers", "neurons", "log10 λ"].forEach((name, p) => {
      const [a, b] = [ours.map((x) => x[p]), proposals.map((x) => x[p])];
      const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
      row[`${name}: mean this / Optuna`] = `${mean(a).toFixed(3)} / ${mean(b).toFixed(3)}`;
      row[`${name}: MWU p, KS p`] = `${mannWhitneyU(a, b).p.toFixed(3)}, ${ks2Sample(a, b).p.toFixed(3)}`;
    });
    rows.push(row);
  }
  return rows;
}

if (found && !multivariate) {
  const steps = numberArg("--step-seeds", 2000);
  printTable(
    `One step from the same history: ${steps} proposals each (this TPE's seeds 0..${steps - 1}, Optuna's 0..${steps - 1})`,
    [...(await stepCheck(found.py, 20, steps)), ...(await stepCheck(found.py, 35, steps))],
  );
}
