// The command line: its options, parsed into values, with a one-line UserError for a mistake in it, and
// the usage text; and what every command receives (CommandContext).
import { parseArgs } from "node:util";
import { allOptionNames } from "./cli_help.ts";
import { didYouMean } from "../did_you_mean.ts";
import { UserError } from "../errors.ts";
import type { Experiment } from "../plan/experiment.ts";
import type { EngineNames } from "../names.ts";

/** The usage text; the store's variable named as the experiment names it. */
export function usage(names: EngineNames): string {
  return `usage: main.ts <command> [options]
  reproduce [--config FILE] [--only STAGES] [--from STAGE] [--force STAGES] [--set path=value]...
            [--jobs N | -j N] [--executor local|slurm] [--isolate]
            [--partition P] [--account A] [--sbatch-args "ARGS"] [--slurm-cpus N] [--slurm-mem MB] [--slurm-time MIN]
  run-stage --spec FILE | --serve
                          (used by 'reproduce --jobs N': computes one stage of a run, or serves stages one after another)
  status    [--config FILE] [--verify]
  archive   [--out FILE]
  verify    ARCHIVE [--rerun [--sample K | --budget MINUTES] [--stage NAME]... [--nonce HEX]] [--allow-net]
  gc        [--dry-run] [--keep-runs N|all] [--force]
common options: --store DIR (default: ./artifacts or $${names.env("STORE")}), --quiet, --debug (stack traces of internal errors)
STAGES is a comma-separated list of stage names or prefixes ending in ':' (e.g. 'search:').
exit codes: 0 ok, 1 a stage failed (reproduce; with --require-all also a stage not run) or verification failed
(archive or store), 2 user fault (one line: cause and fix), 3 internal error`;
}

const OPTIONS = {
  config: { type: "string" },
  only: { type: "string" },
  from: { type: "string" },
  force: { type: "string" },
  "force-gc": { type: "boolean" },
  set: { type: "string", multiple: true },
  store: { type: "string" },
  out: { type: "string" },
  rerun: { type: "boolean" },
  "allow-net": { type: "boolean" },
  sample: { type: "string" },
  budget: { type: "string" },
  stage: { type: "string", multiple: true },
  nonce: { type: "string" },
  verify: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "keep-runs": { type: "string" },
  jobs: { type: "string", short: "j" },
  executor: { type: "string" },
  isolate: { type: "boolean" },
  partition: { type: "string" },
  account: { type: "string" },
  "sbatch-args": { type: "string" },
  "slurm-cpus": { type: "string" },
  "slurm-mem": { type: "string" },
  "slurm-time": { type: "string" },
  spec: { type: "string" },
  serve: { type: "boolean" },
  "no-export": { type: "boolean" },
  "require-all": { type: "boolean" },
  quiet: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The parsed command line. */
export type CliArgs = ReturnType<typeof parseCli>;
/** The parsed options. */
export type CliValues = CliArgs["values"];

/** Parses the command line; an unknown option is a UserError that names it and suggests the nearest. */
export function parseCli(argv: string[]) {
  // gc's --force is a flag; reproduce's --force takes stage names.
  const args = commandWord(argv) === "gc" ? argv.map((a) => (a === "--force" ? "--force-gc" : a)) : argv;
  try {
    return parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    // parseArgs: "Unknown option '--hepl'. To specify a positional argument …": name it, suggest, stop there
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg)?.[1];
    if (unknown) throw new UserError(`unknown option '${unknown}'${didYouMean(unknown, allOptionNames())}; see 'main.ts --help'`);
    // its first sentence, on one line (its sentences end in ". " or ".\n")
    throw new UserError(`${msg.split(/\.\s/)[0].replace(/\s+/g, " ")}; see 'main.ts --help'`);
  }
}

/** The command: the first word that is neither an option nor the value of one (`--store DIR gc`: gc). */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return argv[i + 1];
    if (!a.startsWith("-")) return a;
    const name = a.replace(/^-+/, "");
    if (a.includes("=")) continue;
    const opt = a.startsWith("--")
      ? OPTIONS[name as keyof typeof OPTIONS]
      : Object.values(OPTIONS).find((o) => "short" in o && o.short === name);
    if (opt?.type === "string") i++; // its value follows
  }
  return undefined;
}

/** What every command receives: the experiment, the parsed line, and what is resolved from it. */
export interface CommandContext<C> {
  exp: Experiment<C>;
  values: CliValues;
  /** The words after the command. */
  rest: string[];
  storeRoot: string;
  configPath: string;
  overrides: [string, unknown][];
  names: EngineNames;
}

/** A comma-separated list option, split. */
export function list(v: unknown): string[] | undefined {
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}
