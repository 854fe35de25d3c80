import { UserError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { type Manifest, manifestState, readManifest } from "./manifest.ts";
import { ArtifactStore } from "./store.ts";
import { readTar, type TarFile, writeTarGz } from "../util/tar.ts";
import { acquireStoreLock } from "./lock.ts";

/** Summary of an archive written. */
export interface ArchiveReport {
  path: string;
  files: number;
  bytes: number;
  objects: number;
}

/**
 * Writes one .tar.gz for a reviewer: the run manifest, its config, the environment, every output artifact
 * of the run, the source files whose digests the keys cover, and a checksums file (sha256sum format) of all
 * of it. Fails cleanly (no partial archive) if an artifact is missing or corrupt.
 */
export async function createArchive(opts: { storeRoot: string; projectRoot: string; out: string; manifestPath?: string }): Promise<ArchiveReport> {
  const mPath = opts.manifestPath ?? `${opts.storeRoot}/manifests/latest.json`;
  const manifest = await readManifest(mPath);
  if (!manifest) throw new UserError(`no manifest at ${mPath}: run 'reproduce' first`);
  if (manifest.state !== "complete") throw new UserError(`the run ${manifest.runId} is ${manifestState(manifest)}, not complete: rerun 'reproduce' first`);
  const lock = await acquireStoreLock(opts.storeRoot, "archive");
  try {
    const store = new ArtifactStore(opts.storeRoot);
    const files: TarFile[] = [];
    const enc = new TextEncoder();
    files.push({ name: "manifest.json", bytes: enc.encode(JSON.stringify(manifest, null, 1)) });
    files.push({ name: "config.json", bytes: enc.encode(JSON.stringify(manifest.config, null, 1)) });
    files.push({ name: "environment.json", bytes: enc.encode(JSON.stringify(manifest.environment, null, 1)) });
    const digests = new Set<string>();
    for (const s of manifest.stages) for (const r of Object.values(s.outputs)) digests.add(r.digest);
    for (const d of [...digests].sort()) files.push({ name: `objects/${d}`, bytes: await store.getObject(d) });
    const codeFiles = new Map<string, string>();
    for (const s of manifest.stages) for (const [f, h] of Object.entries(s.codeFiles)) codeFiles.set(f, h);
    const drift: string[] = [];
    for (const [f, h] of [...codeFiles].sort()) {
      const bytes = await Deno.readFile(`${opts.projectRoot}/${f}`).catch(() => undefined);
      if (!bytes || sha256(bytes) !== h) drift.push(f);
      else files.push({ name: `code/${f}`, bytes });
    }
    const notes = drift.length
      ? `These code files changed since the run and are not included: ${drift.join(", ")}\n`
      : "All code files the run's keys cover are included under code/.\n";
    files.push({
      name: "README.txt",
      bytes: enc.encode(
        `Archive of pipeline run ${manifest.runId}.\nVerify with: deno task verify <this file> [--rerun]\n` +
          `checksums.sha256 lists the sha256 of every other file; objects/<sha256> are the artifacts.\n${notes}`,
      ),
    });
    const sums = files.map((f) => `${sha256(f.bytes)}  ${f.name}`).join("\n") + "\n";
    files.push({ name: "checksums.sha256", bytes: enc.encode(sums) });
    await writeTarGz(opts.out, files);
    return { path: opts.out, files: files.length, bytes: (await Deno.stat(opts.out)).size, objects: digests.size };
  } finally {
    lock.release();
  }
}

/** The outcome of verifying an archive. */
export interface VerifyReport {
  ok: boolean;
  checked: number;
  problems: string[];
  manifest?: Manifest;
}

/**
 * Rehashes every file of an archive against checksums.sha256, every object against its name, and checks
 * every output the manifest names is present. Returns the problems found (never throws on a mismatch).
 */
export async function verifyArchive(path: string): Promise<VerifyReport> {
  const files = new Map<string, string>();
  let sums = "";
  let manifestText = "";
  try {
    await readTar(path, (name, bytes) => {
      files.set(name, sha256(bytes));
      if (name === "checksums.sha256") sums = new TextDecoder().decode(bytes);
      if (name === "manifest.json") manifestText = new TextDecoder().decode(bytes);
    });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`archive not found: ${path}`);
    return { ok: false, checked: files.size, problems: [`archive ${path} is unreadable or truncated: ${(e as Error).message}`] };
  }
  const problems: string[] = [];
  if (!sums) problems.push("checksums.sha256 is missing");
  const listed = new Set<string>();
  for (const line of sums.split("\n").filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) {
      problems.push(`checksums.sha256: malformed line '${line}'`);
      continue;
    }
    listed.add(m[2]);
    const actual = files.get(m[2]);
    if (actual === undefined) problems.push(`${m[2]}: listed in checksums but missing from the archive`);
    else if (actual !== m[1]) problems.push(`${m[2]}: sha256 ${actual}, expected ${m[1]}`);
  }
  for (const [name, h] of files) {
    if (name === "checksums.sha256") continue;
    if (!listed.has(name)) problems.push(`${name}: in the archive but not in checksums.sha256`);
    if (name.startsWith("objects/") && name.slice(8) !== h) problems.push(`${name}: content hashes to ${h}`);
  }
  let manifest: Manifest | undefined;
  if (manifestText) {
    manifest = JSON.parse(manifestText) as Manifest;
    for (const s of manifest.stages) {
      for (const [n, r] of Object.entries(s.outputs)) {
        if (!files.has(`objects/${r.digest}`)) problems.push(`stage '${s.stage}' output '${n}': object ${r.digest} missing`);
      }
    }
  } else problems.push("manifest.json is missing");
  return { ok: problems.length === 0, checked: files.size, problems, manifest };
}
