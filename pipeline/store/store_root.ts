// What a store directory is, decided before anything is written or removed there: a store (it carries the
// marker the store writes when it creates itself), a store made by an earlier version (no marker, but only
// entries the store makes, in their shapes: adopted by writing the marker), empty or absent (a store is
// created there), or anything else: refused, in one line, by every command. Like git outside a repository
// or restic with an uninitialised repository, the program never guesses that a directory is its own.
import { z } from "zod";
import { UserError } from "../errors.ts";
import { isTempName, writeFileAtomic } from "./fs_atomic.ts";

/** The marker file at the root of every store. */
export const STORE_MARKER = "ARTIFACT-STORE.json";

/** The store format this version writes and reads. */
export const STORE_FORMAT_VERSION = 1;

const MarkerSchema = z.object({
  kind: z.literal("artifact-store"),
  formatVersion: z.number().int().min(1),
  createdAt: z.string(),
  adopted: z.boolean().optional(),
});
type Marker = z.infer<typeof MarkerSchema>;

/** What a store root holds: see recogniseStore. */
export type StoreRootState = "absent" | "empty" | "store" | "legacy";

const HEX2 = /^[0-9a-f]{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** A run id as run_context.ts makes it: an ISO time with ':' and '.' replaced by '-', then the pid. */
export const RUN_ID = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z-\d+$/;

/**
 * True for the name of an entry of `<store>/tmp` that the store made: a temporary file of an atomic write
 * (a regular file), or a directory of a run (a stage's scratch directory `scratch-<key[:16]>-<pid>`, a
 * parallel run's job specs `jobs-<run>` and code snapshot `code-<run>`). Only these are ever swept.
 */
export function isStoreTmpEntry(name: string, kind: { isFile: boolean; isDirectory: boolean }): boolean {
  // (the oldest versions named their temporary files <pid>-<ms>-<n>.tmp, without a prefix)
  if (kind.isFile) return isTempName(name) || /^\d+-\d+-\d+\.tmp$/.test(name);
  if (!kind.isDirectory) return false; // links and devices are never the store's
  if (/^scratch-[0-9a-f]{16}-\d+$/.test(name)) return true;
  const m = /^(jobs|code)-(.+)$/.exec(name);
  return !!m && RUN_ID.test(m[2]);
}

/** Sorted entries of a directory. */
function entries(path: string): Deno.DirEntry[] {
  return [...Deno.readDirSync(path)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The first entry under `root` that a store of an earlier version could not have made, or undefined when
 * every entry is the store's own in its shape: objects/<d[:2]>/<d>, runs/<k[:2]>/<k>.json, manifests/*.json,
 * logs/ (run logs, slurm/ job files), tmp/ (entries isStoreTmpEntry knows), LOCK, temporary files.
 */
export function foreignEntry(root: string): string | undefined {
  for (const top of entries(root)) {
    const p = `${root}/${top.name}`;
    if (top.isFile && (top.name === "LOCK" || top.name === STORE_MARKER || isTempName(top.name))) continue;
    if (!top.isDirectory) return p;
    const bad = foreignIn(top.name, p);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

function foreignIn(dir: string, p: string): string | undefined {
  if (dir === "objects" || dir === "runs") {
    for (const sub of entries(p)) {
      const sp = `${p}/${sub.name}`;
      if (!sub.isDirectory || !HEX2.test(sub.name)) return sp;
      for (const f of entries(sp)) {
        const stem = dir === "runs" ? f.name.replace(/\.json$/, "") : f.name;
        const shaped = HEX64.test(stem) && stem.startsWith(sub.name) && (dir === "objects" || f.name.endsWith(".json"));
        if (!f.isFile || !(shaped || isTempName(f.name))) return `${sp}/${f.name}`;
      }
    }
    return undefined;
  }
  if (dir === "manifests") {
    for (const f of entries(p)) if (!f.isFile || !(f.name.endsWith(".json") || isTempName(f.name))) return `${p}/${f.name}`;
    return undefined;
  }
  if (dir === "logs") {
    for (const f of entries(p)) {
      if (f.isFile && /\.jsonl$/.test(f.name)) continue;
      if (f.isDirectory && f.name === "slurm") {
        for (const j of entries(`${p}/slurm`)) if (!j.isFile || !/\.(sh|out)$/.test(j.name)) return `${p}/slurm/${j.name}`;
        continue;
      }
      return `${p}/${f.name}`;
    }
    return undefined;
  }
  if (dir === "tmp") {
    for (const f of entries(p)) if (!isStoreTmpEntry(f.name, f)) return `${p}/${f.name}`;
    return undefined;
  }
  return p;
}

/** Reads the marker: the marker, undefined when absent, or a problem (a UserError naming the fix). */
function readMarker(root: string): Marker | undefined {
  const path = `${root}/${STORE_MARKER}`;
  let text: string;
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile) {
      throw new UserError(`${path} is not a file: this is not an artifact store; point --store at a store or an empty directory`);
    }
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read the store marker ${path}: ${(e as Error).message}`);
  }
  let parsed: ReturnType<typeof MarkerSchema.safeParse>;
  try {
    parsed = MarkerSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = { success: false } as ReturnType<typeof MarkerSchema.safeParse>;
  }
  if (!parsed.success) {
    throw new UserError(
      `the store marker ${path} is damaged (not the JSON this program writes); if ${root} is an artifact store, ` +
        `remove the marker and rerun: a directory holding only the store's own entries is adopted again`,
    );
  }
  if (parsed.data.formatVersion > STORE_FORMAT_VERSION) {
    throw new UserError(
      `the artifact store ${root} has format version ${parsed.data.formatVersion}, newer than this program's ` +
        `${STORE_FORMAT_VERSION}; use a newer version of the program, or another --store`,
    );
  }
  return parsed.data;
}

/**
 * What `root` is, changing nothing: "absent", "empty", "store" (it carries the marker), or "legacy" (a store
 * of an earlier version: no marker, only the store's own entries, and at least one of objects/, runs/,
 * manifests/). Anything else is a UserError naming the first foreign entry, before any command writes or
 * removes a byte there. `via` says where the path came from (--store, $X_STORE).
 */
export function recogniseStore(root: string, via = "--store"): StoreRootState {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "absent";
    throw new UserError(`the artifact store ${root} (from ${via}) cannot be used: ${(e as Error).message}`);
  }
  if (!st.isDirectory) {
    throw new UserError(`the artifact store ${root} (from ${via}) is a file, not a directory; point ${via} at a directory`);
  }
  if (readMarker(root)) return "store";
  let list: Deno.DirEntry[];
  let foreign: string | undefined;
  try {
    list = entries(root);
    foreign = foreignEntry(root);
  } catch (e) {
    throw new UserError(`the artifact store ${root} (from ${via}) cannot be read: ${(e as Error).message}`);
  }
  if (list.every((e) => e.isFile && isTempName(e.name))) return "empty";
  const hasData = list.some((e) => e.isDirectory && (e.name === "objects" || e.name === "runs" || e.name === "manifests"));
  if (foreign === undefined && hasData) return "legacy";
  throw new UserError(
    `${root} (from ${via}) is not an artifact store: it is not empty and has no ${STORE_MARKER}` +
      (foreign !== undefined ? ` (it holds ${foreign}, which no store makes)` : " (it holds no objects/, runs/ or manifests/)") +
      `; point ${via} at a store or at an empty or new directory`,
  );
}

/**
 * Makes `root` a store before a command writes to it: creates it and its marker when absent or empty,
 * writes the marker into a store of an earlier version (adopts it), and refuses anything else (see
 * recogniseStore). With `readOnly`, nothing is written: a store of an earlier version is used as it is.
 * Returns what `root` was.
 */
export async function claimStore(root: string, o: { via?: string; readOnly?: boolean } = {}): Promise<StoreRootState> {
  const state = recogniseStore(root, o.via);
  if (state === "store" || o.readOnly) return state;
  const marker: Marker = { kind: "artifact-store", formatVersion: STORE_FORMAT_VERSION, createdAt: new Date().toISOString() };
  if (state === "legacy") marker.adopted = true;
  // Written beside itself (a temporary file with the store's prefix, then renamed): a second process that
  // creates the same store at the same moment writes an equivalent marker.
  await writeFileAtomic(`${root}/${STORE_MARKER}`, JSON.stringify(marker, null, 1) + "\n");
  return state;
}
