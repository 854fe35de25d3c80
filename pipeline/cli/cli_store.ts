// The store's commands: `status` (what is cached, what is stale and why; --verify rehashes everything),
// `archive` (one .tar.gz of the last complete run) and `gc` (remove what no kept run references).
import { resolve } from "node:path";
import type { CommandContext } from "./cli_args.ts";
import { UserError } from "../errors.ts";
import { collectGarbage, DEFAULT_KEEP_RUNS } from "../store/gc.ts";
import { ManifestSchema, scanManifests } from "../store/manifest.ts";
import { pipelineStatus } from "../plan/status.ts";
import { ArtifactStore } from "../store/store.ts";
import { printable } from "../printable.ts";

/** Runs `status`: 0, or 1 when --verify finds damage. */
export async function statusCommand<C>(c: CommandContext<C>): Promise<number> {
  const { exp, storeRoot } = c;
  const { config } = await exp.loadConfig(c.configPath, c.overrides);
  // verify before the rows: reading the cache for them drops a corrupt entry, which verify would then not see
  const verified = c.values.verify ? await new ArtifactStore(storeRoot).verify({ manifestSchema: ManifestSchema }) : undefined;
  const rows = await pipelineStatus(exp.buildStages(config), {
    storeRoot,
    projectRoot: exp.projectRoot,
    importMap: exp.importMap,
    configPath: c.configPath,
  });
  for (const r of rows) {
    console.log(printable(`${r.state.padEnd(8)} ${r.stage}${r.reasons.length ? "  (" + r.reasons.join("; ") + ")" : ""}`));
  }
  if (!verified) return 0;
  const { checked, damage } = verified;
  const whose = await artifactNames(storeRoot);
  for (const d of damage) console.log(printable(`DAMAGED ${d.path}${whose(d.path)}: ${d.problem}`));
  console.log(
    `status --verify: ${checked} store file(s) rehashed, ${damage.length} damaged` +
      (damage.length
        ? "; remove the damaged artifacts and cache entries listed and rerun 'reproduce': it recomputes them (anything the store did not write, inspect first)"
        : ""),
  );
  return damage.length ? 1 : 0;
}

/**
 * What a damaged store file is, from the store's manifests: " (output 'x' of stage 's')" for an object,
 * " (cache entry of stage 's')" for a cache entry, "" when no manifest names it.
 */
async function artifactNames(storeRoot: string): Promise<(path: string) => string> {
  const scan = await scanManifests(storeRoot).catch(() => undefined);
  const objects = new Map<string, string>();
  const entries = new Map<string, string>();
  const manifests = [...(scan?.readable ?? []).map((m) => m.manifest), ...(scan?.latest?.manifest ? [scan.latest.manifest] : [])];
  for (const m of manifests) {
    for (const r of m.stages) {
      for (const [n, ref] of Object.entries(r.outputs)) objects.set(ref.digest, `output '${n}' of stage '${r.stage}'`);
      if (r.key) entries.set(r.key, `cache entry of stage '${r.stage}'`);
    }
  }
  return (path) => {
    const name = path.split("/").pop()!.replace(/\.json$/, "");
    const what = path.includes("/objects/") ? objects.get(name) : path.includes("/runs/") ? entries.get(name) : undefined;
    return what ? ` (${what})` : "";
  };
}

/** Runs `archive`: the last complete run into --out (default <prefix>-archive-<date>.tar.gz). */
export async function archiveCommand<C>(c: CommandContext<C>): Promise<number> {
  const out = resolve(c.values.out ?? c.names.archive(new Date().toISOString().slice(0, 10)));
  const { createArchive } = await import("../archive/archive.ts"); // (with tar-stream: loaded for archive and verify only)
  const r = await createArchive({ storeRoot: c.storeRoot, projectRoot: c.exp.projectRoot, out });
  console.log(`archive ${r.path}: ${r.files} files, ${r.objects} artifacts, ${(r.bytes / 1e6).toFixed(2)} MB`);
  return 0;
}

/** Runs `gc`, or with --dry-run lists what it would remove. */
export async function gcCommand<C>(c: CommandContext<C>): Promise<number> {
  const o = c.values;
  let keepRuns = DEFAULT_KEEP_RUNS;
  if (o["keep-runs"] !== undefined) {
    keepRuns = o["keep-runs"] === "all" ? Infinity : Number(o["keep-runs"]);
    // Number("Infinity") and Number("1e400") are Infinity too: only the word 'all' means every run
    if (o["keep-runs"] !== "all" && !(Number.isSafeInteger(keepRuns) && keepRuns >= 1)) {
      throw new UserError(`--keep-runs expects a whole number >= 1 or 'all', got '${o["keep-runs"]}'`);
    }
  }
  const r = await collectGarbage({ storeRoot: c.storeRoot, dryRun: !!o["dry-run"], force: !!o["force-gc"], keepRuns });
  for (const l of r.leftAlone) console.log(`left alone (--force): ${l}`);
  if (r.dryRun) { for (const p of r.removed) console.log(`would remove ${p}`); }
  const verb = r.dryRun ? "gc --dry-run: would remove" : "gc: removed";
  console.log(
    `${verb} ${r.objectsRemoved} artifact(s), ${(r.bytesFreed / 1e6).toFixed(2)} MB ${r.dryRun ? "to free" : "freed"}, ` +
      `${r.entriesRemoved} cache entr(y/ies), ${r.manifestsRemoved.length} old run manifest(s); ${r.objectsKept} artifact(s) kept`,
  );
  return 0;
}
