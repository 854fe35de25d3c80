import { UserError } from "../errors.ts";
import type { Stage } from "../stage.ts";

/**
 * Checks a list of stages forms a DAG (unique names, known dependencies, no cycles) and returns them in a
 * deterministic topological order (ties broken by the order given).
 */
export function topoSort(stages: readonly Stage[]): Stage[] {
  const byName = new Map<string, Stage>();
  for (const s of stages) {
    if (byName.has(s.name)) throw new UserError(`duplicate stage name '${s.name}'`);
    byName.set(s.name, s);
  }
  for (const s of stages) {
    for (const d of s.deps) {
      if (!byName.has(d.stage)) throw new UserError(`stage '${s.name}' depends on unknown stage '${d.stage}'`);
    }
  }
  const order: Stage[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (s: Stage, path: string[]) => {
    const st = state.get(s.name);
    if (st === "done") return;
    if (st === "visiting") throw new UserError(`dependency cycle: ${[...path, s.name].join(" -> ")}`);
    state.set(s.name, "visiting");
    for (const d of s.deps) visit(byName.get(d.stage)!, [...path, s.name]);
    state.set(s.name, "done");
    order.push(s);
  };
  for (const s of stages) visit(s, []);
  return order;
}

/** Names of a stage's transitive descendants (not including itself). */
export function descendants(stages: readonly Stage[], name: string): Set<string> {
  const out = new Set<string>();
  let frontier = [name];
  while (frontier.length) {
    const next: string[] = [];
    for (const s of stages) {
      if (!out.has(s.name) && s.deps.some((d) => frontier.includes(d.stage))) {
        out.add(s.name);
        next.push(s.name);
      }
    }
    frontier = next;
  }
  return out;
}

/** Names of a stage's transitive ancestors (not including itself). */
export function ancestors(stages: readonly Stage[], name: string): Set<string> {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const out = new Set<string>();
  const stack = [...(byName.get(name)?.deps ?? []).map((d) => d.stage)];
  while (stack.length) {
    const n = stack.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    stack.push(...(byName.get(n)?.deps ?? []).map((d) => d.stage));
  }
  return out;
}

/**
 * Resolves stage-name patterns given on the command line. A pattern is an exact name or a prefix ending in
 * ':' or '*' (e.g. 'search:' selects every search stage). Unknown names are a UserError listing the valid ones.
 */
export function resolveStageNames(stages: readonly Stage[], patterns: readonly string[]): Set<string> {
  const names = stages.map((s) => s.name);
  const out = new Set<string>();
  for (const raw of patterns) {
    const p = raw.trim();
    if (!p) continue;
    const prefix = p.endsWith("*") ? p.slice(0, -1) : p.endsWith(":") ? p : undefined;
    const hits = prefix !== undefined ? names.filter((n) => n.startsWith(prefix)) : names.filter((n) => n === p || n.startsWith(`${p}:`));
    if (hits.length === 0) throw new UserError(`unknown stage '${p}'; stages in this config: ${names.join(", ")}`);
    hits.forEach((h) => out.add(h));
  }
  return out;
}
