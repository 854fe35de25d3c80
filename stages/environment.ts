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

/**
 * The libraries and config behind the report: what its cache key covers. The machine (Deno, CPU, cores) and
 * the run's own facts (id, time, command, git commit) are not inputs of this stage: a report reused from the
 * cache must not show the machine that first rendered it, so the exporter fills them in (report/run_facts.ts).
 */
export function reportEnvironment(backend: string, config: unknown): Record<string, string> {
  return {
    ...environmentInfo(backend),
    "config sha256 (canonical JSON, after --set, defaults filled in)": sha256(canonicalJson(config)),
  };
}
