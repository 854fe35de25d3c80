import { canonicalJson, sha256 } from "../pipeline/hash.ts";

/** Library versions for the manifest (the backend is recorded by the stages that train). */
export function environmentInfo(backend: string): Record<string, string> {
  return {
    backend,
    "@tensorflow/tfjs": "4.22.0",
    highs: "1.15.3",
    zod: "4.6.7",
  };
}

/** The CPU model of this machine (Linux), or "unknown". */
function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1].trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Facts about the machine and libraries that render the report, the same on every run on this machine: the
 * run's own facts (id, time, command, git commit) are not inputs of this stage; the exporter fills them in.
 */
export function reportEnvironment(backend: string, config: unknown): Record<string, string> {
  return {
    ...environmentInfo(backend),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpu: cpuModel(),
    "cpu cores": String(navigator.hardwareConcurrency),
    "config sha256 (canonical JSON, after --set, defaults filled in)": sha256(canonicalJson(config)),
  };
}
