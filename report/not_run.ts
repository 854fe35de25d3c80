/** Stages that did not run, grouped by the one missing input that caused each, with how to provide it. */

/** A cause and everything it blocked. */
export interface NotRunGroup {
  /** The stage at the root of the chain (e.g. fetch:cifar10), which did not run for `reason`. */
  cause: string;
  reason: string;
  /** What fixes it: the text after "To provide it:" in the reason, or the reason itself. */
  fix: string;
  /** Every stage the cause kept from running, the cause included, in input order. */
  stages: string[];
}

const NEEDS = /^needs '([^']+)', which did not run: /;

/** Follows "needs 'X', which did not run: needs 'Y', …" down to the root stage and its own reason. */
export function rootCause(stage: string, reason: string): { cause: string; reason: string } {
  let cause = stage, r = reason;
  for (let m = NEEDS.exec(r); m; m = NEEDS.exec(r)) {
    cause = m[1];
    r = r.slice(m[0].length);
  }
  return { cause, reason: r };
}

/** Groups not-run stages by their root cause (one group per missing input), in the order causes first appear. */
export function groupNotRun(stages: { name: string; notRun?: string }[]): NotRunGroup[] {
  const groups = new Map<string, NotRunGroup>();
  for (const s of stages) {
    if (s.notRun === undefined) continue;
    const { cause, reason } = rootCause(s.name, s.notRun);
    let g = groups.get(cause);
    if (!g) {
      const fix = /To provide it: ([\s\S]*)$/.exec(reason)?.[1].trim() ?? reason;
      groups.set(cause, g = { cause, reason, fix, stages: [] });
    }
    if (!g.stages.includes(s.name)) g.stages.push(s.name);
  }
  return [...groups.values()];
}

/** "1, 2, 3, 5" → "1–3, 5" for integers; other values joined with commas. */
function compactValues(values: string[]): string {
  if (!values.every((v) => /^\d+$/.test(v))) return values.join(",");
  const ns = [...new Set(values.map(Number))].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < ns.length;) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    out.push(j - i >= 2 ? `${ns[i]}–${ns[j]}` : ns.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return out.join(",");
}

/** One pattern for names whose ':'-separated parts form a full product: "a:{x,y}:{1–3}"; undefined if they do not. */
function productPattern(parts: string[][]): string | undefined {
  const cols = parts[0].map((_, k) => [...new Set(parts.map((p) => p[k]))]);
  const size = cols.reduce((a, c) => a * c.length, 1);
  if (size !== new Set(parts.map((p) => p.join(":"))).size) return undefined;
  return cols.map((c) => (c.length === 1 ? c[0] : `{${compactValues(c)}}`)).join(":");
}

/**
 * Stage names written compactly: names of the same kind and shape that form a full product collapse to one
 * pattern, e.g. the 18 stages search-seed:cifar10:{short,long}:{grid,random,microga}:{1–3}; otherwise the
 * names are split on their first varying part and tried again.
 */
export function compactStageNames(names: string[]): string[] {
  const byShape = new Map<string, string[][]>();
  for (const n of names) {
    const p = n.split(":");
    const k = `${p[0]}#${p.length}`;
    if (!byShape.has(k)) byShape.set(k, []);
    byShape.get(k)!.push(p);
  }
  return [...byShape.values()].flatMap(compactGroup);
}

function compactGroup(parts: string[][]): string[] {
  if (parts.length === 1) return [parts[0].join(":")];
  const pattern = productPattern(parts);
  if (pattern) return [parts.length > 2 ? `${pattern} (${new Set(parts.map((p) => p.join(":"))).size})` : pattern];
  // split on the first part (after the kind) that varies, and compact each branch
  const k = parts[0].findIndex((_, i) => i > 0 && parts.some((p) => p[i] !== parts[0][i]));
  const branches = new Map<string, string[][]>();
  for (const p of parts) {
    if (!branches.has(p[k])) branches.set(p[k], []);
    branches.get(p[k])!.push(p);
  }
  return [...branches.values()].flatMap(compactGroup);
}

/** The reason without the sources tried and the instructions ("data not available: cifar10"). */
export function shortReason(reason: string): string {
  return reason.split(/ \(tried: |\. To provide it: /)[0].trim();
}

/** The data sets a group of not-run stages concerns: the fetched one, and those of the splits its stages name. */
export function datasetsOf(g: NotRunGroup, splitDataset: (split: string) => string | undefined): string[] {
  const out = new Set<string>();
  for (const s of g.stages) {
    const [kind, arg] = s.split(":");
    if (kind === "fetch" && arg) out.add(arg);
    else if (arg) {
      const d = splitDataset(arg);
      if (d) out.add(d);
    }
  }
  return [...out];
}
