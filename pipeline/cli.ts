import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { UserError } from "./errors.ts";
import { parseOverride } from "./config.ts";
import { runPipeline } from "./runner.ts";
import { pipelineStatus } from "./status.ts";
import { collectGarbage } from "./gc.ts";
import { createArchive, verifyArchive } from "./archive.ts";
import { formatDuration } from "./progress.ts";
import type { Manifest } from "./manifest.ts";
import { ArtifactStore } from "./store.ts";
import { writeFileAtomic } from "./fs_atomic.ts";
import type { Stage } from "./stage.ts";

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
  exports?: { stage: string; output: string; to: string }[];
}

const USAGE = `usage: main.ts <command> [options]
  reproduce [--config FILE] [--only STAGES] [--from STAGE] [--force STAGES] [--set path=value]...
  status    [--config FILE]
  archive   [--out FILE]
  verify    ARCHIVE [--rerun]
  gc
common options: --store DIR (default: ./artifacts or $HPO_STORE), --quiet
STAGES is a comma-separated list of stage names or prefixes ending in ':' (e.g. 'search:').`;

function list(v: unknown): string[] | undefined {
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

/** Runs the CLI; returns the process exit code (0 ok, 1 verification failed, 2 bad input, 3 internal error). */
export async function cliMain<C>(exp: Experiment<C>, argv: string[]): Promise<number> {
  try {
    return await dispatch(exp, argv);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    console.error(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 3;
  }
}

async function dispatch<C>(exp: Experiment<C>, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        only: { type: "string" },
        from: { type: "string" },
        force: { type: "string" },
        set: { type: "string", multiple: true },
        store: { type: "string" },
        out: { type: "string" },
        rerun: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const storeRoot = resolve(values.store ?? Deno.env.get("HPO_STORE") ?? `${exp.projectRoot}/artifacts`);
  const configPath = resolve(values.config ?? `${exp.projectRoot}/${exp.defaultConfig}`);
  const overrides = (values.set ?? []).map(parseOverride);
  const common = { storeRoot, projectRoot: exp.projectRoot, importMap: exp.importMap };

  switch (command) {
    case "reproduce": {
      const { raw, config } = await exp.loadConfig(configPath, overrides);
      const t0 = performance.now();
      const r = await runPipeline(exp.buildStages(config), {
        ...common,
        config: raw,
        configPath,
        environment: await exp.environment?.(config),
        only: list(values.only),
        from: values.from,
        force: list(values.force),
        quiet: values.quiet,
      });
      console.error(
        `reproduce: ${r.computed.length} computed, ${r.cached.length} cached, ${r.notRun.length} not run ` +
          `in ${formatDuration((performance.now() - t0) / 1000)}; manifest ${storeRoot}/manifests/${r.manifest.runId}.json`,
      );
      for (const n of r.notRun) console.error(`  not run: ${n.stage}: ${n.reason}`);
      await exportOutputs(exp, r.manifest, storeRoot, configPath);
      return 0;
    }
    case "status": {
      const { config } = await exp.loadConfig(configPath, overrides);
      const rows = await pipelineStatus(exp.buildStages(config), common);
      for (const r of rows) {
        console.log(`${r.state.padEnd(8)} ${r.stage}${r.reasons.length ? "  (" + r.reasons.join("; ") + ")" : ""}`);
      }
      return 0;
    }
    case "archive": {
      const out = resolve(values.out ?? `hpo-archive-${new Date().toISOString().slice(0, 10)}.tar.gz`);
      const r = await createArchive({ ...common, out });
      console.log(`archive ${r.path}: ${r.files} files, ${r.objects} artifacts, ${(r.bytes / 1e6).toFixed(2)} MB`);
      return 0;
    }
    case "verify": {
      const archive = rest[0];
      if (!archive) throw new UserError(`verify needs the archive path\n${USAGE}`);
      const rep = await verifyArchive(resolve(archive));
      for (const p of rep.problems) console.log(`MISMATCH ${p}`);
      console.log(`verify: ${rep.checked} files checked, ${rep.problems.length} problem(s)`);
      if (!rep.ok || !values.rerun) return rep.ok ? 0 : 1;
      return await rerunAndCompare(exp, rep.manifest!, values.quiet ?? false);
    }
    case "gc": {
      const r = await collectGarbage(storeRoot);
      console.log(`gc: removed ${r.objectsRemoved} artifact(s), ${(r.bytesFreed / 1e6).toFixed(2)} MB freed, ` +
        `${r.entriesRemoved} cache entr(y/ies) dropped; ${r.objectsKept} artifact(s) kept`);
      return 0;
    }
    default:
      throw new UserError(`unknown command '${command}'\n${USAGE}`);
  }
}

/** Copies declared outputs of the run out of the store (atomically), e.g. the report to reports/. */
async function exportOutputs<C>(exp: Experiment<C>, manifest: Manifest, storeRoot: string, configPath: string): Promise<void> {
  const configName = configPath.split("/").pop()!.replace(/\.json$/, "");
  const store = new ArtifactStore(storeRoot);
  for (const e of exp.exports ?? []) {
    const rec = manifest.stages.find((s) => s.stage === e.stage);
    const ref = rec?.outputs[e.output];
    if (!ref) continue;
    const to = resolve(exp.projectRoot, e.to.replaceAll("{config}", configName));
    await writeFileAtomic(to, await store.getObject(ref.digest), store.tmpDir);
    console.error(`wrote ${to}`);
  }
}

/** Re-executes an archived run's config in a fresh temporary store and compares every output digest. */
async function rerunAndCompare<C>(exp: Experiment<C>, archived: Manifest, quiet: boolean): Promise<number> {
  let config: C;
  try {
    config = exp.parseConfig(archived.config);
  } catch (e) {
    throw new UserError(`the archived config no longer validates: ${(e as Error).message}`);
  }
  const tmpStore = await Deno.makeTempDir({ prefix: "hpo-verify-" });
  try {
    const r = await runPipeline(exp.buildStages(config), {
      storeRoot: tmpStore,
      projectRoot: exp.projectRoot,
      importMap: exp.importMap,
      config: archived.config,
      environment: await exp.environment?.(config),
      quiet,
    });
    const now = new Map(r.manifest.stages.map((s) => [s.stage, s]));
    let mismatches = 0;
    let volatileDiffs = 0;
    for (const s of archived.stages) {
      const cur = now.get(s.stage);
      if (!cur) {
        console.log(`RERUN-MISMATCH ${s.stage}: not in the current pipeline`);
        mismatches++;
        continue;
      }
      for (const [name, ref] of Object.entries(s.outputs)) {
        const got = cur.outputs[name]?.digest;
        if (got !== ref.digest && s.volatile.includes(name) && got !== undefined) {
          volatileDiffs++;
          continue;
        }
        if (got !== ref.digest) {
          console.log(`RERUN-MISMATCH ${s.stage}/${name}: archived ${ref.digest.slice(0, 12)}, rerun ${got?.slice(0, 12) ?? "missing"}`);
          mismatches++;
        }
      }
      if (s.codeDigest !== cur.codeDigest) console.log(`note: ${s.stage}: code differs from the archived run's`);
    }
    console.log(`verify --rerun: ${archived.stages.length} stages compared, ${mismatches} output mismatch(es)` +
      (volatileDiffs ? `; ${volatileDiffs} volatile output(s) (timings) differ, as expected` : ""));
    return mismatches ? 1 : 0;
  } finally {
    await Deno.remove(tmpStore, { recursive: true }).catch(() => {});
  }
}
