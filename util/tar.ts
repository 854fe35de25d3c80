import tarStream from "tar-stream";
import { createGunzip, createGzip } from "node:zlib";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable, Transform } from "node:stream";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";

/** One file in a tar archive. */
export interface TarFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * Writes files to a gzipped tar (tar-stream + node:zlib). Written to `path + ".partial"` then renamed, so a
 * failure leaves no truncated archive behind. Entries get a fixed mtime so the archive is reproducible.
 *
 * @example
 * ```ts
 * await writeTarGz("run.tar.gz", [{ name: "a.json", bytes: new TextEncoder().encode("{}") }]);
 * ```
 */
export async function writeTarGz(path: string, files: Iterable<TarFile> | AsyncIterable<TarFile>): Promise<void> {
  const pack = tarStream.pack();
  const partial = `${path}.partial`;
  // Create the file first: an open that fails inside Node's write stream (a missing directory) surfaces as an
  // uncaught error under Deno, not through the pipeline; created here, it is an ordinary rejection.
  await Deno.writeFile(partial, new Uint8Array());
  const done = pipeline(pack, createGzip({ level: 6 }), createWriteStream(partial));
  // The write can fail at any moment (a missing directory, a full disk): observe it at once, so that it is
  // never an unhandled rejection, and stop waiting for an entry that will never be consumed.
  const failed = done.then(() => new Promise<never>(() => {}));
  failed.catch(() => {});
  try {
    for await (const f of files) {
      await Promise.race([
        new Promise<void>((res, rej) =>
          pack.entry(
            { name: f.name, size: f.bytes.length, mtime: new Date(0), mode: 0o644 },
            Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length),
            (err?: Error | null) => (err ? rej(err) : res()),
          )
        ),
        failed,
      ]);
    }
    pack.finalize();
    await done;
    await Deno.rename(partial, path);
  } catch (e) {
    pack.destroy();
    // when the write failed, that is the cause (the pack then fails too, as "already destroyed")
    const writeError = await done.then(() => undefined, (err) => err);
    await Deno.remove(partial).catch(() => {});
    throw writeError ?? e;
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
  const input = typeof source === "string"
    ? createReadStream(source)
    : source instanceof Uint8Array
    ? Readable.from([Buffer.from(source)])
    : source;
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

/** Limits of a bounded tar scan. `maxTotalBytes` may be raised or lowered while the scan runs. */
export interface TarLimits {
  /** Most members (of any type) accepted before the scan is cut off. */
  maxMembers: number;
  /** Most bytes (decompressed, headers and padding included) read before the scan is cut off. */
  maxTotalBytes: number;
}

/** What the caller's policy says about a member, from its name and declared size, before any byte is read. */
export type MemberVerdict =
  /** Read it (at most `maxBytes`); `keep` holds its bytes in memory for `onMember` (small metadata only). */
  | { read: true; maxBytes: number; keep?: boolean }
  /** Skip it and record this problem; `fatal` cuts the whole scan off. */
  | { read: false; problem: string; fatal?: boolean }
  /**
   * Not wanted (a sound member the caller does not need): streamed past whatever its size, no problem
   * recorded. The total-bytes cap still bounds what is decompressed.
   */
  | { read: false; unwanted: true };

/** A regular-file member read by `scanTar`: its hash was computed as its bytes streamed past. */
export interface ScannedMember {
  name: string;
  size: number;
  sha256: string;
  /** The bytes, when the policy asked to keep them. */
  bytes?: Uint8Array;
}

/** The outcome of `scanTar`: problems are values, never exceptions. */
export interface TarScan {
  members: ScannedMember[];
  problems: string[];
  /** Set when the scan stopped early (bomb, limit, unreadable stream); `readAny` tells if any member was read. */
  cutOff?: string;
  readAny: boolean;
  /** Peak resident set size seen during the scan (bytes), for the record. */
  peakRss: number;
}

/** Why a member name is unsafe to extract (absolute, `..`, odd characters), or undefined if it is safe. */
export function unsafeMemberName(name: string): string | undefined {
  if (name.length === 0) return "empty name";
  if (name.length > 1024) return "name longer than 1024 characters";
  if (name.startsWith("/")) return "absolute path";
  if (name.includes("\\") || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return "control character or backslash in the name";
  }
  const parts = name.split("/");
  if (parts.includes("..")) return "'..' in the path (escapes the extraction directory)";
  if (parts.some((p, i) => p === "" && i < parts.length - 1) || parts.includes(".")) return "empty or '.' path segment";
  return undefined;
}

/**
 * Reads a tar (gzipped or not, by magic bytes) as a stream, in bounded memory, without trusting it. Every
 * member's name and type are checked before its data (links, devices, directories, absolute paths, `..`
 * and duplicates are problems; only regular files are read); `policy` decides from the name and the
 * declared size whether to read it and how many bytes it may have; each read member is hashed as it
 * streams past and never exceeds its allowance (the scan is cut off the moment it would). The member count
 * and the total decompressed bytes are capped, so a gzip bomb stops at the cap, not at the end of the
 * bomb. `onMember` runs after each member, before the next is read, so it can tighten the policy.
 */
export async function scanTar(path: string, opts: {
  limits: TarLimits;
  policy: (name: string, declaredSize: number) => MemberVerdict;
  onMember?: (m: ScannedMember) => void | Promise<void>;
  /**
   * Also write each member read to this (empty) directory as it streams past. Names were checked first
   * (no `..`, no absolute path, no link), and files are created new, so nothing lands outside it.
   */
  extractTo?: string;
}): Promise<TarScan> {
  const scan: TarScan = { members: [], problems: [], readAny: false, peakRss: 0 };
  const { extract, stop, done } = openCapped(path, await isGzip(path), opts.limits, scan);
  const seen = new Set<string>();
  let count = 0;
  const peak = () => (scan.peakRss = Math.max(scan.peakRss, Deno.memoryUsage().rss));
  try {
    for await (const entry of extract) {
      peak();
      const h = entry.header;
      if (++count > opts.limits.maxMembers) {
        stop(`more than ${opts.limits.maxMembers} members`);
        break;
      }
      const problem = memberProblem(h, seen);
      seen.add(h.name);
      const verdict = admit(h, problem ? { read: false, problem } : opts.policy(h.name, h.size ?? 0), scan, stop);
      if (verdict === "stop") break;
      if (verdict === "skip") {
        entry.resume();
        continue;
      }
      const m = await readMember(
        entry as AsyncIterable<Uint8Array>,
        h.name,
        { ...verdict, to: opts.extractTo ? `${opts.extractTo}/${h.name}` : undefined },
        () => stop(`${JSON.stringify(h.name)}: more bytes than declared (cut off)`),
      );
      peak();
      if (!m) break;
      scan.readAny = true;
      if (m.size !== (h.size ?? 0)) scan.problems.push(`${JSON.stringify(h.name)}: ${m.size} bytes read, ${h.size} declared (truncated)`);
      scan.members.push(m.bytes ? { ...m } : m);
      await opts.onMember?.(m);
    }
    await done;
  } catch (e) {
    if (!scan.cutOff) scan.cutOff = `unreadable or truncated: ${(e as Error).message}`;
  }
  await done.catch(() => {});
  peak();
  return scan;
}

/** Whether a file starts with gzip's magic bytes. */
async function isGzip(path: string): Promise<boolean> {
  using f = await Deno.open(path);
  const head = new Uint8Array(2);
  await f.read(head);
  return head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The file as a stream of tar entries, every decompressed byte counted before tar parsing (the cap holds
 * whatever the tar headers say); `stop` cuts the scan off with a reason recorded in `scan`.
 */
function openCapped(path: string, gz: boolean, limits: TarLimits, scan: TarScan) {
  let total = 0;
  const input = createReadStream(path);
  const extract = tarStream.extract();
  const stop = (why: string) => {
    if (!scan.cutOff) scan.cutOff = why;
    input.destroy();
    extract.destroy(new Error(why));
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > limits.maxTotalBytes) {
        stop(`more than ${limits.maxTotalBytes} bytes once decompressed (cut off there: a bomb, or an archive larger than it declares)`);
        cb();
        return;
      }
      cb(null, chunk);
    },
  });
  const done = gz ? pipeline(input, createGunzip(), counter, extract) : pipeline(input, counter, extract);
  return { extract, stop, done };
}

/**
 * What to do with a member before reading its data: read it (the verdict), skip it (a problem recorded), or
 * stop the scan (a fatal problem, a rejected member too large to skip over, or one larger than allowed).
 */
function admit(
  h: { name: string; size?: number | null },
  verdict: MemberVerdict,
  scan: TarScan,
  stop: (why: string) => void,
): Extract<MemberVerdict, { read: true }> | "skip" | "stop" {
  const name = JSON.stringify(h.name);
  if (!verdict.read && "unwanted" in verdict) return "skip";
  if (!verdict.read) {
    scan.problems.push(`${name}: ${verdict.problem}`);
    if (verdict.fatal) {
      stop(`${name}: ${verdict.problem}`);
      return "stop";
    }
    if ((h.size ?? 0) > 1 << 20) {
      stop(`${name}: a rejected member of ${h.size} bytes is not read`);
      return "stop";
    }
    return "skip";
  }
  if ((h.size ?? 0) > verdict.maxBytes) {
    scan.problems.push(`${name}: declares ${h.size} bytes, more than the ${verdict.maxBytes} allowed for it`);
    stop(`${name}: larger than allowed (cut off before reading it)`);
    return "stop";
  }
  return verdict;
}

function memberProblem(h: { name: string; type?: string | null; linkname?: string | null }, seen: Set<string>): string | undefined {
  if (h.type !== "file") {
    const what = h.type === "symlink" || h.type === "link"
      ? `${h.type === "link" ? "hard link" : "symbolic link"} to ${JSON.stringify(h.linkname)}`
      : `${h.type}`;
    return `a ${what}, not a regular file (links and special files are refused)`;
  }
  const unsafe = unsafeMemberName(h.name);
  if (unsafe) return `unsafe path: ${unsafe}`;
  if (seen.has(h.name)) return "duplicate member (a second copy of this name)";
  return undefined;
}

async function readMember(
  entry: AsyncIterable<Uint8Array>,
  name: string,
  verdict: { maxBytes: number; keep?: boolean; to?: string },
  overflow: () => void,
): Promise<ScannedMember | undefined> {
  const hash = createHash("sha256");
  const kept: Uint8Array[] = [];
  let size = 0;
  let file: Deno.FsFile | undefined;
  if (verdict.to) {
    await Deno.mkdir(verdict.to.slice(0, verdict.to.lastIndexOf("/")), { recursive: true });
    file = await Deno.open(verdict.to, { write: true, createNew: true });
  }
  try {
    for await (const c of entry) {
      size += c.length;
      if (size > verdict.maxBytes) {
        overflow();
        return undefined;
      }
      hash.update(c);
      if (verdict.keep) kept.push(new Uint8Array(c));
      for (let off = 0; file && off < c.length;) off += await file.write(c.subarray(off));
    }
  } finally {
    file?.close();
  }
  const bytes = verdict.keep ? new Uint8Array(Buffer.concat(kept)) : undefined;
  return { name, size, sha256: hash.digest("hex"), bytes };
}
