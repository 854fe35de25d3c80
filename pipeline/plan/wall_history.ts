// The recorded wall times of a store's earlier runs, each with how it was computed: the ETA's history.
import { listManifests } from "../store/manifest.ts";

/** One recorded wall time of a computed stage. */
export interface WallRecord {
  stage: string;
  wallMs: number;
  work?: number;
  /**
   * How it was computed ("worker", "process", "inline", "slurm"; see `recordExecutors`): each executor is
   * a speed regime of its own (a fresh process runs its stage cold: workers that stay up took 37% less
   * time on the same units, bench/RESULTS.md).
   */
  executor?: string;
}

/**
 * How each computed stage of a run was computed: its record's `executor`, or, in a manifest written before
 * records held one, as its `job` tells: a child pid that computed several of the run's stages was a worker
 * that stays up ("worker"), one that computed one stage a fresh process ("process"), a Slurm job "slurm",
 * no job the run's own process ("inline"), anything else "" (unknown).
 */
export function recordExecutors(
  records: readonly { stage: string; status: string; job?: string; executor?: string }[],
): Map<string, string> {
  const computed = records.filter((r) => r.status === "computed");
  const jobs = new Map<string, number>();
  for (const r of computed) if (r.job) jobs.set(r.job, (jobs.get(r.job) ?? 0) + 1);
  const inferred = (job: string | undefined): string => {
    if (!job) return "inline";
    if (/^pid \d+$/.test(job)) return jobs.get(job)! > 1 ? "worker" : "process";
    return /^slurm/.test(job) ? "slurm" : "";
  };
  const out = new Map<string, string>();
  for (const r of computed) out.set(r.stage, r.executor ?? inferred(r.job));
  return out;
}

/**
 * The recorded wall times of computed stages in a store's run manifests, oldest first (the most recent
 * `maxRuns` runs; default 20), each with how it was computed. A store with no readable manifest has none.
 */
export async function readWallHistory(storeRoot: string, maxRuns = 20): Promise<WallRecord[]> {
  let manifests: Awaited<ReturnType<typeof listManifests>>;
  try {
    manifests = await listManifests(storeRoot);
  } catch {
    return [];
  }
  return manifests.slice(-maxRuns).flatMap(({ manifest }) => wallRecords(manifest.stages));
}

/** The wall times of a run's computed stages, each with how it was computed (see `recordExecutors`). */
export function wallRecords(
  records: readonly { stage: string; status: string; wallMs?: number; work?: number; job?: string; executor?: string }[],
): WallRecord[] {
  const executors = recordExecutors(records);
  return records.filter((r) => r.status === "computed" && typeof r.wallMs === "number").map((r) => ({
    stage: r.stage,
    wallMs: r.wallMs!,
    work: r.work,
    executor: executors.get(r.stage),
  }));
}
