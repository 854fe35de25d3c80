import { z } from "zod";
import { OutputRefSchema } from "./store.ts";
import { exists, writeFileAtomic } from "./fs_atomic.ts";

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
  reason: z.string().optional(),
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
  await writeFileAtomic(`${root}/manifests/${m.runId}.json`, text, `${root}/tmp`);
  await writeFileAtomic(`${root}/manifests/latest.json`, text, `${root}/tmp`);
}

/** Reads and validates a manifest file; undefined if absent; an Error naming the file if invalid. */
export async function readManifest(path: string): Promise<Manifest | undefined> {
  if (!(await exists(path))) return undefined;
  const parsed = ManifestSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
  if (!parsed.success) throw new Error(`manifest ${path} is invalid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** All manifests in a store (latest.json excluded), oldest first. */
export async function listManifests(root: string): Promise<{ path: string; manifest: Manifest }[]> {
  const dir = `${root}/manifests`;
  if (!(await exists(dir))) return [];
  const out: { path: string; manifest: Manifest }[] = [];
  for await (const f of Deno.readDir(dir)) {
    if (!f.name.endsWith(".json") || f.name === "latest.json") continue;
    const path = `${dir}/${f.name}`;
    try {
      const m = await readManifest(path);
      if (m) out.push({ path, manifest: m });
    } catch { /* an unreadable manifest protects nothing; gc reports it */ }
  }
  return out.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? -1 : 1));
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
