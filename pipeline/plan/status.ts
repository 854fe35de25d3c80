import { topoSort } from "./dag.ts";
import { CodeDigester } from "./code_digest.ts";
import { listManifests, type StageRecord } from "../store/manifest.ts";
import { cacheKey, validateParams } from "./keys.ts";
import { notRunBecause, shortNotRunReason } from "../not_run.ts";
import { ArtifactStore } from "../store/store.ts";
import type { Stage } from "../stage.ts";

/** One stage's state as `status` reports it. */
export interface StageStatus {
  stage: string;
  state: "cached" | "stale" | "not-run";
  reasons: string[];
  key?: string;
}

/** Lists the dotted paths where two JSON values differ (first few). */
export function diffPaths(a: unknown, b: unknown, prefix = "", out: string[] = []): string[] {
  if (out.length >= 8) return out;
  const isObj = (x: unknown) => x !== null && typeof x === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of [...keys].sort()) {
      diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`${prefix || "(params)"}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
  }
  return out;
}

/** What a stage's key is made of now, to hold against its last record. */
interface KeyNow {
  params: unknown;
  inputs: Record<string, Record<string, string>>;
  codeFiles: Record<string, string>;
  packages: Record<string, string>;
}

/** Why a stage is stale: each parameter, code file, package and input that changed since its last record. */
function explain(prev: StageRecord | undefined, now: KeyNow): string[] {
  if (!prev) return ["never run"];
  const { codeFiles, packages, inputs } = now;
  const reasons: string[] = [];
  for (const d of diffPaths(prev.params, now.params)) reasons.push(`parameter ${d}`);
  for (const f of new Set([...Object.keys(prev.codeFiles), ...Object.keys(codeFiles)])) {
    if (!(f in codeFiles)) reasons.push(`code file ${f} no longer imported`);
    else if (!(f in prev.codeFiles)) reasons.push(`code file ${f} newly imported`);
    else if (prev.codeFiles[f] !== codeFiles[f]) reasons.push(`code file ${f} changed`);
  }
  for (const k of new Set([...Object.keys(prev.packages), ...Object.keys(packages)])) {
    if (prev.packages[k] !== packages[k]) reasons.push(`package ${k}: ${prev.packages[k] ?? "none"} -> ${packages[k] ?? "none"}`);
  }
  for (const dep of new Set([...Object.keys(prev.inputs), ...Object.keys(inputs)])) {
    if (JSON.stringify(prev.inputs[dep]) !== JSON.stringify(inputs[dep])) reasons.push(`input from '${dep}' changed`);
  }
  return reasons.length ? reasons : ["cache entry missing (removed by gc, corrupt, or never stored)"];
}

/**
 * The latest record of each stage across the store's manifests: the last computed or cached one (it
 * describes a stored state), and a not-run one when that is the stage's last word.
 */
async function lastRecords(storeRoot: string, configPath?: string) {
  const lastRecord = new Map<string, StageRecord>();
  const lastNotRun = new Map<string, StageRecord>();
  // runs of the config asked about come last, so that their records win over another config's stage of
  // the same name (e.g. the report)
  const manifests = await listManifests(storeRoot);
  const sameConfig = (m: { manifest: { configPath?: string } }) => configPath !== undefined && m.manifest.configPath === configPath;
  for (const { manifest } of [...manifests.filter((m) => !sameConfig(m)), ...manifests.filter(sameConfig)]) {
    for (const r of manifest.stages) {
      if (r.status === "computed" || r.status === "cached") lastRecord.set(r.stage, r);
      if (r.status === "not-run") lastNotRun.set(r.stage, r);
      else lastNotRun.delete(r.stage);
    }
  }
  return { lastRecord, lastNotRun };
}

/**
 * For each stage: cached, stale (and why: which parameter, code file, package or input changed since the
 * last recorded run), or not run (and why). A stage that needs one that does not run is not run, as
 * `reproduce` would record it, with the stage it waits on and the root cause. Reads only; takes no lock.
 */
export async function pipelineStatus(
  stages: readonly Stage[],
  opts: {
    storeRoot: string;
    projectRoot: string;
    importMap?: Record<string, string>;
    configPath?: string;
    /** Files digested as if edited (see CodeDigester): what an edit would make stale, without making it. */
    simulatedEdits?: string[];
  },
): Promise<StageStatus[]> {
  const order = topoSort(stages);
  const params = validateParams(order);
  const store = new ArtifactStore(opts.storeRoot);
  const digester = new CodeDigester(opts.projectRoot, opts.importMap, { simulatedEdits: opts.simulatedEdits });
  // the store's history, read only when a stage is not cached: every manifest is read and validated (about
  // 15 ms each for the default config), and a store where everything is cached needs none of it
  let history: Awaited<ReturnType<typeof lastRecords>> | undefined;
  const past = async () => (history ??= await lastRecords(opts.storeRoot, opts.configPath));
  const known = new Map<string, Record<string, string> | "unknown">();
  const out: StageStatus[] = [];
  for (const s of order) {
    const p = params.get(s.name);
    const code = digester.digest(s.module);
    const inputs: Record<string, Record<string, string>> = {};
    const waiting: string[] = [];
    let blocked: string | undefined;
    for (const d of s.deps) {
      const k = known.get(d.stage)!;
      if (k === "unknown") waiting.push(d.stage);
      else inputs[d.stage] = k;
      // the runner's own rule (prepare.ts): the first needed input that did not run decides, in the
      // words the runner records, whatever the rest of the inputs are
      if (blocked === undefined && k !== "unknown" && !d.optional && "#not-run" in k) blocked = notRunBecause(d.stage, k["#not-run"]);
    }
    if (blocked !== undefined) {
      known.set(s.name, { "#not-run": blocked });
      out.push({ stage: s.name, state: "not-run", reasons: [shortNotRunReason(blocked)] });
      continue;
    }
    if (waiting.length) {
      known.set(s.name, "unknown");
      // a merge or the report can wait on a hundred stages: name a few, count the rest
      const named = waiting.slice(0, 3).map((w) => `'${w}'`).join(", ");
      const more = waiting.length > 3 ? ` and ${waiting.length - 3} more` : "";
      out.push({ stage: s.name, state: "stale", reasons: [`upstream ${named}${more} must run first`] });
      continue;
    }
    const key = cacheKey({ stage: s.name, params: p, inputs, code: code.digest });
    const hit = await store.readRun(key);
    if (hit) {
      known.set(s.name, Object.fromEntries(Object.entries(hit.outputs).map(([k, v]) => [k, v.digest])));
      out.push({ stage: s.name, state: "cached", reasons: [], key });
      continue;
    }
    const { lastRecord, lastNotRun } = await past();
    const nr = lastNotRun.get(s.name);
    if (nr && nr.key === key || nr && nr.key === undefined && JSON.stringify(nr.inputs) === JSON.stringify(inputs)) {
      known.set(s.name, { "#not-run": nr.reason ?? "" });
      out.push({ stage: s.name, state: "not-run", reasons: [shortNotRunReason(nr.reason ?? "")], key });
      continue;
    }
    known.set(s.name, "unknown");
    out.push({
      stage: s.name,
      state: "stale",
      reasons: explain(lastRecord.get(s.name), { params: p, inputs, codeFiles: code.files, packages: code.packages }),
      key,
    });
  }
  return out;
}
