import { UserError } from "../errors.ts";
import { acquireStoreLock } from "./lock.ts";
import { type Manifest, scanManifests } from "./manifest.ts";
import { ArtifactStore, readJson, removeOwnFile, RunEntrySchema, type StoreInventory } from "./store.ts";
import { recogniseStore } from "./store_root.ts";

type ManifestScan = Awaited<ReturnType<typeof scanManifests>>;

/** How many of the most recent runs gc keeps by default (their manifests, and the artifacts they name). */
export const DEFAULT_KEEP_RUNS = 10;

/** Options of a gc pass. */
export interface GcOptions {
  storeRoot: string;
  /** List what would go and the bytes freed; change nothing. */
  dryRun?: boolean;
  /** Proceed despite unreadable manifests or unknown files (they are left where they are). */
  force?: boolean;
  /** Keep the manifests of the last N runs (by start time); older ones are removed. Default DEFAULT_KEEP_RUNS. */
  keepRuns?: number;
}

/** What gc removed, or would remove with `dryRun`. */
export interface GcReport {
  dryRun: boolean;
  objectsRemoved: number;
  bytesFreed: number;
  entriesRemoved: number;
  objectsKept: number;
  /** Manifests of runs older than the last `keepRuns`. */
  manifestsRemoved: string[];
  /** Every path removed (or to be removed). */
  removed: string[];
  /** Things gc did not understand and left alone (only with `force`). */
  leftAlone: string[];
}

/**
 * Removes artifacts no kept run references, under the store lock. Fails closed: an unreadable manifest
 * (latest.json included) or a file or directory the store did not write makes gc refuse, naming it, unless
 * `force`; gc never guesses that something it cannot read protects nothing. Kept: everything that
 * latest.json and the manifests of the last `keepRuns` runs reference.
 */
export async function collectGarbage(opts: GcOptions | string): Promise<GcReport> {
  const o: GcOptions = typeof opts === "string" ? { storeRoot: opts } : opts;
  // a directory that is not a store is refused before anything (--force included); an absent or empty one holds nothing
  const state = recogniseStore(o.storeRoot);
  if (state === "absent" || state === "empty") return emptyReport(!!o.dryRun);
  const lock = await acquireStoreLock(o.storeRoot, "gc");
  try {
    const store = new ArtifactStore(o.storeRoot);
    const inv = await store.inventory();
    const scan = await scanManifests(o.storeRoot);
    const doubts = [
      ...inv.unknown.map((p) => `${p} (not something the store wrote)`),
      ...scan.unreadable.map((u) => `${u.path} (${u.problem})`),
      ...(scan.latest?.problem ? [`${scan.latest.path} (${scan.latest.problem})`] : []),
    ];
    if (doubts.length && !o.force) {
      throw new UserError(
        `gc refused: ${doubts.length} thing(s) in the store it cannot account for: ${doubts.slice(0, 5).join("; ")}` +
          `${
            doubts.length > 5 ? ` and ${doubts.length - 5} more` : ""
          }; inspect or remove them, or rerun with --force to keep them and collect the rest`,
      );
    }
    const { kept, old: oldAll } = keptRuns(scan, o.keepRuns ?? DEFAULT_KEEP_RUNS);
    // only manifests the store wrote (regular files): a link under manifests/ is left alone
    const files = new Set(inv.manifests);
    const old = oldAll.filter((p) => files.has(p));
    const report = await sweep({ inv, kept, old, dryRun: !!o.dryRun, leftAlone: doubts });
    if (!o.dryRun) {
      for (const t of inv.temps) await removeOwnFile(t);
      await store.cleanTmp();
    }
    return report;
  } finally {
    lock.release();
  }
}

function emptyReport(dryRun: boolean): GcReport {
  return { dryRun, objectsRemoved: 0, bytesFreed: 0, entriesRemoved: 0, objectsKept: 0, manifestsRemoved: [], removed: [], leftAlone: [] };
}

/** The manifests gc keeps (latest.json's run and the last `keepRuns`), and the paths of the older ones. */
function keptRuns(scan: ManifestScan, keepRuns: number): { kept: Manifest[]; old: string[] } {
  const latestRun = scan.latest?.manifest?.runId;
  const kept: Manifest[] = scan.latest?.manifest ? [scan.latest.manifest] : [];
  const old: string[] = [];
  const cut = Math.max(0, scan.readable.length - keepRuns);
  scan.readable.forEach((m, i) => {
    if (i >= cut || m.manifest.runId === latestRun) kept.push(m.manifest);
    else old.push(m.path);
  });
  return { kept, old };
}

/** Removes (or, dry, lists) the old manifests, every object no kept run names, and the entries that lose an output. */
async function sweep(
  a: { inv: StoreInventory; kept: Manifest[]; old: string[]; dryRun: boolean; leftAlone: string[] },
): Promise<GcReport> {
  const report: GcReport = {
    dryRun: a.dryRun,
    objectsRemoved: 0,
    bytesFreed: 0,
    entriesRemoved: 0,
    objectsKept: 0,
    manifestsRemoved: a.old,
    removed: [],
    leftAlone: a.leftAlone,
  };
  const keep = new Set<string>();
  for (const m of a.kept) for (const s of m.stages) for (const ref of Object.values(s.outputs)) keep.add(ref.digest);
  const remove = async (path: string) => {
    report.removed.push(path);
    if (!a.dryRun) await Deno.remove(path);
  };
  for (const p of report.manifestsRemoved) await remove(p);
  for (const obj of a.inv.objects) {
    if (keep.has(obj.digest)) {
      report.objectsKept++;
      continue;
    }
    await remove(obj.path);
    report.objectsRemoved++;
    report.bytesFreed += obj.size;
  }
  for (const path of a.inv.runs) {
    const e = await readJson(path, RunEntrySchema);
    // A cache entry whose outputs go is useless; a corrupt one is never trusted anyway.
    if (!e.ok || !Object.values(e.value.outputs).every((r) => keep.has(r.digest))) {
      await remove(path);
      report.entriesRemoved++;
    }
  }
  return report;
}
