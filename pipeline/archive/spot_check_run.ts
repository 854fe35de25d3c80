// Recomputing archived stages one by one, each from its archived inputs: the objects a chosen stage reads
// are extracted from the archive into a scratch store, then a `run-stage` child (in the sandbox the caller
// builds) computes the stage under the archived key, and its outputs are compared with the archived ones.
// A stage is recomputed only when this checkout derives the very key the archive records (same parameters,
// inputs and code): the child refuses any other key.
import type { StageJobSpec } from "../exec/executor.ts";
import { handleChildLine, type JobReport, readLines } from "../exec/executor.ts";
import type { Manifest, StageRecord } from "../store/manifest.ts";
import { volatileTest } from "../plan/keys.ts";
import { compareOutputs } from "./compare_outputs.ts";
import type { Stage } from "../stage.ts";
import { scanTar } from "../../util/tar.ts";
import { DEFAULT_NAMES, type EngineNames } from "../names.ts";
import { printable } from "../printable.ts";
import { claimStore } from "../store/store_root.ts";

/** The outcome of recomputing one stage. */
export interface SpotOutcome {
  stage: string;
  /** same: every non-volatile output recomputed byte for byte; differs: at least one did not; not-recomputed: see why. */
  verdict: "same" | "differs" | "not-recomputed";
  mismatches: string[];
  volatileDiffs: number;
  why?: string;
  wallMs: number;
}

/** How the caller runs a `run-stage` child for a spec (its sandbox and flags). */
export type ChildArgs = (specPath: string, storeRoot: string) => string[];

/** Options of recomputeStages. */
export interface RecomputeOptions {
  archivePath: string;
  manifest: Manifest;
  /** The verifier's own stages for the archived config (their volatile declarations are used, never the archive's). */
  stages: readonly Stage[];
  chosen: readonly string[];
  /** The config the children parse (the archived one, as the experiment's rerun policy leaves it). */
  config: unknown;
  /** An empty scratch directory (the caller removes it). */
  scratch: string;
  childArgs: ChildArgs;
  /** How many children at once. */
  jobs: number;
  names?: EngineNames;
  /** Told as each stage ends. */
  onOutcome?(o: SpotOutcome, done: number, total: number): void;
  /** What a child says on stderr or as text (for --debug or a failure). */
  onChildLine?(stage: string, line: string): void;
}

/** Recomputes each chosen stage from its archived inputs and compares its outputs with the archived ones. */
export async function recomputeStages(o: RecomputeOptions): Promise<SpotOutcome[]> {
  const records = new Map(o.manifest.stages.map((r) => [r.stage, r]));
  const storeRoot = `${o.scratch}/store`;
  await claimStore(storeRoot, { via: "verify's scratch store" });
  await extractInputs(o, records, storeRoot);
  const outcomes: SpotOutcome[] = [];
  const queue = [...o.chosen];
  let done = 0;
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const outcome = await recomputeOne(o, records, name, storeRoot);
      outcomes.push(outcome);
      o.onOutcome?.(outcome, ++done, o.chosen.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, o.chosen.length)) }, worker));
  const order = new Map(o.chosen.map((s, i) => [s, i]));
  return outcomes.sort((a, b) => order.get(a.stage)! - order.get(b.stage)!);
}

/** The upstream objects every chosen stage reads, copied from the archive into the scratch store. */
async function extractInputs(o: RecomputeOptions, records: Map<string, StageRecord>, storeRoot: string): Promise<void> {
  const want = new Map<string, number>();
  for (const name of o.chosen) {
    const rec = records.get(name)!;
    for (const up of Object.keys(rec.inputs)) {
      for (const ref of Object.values(records.get(up)?.outputs ?? {})) want.set(ref.digest, ref.size);
    }
  }
  if (!want.size) return;
  const extractTo = `${o.scratch}/extract`;
  await Deno.mkdir(extractTo, { recursive: true });
  const scan = await scanTar(o.archivePath, {
    limits: { maxMembers: 1_000_000, maxTotalBytes: Number.MAX_SAFE_INTEGER },
    policy: (name) => {
      const size = name.startsWith("objects/") ? want.get(name.slice("objects/".length)) : undefined;
      // every other member is streamed past, however large (an archive's populations and data sets are MBs)
      return size === undefined ? { read: false, unwanted: true } : { read: true, maxBytes: size };
    },
    extractTo,
  });
  for (const m of scan.members) {
    const digest = m.name.slice("objects/".length);
    if (m.sha256 !== digest) continue; // the static check already reported it; the stage then reads no input
    const dest = `${storeRoot}/objects/${digest.slice(0, 2)}`;
    await Deno.mkdir(dest, { recursive: true });
    await Deno.rename(`${extractTo}/${m.name}`, `${dest}/${digest}`);
  }
}

/** One stage: write its spec, run the child, compare. */
async function recomputeOne(o: RecomputeOptions, records: Map<string, StageRecord>, name: string, storeRoot: string): Promise<SpotOutcome> {
  const rec = records.get(name)!;
  const stage = o.stages.find((s) => s.name === name);
  const t0 = performance.now();
  const fail = (why: string): SpotOutcome => ({
    stage: name,
    verdict: "not-recomputed",
    mismatches: [],
    volatileDiffs: 0,
    why,
    wallMs: performance.now() - t0,
  });
  if (!stage) return fail("this checkout's DAG for the archived config has no such stage");
  if (!rec.key) return fail("the archive records no key for it");
  const inputs: StageJobSpec["inputs"] = {};
  for (const [up, digests] of Object.entries(rec.inputs)) {
    if ("#not-run" in digests) inputs[up] = { notRun: digests["#not-run"] };
    else inputs[up] = { outputs: records.get(up)?.outputs ?? {} };
  }
  const spec: StageJobSpec = {
    version: 1,
    runId: `verify-spot-${name}`,
    stage: name,
    key: rec.key,
    codeDigest: rec.codeDigest ?? "",
    config: o.config,
    inputs,
    force: true,
  };
  const specPath = `${o.scratch}/spec-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(specPath, JSON.stringify(spec));
  const report = await runChild(o, name, specPath, storeRoot);
  if (report.status === "failed") return fail(`the recomputation failed: ${report.message.split("\n")[0]}`);
  if (report.status === "damaged") return fail(`an archived input could not be read: ${report.message.split("\n")[0]}`);
  if (report.status === "not-run") return fail(`it could not run here: ${report.reason}`);
  const diff = compareOutputs(rec.outputs, report.outputs, volatileTest(stage));
  const mismatches = diff.mismatches.map((m) =>
    `${printable(name)}/${printable(m.file)}: archived ${m.archived ?? "missing"}, recomputed ${m.recomputed ?? "missing"}`
  );
  return {
    stage: name,
    verdict: mismatches.length ? "differs" : "same",
    mismatches,
    volatileDiffs: diff.volatileDiffs,
    wallMs: performance.now() - t0,
  };
}

/** Runs one `run-stage` child and returns its report (a failure report when it ends without one). */
async function runChild(o: RecomputeOptions, stage: string, specPath: string, storeRoot: string): Promise<JobReport> {
  const names = o.names ?? DEFAULT_NAMES;
  const child = new Deno.Command(Deno.execPath(), {
    args: o.childArgs(specPath, storeRoot),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let report: JobReport | undefined;
  const tail: string[] = [];
  const say = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    o.onChildLine?.(stage, line);
  };
  const sink = { say, event() {}, progress() {} };
  await Promise.all([
    readLines(child.stdout, (line) => (report = handleChildLine(stage, line, sink, names.protocol) ?? report)).catch(() => {}),
    readLines(child.stderr, say).catch(() => {}),
  ]);
  const st = await child.status;
  return report ?? {
    status: "failed",
    message: `the child exited with code ${st.code} without a result${tail.length ? `: ${tail.at(-1)}` : ""}`,
  };
}
