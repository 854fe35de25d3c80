import { dirname } from "node:path";

let counter = 0;

/**
 * Writes a file atomically: the bytes go to a temporary file in `tmpDir` (same filesystem), are flushed
 * to disk, then renamed onto `path`. A crash at any point leaves either the old file or the new one,
 * never a partial one.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, tmpDir: string): Promise<void> {
  await Deno.mkdir(tmpDir, { recursive: true });
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${tmpDir}/${Deno.pid}-${Date.now()}-${counter++}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    using f = await Deno.open(tmp, { write: true, createNew: true });
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await Deno.rename(tmp, path);
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
