import { basename, dirname } from "node:path";
import { asUserFsError } from "../errors.ts";

let counter = 0;

/** The prefix of every temporary file this module makes: `gc` and `cleanTmp` know such files as leftovers. */
export const TEMP_PREFIX = ".pipeline-tmp-";

/** The prefix of temporary files written before the engine's names were neutral: a store may still hold some. */
const LEGACY_TEMP_PREFIX = ".hpo-tmp-";

/** True for the name of a temporary file left by an interrupted atomic write (of this version or an earlier one). */
export function isTempName(name: string): boolean {
  return (name.startsWith(TEMP_PREFIX) || name.startsWith(LEGACY_TEMP_PREFIX)) && name.endsWith(".tmp");
}

function isCrossDevice(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "EXDEV" || (e instanceof Error && /os error 18\)/.test(e.message));
}

async function writeAll(tmp: string, bytes: Uint8Array): Promise<void> {
  try {
    using f = await Deno.open(tmp, { write: true, createNew: true });
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /**
   * Where the temporary file goes. Default: beside the destination, so the final rename never crosses a
   * file system. A directory on another file system still works: the rename fails with EXDEV and the
   * write is redone beside the destination.
   */
  tmpDir?: string;
}

/**
 * Writes a file atomically: the bytes go to a temporary file, are flushed to disk, then renamed onto
 * `path`. A crash at any point leaves either the old file or the new one, never a partial one. A full disk,
 * a read-only file system or a permission problem is a UserError naming the path (and the temporary file
 * is removed, so nothing changes).
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "hello");
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions | string = {}): Promise<void> {
  const o: AtomicWriteOptions = typeof opts === "string" ? { tmpDir: opts } : opts;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const beside = () => `${dirname(path)}/${TEMP_PREFIX}${basename(path)}-${Deno.pid}-${counter++}.tmp`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    let tmp = o.tmpDir ? `${o.tmpDir}/${TEMP_PREFIX}${Deno.pid}-${Date.now()}-${counter++}.tmp` : beside();
    if (o.tmpDir) await Deno.mkdir(o.tmpDir, { recursive: true });
    await writeAll(tmp, bytes);
    try {
      await Deno.rename(tmp, path);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      if (!isCrossDevice(e)) throw e;
      // The temporary directory is on another file system: write again beside the destination.
      tmp = beside();
      await writeAll(tmp, bytes);
      try {
        await Deno.rename(tmp, path);
      } catch (e2) {
        await Deno.remove(tmp).catch(() => {});
        throw e2;
      }
    }
  } catch (e) {
    throw asUserFsError(e, `cannot write ${path}`);
  }
}

/** True if a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
