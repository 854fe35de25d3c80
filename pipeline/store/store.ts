import { z } from "zod";
import { sha256, sha256File } from "../hash.ts";
import { exists, isTempName, writeFileAtomic } from "./fs_atomic.ts";
import { DamagedObject, describeFsFault, UserError } from "../errors.ts";
import { isStoreTmpEntry, recogniseStore, STORE_MARKER } from "./store_root.ts";

/** One output file of a stage, as recorded in a cache entry. */
export const OutputRefSchema = z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) });
export type OutputRef = z.infer<typeof OutputRefSchema>;

/** A stage-cache entry: the outputs a stage produced for one cache key. */
export const RunEntrySchema = z.object({
  key: z.string().regex(/^[0-9a-f]{64}$/),
  stage: z.string(),
  outputs: z.record(z.string(), OutputRefSchema),
  wallMs: z.number(),
  createdAt: z.string(),
});
export type RunEntry = z.infer<typeof RunEntrySchema>;

const HEX64 = /^[0-9a-f]{64}$/;

/** Everything found under a store root, sorted into what the store knows and what it does not. */
export interface StoreInventory {
  objects: { digest: string; size: number; path: string }[];
  runs: string[];
  manifests: string[];
  /** Leftovers of interrupted writes (temporary files), safe to remove under the lock. */
  temps: string[];
  /** Files or directories the store did not write: gc refuses to run while there are any. */
  unknown: string[];
}

/** One damaged thing `verifyStore` found. */
export interface StoreDamage {
  path: string;
  problem: string;
}

/**
 * The local artifact store: content-addressed objects under `objects/<d[:2]>/<d>` and stage-cache entries
 * under `runs/<key[:2]>/<key>.json` (the layout of DVC's run cache). Every write is atomic. Every read of
 * an object is a check: bytes that do not hash to the object's name are reported, removed, and never
 * handed to a stage.
 *
 * @example
 * ```ts
 * const store = new ArtifactStore("/path/to/store");
 * const ref = await store.putObject(new TextEncoder().encode("hello")); // ref.digest: its sha256
 * const bytes = await store.getObject(ref.digest); // rehashed on read: a damaged copy throws DamagedObject
 * ```
 */
export class ArtifactStore {
  readonly root: string;
  /** Problems met while reading (corrupt entries removed): the runner reports them. */
  readonly warnings: string[] = [];
  /** Digests found damaged (and removed) since the last `takeDamaged()`: the runner recomputes their producers. */
  readonly #damaged = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** The store's directory for temporary files (same file system as the store). */
  get tmpDir(): string {
    return `${this.root}/tmp`;
  }

  /** Where an object lives. */
  objectPath(digest: string): string {
    return `${this.root}/objects/${digest.slice(0, 2)}/${digest}`;
  }

  /** Where a cache entry lives. */
  runPath(key: string): string {
    return `${this.root}/runs/${key.slice(0, 2)}/${key}.json`;
  }

  /**
   * Stores bytes under their sha256 and returns the reference. An existing copy is rehashed first: a good
   * one is kept, a damaged one (bit flip, truncation) is replaced.
   */
  async putObject(bytes: Uint8Array): Promise<OutputRef> {
    const digest = sha256(bytes);
    const path = this.objectPath(digest);
    let good = false;
    try {
      good = (await sha256File(path)) === digest;
      if (!good) this.warnings.push(`damaged object ${path} replaced by a good copy`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) this.warnings.push(`unreadable object ${path} replaced (${(e as Error).message})`);
    }
    if (!good) await writeFileAtomic(path, bytes, { tmpDir: this.tmpDir });
    return { digest, size: bytes.length };
  }

  /**
   * Reads an object, hashing the bytes as they are read. A missing object, or one whose bytes do not hash
   * to its name, is a DamagedObject error (a damaged copy is removed first), and the digest is remembered
   * for `takeDamaged()` so that the runner can recompute the stage that produced it.
   */
  async getObject(digest: string): Promise<Uint8Array> {
    const path = this.objectPath(digest);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw unreadable(path, "artifact", e);
      this.#damaged.add(digest);
      throw new DamagedObject(digest, `artifact ${digest} is missing from the store (${path}); rerun 'reproduce' to recompute it`);
    }
    const actual = sha256(bytes);
    if (actual !== digest) {
      await removeOwnFile(path);
      this.#damaged.add(digest);
      this.warnings.push(`damaged object ${path} (content hashes to ${actual}) removed`);
      throw new DamagedObject(
        digest,
        `artifact ${path} was corrupt (its content hashes to ${actual}); it has been removed: rerun 'reproduce' and the stage that made it recomputes`,
      );
    }
    return bytes;
  }

  /** True when a damaged object was found since the last `takeDamaged()`. */
  hasDamaged(): boolean {
    return this.#damaged.size > 0;
  }

  /** Digests found damaged since the last call (and forgets them). */
  takeDamaged(): string[] {
    const out = [...this.#damaged];
    this.#damaged.clear();
    return out;
  }

  /** True when an object is present with the expected size (cheap check; reads and `status --verify` rehash). */
  // Sync on purpose (here and in readRun): a no-op run checks every stage's entry and outputs, and a
  // small synchronous read costs a fraction of an async round trip through the event loop.
  // deno-lint-ignore require-await
  async hasObject(ref: OutputRef): Promise<boolean> {
    try {
      return Deno.statSync(this.objectPath(ref.digest)).size === ref.size;
    } catch {
      return false;
    }
  }

  /**
   * Looks a cache key up. An entry that fails schema validation, or whose objects are missing, is reported,
   * removed and treated as absent: never trusted.
   */
  async readRun(key: string): Promise<RunEntry | undefined> {
    const path = this.runPath(key);
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw unreadable(path, "cache entry", e);
    }
    let parsed: ReturnType<typeof RunEntrySchema.safeParse>;
    try {
      parsed = RunEntrySchema.safeParse(JSON.parse(text));
    } catch {
      parsed = { success: false } as ReturnType<typeof RunEntrySchema.safeParse>;
    }
    if (!parsed.success || parsed.data.key !== key) {
      this.warnings.push(`corrupt cache entry ${path} removed (not valid JSON of the expected shape)`);
      await removeOwnFile(path);
      return undefined;
    }
    for (const [name, ref] of Object.entries(parsed.data.outputs)) {
      if (!(await this.hasObject(ref))) {
        this.warnings.push(`cache entry ${path} dropped: its output '${name}' (${ref.digest}) is missing or truncated`);
        await removeOwnFile(path);
        return undefined;
      }
    }
    return parsed.data;
  }

  /** Removes a cache entry (absent is fine): its stage recomputes on the next lookup. */
  async dropRun(key: string): Promise<void> {
    await removeOwnFile(this.runPath(key));
  }

  /** Writes a cache entry atomically (after its objects are in place). */
  async writeRun(entry: RunEntry): Promise<void> {
    await writeFileAtomic(this.runPath(entry.key), JSON.stringify(entry, null, 1), { tmpDir: this.tmpDir });
  }

  /** Lists every object digest in the store (entries that are not objects are left out; see `inventory`). */
  async listObjects(): Promise<{ digest: string; size: number }[]> {
    return (await this.inventory()).objects.map(({ digest, size }) => ({ digest, size }));
  }

  /** Lists every cache entry path. */
  async listRunPaths(): Promise<string[]> {
    return (await this.inventory()).runs;
  }

  /**
   * Walks the whole store and sorts what it finds: objects (`objects/<d[:2]>/<d>`), cache entries
   * (`runs/<k[:2]>/<k>.json`), manifests, leftovers of interrupted writes, and anything else (unknown).
   * Symbolic links are always unknown: the store never makes them.
   */
  async inventory(): Promise<StoreInventory> {
    const inv: StoreInventory = { objects: [], runs: [], manifests: [], temps: [], unknown: [] };
    if (!(await exists(this.root))) return inv;
    for (const top of await listDir(this.root)) {
      const p = `${this.root}/${top.name}`;
      if ((top.name === "LOCK" || top.name === STORE_MARKER) && top.isFile) continue;
      if (top.isFile && isTempName(top.name)) {
        inv.temps.push(p);
        continue;
      }
      if (top.name === "logs" && top.isDirectory) continue;
      if (top.name === "tmp" && top.isDirectory) {
        // what an interrupted run left is swept by cleanTmp; anything else there is not the store's
        for (const f of await listDir(p)) if (!isStoreTmpEntry(f.name, f)) inv.unknown.push(`${p}/${f.name}`);
        continue;
      }
      if (top.name === "manifests" && top.isDirectory) {
        for (const f of await listDir(p)) {
          const fp = `${p}/${f.name}`;
          if (f.isFile && isTempName(f.name)) inv.temps.push(fp);
          else if (f.isFile && f.name.endsWith(".json")) inv.manifests.push(fp);
          else inv.unknown.push(fp);
        }
        continue;
      }
      if ((top.name === "objects" || top.name === "runs") && top.isDirectory) {
        await this.#walkSharded(top.name, inv);
        continue;
      }
      inv.unknown.push(p);
    }
    return inv;
  }

  async #walkSharded(kind: "objects" | "runs", inv: StoreInventory): Promise<void> {
    const dir = `${this.root}/${kind}`;
    for (const sub of await listDir(dir)) {
      const sp = `${dir}/${sub.name}`;
      if (!sub.isDirectory || !/^[0-9a-f]{2}$/.test(sub.name)) {
        inv.unknown.push(sp);
        continue;
      }
      for (const f of await listDir(sp)) {
        const fp = `${sp}/${f.name}`;
        const stem = kind === "runs" ? f.name.replace(/\.json$/, "") : f.name;
        if (f.isFile && isTempName(f.name)) inv.temps.push(fp);
        else if (!f.isFile || !HEX64.test(stem) || !stem.startsWith(sub.name) || (kind === "runs" && !f.name.endsWith(".json"))) {
          inv.unknown.push(fp);
        } else if (kind === "runs") inv.runs.push(fp);
        else inv.objects.push({ digest: stem, size: (await Deno.lstat(fp)).size, path: fp });
      }
    }
  }

  /**
   * Rehashes every object and validates every cache entry and manifest: the full check behind
   * `status --verify`. Returns the damage found; changes nothing.
   */
  async verify(opts: { manifestSchema?: z.ZodType } = {}): Promise<{ checked: number; damage: StoreDamage[] }> {
    const inv = await this.inventory();
    const damage: StoreDamage[] = [];
    for (const o of inv.objects) {
      try {
        const h = await sha256File(o.path);
        if (h !== o.digest) damage.push({ path: o.path, problem: `content hashes to ${h} (bit flip, truncation or overwrite)` });
      } catch (e) {
        damage.push({ path: o.path, problem: `unreadable: ${(e as Error).message}` });
      }
    }
    const present = new Map(inv.objects.map((o) => [o.digest, o.size]));
    for (const r of inv.runs) {
      const e = await readJson(r, RunEntrySchema);
      if (!e.ok) damage.push({ path: r, problem: `cache entry ${e.problem}` });
      else {
        for (const [n, ref] of Object.entries(e.value.outputs)) {
          if (present.get(ref.digest) !== ref.size) {
            damage.push({ path: r, problem: `output '${n}' (${ref.digest}) is missing or has the wrong size` });
          }
        }
      }
    }
    for (const m of inv.manifests) {
      const e = await readJson(m, opts.manifestSchema ?? z.unknown());
      if (!e.ok) damage.push({ path: m, problem: `manifest ${e.problem}` });
    }
    for (const u of inv.unknown) damage.push({ path: u, problem: "not something the store wrote (stray file or directory)" });
    return { checked: inv.objects.length + inv.runs.length + inv.manifests.length, damage };
  }

  /**
   * Removes leftovers of interrupted writes (call under the store lock): in the store's tmp/, the entries
   * the store made and names (temporary files with its prefix, a run's scratch, job and code directories;
   * see isStoreTmpEntry), never anything else, and never through a link; with `everywhere`, also temporary
   * files beside their destination (written there only when tmp/ is on another file system), which needs a
   * walk of the whole store: for a run that took over the lock of a dead one.
   */
  async cleanTmp(opts: { everywhere?: boolean } = {}): Promise<number> {
    let n = 0;
    let st: Deno.FileInfo | undefined;
    try {
      st = await Deno.lstat(this.tmpDir);
    } catch { /* no tmp/ */ }
    if (st?.isDirectory) {
      for (const f of await listDir(this.tmpDir)) {
        if (!isStoreTmpEntry(f.name, f)) continue;
        // (a directory's removal does not follow the links inside it: a code snapshot links to the project)
        await Deno.remove(`${this.tmpDir}/${f.name}`, { recursive: f.isDirectory }).catch(() => {});
        n++;
      }
    }
    if (!opts.everywhere) return n;
    for (const t of (await this.inventory()).temps) {
      await removeOwnFile(t);
      n++;
    }
    return n;
  }
}

/**
 * A store file that exists but cannot be read (a directory or a device in its place, no permission): a
 * UserError naming it and the fix; the store removes nothing it did not write, so the user moves it away.
 */
function unreadable(path: string, what: string, e: unknown): UserError {
  const fs = describeFsFault(e, `cannot read the ${what} ${path}`);
  return new UserError(
    fs ?? `the ${what} ${path} cannot be read (${(e as Error).message}): it is not a file the store wrote; ` +
        `move it out of the store and rerun (the stage that made it recomputes)`,
    { cause: e },
  );
}

/** Removes a file the store wrote (absent is fine); a link or a directory under that name is never the store's: left alone. */
export async function removeOwnFile(path: string): Promise<void> {
  try {
    if (!(await Deno.lstat(path)).isFile) return;
    await Deno.remove(path);
  } catch { /* gone already */ }
}

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(path)) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads and validates a JSON file; failures as values naming what is wrong. */
export async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<{ ok: true; value: T } | { ok: false; problem: string }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    return { ok: false, problem: `unreadable (${(e as Error).message})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `is not valid JSON (${(e as Error).message})` };
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, problem: `does not have the expected shape (field '${i?.path.join(".") || "(root)"}': ${i?.message})` };
  }
  return { ok: true, value: r.data };
}

/**
 * Checks a store root can be used, writing nothing: absent or empty (a store will be created there), a
 * store, or a store of an earlier version. A file, or a directory that is not a store, is a UserError
 * naming the path and the fix (see recogniseStore).
 */
export function checkStoreRoot(root: string, via: string): Promise<void> {
  recogniseStore(root, via);
  return Promise.resolve();
}
