import { z } from "zod";
import { OutputRefSchema, readJson } from "./store.ts";
import { UserError } from "../errors.ts";
import { exists, isTempName, writeFileAtomic } from "./fs_atomic.ts";

/** What a run recorded about one stage. */
export const StageRecordSchema = z.object({
  stage: z.string(),
  status: z.enum(["computed", "cached", "not-run", "failed", "pending"]),
  key: z.string().optional(),
  params: z.unknown(),
  inputs: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  codeDigest: z.string().optional(),
  codeFiles: z.record(z.string(), z.string()).default({}),
  packages: z.record(z.string(), z.string()).default({}),
  outputs: z.record(z.string(), OutputRefSchema).default({}),
  /** Outputs that differ between identical runs by nature (timings). */
  volatile: z.array(z.string()).default([]),
  wallMs: z.number().optional(),
  /** The stage's declared work (Stage.work): the ETA scales its family's recorded wall times by it. */
  work: z.number().optional(),
  reason: z.string().optional(),
  /** Where a parallel run computed the stage: e.g. "pid 1234" (a child process) or "slurm job 56". */
  job: z.string().optional(),
  /**
   * How a computed stage was computed: "worker" (a child that stays up), "process" (a fresh child),
   * "slurm", "inline" (the run's own process). The ETA reads each as a speed regime of its own. Absent
   * from manifests written before it was recorded (pipeline/plan/eta.ts reads it from `job` then).
   */
  executor: z.string().optional(),
});
export type StageRecord = z.infer<typeof StageRecordSchema>;

/** A run manifest: every stage's key, parameters, inputs, outputs, timings, and the environment. */
export const ManifestSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  state: z.enum(["running", "complete", "failed", "interrupted"]),
  config: z.unknown(),
  configPath: z.string().optional(),
  environment: z.record(z.string(), z.string()),
  stages: z.array(StageRecordSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** A manifest's state, reading "running" as "interrupted" when the process that wrote it is gone. */
export function manifestState(m: Manifest): Manifest["state"] {
  if (m.state !== "running") return m.state;
  const pid = Number(/-(\d+)$/.exec(m.runId)?.[1]);
  try {
    Deno.statSync(`/proc/${pid}`);
    return "running";
  } catch {
    return "interrupted";
  }
}

/** Writes a manifest atomically under manifests/<runId>.json and as the store's latest.json. */
export async function writeManifest(root: string, m: Manifest): Promise<void> {
  const text = JSON.stringify(m, null, 1);
  await writeFileAtomic(`${root}/manifests/${m.runId}.json`, text, { tmpDir: `${root}/tmp` });
  await writeFileAtomic(`${root}/manifests/latest.json`, text, { tmpDir: `${root}/tmp` });
}

/** Reads and validates a manifest file; undefined if absent; an Error naming the file if invalid. */
export async function readManifest(path: string): Promise<Manifest | undefined> {
  if (!(await exists(path))) return undefined;
  const r = await readJson(path, ManifestSchema);
  if (!r.ok) throw new UserError(`manifest ${path} ${r.problem}; remove it or restore it from a backup`);
  return r.value;
}

/** All readable manifests in a store (latest.json excluded), oldest first. */
export async function listManifests(root: string): Promise<{ path: string; manifest: Manifest }[]> {
  return (await scanManifests(root)).readable;
}

/**
 * Every manifest in a store (latest.json excluded), split into readable ones (oldest first) and unreadable
 * ones with the reason; `latest` is latest.json (undefined if absent) or its problem.
 */
export async function scanManifests(root: string): Promise<{
  readable: { path: string; manifest: Manifest }[];
  unreadable: { path: string; problem: string }[];
  latest?: { path: string; manifest?: Manifest; problem?: string };
}> {
  const dir = `${root}/manifests`;
  const readable: { path: string; manifest: Manifest }[] = [];
  const unreadable: { path: string; problem: string }[] = [];
  let latest: { path: string; manifest?: Manifest; problem?: string } | undefined;
  if (!(await exists(dir))) return { readable, unreadable };
  for await (const f of Deno.readDir(dir)) {
    if (!f.name.endsWith(".json") || isTempName(f.name)) continue;
    const path = `${dir}/${f.name}`;
    const r = await readJson(path, ManifestSchema);
    if (f.name === "latest.json") latest = r.ok ? { path, manifest: r.value } : { path, problem: r.problem };
    else if (r.ok) readable.push({ path, manifest: r.value });
    else unreadable.push({ path, problem: r.problem });
  }
  readable.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? -1 : a.manifest.startedAt > b.manifest.startedAt ? 1 : 0));
  unreadable.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { readable, unreadable, latest };
}

/** The runtime environment: Deno, V8, TypeScript, OS, CPU, plus caller-supplied entries (libraries, backend). */
export function captureEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  let cpu = "unknown";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpu,
    cpus: String(navigator.hardwareConcurrency),
    ...extra,
  };
}
