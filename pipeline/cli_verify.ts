// `verify ARCHIVE [--rerun]`: checks an archive without trusting it and, with --rerun, recomputes its config
// in a sandboxed child process and a temporary store, then compares every output digest.
import { dirname, resolve } from "node:path";
import type { CommandContext } from "./cli_args.ts";
import { usage } from "./cli_args.ts";
import { UserError } from "./errors.ts";
import type { VerifyReport } from "./archive.ts";
import type { Experiment } from "./experiment.ts";
import { exists } from "./fs_atomic.ts";
import { type Manifest, readManifest } from "./manifest.ts";

/** Runs `verify`: 0 verified, 1 a problem (or a rerun that differs), 2 not an archive of this pipeline. */
export async function verifyCommand<C>(c: CommandContext<C>): Promise<number> {
  const { exp, values } = c;
  const archive = c.rest[0];
  if (!archive) throw new UserError(`verify needs the archive path\n${usage(c.names)}`);
  const { verifyArchive } = await import("./archive.ts"); // (with tar-stream: loaded for archive and verify only)
  const rep = await verifyArchive({
    path: resolve(archive),
    parseConfig: exp.parseConfig,
    buildStages: exp.buildStages,
    projectRoot: exp.projectRoot,
  });
  printVerify(rep, !!values.debug);
  if (rep.verdict === "not-archive") return 2;
  if (!rep.ok || !values.rerun) return rep.ok ? 0 : 1;
  return await rerunSandboxed(c, rep);
}

function printVerify(rep: VerifyReport, debug: boolean): void {
  const memory = debug ? ` (peak memory ${(rep.peakRss / 1e6).toFixed(0)} MB)` : "";
  if (rep.verdict === "not-archive") {
    console.error(`error: ${rep.problems[0]}; give the .tar.gz that 'archive' wrote${memory}`);
    return;
  }
  for (const p of rep.problems) console.log(`MISMATCH ${p}`);
  for (const n of rep.notes) console.log(`note: ${n}`);
  console.log(`verify: ${rep.checked} files checked, ${rep.problems.length} problem(s)${memory}`);
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
  const args = await sandboxArgs(exp, { tmp, quiet, allowNet });
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

/** The sandboxed child's `deno run` arguments: what it may read and write, and the reproduce it runs. */
async function sandboxArgs<C>(exp: Experiment<C>, o: { tmp: string; quiet: boolean; allowNet: boolean }): Promise<string[]> {
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
    ...["reproduce", "--config", `${tmp}/config.json`, "--store", `${tmp}/store`, "--no-export", "--jobs", "1"],
    ...(o.quiet ? ["--quiet"] : []),
  ];
}

/** Compares the rerun's outputs with the archived run's and prints every difference; 0 when none matters. */
async function compareAndPrint(archived: Manifest, rerun: Manifest, rep: VerifyReport): Promise<number> {
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
