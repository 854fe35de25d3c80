import { parseArgs } from "node:util";
import { allOptionNames, commandLineProblem, COMMANDS, didYouMean } from "./cli_help.ts";
import { dirname, resolve } from "node:path";
import { DamagedObject, describeFsFault, StagesFailed, UserError } from "./errors.ts";
import { parseOverride } from "./config.ts";
import { runPipeline } from "./runner.ts";
import { pipelineStatus } from "./status.ts";
import { collectGarbage, DEFAULT_KEEP_RUNS } from "./gc.ts";
import type { VerifyReport } from "./archive.ts";
import { formatDuration } from "./progress.ts";
import { type Manifest, ManifestSchema, readManifest } from "./manifest.ts";
import { ArtifactStore, checkStoreRoot } from "./store.ts";
import { exists, writeFileAtomic } from "./fs_atomic.ts";
import type { Stage } from "./stage.ts";
import { defaultJobs, LocalProcessExecutor, type StageExecutor } from "./executor.ts";
import { runStageChild } from "./run_stage.ts";
import { SlurmExecutor } from "./slurm.ts";

/** What an experiment plugs into the generic CLI. The engine never sees more of the science than this. */
export interface Experiment<C = unknown> {
  /** Project root (for code digests and the default store). */
  projectRoot: string;
  /** Default config file, relative to the project root. */
  defaultConfig: string;
  /** Import map, so package version changes reach code digests. */
  importMap?: Record<string, string>;
  /** Loads and validates a config (file path, overrides), or throws a UserError. */
  loadConfig(path: string, overrides: [string, unknown][]): Promise<{ raw: unknown; config: C }>;
  /** Validates an already-parsed config (from an archive). */
  parseConfig(raw: unknown): C;
  /** The stage DAG for a config. */
  buildStages(config: C): Stage[];
  /** Extra environment entries for the manifest (libraries, backend). */
  environment?(config: C): Promise<Record<string, string>> | Record<string, string>;
  /**
   * Outputs copied out of the store after a successful reproduce, to paths relative to the project root;
   * `{config}` in a path stands for the config file's base name.
   */
  exports?: ExportRule[];
  /**
   * How `verify --rerun` treats an archived config before running it: the experiment keeps only what its
   * own pinned defaults allow (e.g. data sources) and says what it dropped. Default: unchanged.
   */
  rerunConfig?(raw: unknown): { config: unknown; notes: string[] };
  /** The sandbox of `verify --rerun`. */
  sandbox?: {
    /** Extra directories the rerun may read (the experiment's own pinned data directories). */
    read?: string[];
    /** The entry module to run (default: Deno.mainModule). */
    mainModule?: string;
    /** The deno.json to run it with (default: the project root's, if any). */
    denoConfig?: string;
  };
}

const USAGE = `usage: main.ts <command> [options]
  reproduce [--config FILE] [--only STAGES] [--from STAGE] [--force STAGES] [--set path=value]...
            [--jobs N | -j N] [--executor local|slurm] [--isolate]
            [--partition P] [--account A] [--sbatch-args "ARGS"] [--slurm-cpus N] [--slurm-mem MB] [--slurm-time MIN]
  run-stage --spec FILE   (used by 'reproduce --jobs N': computes one stage of a run, in its own process)
  status    [--config FILE] [--verify]
  archive   [--out FILE]
  verify    ARCHIVE [--rerun] [--allow-net]
  gc        [--dry-run] [--keep-runs N|all] [--force]
common options: --store DIR (default: ./artifacts or $HPO_STORE), --quiet, --debug (stack traces of internal errors)
STAGES is a comma-separated list of stage names or prefixes ending in ':' (e.g. 'search:').
exit codes: 0 ok, 1 a stage failed (reproduce; with --require-all also a stage not run) or verification failed
(archive or store), 2 user fault (one line: cause and fix), 3 internal error`;

/**
 * The stages not run, one line per root cause (a stage not run because what it needs did not run has the
 * cause of that one): "not run (3 stages: a, b, c): <cause>".
 */
export function notRunLines(notRun: { stage: string; reason: string }[]): string[] {
  const byCause = new Map<string, string[]>();
  for (const n of notRun) {
    const cause = n.reason.replace(/^(needs '[^']+', which did not run: )+/, "");
    byCause.set(cause, [...(byCause.get(cause) ?? []), n.stage]);
  }
  return [...byCause].map(([cause, stages]) => {
    const shown = stages.length > 6 ? `${stages.slice(0, 5).join(", ")} and ${stages.length - 5} more` : stages.join(", ");
    return `  not run (${stages.length} stage${stages.length === 1 ? "" : "s"}: ${shown}): ${cause}`;
  });
}

function list(v: unknown): string[] | undefined {
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

/**
 * Runs the CLI; returns the process exit code: 0 ok, 1 verification failed, 2 a user fault (one line naming
 * the cause and the fix), 3 an internal error (its stack printed only with --debug; always appended to
 * `<store>/logs/errors.jsonl` when the store is writable).
 */
export async function cliMain<C>(exp: Experiment<C>, argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    return await dispatch(exp, argv);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof StagesFailed) {
      // a stage's own failure: the stack is the stage's, worth keeping in the log
      const stack = fullStack(e.cause);
      console.error(`error: ${e.message}` + (debug ? `\n${stack}` : " (rerun with --debug for the stack trace)"));
      await logInternalError(exp, argv, stack);
      return 1;
    }
    const fs = describeFsFault(e);
    if (fs) {
      console.error(`error: ${fs}`);
      return 2;
    }
    const stack = fullStack(e);
    console.error(
      `internal error: ${e instanceof Error ? e.message : String(e)}` +
        (debug ? `\n${stack}` : " (rerun with --debug for the stack trace)"),
    );
    await logInternalError(exp, argv, stack);
    return 3;
  }
}

/** An error's stack, followed by those of its causes. */
function fullStack(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur !== undefined && depth < 8; cur = cur instanceof Error ? cur.cause : undefined, depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? cur.message) : String(cur));
  }
  return parts.join("\ncaused by: ");
}

async function logInternalError<C>(exp: Experiment<C>, argv: string[], stack: string): Promise<void> {
  const i = argv.indexOf("--store");
  const root = resolve(i >= 0 && argv[i + 1] ? argv[i + 1] : Deno.env.get("HPO_STORE") ?? `${exp.projectRoot}/artifacts`);
  try {
    if (!(await Deno.stat(root)).isDirectory) return;
    await Deno.mkdir(`${root}/logs`, { recursive: true });
    const line = JSON.stringify({ t: new Date().toISOString(), event: "internal-error", argv, stack }) + "\n";
    await Deno.writeTextFile(`${root}/logs/errors.jsonl`, line, { append: true });
  } catch { /* the store is not writable: the message above is all there is */ }
}

function parse(argv: string[]) {
  // gc's --force is a flag; reproduce's --force takes stage names.
  const args = argv[0] === "gc" || argv.find((a) => !a.startsWith("-")) === "gc"
    ? argv.map((a) => (a === "--force" ? "--force-gc" : a))
    : argv;
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        only: { type: "string" },
        from: { type: "string" },
        force: { type: "string" },
        "force-gc": { type: "boolean" },
        set: { type: "string", multiple: true },
        store: { type: "string" },
        out: { type: "string" },
        rerun: { type: "boolean" },
        "allow-net": { type: "boolean" },
        verify: { type: "boolean" },
        "dry-run": { type: "boolean" },
        "keep-runs": { type: "string" },
        jobs: { type: "string", short: "j" },
        executor: { type: "string" },
        isolate: { type: "boolean" },
        partition: { type: "string" },
        account: { type: "string" },
        "sbatch-args": { type: "string" },
        "slurm-cpus": { type: "string" },
        "slurm-mem": { type: "string" },
        "slurm-time": { type: "string" },
        spec: { type: "string" },
        "no-export": { type: "boolean" },
        "require-all": { type: "boolean" },
        quiet: { type: "boolean" },
        debug: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    // parseArgs: "Unknown option '--hepl'. To specify a positional argument …": name it, suggest, stop there
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg)?.[1];
    if (unknown) throw new UserError(`unknown option '${unknown}'${didYouMean(unknown, allOptionNames())}; see 'main.ts --help'`);
    throw new UserError(`${msg.split(". ")[0]}; see 'main.ts --help'`);
  }
}

async function dispatch<C>(exp: Experiment<C>, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (!command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const given = Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined);
  const problem = commandLineProblem(command, given.filter((k) => k !== "help"), rest);
  if (problem && !(values.help && COMMANDS[command])) throw new UserError(problem);
  if (values.help) {
    console.log(COMMANDS[command].help);
    return 0;
  }
  const via = values.store ? "--store" : Deno.env.get("HPO_STORE") ? "$HPO_STORE" : "the default store";
  const storeRoot = resolve(values.store ?? Deno.env.get("HPO_STORE") ?? `${exp.projectRoot}/artifacts`);
  await checkStoreRoot(storeRoot, via);
  const configPath = resolve(values.config ?? `${exp.projectRoot}/${exp.defaultConfig}`);
  const overrides = (values.set ?? []).map(parseOverride);
  const common = { storeRoot, projectRoot: exp.projectRoot, importMap: exp.importMap };

  switch (command) {
    case "run-stage": {
      if (!values.spec) throw new UserError(`run-stage needs --spec FILE (it is started by 'reproduce --jobs N')\n${USAGE}`);
      return await runStageChild({
        specPath: resolve(values.spec),
        storeRoot,
        projectRoot: exp.projectRoot,
        importMap: exp.importMap,
        parseConfig: exp.parseConfig,
        buildStages: exp.buildStages,
      });
    }
    case "reproduce": {
      const { raw, config } = await exp.loadConfig(configPath, overrides);
      const t0 = performance.now();
      const parallel = await parallelOptions(exp, values, storeRoot, exp.buildStages(config));
      const r = await runPipeline(exp.buildStages(config), {
        ...common,
        config: raw,
        configPath,
        environment: await exp.environment?.(config),
        only: list(values.only),
        from: values.from,
        force: list(values.force),
        quiet: values.quiet,
        ...parallel,
      });
      for (const line of notRunLines(r.notRun)) console.error(line);
      console.error(
        `reproduce: ${r.computed.length} computed, ${r.cached.length} cached, ${r.notRun.length} not run ` +
          `in ${formatDuration((performance.now() - t0) / 1000)}; manifest ${storeRoot}/manifests/${r.manifest.runId}.json`,
      );
      const code = r.notRun.length && values["require-all"] ? 1 : 0;
      // the last line says what was not run (after the export's lines)
      const finalWord = () => {
        if (!r.notRun.length) return code;
        console.error(
          code
            ? `reproduce: ${r.notRun.length} stage(s) not run (see above) and --require-all was given: exit 1`
            : `reproduce: done, except ${r.notRun.length} stage(s) not run for a missing input (see above; --require-all makes this exit 1)`,
        );
        return code;
      };
      if (values["no-export"]) return finalWord();
      try {
        await exportOutputs(exp, r.manifest, storeRoot, configPath);
      } catch (e) {
        if (!(e instanceof DamagedObject)) throw e;
        // An exported output was damaged on disk (and has now been removed): one more pass recomputes it.
        console.error(`${e.message.split(";")[0]}; recomputing it`);
        const again = await runPipeline(exp.buildStages(config), {
          ...common,
          config: raw,
          configPath,
          environment: await exp.environment?.(config),
          quiet: values.quiet,
          ...parallel,
        });
        await exportOutputs(exp, again.manifest, storeRoot, configPath);
      }
      return finalWord();
    }
    case "status":
      return await status(exp, { ...common, configPath, overrides, verify: !!values.verify });
    case "archive": {
      const out = resolve(values.out ?? `hpo-archive-${new Date().toISOString().slice(0, 10)}.tar.gz`);
      const { createArchive } = await import("./archive.ts"); // (with tar-stream: loaded for archive and verify only)
      const r = await createArchive({ ...common, out });
      console.log(`archive ${r.path}: ${r.files} files, ${r.objects} artifacts, ${(r.bytes / 1e6).toFixed(2)} MB`);
      return 0;
    }
    case "verify": {
      const archive = rest[0];
      if (!archive) throw new UserError(`verify needs the archive path\n${USAGE}`);
      const { verifyArchive } = await import("./archive.ts");
      const rep = await verifyArchive({
        path: resolve(archive),
        parseConfig: exp.parseConfig,
        buildStages: exp.buildStages,
        projectRoot: exp.projectRoot,
      });
      printVerify(rep, !!values.debug);
      if (rep.verdict === "not-archive") return 2;
      if (!rep.ok || !values.rerun) return rep.ok ? 0 : 1;
      return await rerunSandboxed(exp, rep, { quiet: !!values.quiet, allowNet: !!values["allow-net"] });
    }
    case "gc":
      return await gc(storeRoot, { dryRun: !!values["dry-run"], force: !!values["force-gc"], keepRuns: values["keep-runs"] });
    default:
      throw new UserError(`unknown command '${command}'\n${USAGE}`);
  }
}

/**
 * --jobs N (-j N; default: $HPO_JOBS, $SLURM_CPUS_PER_TASK, else the number of cores), --executor and
 * --isolate as runner options. Without permission to start processes (the sandbox of 'verify --rerun'),
 * the run is sequential.
 */
async function parallelOptions<C>(
  exp: Experiment<C>,
  values: {
    jobs?: string;
    executor?: string;
    isolate?: boolean;
    partition?: string;
    account?: string;
    "sbatch-args"?: string;
    "slurm-cpus"?: string;
    "slurm-mem"?: string;
    "slurm-time"?: string;
  },
  storeRoot: string,
  stages: Stage[],
): Promise<{ jobs: number; executor?: StageExecutor; isolateAll?: boolean }> {
  const kind = values.executor ?? Deno.env.get("HPO_EXECUTOR") ?? "local";
  if (kind !== "local" && kind !== "slurm") throw new UserError(`--executor expects 'local' or 'slurm', got '${kind}'`);
  const text = values.jobs ?? Deno.env.get("HPO_JOBS");
  // On Slurm, --jobs caps the jobs queued or running at once; the cluster decides where and when they run.
  const jobs = text === undefined ? (kind === "slurm" ? 100 : defaultJobs()) : Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new UserError(`--jobs expects a whole number >= 1, got '${text}'${values.jobs === undefined ? " (from $HPO_JOBS)" : ""}`);
  }
  if (kind === "local" && jobs === 1 && !values.isolate) return { jobs: 1 };
  if ((await Deno.permissions.query({ name: "run" })).state !== "granted") {
    if (values.jobs !== undefined || values.isolate) {
      throw new UserError("--jobs > 1 and --isolate start child processes, which this process may not (run it with -A)");
    }
    return { jobs: 1 };
  }
  const denoConfig = exp.sandbox?.denoConfig ??
    ((await exists(`${exp.projectRoot}/deno.json`)) ? `${exp.projectRoot}/deno.json` : undefined);
  const cmd = { mainModule: exp.sandbox?.mainModule ?? Deno.mainModule, denoConfig, projectRoot: exp.projectRoot };
  if (kind === "slurm") {
    await SlurmExecutor.check();
    const num = (flag: "slurm-cpus" | "slurm-mem" | "slurm-time") => {
      const v = values[flag] ?? Deno.env.get(`HPO_${flag.toUpperCase().replace("-", "_")}`);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--${flag} expects a whole number >= 1, got '${v}'`);
      return n;
    };
    const byName = new Map(stages.map((s) => [s.name, s.resources]));
    const extra = values["sbatch-args"] ?? Deno.env.get("HPO_SBATCH_ARGS");
    const executor = new SlurmExecutor(cmd, {
      partition: values.partition ?? Deno.env.get("HPO_SLURM_PARTITION"),
      account: values.account ?? Deno.env.get("HPO_SLURM_ACCOUNT"),
      extraArgs: extra ? extra.split(/\s+/).filter(Boolean) : [],
      defaults: { cpus: num("slurm-cpus"), memMB: num("slurm-mem"), timeMin: num("slurm-time") },
      resourcesOf: (name) => byName.get(name),
      jobDir: `${storeRoot}/logs/slurm`,
    });
    // every stage is a job: the login node only schedules
    return { jobs, executor, isolateAll: true };
  }
  const executor = new LocalProcessExecutor(cmd);
  return { jobs, executor, isolateAll: !!values.isolate };
}

function printVerify(rep: VerifyReport, debug: boolean): void {
  if (rep.verdict === "not-archive") {
    console.error(
      `error: ${rep.problems[0]}; give the .tar.gz that 'archive' wrote` +
        (debug ? ` (peak memory ${(rep.peakRss / 1e6).toFixed(0)} MB)` : ""),
    );
    return;
  }
  for (const p of rep.problems) console.log(`MISMATCH ${p}`);
  for (const n of rep.notes) console.log(`note: ${n}`);
  console.log(
    `verify: ${rep.checked} files checked, ${rep.problems.length} problem(s)` +
      (debug ? ` (peak memory ${(rep.peakRss / 1e6).toFixed(0)} MB)` : ""),
  );
}

async function status<C>(
  exp: Experiment<C>,
  o: {
    storeRoot: string;
    projectRoot: string;
    importMap?: Record<string, string>;
    configPath: string;
    overrides: [string, unknown][];
    verify: boolean;
  },
): Promise<number> {
  const { config } = await exp.loadConfig(o.configPath, o.overrides);
  const rows = await pipelineStatus(exp.buildStages(config), o);
  for (const r of rows) {
    console.log(`${r.state.padEnd(8)} ${r.stage}${r.reasons.length ? "  (" + r.reasons.join("; ") + ")" : ""}`);
  }
  if (!o.verify) return 0;
  const { checked, damage } = await new ArtifactStore(o.storeRoot).verify({ manifestSchema: ManifestSchema });
  for (const d of damage) console.log(`DAMAGED ${d.path}: ${d.problem}`);
  console.log(
    `status --verify: ${checked} store file(s) rehashed, ${damage.length} damaged` +
      (damage.length ? "; 'reproduce' recomputes damaged artifacts as they are read (or remove them and rerun)" : ""),
  );
  return damage.length ? 1 : 0;
}

async function gc(storeRoot: string, o: { dryRun: boolean; force: boolean; keepRuns?: string }): Promise<number> {
  let keepRuns = DEFAULT_KEEP_RUNS;
  if (o.keepRuns !== undefined) {
    keepRuns = o.keepRuns === "all" ? Infinity : Number(o.keepRuns);
    if (!(Number.isInteger(keepRuns) && keepRuns >= 1) && keepRuns !== Infinity) {
      throw new UserError(`--keep-runs expects a whole number >= 1 or 'all', got '${o.keepRuns}'`);
    }
  }
  const r = await collectGarbage({ storeRoot, dryRun: o.dryRun, force: o.force, keepRuns });
  for (const l of r.leftAlone) console.log(`left alone (--force): ${l}`);
  if (r.dryRun) { for (const p of r.removed) console.log(`would remove ${p}`); }
  const verb = r.dryRun ? "gc --dry-run: would remove" : "gc: removed";
  console.log(
    `${verb} ${r.objectsRemoved} artifact(s), ${(r.bytesFreed / 1e6).toFixed(2)} MB ${r.dryRun ? "to free" : "freed"}, ` +
      `${r.entriesRemoved} cache entr(y/ies), ${r.manifestsRemoved.length} old run manifest(s); ${r.objectsKept} artifact(s) kept`,
  );
  return 0;
}

/**
 * An output copied out of the store after a successful reproduce. `output` names one output, or matches
 * several (a RegExp); in `to`, `{config}` is the config file's base name and `{output}` the output's name.
 * `transform` may rewrite the bytes on the way out (e.g. fill in facts of the run that are no stage input).
 */
export interface ExportRule {
  stage: string;
  output: string | RegExp;
  to: string;
  transform?(bytes: Uint8Array, run: { manifest: Manifest; storeRoot: string }): Promise<Uint8Array> | Uint8Array;
}

/** Copies declared outputs of the run out of the store (atomically, beside the destination), e.g. the report. */
async function exportOutputs<C>(exp: Experiment<C>, manifest: Manifest, storeRoot: string, configPath: string): Promise<void> {
  const configName = configPath.split("/").pop()!.replace(/\.json$/, "");
  const store = new ArtifactStore(storeRoot);
  for (const e of exp.exports ?? []) {
    const rec = manifest.stages.find((s) => s.stage === e.stage);
    const names = Object.keys(rec?.outputs ?? {}).filter((n) => (typeof e.output === "string" ? n === e.output : e.output.test(n)));
    for (const name of names.sort()) {
      const to = resolve(exp.projectRoot, e.to.replaceAll("{config}", configName).replaceAll("{output}", name));
      const bytes = await store.getObject(rec!.outputs[name].digest);
      await writeFileAtomic(to, e.transform ? await e.transform(bytes, { manifest, storeRoot }) : bytes);
      if (typeof e.output === "string") console.error(`wrote ${to}`);
    }
    if (typeof e.output !== "string" && names.length) {
      console.error(
        `wrote ${names.length} file(s) to ${resolve(exp.projectRoot, e.to.replaceAll("{config}", configName).replace(/\/[^/]*$/, ""))}`,
      );
    }
  }
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

/**
 * Re-executes an archived run's config in a child Deno process whose permissions reach only a fresh
 * temporary store (read and write), the project, the package caches and the experiment's own data
 * directories (read); no network unless `allowNet`; no subprocesses, no FFI. Then compares every output
 * digest. Ctrl-C or SIGTERM stops the child and removes the temporary store.
 */
async function rerunSandboxed<C>(exp: Experiment<C>, rep: VerifyReport, o: { quiet: boolean; allowNet: boolean }): Promise<number> {
  const archived = rep.manifest!;
  const { config, notes } = exp.rerunConfig?.(archived.config) ?? { config: archived.config, notes: [] };
  for (const n of notes) console.log(`note: ${n}`);
  const tmp = await Deno.makeTempDir({ prefix: "hpo-verify-" });
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
  const args = [
    "run",
    "--quiet",
    ...(denoConfig ? ["--config", denoConfig] : []),
    `--allow-read=${reads.join(",")}`,
    `--allow-write=${tmp}`,
    "--allow-env",
    "--allow-sys",
    ...(o.allowNet ? ["--allow-net"] : []),
    mainModule,
    "reproduce",
    "--config",
    `${tmp}/config.json`,
    "--store",
    `${tmp}/store`,
    "--no-export",
    "--jobs",
    "1",
    ...(o.quiet ? ["--quiet"] : []),
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
      `verify --rerun: running the archived config in a sandbox (temporary store ${tmp}${
        o.allowNet ? ", network allowed" : ", no network"
      })`,
    );
    child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "inherit", stderr: "inherit" }).spawn();
    const st = await child.status;
    if (!st.success) {
      console.log(`verify --rerun: the rerun failed (exit code ${st.code}); see its message above`);
      return 1;
    }
    const rerun = await readManifest(`${tmp}/store/manifests/latest.json`);
    if (!rerun) throw new Error("the rerun wrote no manifest");
    const { compareRerun } = await import("./archive.ts");
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
  } finally {
    for (const [sig, h] of Object.entries(handlers)) Deno.removeSignalListener(sig as Deno.Signal, h);
    cleanup();
  }
}
