// `reproduce`: runs the experiment's DAG (in this process, in child processes, or on Slurm), says what was
// not run and why, and copies the declared outputs (the report) out of the store.
import { resolve } from "node:path";
import { type CliValues, type CommandContext, list } from "./cli_args.ts";
import { DamagedObject, UserError } from "../errors.ts";
import { defaultJobs, type StageExecutor } from "../exec/executor.ts";
import { LocalProcessExecutor } from "../exec/local.ts";
import type { ClusterSettings, Experiment } from "../plan/experiment.ts";
import { exists, writeFileAtomic } from "../store/fs_atomic.ts";
import { gitEnvironment } from "../git_state.ts";
import type { Manifest } from "../store/manifest.ts";
import type { EngineNames } from "../names.ts";
import { rootCause } from "../not_run.ts";
import { formatDuration } from "../exec/progress.ts";
import { type RunOptions, runPipeline } from "../exec/runner.ts";
import { SlurmExecutor } from "../exec/slurm.ts";
import type { Stage } from "../stage.ts";
import { ArtifactStore } from "../store/store.ts";
import { printable } from "../printable.ts";
import { insideOrRefuse, safeSegment } from "../safe_names.ts";

/**
 * The stages not run, one line per root cause (a stage not run because what it needs did not run has the
 * cause of that one): "not run (3 stages: a, b, c): <cause>".
 */
export function notRunLines(notRun: { stage: string; reason: string }[]): string[] {
  const byCause = new Map<string, string[]>();
  for (const n of notRun) {
    const cause = rootCause(n.reason);
    byCause.set(cause, [...(byCause.get(cause) ?? []), n.stage]);
  }
  return [...byCause].map(([cause, stages]) => {
    const shown = stages.length > 6 ? `${stages.slice(0, 5).join(", ")} and ${stages.length - 5} more` : stages.join(", ");
    return `  not run (${stages.length} stage${stages.length === 1 ? "" : "s"}: ${shown}): ${cause}`;
  });
}

/** A list of stages from an option, refused when given but empty (`--only ,` must not mean "everything"). */
function stageList(v: string | undefined, flag: string): string[] | undefined {
  const names = list(v);
  if (names && !names.length) {
    throw new UserError(`${flag} expects stage names or prefixes ending in ':', comma-separated (e.g. 'search:'), got '${printable(v!)}'`);
  }
  return names;
}

/** Runs `reproduce`; its exit code (0, or 1 with --require-all when a stage was not run). */
export async function reproduceCommand<C>(c: CommandContext<C>): Promise<number> {
  const { exp, values, storeRoot, configPath } = c;
  const { raw, config } = await exp.loadConfig(configPath, c.overrides);
  if (!values["no-export"] && exp.exports?.length) configFolderName(configPath); // refused before the run, not after it
  const t0 = performance.now();
  const stages = exp.buildStages(config);
  const parallel = await parallelOptions(c, stages, exp.cluster?.(config) ?? {});
  const runOptions = async (): Promise<RunOptions> => ({
    storeRoot,
    projectRoot: exp.projectRoot,
    importMap: exp.importMap,
    config: raw,
    configPath,
    environment: { ...(await exp.environment?.(config)), ...(await gitEnvironment(exp.projectRoot)) },
    quiet: values.quiet,
    ...parallel,
  });
  const r = await runPipeline(stages, {
    ...(await runOptions()),
    only: stageList(values.only, "--only"),
    from: values.from === undefined ? undefined : stageList(values.from, "--from") && values.from.trim(),
    force: stageList(values.force, "--force"),
  });
  for (const line of notRunLines(r.notRun)) console.error(line);
  console.error(
    `reproduce: ${r.computed.length} computed, ${r.cached.length} cached, ${r.notRun.length} not run ` +
      `in ${formatDuration((performance.now() - t0) / 1000)}; manifest ${storeRoot}/manifests/${r.manifest.runId}.json`,
  );
  const code = r.notRun.length && values["require-all"] ? 1 : 0;
  if (!values["no-export"]) {
    try {
      await exportOutputs(exp, r.manifest, storeRoot, configPath);
    } catch (e) {
      if (!(e instanceof DamagedObject)) throw e;
      // An exported output was damaged on disk (and has now been removed): one more pass recomputes it.
      console.error(`${e.message.split(";")[0]}; recomputing it`);
      const again = await runPipeline(stages, await runOptions());
      await exportOutputs(exp, again.manifest, storeRoot, configPath);
    }
  }
  // the last line says what was not run (after the export's lines)
  if (r.notRun.length) {
    console.error(
      code
        ? `reproduce: ${r.notRun.length} stage(s) not run (see above) and --require-all was given: exit 1`
        : `reproduce: done, except ${r.notRun.length} stage(s) not run for a missing input (see above; --require-all makes this exit 1)`,
    );
  }
  return code;
}

/**
 * --jobs N (-j N; default: $<P>_JOBS, $SLURM_CPUS_PER_TASK, else the number of cores), --executor and
 * --isolate as runner options. Without permission to start processes (the sandbox of 'verify --rerun'),
 * the run is sequential.
 */
async function parallelOptions<C>(
  c: CommandContext<C>,
  stages: Stage[],
  cluster: ClusterSettings,
): Promise<{ jobs: number; executor?: StageExecutor; isolateAll?: boolean }> {
  const { values, names } = c;
  const kind = values.executor ?? names.getEnv("EXECUTOR") ?? "local";
  if (kind !== "local" && kind !== "slurm") throw new UserError(`--executor expects 'local' or 'slurm', got '${kind}'`);
  const text = values.jobs ?? names.getEnv("JOBS");
  // On Slurm, --jobs caps the jobs queued or running at once; the cluster decides where and when they run.
  const jobs = text === undefined ? (kind === "slurm" ? 100 : defaultJobs()) : Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) {
    const from = values.jobs === undefined ? ` (from $${names.env("JOBS")})` : "";
    throw new UserError(`--jobs expects a whole number >= 1, got '${text}'${from}`);
  }
  if (kind === "local" && jobs === 1 && !values.isolate) return { jobs: 1 };
  if ((await Deno.permissions.query({ name: "run" })).state !== "granted") {
    if (values.jobs !== undefined || values.isolate) {
      throw new UserError("--jobs > 1 and --isolate start child processes, which this process may not (run it with -A)");
    }
    return { jobs: 1 };
  }
  const exp = c.exp;
  const denoConfig = exp.sandbox?.denoConfig ??
    ((await exists(`${exp.projectRoot}/deno.json`)) ? `${exp.projectRoot}/deno.json` : undefined);
  const cmd = { mainModule: exp.sandbox?.mainModule ?? Deno.mainModule, denoConfig, projectRoot: exp.projectRoot, names };
  // on Slurm every stage is a job: the login node only schedules
  if (kind === "slurm") return { jobs, executor: await slurmExecutor({ c, cmd, stages, cluster }), isolateAll: true };
  // --isolate: every stage in a fresh process of its own; otherwise children stay up for many stages
  const executor = new LocalProcessExecutor(cmd, { processPerStage: !!values.isolate });
  return { jobs, executor, isolateAll: !!values.isolate };
}

/**
 * The Slurm executor. Partition, account and extra sbatch arguments: the --partition/--account/--sbatch-args
 * flags, else their environment variables (a user's own cluster), else the config's (the experiment's).
 */
async function slurmExecutor<C>(a: {
  c: CommandContext<C>;
  cmd: ConstructorParameters<typeof SlurmExecutor>[0];
  stages: Stage[];
  cluster: ClusterSettings;
}): Promise<SlurmExecutor> {
  const { c, cmd, stages, cluster } = a;
  const { values, names } = c;
  await SlurmExecutor.check();
  const byName = new Map(stages.map((s) => [s.name, s.resources]));
  const extra = values["sbatch-args"] ?? names.getEnv("SBATCH_ARGS");
  return new SlurmExecutor(cmd, {
    partition: values.partition ?? names.getEnv("SLURM_PARTITION") ?? cluster.partition,
    account: values.account ?? names.getEnv("SLURM_ACCOUNT") ?? cluster.account,
    extraArgs: extra !== undefined ? extra.split(/\s+/).filter(Boolean) : (cluster.sbatchArgs ?? []),
    defaults: {
      cpus: slurmNumber(values, names, "slurm-cpus"),
      memMB: slurmNumber(values, names, "slurm-mem"),
      timeMin: slurmNumber(values, names, "slurm-time"),
    },
    resourcesOf: (name) => byName.get(name),
    jobDir: `${c.storeRoot}/logs/slurm`,
  });
}

/** A --slurm-* flag (else $<P>_SLURM_*) as a whole number >= 1, or undefined. */
function slurmNumber(values: CliValues, names: EngineNames, flag: "slurm-cpus" | "slurm-mem" | "slurm-time"): number | undefined {
  const v = values[flag] ?? names.getEnv(flag.toUpperCase().replace("-", "_"));
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${flag} expects a whole number >= 1, got '${v}'`);
  return n;
}

/** Copies declared outputs of the run out of the store (atomically, beside the destination), e.g. the report. */
async function exportOutputs<C>(exp: Experiment<C>, manifest: Manifest, storeRoot: string, configPath: string): Promise<void> {
  const configName = configFolderName(configPath);
  const store = new ArtifactStore(storeRoot);
  for (const e of exp.exports ?? []) {
    const rec = manifest.stages.find((s) => s.stage === e.stage);
    const names = Object.keys(rec?.outputs ?? {}).filter((n) => (typeof e.output === "string" ? n === e.output : e.output.test(n)));
    // the folder the rule names (what comes before the first placeholder): every file it writes stays inside
    const base = resolve(exp.projectRoot, e.to.slice(0, e.to.indexOf("{") < 0 ? e.to.length : e.to.indexOf("{")).replace(/[^/]*$/, ""));
    for (const name of names.sort()) {
      safeSegment(name, `the output name of stage '${printable(e.stage)}'`, "rename the output in the stage's code");
      const rel = e.to.replaceAll("{config}", configName).replaceAll("{output}", name);
      const to = insideOrRefuse(base, resolve(exp.projectRoot, rel), `the exported file`);
      const bytes = await store.getObject(rec!.outputs[name].digest);
      await writeFileAtomic(to, e.transform ? await e.transform(bytes, { manifest, storeRoot }) : bytes);
      if (typeof e.output === "string") console.error(`wrote ${printable(to)}`);
    }
    if (typeof e.output !== "string" && names.length) {
      console.error(
        `wrote ${names.length} file(s) to ${
          printable(resolve(exp.projectRoot, e.to.replaceAll("{config}", configName).replace(/\/[^/]*$/, "")))
        }`,
      );
    }
  }
}

/**
 * The name a config file gives its report folder (its file name without .json): one plain path segment,
 * else a UserError (a config named '...json' would otherwise write its report into the project root).
 */
function configFolderName(configPath: string): string {
  const file = configPath.split("/").pop()!;
  return safeSegment(
    file.replace(/\.json$/, ""),
    `the report folder name from the config file '${printable(file)}'`,
    "rename the config file",
  );
}
