import { acquireStoreLock } from "./lock.ts";
import { listManifests } from "./manifest.ts";
import { ArtifactStore, RunEntrySchema } from "./store.ts";

/** What gc removed. */
export interface GcReport {
  objectsRemoved: number;
  bytesFreed: number;
  entriesRemoved: number;
  objectsKept: number;
}

/**
 * Removes objects that no manifest references, then cache entries whose outputs are gone, under the store
 * lock. Objects referenced by any manifest (every recorded run) are kept, so `verify --rerun` and `status`
 * keep working for every run on record.
 */
export async function collectGarbage(storeRoot: string): Promise<GcReport> {
  const lock = await acquireStoreLock(storeRoot, "gc");
  try {
    const store = new ArtifactStore(storeRoot);
    await store.cleanTmp();
    const keep = new Set<string>();
    for (const { manifest } of await listManifests(storeRoot)) {
      for (const s of manifest.stages) for (const ref of Object.values(s.outputs)) keep.add(ref.digest);
    }
    const report: GcReport = { objectsRemoved: 0, bytesFreed: 0, entriesRemoved: 0, objectsKept: 0 };
    for (const o of await store.listObjects()) {
      if (keep.has(o.digest)) {
        report.objectsKept++;
        continue;
      }
      await Deno.remove(store.objectPath(o.digest));
      report.objectsRemoved++;
      report.bytesFreed += o.size;
    }
    for (const path of await store.listRunPaths()) {
      let ok = false;
      try {
        const e = RunEntrySchema.parse(JSON.parse(await Deno.readTextFile(path)));
        ok = Object.values(e.outputs).every((r) => keep.has(r.digest));
      } catch { /* corrupt: remove */ }
      if (!ok) {
        await Deno.remove(path);
        report.entriesRemoved++;
      }
    }
    return report;
  } finally {
    lock.release();
  }
}
