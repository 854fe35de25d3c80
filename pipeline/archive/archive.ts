import { asUserFsError, UserError } from "../errors.ts";
import { canonicalJson, sha256, sha256File } from "../hash.ts";
import { type Manifest, ManifestSchema, manifestState, readManifest } from "../store/manifest.ts";
import { ArtifactStore } from "../store/store.ts";
import { type ScannedMember, scanTar, type TarFile, type TarLimits, unsafeMemberName, writeTarGz } from "../../util/tar.ts";
import { acquireStoreLock } from "../store/lock.ts";
import { junkAfterGzip } from "./gzip_tail.ts";
import { compareOutputs } from "./compare_outputs.ts";
import { CodeDigester, codeDigestOf, outsideProjectRoot } from "../plan/code_digest.ts";
import { printable } from "../printable.ts";
import { GIT_COMMIT } from "../git_state.ts";
import { topoSort } from "../plan/dag.ts";
import { cacheKey, inputRecord, validateParams, volatileTest } from "../plan/keys.ts";
import type { Stage } from "../stage.ts";

/** Summary of an archive written. */
export interface ArchiveReport {
  path: string;
  files: number;
  bytes: number;
  objects: number;
}

/** The fixed members of an archive, besides objects/ and code/. */
const META = ["manifest.json", "config.json", "environment.json", "README.txt", "checksums.sha256"] as const;

/**
 * Writes one .tar.gz for a reviewer: the run manifest (first, so a verifier knows what to expect before it
 * reads anything else), its config, the environment, every output artifact of the run, the source files
 * whose digests the keys cover, and a checksums file (sha256sum format) of all of it. Artifacts are read one
 * at a time (each checked against its digest) and streamed into the archive. Fails cleanly (no partial
 * archive) if an artifact is missing or corrupt, or if a code file changed since the run (a reviewer could
 * not check that run's code).
 *
 * @example
 * ```ts
 * const report = await createArchive({ storeRoot: "artifacts", projectRoot: ".", out: "run.tar.gz" });
 * ```
 */
export async function createArchive(
  opts: { storeRoot: string; projectRoot: string; out: string; manifestPath?: string },
): Promise<ArchiveReport> {
  const mPath = opts.manifestPath ?? `${opts.storeRoot}/manifests/latest.json`;
  const manifest = await readManifest(mPath);
  if (!manifest) throw new UserError(`no manifest at ${mPath}: run 'reproduce' first`);
  if (manifest.state !== "complete") {
    throw new UserError(`the run ${manifest.runId} is ${manifestState(manifest)}, not complete: rerun 'reproduce' first`);
  }
  // Archive only reads: it takes the lock where it can (so that no gc removes an artifact mid-archive), and
  // reads a store it cannot write (read-only file system, another user's) without one.
  const lock = await acquireStoreLock(opts.storeRoot, "archive", { readOnlyOk: true });
  try {
    const store = new ArtifactStore(opts.storeRoot);
    const code = await codeMembers(manifest, opts.projectRoot);
    const sizes = new Map<string, number>();
    for (const s of manifest.stages) for (const r of Object.values(s.outputs)) sizes.set(r.digest, r.size);
    const members = archiveMembers({ manifest, store, digests: [...sizes.keys()].sort(), sizes, code });
    try {
      await writeArchive(opts.out, members);
    } catch (e) {
      // An artifact that does not hash to its name, or has the wrong size, stops the packing (and the
      // partial archive is removed): every artifact is then checked, as verify would, and each damaged one
      // named, with the fix; never the stream's own "premature close".
      if (members.failure() === undefined) throw e;
      await checkObjects({ manifest, store, removeDamaged: !lock.readOnly });
      throw members.failure();
    }
    return { path: opts.out, files: members.count(), bytes: (await Deno.stat(opts.out)).size, objects: sizes.size };
  } finally {
    lock.release();
  }
}

/** "output 'x' of stage 's'" for each output of the run stored under a digest. */
function producersOf(manifest: Manifest, digest: string): string {
  const who = manifest.stages.flatMap((s) =>
    Object.entries(s.outputs).filter(([, r]) => r.digest === digest).map(([n]) => `output '${n}' of stage '${s.stage}'`)
  );
  return who.join(" and ") || "an artifact";
}

/**
 * Rehashes every artifact the run names and checks its size, as verify will: a missing or damaged one is a
 * UserError naming the stage and output it is, the path, both full digests and the fix. A damaged object is
 * removed first when the store is writable (it is the store's own, and content-addressed: its bytes are
 * worthless), so that 'reproduce' sees it missing and recomputes it.
 */
async function checkObjects(a: { manifest: Manifest; store: ArtifactStore; removeDamaged: boolean }): Promise<void> {
  const sizes = new Map<string, number>();
  for (const s of a.manifest.stages) for (const r of Object.values(s.outputs)) sizes.set(r.digest, r.size);
  const damaged: string[] = [];
  for (const [digest, size] of [...sizes].sort()) {
    const path = a.store.objectPath(digest);
    let problem: string | undefined;
    try {
      const st = await Deno.lstat(path);
      if (!st.isFile) problem = `${path} is not a regular file`;
      else {
        const actual = await sha256File(path);
        if (actual !== digest) problem = `its content hashes to ${actual}, not ${digest} (bit flip, truncation or overwrite)`;
        else if (st.size !== size) problem = `${st.size} bytes, the manifest says ${size}`;
        if (problem && a.removeDamaged) {
          await Deno.remove(path).catch(() => {});
          problem += "; it has been removed";
        }
      }
    } catch (e) {
      problem = e instanceof Deno.errors.NotFound ? `missing from the store (${path})` : `unreadable (${(e as Error).message})`;
    }
    if (problem) damaged.push(`${producersOf(a.manifest, digest)} (${digest}): ${problem}`);
  }
  if (!damaged.length) return;
  throw new UserError(
    `cannot archive run ${a.manifest.runId}: ${damaged.length} artifact(s) damaged in the store: ${damaged.slice(0, 3).join("; ")}` +
      `${damaged.length > 3 ? `; and ${damaged.length - 3} more` : ""}; ` +
      (a.removeDamaged
        ? `rerun 'reproduce' (it recomputes them), then 'archive'; 'status --verify' lists every damaged file`
        : `the store is read-only here: from a writable copy, remove them and rerun 'reproduce', then 'archive'; 'status --verify' lists every damaged file`),
  );
}

/**
 * The source files the run's keys cover, as members. Every stage's record is checked, as verify checks it:
 * each code file it names must hash to the digest that stage recorded (not only the last stage's), and
 * each stage's code digest must follow from its files and packages. A UserError otherwise, naming the
 * stage, the file and both full digests.
 */
async function codeMembers(manifest: Manifest, projectRoot: string): Promise<TarFile[]> {
  const codeFiles = new Map<string, string>();
  for (const s of manifest.stages) for (const [f, h] of Object.entries(s.codeFiles)) codeFiles.set(f, h);
  const outside = outsideProjectRoot(codeFiles.keys());
  if (outside.length) {
    throw new UserError(
      `cannot archive run ${manifest.runId}: its stages' code imports ${outside.length} file(s) from outside the project root ` +
        `${projectRoot} (${outside.slice(0, 3).join(", ")}${outside.length > 3 ? ", ..." : ""}), which an archive cannot hold; ` +
        `move them into the project, rerun 'reproduce', then 'archive'`,
    );
  }
  const code: TarFile[] = [];
  const actual = new Map<string, string | undefined>();
  for (const f of [...codeFiles.keys()].sort()) {
    const bytes = await Deno.readFile(`${projectRoot}/${f}`).catch(() => undefined);
    actual.set(f, bytes && sha256(bytes));
    if (bytes) code.push({ name: `code/${f}`, bytes });
  }
  const drift: string[] = [];
  const forged: string[] = [];
  for (const s of manifest.stages) {
    for (const [f, h] of Object.entries(s.codeFiles)) {
      const now = actual.get(f);
      if (now === undefined) drift.push(`${f} (missing; stage '${s.stage}' recorded ${h})`);
      else if (now !== h) drift.push(`${f} (sha256 ${now}; stage '${s.stage}' recorded ${h})`);
    }
    if ((s.status === "computed" || s.status === "cached") && s.codeDigest !== codeDigestOf(s.codeFiles, s.packages)) {
      forged.push(`stage '${s.stage}'`);
    }
  }
  if (drift.length) {
    throw new UserError(
      `cannot archive run ${manifest.runId}: ${drift.length} code file record(s) do not match the project's files ` +
        `(${drift.slice(0, 3).join(", ")}${drift.length > 3 ? ", ..." : ""}): the code changed since the run, or the ` +
        `manifest was altered, so a reviewer could not check its code; rerun 'reproduce', then 'archive'`,
    );
  }
  if (forged.length) {
    throw new UserError(
      `cannot archive run ${manifest.runId}: the code digest of ${forged.slice(0, 3).join(", ")}${forged.length > 3 ? ", ..." : ""} ` +
        `does not follow from its code files and packages (the manifest is damaged); rerun 'reproduce', then 'archive'`,
    );
  }
  return code;
}

/**
 * The archive's members in order (manifest first, checksums last), artifacts read one at a time as the
 * archive is written; `count()` is the number of files once they have all been yielded.
 */
function archiveMembers(a: { manifest: Manifest; store: ArtifactStore; digests: string[]; sizes: Map<string, number>; code: TarFile[] }) {
  const { manifest, store } = a;
  const enc = new TextEncoder();
  const sums: string[] = [];
  let count = 0;
  let failure: unknown;
  const emit = (f: TarFile) => {
    sums.push(`${sha256(f.bytes)}  ${f.name}`);
    count++;
    return f;
  };
  const members = async function* (): AsyncGenerator<TarFile> {
    yield emit({ name: "manifest.json", bytes: enc.encode(JSON.stringify(manifest, null, 1)) });
    yield emit({ name: "config.json", bytes: enc.encode(JSON.stringify(manifest.config, null, 1)) });
    yield emit({ name: "environment.json", bytes: enc.encode(JSON.stringify(manifest.environment, null, 1)) });
    for (const d of a.digests) {
      const bytes = await Deno.readFile(store.objectPath(d)).catch((e) => e as Error);
      const bad = bytes instanceof Error
        ? `unreadable (${bytes.message})`
        : sha256(bytes) !== d
        ? "damaged (its content does not hash to its name)"
        : bytes.length !== a.sizes.get(d)
        ? `of the wrong size (${bytes.length} bytes, the manifest says ${a.sizes.get(d)})`
        : "";
      if (bad || bytes instanceof Error) {
        failure = new UserError(
          `cannot archive run ${manifest.runId}: ${producersOf(manifest, d)} (${d}) is ${bad}; ` +
            `rerun 'reproduce', then 'archive'; 'status --verify' lists every damaged file`,
        );
        throw failure;
      }
      yield emit({ name: `objects/${d}`, bytes });
    }
    for (const f of a.code) yield emit(f);
    yield emit({
      name: "README.txt",
      bytes: enc.encode(
        `Archive of pipeline run ${manifest.runId}.\nVerify with: deno task verify <this file> [--rerun]\n` +
          `checksums.sha256 lists the sha256 of every other file; objects/<sha256> are the artifacts; code/ holds every ` +
          `source file the run's cache keys cover.\n`,
      ),
    });
    count++;
    yield { name: "checksums.sha256", bytes: enc.encode(sums.join("\n") + "\n") };
  };
  return Object.assign(members(), { count: () => count, failure: () => failure });
}

/** Writes the archive; a missing directory, a directory in the way or a full disk is a UserError naming --out. */
async function writeArchive(out: string, members: AsyncIterable<TarFile>): Promise<void> {
  try {
    await writeTarGz(out, members);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") {
      throw new UserError(`cannot write the archive ${out}: its directory does not exist; create it or choose another --out`);
    }
    if (code === "EISDIR") throw new UserError(`cannot write the archive ${out}: it is a directory; give a file name with --out`);
    throw asUserFsError(e, `cannot write the archive ${out}`);
  }
}

/** The verifier's own view of the experiment: how it reads a config and which stages that config implies. */
export interface VerifierCode<C = unknown> {
  /** Project root of the verifier's checkout (for notes on code that differs from the archived run's). */
  projectRoot?: string;
  /** The checkout's import map (package versions reach code digests), with projectRoot. */
  importMap?: Record<string, string>;
  /** Validates a config; throws (a UserError naming the field) when it does not validate. */
  parseConfig(raw: unknown): C;
  /** The stage DAG a config implies, built by the verifier's code, never read from the archive. */
  buildStages(config: C): Stage[];
}

/** Options of verifyArchive. */
export interface VerifyOptions<C = unknown> extends VerifierCode<C> {
  path: string;
  /** Caps on the scan (defaults: 200,000 members, 64 GiB decompressed; tightened from the manifest). */
  limits?: Partial<TarLimits>;
}

/** The outcome of verifying an archive. */
export interface VerifyReport {
  /** ok; mismatch: an archive that does not verify (exit 1); not-archive: not an archive of this pipeline (exit 2). */
  verdict: "ok" | "mismatch" | "not-archive";
  ok: boolean;
  checked: number;
  problems: string[];
  /** Things worth knowing that are not failures (stages not run in the archived run, code differing from this checkout). */
  notes: string[];
  manifest?: Manifest;
  /** The verifier's own stages for the archived config (for `--rerun`), when the config validates. */
  stages?: Stage[];
  /** Peak resident memory during the scan, bytes. */
  peakRss: number;
  /** The archived run's code against this checkout's (when the verifier gave its projectRoot). */
  code?: CodeState;
}

/** The archived run's code state beside the verifier's checkout. */
export interface CodeState {
  /** The commit the archived run recorded (environment 'git commit'), when it ran in a git checkout. */
  commit?: string;
  /** Whether that checkout had uncommitted changes. */
  dirty?: boolean;
  /** Archived code files whose bytes differ in this checkout, or that it lacks. */
  differingFiles: string[];
  /** Stages whose code digest in this checkout differs from the archived one. */
  differingStages: string[];
  /** True when the archived config or DAG could not be judged by this checkout's code because that code differs. */
  dagUnjudged: boolean;
}

const MB = 1 << 20;
/** Largest metadata members accepted, bytes. */
const MAX_MANIFEST = 64 * MB;
const MAX_META = 16 * MB;
const MAX_CODE_FILE = 8 * MB;

/**
 * Verifies an archive without trusting anything in it. Streams it once, in bounded memory: the manifest
 * must come first; after it, only the members the manifest implies are read, each no larger than declared
 * (the scan is cut off at the first member that is larger, and at a cap on the total). Then checks:
 * checksums.sha256 lists exactly the members present, each with its hash; every object hashes to its name
 * and has its declared size; config.json and environment.json equal the manifest's; every code file
 * hashes to the manifest's digest and each stage's code digest is recomputed from them; and the stages
 * are those the verifier's own code derives from the archived config (none missing, none extra), each
 * with the parameters that config gives, inputs equal to its upstream's outputs, and a key recomputed
 * from those parts. Which outputs may differ on a rerun (volatile) comes from the verifier's stage
 * declarations, never from the archive. Problems are values; throws only a UserError for a missing file.
 */
export async function verifyArchive<C>(opts: VerifyOptions<C>): Promise<VerifyReport> {
  const st = await Deno.stat(opts.path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`archive not found: ${opts.path}`);
    throw new UserError(`cannot read the archive ${opts.path}: ${(e as Error).message}`);
  });
  const report: VerifyReport = { verdict: "mismatch", ok: false, checked: 0, problems: [], notes: [], peakRss: 0 };
  const notArchive = (why: string): VerifyReport => ({
    ...report,
    verdict: "not-archive",
    ok: false,
    problems: [`not an archive of this pipeline: ${why}`],
  });
  if (!st.isFile) return notArchive(`${opts.path} is not a file`);
  const expect = new Expectations();
  const limits: TarLimits = { maxMembers: opts.limits?.maxMembers ?? 200_000, maxTotalBytes: opts.limits?.maxTotalBytes ?? 64 * 1024 * MB };
  const ceiling = { ...limits };
  let first = true;
  let manifestProblem: string | undefined;
  const scan = await scanTar(opts.path, {
    limits,
    policy: (name, size) => {
      if (first) {
        first = false;
        if (name !== "manifest.json") return { read: false, problem: `the first member is not manifest.json`, fatal: true };
        return { read: true, maxBytes: MAX_MANIFEST, keep: true };
      }
      return expect.verdict(name, size);
    },
    onMember: (m) => {
      if (m.name !== "manifest.json" || expect.manifest) return;
      const r = parseManifest(m.bytes!);
      if (typeof r === "string") {
        manifestProblem = r;
        limits.maxTotalBytes = 0; // nothing more is worth reading
        return;
      }
      expect.set(r);
      limits.maxMembers = Math.min(ceiling.maxMembers, expect.count() + 64);
      limits.maxTotalBytes = Math.min(ceiling.maxTotalBytes, m.size + expect.bytes() + 4 * MB);
    },
  });
  report.peakRss = scan.peakRss;
  report.checked = scan.members.length;
  // bytes after the gzip stream make gunzip fail, often before the last members: one line saying so instead
  const junk = scan.cutOff || scan.problems.length || !scan.readAny ? await junkAfterGzip(opts.path) : undefined;
  if (junk) return { ...report, problems: [junk] };
  if (!scan.readAny) return notArchive(scan.problems[0] ?? scan.cutOff ?? "empty archive");
  if (manifestProblem) return notArchive(`manifest.json ${manifestProblem}`);
  const manifest = expect.manifest!;
  report.manifest = manifest;
  const problems = report.problems;
  problems.push(...scan.problems);
  if (scan.cutOff) problems.push(`archive cut off: ${scan.cutOff}`);
  checkMembers(scan.members, expect, problems);
  if (manifest.state !== "complete") problems.push(`the archived run is ${manifest.state}, not complete`);
  if (opts.projectRoot) report.code = await codeStateOf(manifest, expect.code, opts.projectRoot);
  checkStages(opts, manifest, report);
  report.ok = problems.length === 0;
  report.verdict = report.ok ? "ok" : "mismatch";
  return report;
}

function parseManifest(bytes: Uint8Array): Manifest | string {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return `is not valid JSON (${(e as Error).message})`;
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return `does not have the expected shape (field '${i?.path.join(".") || "(root)"}': ${i?.message})`;
  }
  return r.data;
}

/** What the manifest says the archive holds; decides which members are read and how large each may be. */
class Expectations {
  manifest?: Manifest;
  readonly objects = new Map<string, number>();
  readonly code = new Map<string, string>();
  readonly codeConflicts: string[] = [];

  set(m: Manifest): void {
    this.manifest = m;
    for (const s of m.stages) {
      for (const r of Object.values(s.outputs)) this.objects.set(r.digest, r.size);
      for (const [f, h] of Object.entries(s.codeFiles)) {
        const prev = this.code.get(f);
        if (prev !== undefined && prev !== h) {
          this.codeConflicts.push(`code file ${f}: stages record different digests (${prev}, ${h})`);
        }
        this.code.set(f, h);
      }
    }
  }

  count(): number {
    return META.length + this.objects.size + this.code.size;
  }

  /** Upper bound on the decompressed size of an honest archive: members, plus 1.5 KiB of header and padding each. */
  bytes(): number {
    let b = 3 * MAX_META + this.code.size * MAX_CODE_FILE + this.count() * 1536;
    for (const s of this.objects.values()) b += s;
    return b;
  }

  verdict(
    name: string,
    _size: number,
  ): { read: true; maxBytes: number; keep?: boolean } | { read: false; problem: string; fatal?: boolean } {
    if (!this.manifest) return { read: false, problem: "comes before a valid manifest.json", fatal: true };
    if (name === "manifest.json") return { read: false, problem: "duplicate manifest.json" };
    if (name === "config.json" || name === "environment.json" || name === "checksums.sha256") {
      return { read: true, maxBytes: MAX_META, keep: true };
    }
    if (name === "README.txt") return { read: true, maxBytes: MAX_META };
    if (name.startsWith("objects/")) {
      const size = this.objects.get(name.slice("objects/".length));
      if (size === undefined) return { read: false, problem: "an object no stage of the manifest produced (extra member)" };
      return { read: true, maxBytes: size };
    }
    if (name.startsWith("code/")) {
      if (!this.code.has(name.slice("code/".length))) {
        return { read: false, problem: "a code file no stage's digest covers (extra member)" };
      }
      return { read: true, maxBytes: MAX_CODE_FILE };
    }
    return { read: false, problem: "not a member an archive of this pipeline has (extra member)" };
  }
}

/** Checksums list, objects, code files, config and environment against the manifest. */
function checkMembers(members: ScannedMember[], expect: Expectations, problems: string[]): void {
  const manifest = expect.manifest!;
  const byName = new Map(members.map((m) => [m.name, m]));
  const sums = byName.get("checksums.sha256");
  if (!sums) problems.push("checksums.sha256 is missing");
  else checkChecksums(new TextDecoder().decode(sums.bytes), byName, problems);
  for (const [digest, size] of expect.objects) {
    const m = byName.get(`objects/${digest}`);
    if (!m) problems.push(`objects/${digest}: named by the manifest but missing from the archive`);
    else if (m.sha256 !== digest) problems.push(`objects/${digest}: content hashes to ${m.sha256}`);
    else if (m.size !== size) problems.push(`objects/${digest}: ${m.size} bytes, the manifest says ${size}`);
  }
  problems.push(...expect.codeConflicts);
  for (const [f, h] of expect.code) {
    const m = byName.get(`code/${f}`);
    if (!m) problems.push(`code/${f}: covered by a stage's code digest but missing from the archive`);
    else if (m.sha256 !== h) problems.push(`code/${f}: sha256 ${m.sha256}, the manifest's code digest covers ${h}`);
  }
  for (const s of manifest.stages) {
    if (s.status !== "computed" && s.status !== "cached") continue;
    if (s.codeDigest !== codeDigestOf(s.codeFiles, s.packages)) {
      problems.push(`stage '${s.stage}': its code digest does not follow from its code files and packages`);
    }
  }
  const same = (member: string, value: unknown) => {
    const m = byName.get(member);
    if (!m) return problems.push(`${member} is missing`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(m.bytes));
    } catch (e) {
      return problems.push(`${member} is not valid JSON (${(e as Error).message})`);
    }
    if (canonicalJson(parsed) !== canonicalJson(value)) {
      problems.push(`${member} differs from the manifest's ${member.replace(".json", "")}`);
    }
  };
  same("config.json", manifest.config);
  same("environment.json", manifest.environment);
}

/** checksums.sha256 must list exactly the members present (itself excepted), once each, with their hashes. */
function checkChecksums(text: string, byName: Map<string, ScannedMember>, problems: string[]): void {
  const listed = new Set<string>();
  for (const line of text.split("\n").filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) {
      problems.push(`checksums.sha256: malformed line ${JSON.stringify(line.slice(0, 120))}`);
      continue;
    }
    const name = m[2];
    const unsafe = unsafeMemberName(name);
    if (unsafe) problems.push(`checksums.sha256 lists ${JSON.stringify(name)}: unsafe path (${unsafe})`);
    if (name === "checksums.sha256") problems.push("checksums.sha256 lists itself");
    if (listed.has(name)) problems.push(`checksums.sha256 lists ${name} twice`);
    listed.add(name);
    const actual = byName.get(name);
    if (!actual) problems.push(`${name}: listed in checksums.sha256 but missing from the archive`);
    else if (actual.sha256 !== m[1]) problems.push(`${name}: sha256 ${actual.sha256}, checksums.sha256 says ${m[1]}`);
  }
  for (const name of byName.keys()) {
    if (name !== "checksums.sha256" && !listed.has(name)) problems.push(`${name}: in the archive but not in checksums.sha256`);
  }
}

/** The archived code files against this checkout's bytes, and the commit the run recorded. */
async function codeStateOf(manifest: Manifest, code: Map<string, string>, projectRoot: string): Promise<CodeState> {
  const differingFiles: string[] = [];
  for (const [f, h] of code) {
    const bytes = await Deno.readFile(`${projectRoot}/${f}`).catch(() => undefined);
    if (!bytes || sha256(bytes) !== h) differingFiles.push(f);
  }
  const rec = manifest.environment[GIT_COMMIT];
  const commit = rec ? /^[0-9a-f]{7,64}/.exec(rec)?.[0] : undefined;
  return { commit, dirty: rec?.includes("dirty"), differingFiles: differingFiles.sort(), differingStages: [], dagUnjudged: false };
}

/**
 * The stages must be exactly those the verifier's code derives from the archived config, each with the
 * parameters the config gives, the inputs its upstream produced, a key that follows from those parts, and
 * volatile claims equal to the verifier's own declarations. Where the archived run's code differs from this
 * checkout's, what only that code can derive (the DAG, a stage's parameters, its volatile outputs) is not
 * judged by this checkout's: it is listed in `report.code` and as notes, never as a forgery; what follows
 * from the archive alone (inputs equal upstream outputs, keys from their parts) is still checked.
 */
function checkStages<C>(code: VerifierCode<C>, manifest: Manifest, report: VerifyReport): void {
  const problems = report.problems;
  const state = report.code;
  const codeDiffers = !!state && state.differingFiles.length > 0;
  const recs = new Map<string, Manifest["stages"][number]>();
  for (const r of manifest.stages) {
    if (recs.has(r.stage)) problems.push(`stage '${printable(r.stage)}' is recorded twice`);
    recs.set(r.stage, r);
  }
  let order: Stage[];
  let params: Map<string, unknown>;
  try {
    order = topoSort(code.buildStages(code.parseConfig(manifest.config)));
    params = validateParams(order);
  } catch (e) {
    const why = `the archived config does not validate with this code: ${(e as Error).message}`;
    if (!codeDiffers) problems.push(why);
    else {
      state!.dagUnjudged = true;
      report.notes.push(`${why} (the archive's code differs from this checkout's; see above)`);
      checkRecordedInputs(recs, problems);
    }
    return;
  }
  report.stages = order;
  const digester = code.projectRoot ? new CodeDigester(code.projectRoot, code.importMap) : undefined;
  const expected = new Set(order.map((s) => s.name));
  const missing = order.map((s) => s.name).filter((n) => !recs.has(n));
  const extra = [...recs.keys()].filter((n) => !expected.has(n));
  const dagProblem = (what: string, names: string[]) => {
    const line = `${what}: ${names.map(printable).join(", ")}`;
    if (codeDiffers) {
      state!.dagUnjudged = true;
      report.notes.push(`${line} (the archive's code differs from this checkout's)`);
    } else problems.push(line);
  };
  if (missing.length) dagProblem("stages the archived config implies but the archive lacks", missing);
  if (extra.length) dagProblem("stages in the manifest that the archived config does not imply", extra);
  for (const stage of order) {
    const r = recs.get(stage.name);
    if (!r) continue;
    const where = `stage '${printable(stage.name)}'`;
    if (r.status === "not-run") {
      report.notes.push(`${where} did not run in the archived run (${printable(r.reason ?? "no reason given")}): nothing of it to check`);
      if (Object.keys(r.outputs).length) problems.push(`${where} is recorded as not run but lists outputs`);
      continue;
    }
    if (r.status !== "computed" && r.status !== "cached") {
      problems.push(`${where} is ${r.status}, not computed or cached`);
      continue;
    }
    const ours = digester?.digest(stage.module).digest;
    const sameCode = ours === undefined || ours === r.codeDigest;
    if (!sameCode) state?.differingStages.push(stage.name);
    const judge = (line: string) => (sameCode ? problems.push(line) : undefined);
    if (canonicalJson(r.params ?? null) !== canonicalJson(params.get(stage.name) ?? null)) {
      judge(`${where}: its recorded parameters are not those the archived config gives it`);
    }
    const want: Record<string, Record<string, string>> = {};
    for (const d of (sameCode ? stage.deps.map((d) => d.stage) : Object.keys(r.inputs))) {
      const up = recs.get(d);
      if (up) want[d] = inputRecord(up);
    }
    if (canonicalJson(r.inputs) !== canonicalJson(want)) {
      problems.push(`${where}: its recorded inputs are not its upstream stages' outputs`);
    }
    const key = cacheKey({ stage: stage.name, params: r.params, inputs: r.inputs, code: r.codeDigest ?? "" });
    if (r.key !== key) problems.push(`${where}: its key does not follow from its parameters, inputs and code`);
    const isVolatile = volatileTest(stage);
    const volatileOurs = Object.keys(r.outputs).filter(isVolatile).sort();
    const claimed = [...r.volatile].sort();
    if (canonicalJson(volatileOurs) !== canonicalJson(claimed)) {
      judge(`${where}: claims volatile outputs [${claimed.join(", ")}], this code's declaration says [${volatileOurs.join(", ")}]`);
    }
  }
}

/** Without a DAG of our own: every recorded stage's inputs must still be its recorded upstreams' outputs. */
function checkRecordedInputs(recs: Map<string, Manifest["stages"][number]>, problems: string[]): void {
  for (const r of recs.values()) {
    if (r.status !== "computed" && r.status !== "cached") continue;
    for (const [up, digests] of Object.entries(r.inputs)) {
      const u = recs.get(up);
      if (!u || canonicalJson(inputRecord(u)) !== canonicalJson(digests)) {
        problems.push(`stage '${printable(r.stage)}': its recorded inputs are not its upstream stages' outputs`);
        break;
      }
    }
    const key = cacheKey({ stage: r.stage, params: r.params, inputs: r.inputs, code: r.codeDigest ?? "" });
    if (r.key !== key) problems.push(`stage '${printable(r.stage)}': its key does not follow from its parameters, inputs and code`);
  }
}

/** One output compared by `compareRerun`. */
export interface RerunComparison {
  mismatches: string[];
  /** Stages the archive has results of that could not be recomputed here (with why). */
  unverified: string[];
  notes: string[];
  compared: number;
  volatileDiffs: number;
}

/**
 * Compares an archived run with a rerun of its config, stage by stage and output by output. An output may
 * differ only if the verifier's own stage declares it volatile; the archive's volatile list is not read.
 */
export function compareRerun(archived: Manifest, rerun: Manifest, stages: readonly Stage[]): RerunComparison {
  const out: RerunComparison = { mismatches: [], unverified: [], notes: [], compared: 0, volatileDiffs: 0 };
  const now = new Map(rerun.stages.map((s) => [s.stage, s]));
  const then = new Map(archived.stages.map((s) => [s.stage, s]));
  for (const stage of stages) {
    const a = then.get(stage.name);
    const b = now.get(stage.name);
    if (!a) continue; // reported by verifyArchive
    if (!b) {
      out.mismatches.push(`${stage.name}: not run by the rerun`);
      continue;
    }
    if (a.status === "not-run") {
      if (b.status !== "not-run") out.notes.push(`${stage.name}: ran here but not in the archived run; nothing to compare`);
      continue;
    }
    if (b.status === "not-run") {
      out.unverified.push(`${stage.name}: could not be recomputed here (${b.reason ?? "not run"})`);
      continue;
    }
    out.compared++;
    const diff = compareOutputs(a.outputs, b.outputs, volatileTest(stage));
    out.volatileDiffs += diff.volatileDiffs;
    for (const m of diff.mismatches) {
      out.mismatches.push(`${stage.name}/${m.file}: archived ${m.archived ?? "missing"}, rerun ${m.recomputed ?? "missing"}`);
    }
    if (a.codeDigest !== b.codeDigest) out.notes.push(`${stage.name}: this checkout's code differs from the archived run's`);
  }
  return out;
}
