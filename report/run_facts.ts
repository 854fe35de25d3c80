/**
 * Facts about one run (run id, start and end, command, git commit, config path, machine) that are not inputs of the
 * report stage: the cached report holds a marked placeholder, and whoever exports it fills the marks in
 * (`fillRunFacts`), from the run's manifest. The report stage itself stays a pure function of its inputs.
 */
import { esc, mdText } from "./format.ts";
import { gitState } from "../util/git_state.ts";

/** What the exporter knows about the run that produced (or reused) the report. */
export interface RunFacts {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  /** The command line, as typed (e.g. "deno task reproduce --config configs/smoke.json"). */
  command?: string;
  /** The config file, relative to the project. */
  configPath?: string;
  gitCommit?: string;
  /** Whether the working tree had uncommitted changes. */
  gitDirty?: boolean;
  /** The artifact store, relative to the project when inside it. */
  store?: string;
  /**
   * The machine that ran this command (Deno, V8, OS, CPU model and cores): facts of the run, not of the
   * cached report, which another machine may have rendered. Stages reused from the cache may have been
   * computed elsewhere.
   */
  machine?: Record<string, string>;
}

const MARKS = {
  line: ["<!--run-facts-line:begin-->", "<!--run-facts-line:end-->"],
  table: ["<!--run-facts-table:begin-->", "<!--run-facts-table:end-->"],
} as const;

const UNFILLED =
  "The run's id, times, command, config path, git commit and machine are added when 'reproduce' exports this report (the run manifest in the store holds them).";

/** The rows of the run-facts table. */
function rows(f: RunFacts): [string, string][] {
  const commit = f.gitCommit ? `${f.gitCommit}${f.gitDirty ? " (working tree dirty: uncommitted changes)" : " (clean)"}` : "unknown";
  return [
    ["run id", f.runId],
    ["started", f.startedAt],
    ["finished", f.finishedAt ?? "–"],
    ["command", f.command ?? "–"],
    ["config file", f.configPath ?? "–"],
    ["git commit", commit],
    ["artifact store", f.store ?? "–"],
    ...Object.entries(f.machine ?? {}).map(([k, v]) => [`machine: ${k}`, v] as [string, string]),
  ];
}

/** The one-line summary under the title. */
function line(f: RunFacts): string {
  const commit = f.gitCommit ? `commit ${f.gitCommit.slice(0, 12)}${f.gitDirty ? " (dirty)" : ""}` : "";
  return [`run ${f.runId}`, `${f.startedAt} to ${f.finishedAt ?? "?"}`, commit, f.configPath ? `config ${f.configPath}` : ""].filter(
    Boolean,
  ).join(" · ");
}

/** The marked run-facts line for the top of the page (a placeholder until filled). */
export function runFactsLine(format: "html" | "md", f?: RunFacts): string {
  const [b, e] = MARKS.line;
  const text = f ? line(f) : UNFILLED;
  return format === "html" ? `${b}<p class="runline">${esc(text)}</p>${e}` : `${b}\n${mdText(text)}\n${e}`;
}

/** The marked run-facts table for the provenance section (a placeholder until filled). */
export function runFactsTable(format: "html" | "md", f?: RunFacts): string {
  const [b, e] = MARKS.table;
  if (!f) return format === "html" ? `${b}<p class="note">${esc(UNFILLED)}</p>${e}` : `${b}\n*${mdText(UNFILLED)}*\n${e}`;
  const r = rows(f);
  const body = format === "html"
    ? `<p class="cap">This run</p><div class="tw"><table><tbody>${
      r.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")
    }</tbody></table></div>`
    : ["**This run**", "", "| what | value |", "| --- | --- |", ...r.map(([k, v]) => `| ${mdText(k)} | ${mdText(v)} |`), ""].join("\n");
  return `${b}${format === "md" ? "\n" : ""}${body}${format === "md" ? "\n" : ""}${e}`;
}

/** Replaces the placeholders of an exported report (HTML or Markdown) with the run's facts; text without marks is returned as is. */
export function fillRunFacts(text: string, facts: RunFacts, format: "html" | "md"): string {
  const swap = (s: string, [b, e]: readonly [string, string], by: string) => {
    const i = s.indexOf(b), j = s.indexOf(e, i);
    return i < 0 || j < 0 ? s : s.slice(0, i) + by + s.slice(j + e.length);
  };
  return swap(swap(text, MARKS.line, runFactsLine(format, facts)), MARKS.table, runFactsTable(format, facts));
}

/** The CPU model of this machine (Linux), or "unknown". */
function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1].trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** This machine and runtime, for the run facts. */
export function machineFacts(): Record<string, string> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpu: cpuModel(),
    "cpu cores": String(navigator.hardwareConcurrency),
  };
}

/** A path relative to `root` when it lies inside it ("configs/smoke.json"), else as given. */
export function relativeTo(root: string, path: string): string {
  const r = root.replace(/\/$/, "");
  return path === r ? "." : path.startsWith(`${r}/`) ? path.slice(r.length + 1) : path;
}

/** A command line as a shell would take it back: words with spaces or quotes are single-quoted. */
export function commandLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(" ");
}

/**
 * The facts of a run from its manifest, for the exporter: `argv` is the command as typed (e.g.
 * ["deno", "task", "reproduce", "--config", "configs/smoke.json"]); paths are made relative to the project.
 */
export async function runFactsFromManifest(
  m: { runId: string; startedAt: string; finishedAt?: string; configPath?: string },
  o: { argv: string[]; projectRoot: string; storeRoot?: string },
): Promise<RunFacts> {
  const git = await gitState(o.projectRoot);
  return {
    runId: m.runId,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    command: commandLine(o.argv),
    configPath: m.configPath ? relativeTo(o.projectRoot, m.configPath) : undefined,
    gitCommit: git?.commit,
    gitDirty: git?.dirty,
    store: o.storeRoot ? relativeTo(o.projectRoot, o.storeRoot) : undefined,
    machine: machineFacts(),
  };
}
