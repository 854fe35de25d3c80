// Bytes after the end of a .tar.gz's gzip stream: an archive that was appended to, or two files joined. A
// gunzip that meets them fails as "incorrect header check" or "unexpected end of file", often before it has
// handed over the last members, so a reader would report members as missing that are in the file. This
// finds where the first gzip member ends (header, raw deflate data, 8-byte trailer) and what follows it.
import { createInflateRaw } from "node:zlib";
import { Buffer } from "node:buffer";

/** Where the gzip member ends and how many bytes follow it. */
export interface GzipTail {
  /** Offset just after the first member's 8-byte trailer. */
  memberEnd: number;
  /** Bytes after it. */
  trailing: number;
  fileSize: number;
}

/** Length of a gzip header (RFC 1952 §2.3: fixed 10 bytes, then optional extra, name, comment, header CRC), or undefined. */
function headerLength(b: Uint8Array): number | undefined {
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) return undefined;
  const flags = b[3];
  let p = 10;
  if (flags & 4) {
    if (p + 2 > b.length) return undefined;
    p += 2 + (b[p] | (b[p + 1] << 8));
  }
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue;
    while (p < b.length && b[p] !== 0) p++;
    p++;
  }
  if (flags & 2) p += 2;
  return p <= b.length ? p : undefined;
}

/**
 * Where the first gzip member of a file ends and how many bytes follow it; undefined when the file does not
 * start with a gzip header, its deflate data does not end, or its 8-byte trailer is cut (truncated, or not gzip). Streams the file
 * once, in bounded memory; the decompressed bytes are discarded.
 */
export async function gzipTail(path: string): Promise<GzipTail | undefined> {
  using f = await Deno.open(path, { read: true });
  const fileSize = (await f.stat()).size;
  const head = new Uint8Array(Math.min(fileSize, 64 * 1024));
  let got = 0;
  while (got < head.length) {
    const n = await f.read(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  const hl = headerLength(head.subarray(0, got));
  if (hl === undefined) return undefined;
  const inflate = createInflateRaw();
  inflate.on("data", () => {}); // decompressed bytes are not needed, only where the deflate data ends
  const ended = new Promise<boolean>((res) => {
    inflate.on("end", () => res(true));
    inflate.on("error", () => res(false));
  });
  let done = false;
  ended.then(() => (done = true));
  const write = (chunk: Uint8Array) => new Promise<void>((res) => inflate.write(Buffer.from(chunk), () => res()));
  await write(head.subarray(hl, got));
  const buf = new Uint8Array(1 << 20);
  while (!done) {
    const n = await f.read(buf);
    if (n === null) break;
    await write(buf.slice(0, n));
  }
  inflate.end();
  if (!(await ended)) return undefined;
  const memberEnd = hl + inflate.bytesWritten + 8;
  if (memberEnd > fileSize) return undefined; // the deflate data ends, but the file is cut inside its trailer
  return { memberEnd, trailing: Math.max(0, fileSize - memberEnd), fileSize };
}

/** One line for a file with bytes after its gzip stream, or undefined when there are none (or it is not gzip). */
export async function junkAfterGzip(path: string): Promise<string | undefined> {
  const t = await gzipTail(path).catch(() => undefined);
  if (!t || t.trailing === 0) return undefined;
  return `the archive has ${t.trailing} byte(s) after the end of its gzip stream (which ends at byte ${t.memberEnd} of ${t.fileSize}): ` +
    `the file was appended to or joined with another; 'archive' never writes this: recreate it or fetch it again`;
}
