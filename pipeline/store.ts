import { z } from "zod";
import { sha256 } from "./hash.ts";
import { exists, writeFileAtomic } from "./fs_atomic.ts";
import { UserError } from "./errors.ts";

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

/**
 * The local artifact store: content-addressed objects under `objects/<d[:2]>/<d>` and stage-cache entries
 * under `runs/<key[:2]>/<key>.json` (the layout of DVC's run cache). Every write is atomic.
 */
export class ArtifactStore {
  readonly root: string;
  /** Problems met while reading (corrupt entries removed): the runner reports them. */
  readonly warnings: string[] = [];

  constructor(root: string) {
    this.root = root;
  }

  get tmpDir(): string {
    return `${this.root}/tmp`;
  }

  objectPath(digest: string): string {
    return `${this.root}/objects/${digest.slice(0, 2)}/${digest}`;
  }

  runPath(key: string): string {
    return `${this.root}/runs/${key.slice(0, 2)}/${key}.json`;
  }

  /** Stores bytes under their sha256 (a no-op if present) and returns the digest. */
  async putObject(bytes: Uint8Array): Promise<OutputRef> {
    const digest = sha256(bytes);
    const path = this.objectPath(digest);
    if (!(await exists(path))) await writeFileAtomic(path, bytes, this.tmpDir);
    return { digest, size: bytes.length };
  }

  /** Reads an object and checks its content against its digest; a mismatch is an error naming the object. */
  async getObject(digest: string): Promise<Uint8Array> {
    const path = this.objectPath(digest);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new UserError(`artifact ${digest} is missing from the store (${path})`);
      throw e;
    }
    const actual = sha256(bytes);
    if (actual !== digest) {
      throw new UserError(`artifact ${path} is corrupt: its content hashes to ${actual}; delete it and rerun (the stage that made it recomputes)`);
    }
    return bytes;
  }

  /** True when an object is present with the expected size (cheap check; `verify` rehashes). */
  async hasObject(ref: OutputRef): Promise<boolean> {
    try {
      return (await Deno.stat(this.objectPath(ref.digest))).size === ref.size;
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
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    let parsed: ReturnType<typeof RunEntrySchema.safeParse>;
    try {
      parsed = RunEntrySchema.safeParse(JSON.parse(text));
    } catch {
      parsed = { success: false } as ReturnType<typeof RunEntrySchema.safeParse>;
    }
    if (!parsed.success || parsed.data.key !== key) {
      this.warnings.push(`corrupt cache entry ${path} removed (not valid JSON of the expected shape)`);
      await Deno.remove(path).catch(() => {});
      return undefined;
    }
    for (const [name, ref] of Object.entries(parsed.data.outputs)) {
      if (!(await this.hasObject(ref))) {
        this.warnings.push(`cache entry ${path} dropped: its output '${name}' (${ref.digest}) is missing or truncated`);
        await Deno.remove(path).catch(() => {});
        return undefined;
      }
    }
    return parsed.data;
  }

  /** Writes a cache entry atomically (after its objects are in place). */
  async writeRun(entry: RunEntry): Promise<void> {
    await writeFileAtomic(this.runPath(entry.key), JSON.stringify(entry, null, 1), this.tmpDir);
  }

  /** Lists every object digest in the store. */
  async listObjects(): Promise<{ digest: string; size: number }[]> {
    const out: { digest: string; size: number }[] = [];
    const dir = `${this.root}/objects`;
    if (!(await exists(dir))) return out;
    for await (const sub of Deno.readDir(dir)) {
      if (!sub.isDirectory) continue;
      for await (const f of Deno.readDir(`${dir}/${sub.name}`)) {
        const st = await Deno.stat(`${dir}/${sub.name}/${f.name}`);
        out.push({ digest: f.name, size: st.size });
      }
    }
    return out;
  }

  /** Lists every cache entry path. */
  async listRunPaths(): Promise<string[]> {
    const out: string[] = [];
    const dir = `${this.root}/runs`;
    if (!(await exists(dir))) return out;
    for await (const sub of Deno.readDir(dir)) {
      if (!sub.isDirectory) continue;
      for await (const f of Deno.readDir(`${dir}/${sub.name}`)) out.push(`${dir}/${sub.name}/${f.name}`);
    }
    return out;
  }

  /** Removes leftovers of interrupted writes (call under the store lock). */
  async cleanTmp(): Promise<number> {
    if (!(await exists(this.tmpDir))) return 0;
    let n = 0;
    for await (const f of Deno.readDir(this.tmpDir)) {
      await Deno.remove(`${this.tmpDir}/${f.name}`, { recursive: true }).catch(() => {});
      n++;
    }
    return n;
  }
}
