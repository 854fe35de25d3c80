// `verify ARCHIVE [--rerun [--sample K | --budget MIN] [--stage NAME]...]`: checks an archive without trusting
// it and, with --rerun, recomputes it in a sandboxed child process and a temporary store, then compares every
// output digest: the whole config at once, or (a spot check, or an archive whose code differs from this
// checkout's) stage by stage, each from its archived inputs.
import { dirname, resolve } from "node:path";
import type { CommandContext } from "./cli_args.ts";
import { list, usage } from "./cli_args.ts";
import { UserError } from "../errors.ts";
import type { CodeState, VerifyReport } from "../archive/archive.ts";
import type { Experiment } from "../plan/experiment.ts";
import { defaultJobs } from "../exec/executor.ts";
import { exists } from "../store/fs_atomic.ts";
import { type Manifest, readManifest } from "../store/manifest.ts";
import { printable } from "../printable.ts";
import { assuranceLines, newNonce, planSpotCheck, type SpotCandidate, type SpotRequest } from "../archive/spot_check.ts";

/** Runs `verify`: 0 verified, 1 a problem (or a rerun that differs), 2 not an archive of this pipeline. */
export async function verifyCommand<C>(c: CommandContext<C>): Promise<number> {
  const { exp, values } = c;
  const archive = c.rest[0];
  if (!archive) throw new UserError(`verify needs the archive path\n${usage(c.names)}`);
  const spot = spotRequest(c);
  if (spot && !values.rerun) throw new UserError(`--sample, --budget, --stage and --nonce choose what --rerun recomputes: add --rerun`);
  const { verifyArchive } = await import("../archive/archive.ts"); // (with tar-stream: loaded for archive and verify only)
  const rep = await verifyArchive({
    path: resolve(archive),
    parseConfig: exp.parseConfig,
    buildStages: exp.buildStages,
    projectRoot: exp.projectRoot,
    importMap: exp.importMap,
  });
  printVerify(rep, !!values.debug, archive);
  if (rep.verdict === "not-archive") return 2;
  if (!rep.ok || !values.rerun) return rep.ok ? 0 : 1;
  const codeDiffers = !!rep.code?.differingFiles.length;
  if (spot || codeDiffers) return await rerunStages(c, rep, spot ?? { nonce: "", named: [] }, resolve(archive));
  return await rerunSandboxed(c, rep);
}

/** The spot check the command line asks for, or undefined for a whole rerun. */
function spotRequest<C>(c: CommandContext<C>): SpotRequest | undefined {
  const v = c.values;
  const whole = (name: string, raw: string | undefined, min: number) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (name === "--sample" && !Number.isInteger(n))) {
      throw new UserError(`${name} expects ${name === "--sample" ? "a whole number" : "a number of minutes"} >= ${min}, got '${raw}'`);
    }
    return n;
  };
  const sample = whole("--sample", v.sample, 1);
  const budgetMinutes = whole("--budget", v.budget, 0.1);
  const named = (v.stage ?? []).flatMap((s) => list(s) ?? []);
  if (v.stage && !named.length) throw new UserError(`--stage expects stage names or prefixes ending in ':', got an empty list`);
  if (v.nonce !== undefined && !/^[0-9a-f]{8,64}$/.test(v.nonce)) {
    throw new UserError(`--nonce expects 8 to 64 lower-case hex digits (as a spot check prints), got '${printable(v.nonce)}'`);
  }
  if (sample === undefined && budgetMinutes === undefined && !named.length && v.nonce === undefined) return undefined;
  if (v.nonce !== undefined && sample === undefined && budgetMinutes === undefined) {
    throw new UserError(`--nonce repeats a random draw: give --sample K or --budget MINUTES with it`);
  }
  return { sample, budgetMinutes, named, nonce: v.nonce ?? newNonce() };
}

function printVerify(rep: VerifyReport, debug: boolean, archive: string): void {
  const memory = debug ? ` (peak memory ${(rep.peakRss / 1e6).toFixed(0)} MB)` : "";
  if (rep.verdict === "not-archive") {
    console.error(`error: ${printable(rep.problems[0])}; give the .tar.gz that 'archive' wrote${memory}`);
    return;
  }
  for (const p of rep.problems) console.log(`MISMATCH ${printable(p)}`);
  for (const n of rep.notes) console.log(`note: ${printable(n)}`);
  if (rep.code) { for (const l of codeStateLines(rep.code, archive)) console.log(l); }
  console.log(`verify: ${rep.checked} files checked, ${rep.problems.length} problem(s)${memory}`);
}

/** The archived run's code beside this checkout's, and how to get the archived code, in lines. */
export function codeStateLines(code: CodeState, archive: string): string[] {
  const commit = code.commit ? `commit ${code.commit}${code.dirty ? " with uncommitted changes" : ""}` : "an unrecorded commit";
  if (!code.differingFiles.length) return [`code: the archived run's code (${commit}) is this checkout's, file for file`];
  const files = code.differingFiles;
  const shown = files.slice(0, 8).map(printable).join(", ") + (files.length > 8 ? `, ... (${files.length - 8} more)` : "");
  const lines = [
    `CODE-DIFFERS the archived run (${commit}) used code that differs from this checkout in ${files.length} file(s): ${shown}`,
  ];
  if (code.differingStages.length) {
    lines.push(
      `CODE-DIFFERS ${code.differingStages.length} stage(s) have other code here: their parameters and outputs are not judged ` +
        `by this checkout's code (${code.differingStages.slice(0, 5).map(printable).join(", ")}${
          code.differingStages.length > 5 ? ", ..." : ""
        })`,
    );
  }
  if (code.dagUnjudged) lines.push(`CODE-DIFFERS this checkout's code derives another DAG from the archived config: see the notes above`);
  lines.push(
    code.commit && !code.dirty
      ? `to verify it with its own code: git worktree add ../verify-${code.commit.slice(0, 12)} ${code.commit}, then run ` +
        `'deno task verify ${archive} --rerun' there`
      : `to read its own code: tar -xzf ${archive} code/ (every source file its cache keys cover)${
        code.commit ? `; it was made from ${commit}, so its exact code is only in the archive` : ""
      }`,
  );
  return lines;
}

/**
 * Recomputes archived stages one at a time, each from its archived inputs, in the sandbox: those a spot check
 * chose, or (an archive whose code differs from this checkout's) every stage whose code matches. Prints each
 * outcome, what the draw proves, and which stages it could not recompute.
 */
async function rerunStages<C>(c: CommandContext<C>, rep: VerifyReport, req: SpotRequest, archivePath: string): Promise<number> {
  const { exp } = c;
  const archived = rep.manifest!;
  const differing = new Set(rep.code?.differingStages ?? []);
  const ours = new Set((rep.stages ?? []).map((s) => s.name));
  const candidates: SpotCandidate[] = archived.stages.map((r) => ({
    stage: r.stage,
    wallMs: r.wallMs,
    cannot: r.status === "not-run"
      ? "it did not run in the archived run"
      : !ours.has(r.stage)
      ? "this checkout's code derives no such stage from the archived config"
      : differing.has(r.stage)
      ? "its code differs from this checkout's"
      : undefined,
  }));
  const whole = req.sample === undefined && req.budgetMinutes === undefined && !req.named?.length;
  const plan = whole
    ? {
      nonce: "",
      chosen: candidates.filter((x) => !x.cannot).map((x) => x.stage),
      drawn: [],
      population: 0,
      cannot: candidates.flatMap((x) => (x.cannot ? [{ stage: x.stage, why: x.cannot }] : [])),
    }
    : planSpotCheck(candidates, req);
  if (whole) {
    console.log(
      `verify --rerun: the archive's code differs from this checkout's: recomputing each stage whose code matches, from its archived inputs`,
    );
  }
  for (const x of plan.cannot) console.log(`NOT-RECOMPUTED ${printable(x.stage)}: ${x.why}`);
  if (!plan.chosen.length) {
    console.log(`verify --rerun: no stage of the archive can be recomputed by this checkout; nothing was recomputed`);
    return 1;
  }
  const { config, notes } = exp.rerunConfig?.(archived.config) ?? { config: archived.config, notes: [] };
  for (const n of notes) console.log(`note: ${printable(n)}`);
  const tmp = await Deno.makeTempDir({ prefix: c.names.tempDir("verify") });
  const quiet = !!c.values.quiet;
  try {
    const { recomputeStages } = await import("../archive/spot_check_run.ts");
    const base = await sandboxArgs(exp, { tmp, allowNet: !!c.values["allow-net"] });
    const jobs = Math.max(1, Number(c.values.jobs) || defaultJobs());
    console.error(
      `verify --rerun: recomputing ${plan.chosen.length} stage(s) from their archived inputs, ${jobs} at a time (sandbox ${tmp})`,
    );
    const outcomes = await recomputeStages({
      archivePath,
      manifest: archived,
      stages: rep.stages ?? [],
      chosen: plan.chosen,
      config,
      scratch: tmp,
      childArgs: (spec, store) => [...base, "run-stage", "--spec", spec, "--store", store],
      jobs,
      names: c.names,
      onOutcome: (o, done, total) => {
        if (!quiet) console.error(`  [${done}/${total}] ${printable(o.stage)}: ${o.verdict} (${(o.wallMs / 1000).toFixed(1)} s)`);
      },
      onChildLine: c.values.debug ? (stage, line) => console.error(`  [${printable(stage)}] ${printable(line)}`) : undefined,
    });
    for (const o of outcomes) {
      for (const m of o.mismatches) console.log(`RERUN-MISMATCH ${m}`);
      if (o.verdict === "not-recomputed") console.log(`NOT-RECOMPUTED ${printable(o.stage)}: ${printable(o.why ?? "")}`);
      else if (o.verdict === "same") console.log(`RECOMPUTED ${printable(o.stage)}: every non-volatile output identical`);
    }
    const differs = outcomes.filter((o) => o.verdict === "differs").length;
    const failed = outcomes.filter((o) => o.verdict === "not-recomputed").length;
    const same = outcomes.length - differs - failed;
    if (!differs && !failed) { for (const l of assuranceLines(plan)) console.log(`spot check: ${l}`); }
    const skipped = plan.cannot.length;
    console.log(
      `verify --rerun: ${same} stage(s) recomputed identically, ${differs} differ, ${failed} could not be recomputed` +
        (skipped ? `, ${skipped} not attempted (listed above)` : "") +
        (whole ? "" : ` (of ${archived.stages.length} in the archive)`),
    );
    return differs || failed || same === 0 ? 1 : 0;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Re-executes an archived run's config in a child Deno process whose permissions reach only a fresh
 * temporary store (read and write), the project, the package caches and the experiment's own data
 * directories (read); no network unless --allow-net; no subprocesses, no FFI. Then compares every output
 * digest. Ctrl-C or SIGTERM stops the child and removes the temporary store.
 */
async function rerunSandboxed<C>(c: CommandContext<C>, rep: VerifyReport): Promise<number> {
  const { exp } = c;
  const quiet = !!c.values.quiet;
  const allowNet = !!c.values["allow-net"];
  const archived = rep.manifest!;
  const { config, notes } = exp.rerunConfig?.(archived.config) ?? { config: archived.config, notes: [] };
  for (const n of notes) console.log(`note: ${n}`);
  const tmp = await Deno.makeTempDir({ prefix: c.names.tempDir("verify") });
  const args = [
    ...(await sandboxArgs(exp, { tmp, allowNet })),
    ...["reproduce", "--config", `${tmp}/config.json`, "--store", `${tmp}/store`, "--no-export", "--jobs", "1"],
    ...(quiet ? ["--quiet"] : []),
  ];
  let child: Deno.ChildProcess | undefined;
  const cleanup = () => {
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch { /* already gone */ }
  };
  const onSignal = (sig: "SIGINT" | "SIGTERM") => async () => {
    console.error(`verify --rerun: ${sig}: stopping the rerun and removing ${tmp}`);
    try {
      child?.kill("SIGKILL");
      await child?.status;
    } catch { /* already gone */ }
    cleanup();
    Deno.exit(sig === "SIGINT" ? 130 : 143);
  };
  const handlers = { SIGINT: onSignal("SIGINT"), SIGTERM: onSignal("SIGTERM") };
  for (const [sig, h] of Object.entries(handlers)) Deno.addSignalListener(sig as Deno.Signal, h);
  try {
    await Deno.writeTextFile(`${tmp}/config.json`, JSON.stringify(config, null, 1));
    console.error(
      `verify --rerun: running the archived config in a sandbox (temporary store ${tmp}${allowNet ? ", network allowed" : ", no network"})`,
    );
    child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "inherit", stderr: "inherit" }).spawn();
    const st = await child.status;
    if (!st.success) {
      console.log(`verify --rerun: the rerun failed (exit code ${st.code}); see its message above`);
      return 1;
    }
    const rerun = await readManifest(`${tmp}/store/manifests/latest.json`);
    if (!rerun) throw new Error("the rerun wrote no manifest");
    return await compareAndPrint(archived, rerun, rep);
  } finally {
    for (const [sig, h] of Object.entries(handlers)) Deno.removeSignalListener(sig as Deno.Signal, h);
    cleanup();
  }
}

/** The sandboxed child's `deno run` arguments up to its command: what it may read and write, and the entry module. */
async function sandboxArgs<C>(exp: Experiment<C>, o: { tmp: string; allowNet: boolean }): Promise<string[]> {
  const { tmp } = o;
  const mainModule = exp.sandbox?.mainModule ?? Deno.mainModule;
  const denoConfig = exp.sandbox?.denoConfig ??
    ((await exists(`${exp.projectRoot}/deno.json`)) ? `${exp.projectRoot}/deno.json` : undefined);
  const reads = sandboxReads([
    tmp,
    exp.projectRoot,
    ...(denoConfig ? [dirname(denoConfig)] : []),
    ...(denoDir() ? [denoDir()!] : []),
    ...(exp.sandbox?.read ?? []),
  ]);
  if (reads.some((p) => p.includes(","))) {
    throw new UserError(`a sandbox path contains a comma, which Deno's permission flags cannot express: ${reads.join(" ")}`);
  }
  return [
    "run",
    "--quiet",
    ...(denoConfig ? ["--config", denoConfig] : []),
    `--allow-read=${reads.join(",")}`,
    `--allow-write=${tmp}`,
    "--allow-env",
    "--allow-sys",
    ...(o.allowNet ? ["--allow-net"] : []),
    mainModule,
  ];
}

/** Compares the rerun's outputs with the archived run's and prints every difference; 0 when none matters. */
async function compareAndPrint(archived: Manifest, rerun: Manifest, rep: VerifyReport): Promise<number> {
  const { compareRerun } = await import("../archive/archive.ts");
  const c = compareRerun(archived, rerun, rep.stages ?? []);
  for (const m of c.mismatches) console.log(`RERUN-MISMATCH ${m}`);
  for (const u of c.unverified) console.log(`UNVERIFIED ${u}`);
  for (const n of c.notes) console.log(`note: ${n}`);
  console.log(
    `verify --rerun: ${c.compared} stages compared, ${c.mismatches.length} output mismatch(es)` +
      (c.unverified.length ? `, ${c.unverified.length} stage(s) not recomputed here` : "") +
      (c.volatileDiffs ? `; ${c.volatileDiffs} volatile output(s) (timings) differ, as this code declares they may` : ""),
  );
  return c.mismatches.length || c.unverified.length ? 1 : 0;
}

/**
 * The read allow-list of the rerun: each path, its real path, and the real path of a `node_modules` inside it
 * (Deno resolves npm packages to real paths, so a symlinked node_modules is read through its target).
 */
function sandboxReads(paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    out.add(p);
    for (const q of [p, `${p}/node_modules`]) {
      try {
        out.add(Deno.realPathSync(q));
      } catch { /* absent */ }
    }
  }
  return [...out];
}

/** Where Deno keeps its cache (npm packages among them): the rerun may read it. */
function denoDir(): string | undefined {
  const d = Deno.env.get("DENO_DIR");
  if (d) return d;
  const home = Deno.env.get("HOME");
  const xdg = Deno.env.get("XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : undefined);
  return xdg ? `${xdg}/deno` : undefined;
}
