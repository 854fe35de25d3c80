import tarStream from "tar-stream";
import { createGunzip, createGzip } from "node:zlib";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";

/** One file in a tar archive. */
export interface TarFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * Writes files to a gzipped tar (tar-stream + node:zlib). Written to `path + ".partial"` then renamed, so a
 * failure leaves no truncated archive behind. Entries get a fixed mtime so the archive is reproducible.
 */
export async function writeTarGz(path: string, files: Iterable<TarFile> | AsyncIterable<TarFile>): Promise<void> {
  const pack = tarStream.pack();
  const partial = `${path}.partial`;
  const done = pipeline(pack, createGzip({ level: 6 }), createWriteStream(partial));
  try {
    for await (const f of files) {
      await new Promise<void>((res, rej) =>
        pack.entry({ name: f.name, size: f.bytes.length, mtime: new Date(0), mode: 0o644 }, Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length), (err?: Error | null) => (err ? rej(err) : res()))
      );
    }
    pack.finalize();
    await done;
    await Deno.rename(partial, path);
  } catch (e) {
    pack.destroy();
    await done.catch(() => {});
    await Deno.remove(partial).catch(() => {});
    throw e;
  }
}

/**
 * Reads every regular file of a tar archive, gzipped or not. For a path or bytes, gzip is detected by its
 * magic bytes; a stream is taken to be gzipped. Calls `onFile` for each file; the archive is streamed, but
 * each file's bytes are held in memory while handled.
 */
export async function readTar(
  source: string | Uint8Array | Readable,
  onFile: (name: string, bytes: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const extract = tarStream.extract();
  let gz = true;
  if (typeof source === "string") {
    using f = await Deno.open(source);
    const head = new Uint8Array(2);
    await f.read(head);
    gz = head[0] === 0x1f && head[1] === 0x8b;
  } else if (source instanceof Uint8Array) gz = source[0] === 0x1f && source[1] === 0x8b;
  const input = typeof source === "string" ? createReadStream(source) : source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : source;
  const done = gz ? pipeline(input, createGunzip(), extract) : pipeline(input, extract);
  for await (const entry of extract) {
    const chunks: Uint8Array[] = [];
    for await (const c of entry) chunks.push(c as Uint8Array);
    if (entry.header.type === "file") {
      const bytes = new Uint8Array(Buffer.concat(chunks));
      await onFile(entry.header.name, bytes);
    }
  }
  await done;
}
