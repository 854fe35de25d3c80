// What each command accepts and its help with examples (did-you-mean suggestions: did_you_mean.ts).
import { didYouMean } from "../did_you_mean.ts";

/** Options every command accepts. */
const COMMON = ["store", "quiet", "debug", "help"];

/** Each command: the options it accepts (besides COMMON), how many words follow it, and its help. */
export const COMMANDS: Record<string, { options: string[]; positionals: [number, number]; help: string }> = {
  reproduce: {
    options: [
      "config",
      "only",
      "from",
      "force",
      "set",
      "jobs",
      "executor",
      "isolate",
      "partition",
      "account",
      "sbatch-args",
      "slurm-cpus",
      "slurm-mem",
      "slurm-time",
      "no-export",
      "require-all",
    ],
    positionals: [0, 0],
    help: `usage: main.ts reproduce [--config FILE] [--only STAGES] [--from STAGE] [--force STAGES] [--set path=value]...
                         [--jobs N | -j N] [--executor local|slurm] [--isolate] [--require-all] [--store DIR] [--quiet]
Runs every stage that is not cached; the report is copied to reports/<config>/.
Stages whose external input is missing (a data set that cannot be fetched) are not run, said at the end.
exit codes: 0 done (stages not run only for a missing input), 1 some stage failed (with --require-all: or
was not run), 2 a mistake in the command line or config (one line: what and how to fix), 3 internal error.
examples:
  main.ts reproduce                                   # configs/default.json
  main.ts reproduce --config configs/smoke.json       # every stage on tiny data
  main.ts reproduce --only hls-ablation:mnist:        # those stages and what they need
  main.ts reproduce --set search.hls.preset=paper     # the paper's HLS instead of the default
  main.ts reproduce -j 2                              # two stages at a time, each in its own process`,
  },
  status: {
    options: ["config", "set", "verify"],
    positionals: [0, 0],
    help: `usage: main.ts status [--config FILE] [--set path=value]... [--verify] [--store DIR]
For each stage: cached, stale (and why) or not run (and why). --verify rehashes the whole store.
examples:
  main.ts status --config configs/smoke.json
  main.ts status --verify`,
  },
  archive: {
    options: ["out"],
    positionals: [0, 0],
    help: `usage: main.ts archive [--out FILE] [--store DIR]
Writes the last complete run (manifest, config, artifacts, code, checksums) into one .tar.gz.
example:
  main.ts archive --out run.tar.gz`,
  },
  verify: {
    options: ["rerun", "allow-net", "sample", "budget", "stage", "nonce", "jobs"],
    positionals: [1, 1],
    help: `usage: main.ts verify ARCHIVE [--rerun [--sample K | --budget MINUTES] [--stage NAME]... [--nonce HEX] [-j N]] [--allow-net]
Checks an archive without trusting it, and says where its code differs from this checkout's. --rerun recomputes
it in a sandbox and compares every digest. A spot check recomputes only some stages, each from its archived
inputs: --sample K draws K at random (seeded by a printed nonce; --nonce repeats a draw), --budget picks as many
as the archived wall times fit in MINUTES, --stage adds named stages (or prefixes ending in ':'); it prints the
probability that it would have caught a given fraction of forged stages.
examples:
  main.ts verify run.tar.gz
  main.ts verify run.tar.gz --rerun
  main.ts verify run.tar.gz --rerun --sample 20
  main.ts verify run.tar.gz --rerun --stage report --stage hls-ablation:mnist:`,
  },
  gc: {
    options: ["dry-run", "keep-runs", "force-gc"],
    positionals: [0, 0],
    help: `usage: main.ts gc [--dry-run] [--keep-runs N|all] [--force] [--store DIR]
Removes artifacts no kept manifest references; refuses (exit 2) on anything it cannot account for.
examples:
  main.ts gc --dry-run
  main.ts gc --keep-runs 3`,
  },
  "run-stage": {
    options: ["spec", "serve"],
    positionals: [0, 0],
    help: `usage: main.ts run-stage --spec FILE | --serve
Computes one stage of a run in its own process (used by 'reproduce --jobs N' and the Slurm executor).
--serve: computes the job spec each line of stdin names, one after another, until stdin ends (the workers
that 'reproduce --jobs N' keeps up between stages).`,
  },
};

/** Every option name any command accepts (as written on the command line, with --). */
export function allOptionNames(): string[] {
  return [...new Set([...COMMON, ...Object.values(COMMANDS).flatMap((c) => c.options)])].map((
    o,
  ) => (o === "force-gc" ? "--force" : `--${o}`));
}

/**
 * The problem with a command line, or undefined: an unknown command, an option the command does not take,
 * or a wrong number of words after it. Each names the fix.
 */
export function commandLineProblem(command: string, given: string[], positionals: string[]): string | undefined {
  const spec = COMMANDS[command];
  if (!spec) {
    return `unknown command '${command}'${didYouMean(command, Object.keys(COMMANDS))}; commands: ${Object.keys(COMMANDS).join(", ")}`;
  }
  const allowed = new Set([...COMMON, ...spec.options]);
  for (const o of given) {
    if (allowed.has(o)) continue;
    const shown = o === "force-gc" ? "--force" : `--${o}`;
    return `'${command}' takes no option ${shown}${didYouMean(o, [...allowed])}; see 'main.ts ${command} --help'`;
  }
  const [min, max] = spec.positionals;
  if (positionals.length < min) return `'${command}' needs ${min} argument(s); see 'main.ts ${command} --help'`;
  if (positionals.length > max) {
    return `'${command}' takes ${max === 0 ? "no" : max} argument(s), got extra '${
      positionals.slice(max).join(" ")
    }'; see 'main.ts ${command} --help'`;
  }
  return undefined;
}
