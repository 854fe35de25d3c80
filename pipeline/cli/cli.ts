// The generic CLI: parses the command line, resolves the store, hands the command to its module
// (cli_reproduce.ts, cli_store.ts, cli_verify.ts, run_stage.ts) and turns what it throws into one line
// and an exit code.
import { resolve } from "node:path";
import { type CommandContext, parseCli, usage } from "./cli_args.ts";
import { commandLineProblem, COMMANDS } from "./cli_help.ts";
import { reproduceCommand } from "./cli_reproduce.ts";
import { archiveCommand, gcCommand, statusCommand } from "./cli_store.ts";
import { verifyCommand } from "./cli_verify.ts";
import { parseOverride } from "../config.ts";
import { describeFsFault, StagesFailed, UserError } from "../errors.ts";
import type { Experiment } from "../plan/experiment.ts";
import { EngineNames } from "../names.ts";
import { runStageChild } from "../exec/run_stage.ts";
import { checkStoreRoot } from "../store/store.ts";
import { recogniseStore } from "../store/store_root.ts";
import { printable } from "../printable.ts";

export type { Experiment, ExportRule } from "../plan/experiment.ts";

/**
 * Runs the CLI; returns the process exit code: 0 ok, 1 verification failed, 2 a user fault (one line naming
 * the cause and the fix), 3 an internal error (its stack printed only with --debug; always appended to
 * `<store>/logs/errors.jsonl` when the store is writable).
 *
 * @example
 * ```ts
 * Deno.exit(await cliMain({ projectRoot, defaultConfig: "configs/default.json", envPrefix: "HPO", ...experiment }, Deno.args));
 * ```
 */
export async function cliMain<C>(exp: Experiment<C>, argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const names = new EngineNames(exp.envPrefix, exp.namePrefix);
  try {
    return await dispatch(exp, names, argv);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${shown(e.message)}`);
      return 2;
    }
    if (e instanceof StagesFailed) {
      // a stage's own failure: the stack is the stage's, worth keeping in the log
      const stack = fullStack(e.cause);
      console.error(`error: ${shown(e.message)}` + (debug ? `\n${stack}` : " (rerun with --debug for the stack trace)"));
      await logInternalError(exp, names, argv, stack);
      return 1;
    }
    const fs = describeFsFault(e);
    if (fs) {
      console.error(`error: ${shown(fs)}`);
      return 2;
    }
    const stack = fullStack(e);
    console.error(
      `internal error: ${shown(e instanceof Error ? e.message : String(e))}` +
        (debug ? `\n${stack}` : " (rerun with --debug for the stack trace)"),
    );
    await logInternalError(exp, names, argv, stack);
    return 3;
  }
}

/** A message as printed: names from configs and stores may hold control characters, shown escaped (lines kept). */
function shown(message: string): string {
  return message.split("\n").map(printable).join("\n");
}

/** An error's stack, followed by those of its causes. */
function fullStack(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur !== undefined && depth < 8; cur = cur instanceof Error ? cur.cause : undefined, depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? cur.message) : String(cur));
  }
  return parts.join("\ncaused by: ");
}

async function logInternalError<C>(exp: Experiment<C>, names: EngineNames, argv: string[], stack: string): Promise<void> {
  const i = argv.indexOf("--store");
  const root = resolve(i >= 0 && argv[i + 1] ? argv[i + 1] : names.getEnv("STORE") ?? `${exp.projectRoot}/artifacts`);
  try {
    if (recogniseStore(root) !== "store") return; // never a byte into a directory that is not a store
    await Deno.mkdir(`${root}/logs`, { recursive: true });
    const line = JSON.stringify({ t: new Date().toISOString(), event: "internal-error", argv, stack }) + "\n";
    await Deno.writeTextFile(`${root}/logs/errors.jsonl`, line, { append: true });
  } catch { /* the store is not writable: the message above is all there is */ }
}

/** Each command's handler. */
const HANDLERS: Record<string, <C>(c: CommandContext<C>) => Promise<number>> = {
  "run-stage": runStageCommand,
  reproduce: reproduceCommand,
  status: statusCommand,
  archive: archiveCommand,
  verify: verifyCommand,
  gc: gcCommand,
};

/** Parses the line, answers --help, resolves the store and the config path, and runs the command. */
async function dispatch<C>(exp: Experiment<C>, names: EngineNames, argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv);
  const [command, ...rest] = positionals;
  if (!command) {
    console.log(usage(names));
    return values.help ? 0 : 2;
  }
  const given = Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined);
  const problem = commandLineProblem(command, given.filter((k) => k !== "help"), rest);
  if (problem && !(values.help && COMMANDS[command])) throw new UserError(problem);
  if (values.help) {
    console.log(COMMANDS[command].help);
    return 0;
  }
  const storeVar = names.env("STORE");
  const via = values.store ? "--store" : Deno.env.get(storeVar) ? `$${storeVar}` : "the default store";
  const storeRoot = resolve(values.store ?? Deno.env.get(storeVar) ?? `${exp.projectRoot}/artifacts`);
  // every command that touches the store refuses a directory that is not one, before writing anything
  if (command !== "verify") await checkStoreRoot(storeRoot, via);
  const configPath = resolve(values.config ?? `${exp.projectRoot}/${exp.defaultConfig}`);
  const overrides = (values.set ?? []).map(parseOverride);
  const handler = HANDLERS[command];
  if (!handler) throw new UserError(`unknown command '${command}'\n${usage(names)}`);
  return await handler({ exp, values, rest, storeRoot, configPath, overrides, names });
}

/** `run-stage --spec FILE`: one stage of a parallel run, in its own process; `--serve`: one after another, from stdin. */
async function runStageCommand<C>(c: CommandContext<C>): Promise<number> {
  const { spec, serve } = c.values;
  if (!spec === !serve) {
    throw new UserError(`run-stage needs either --spec FILE or --serve (it is started by 'reproduce --jobs N')\n${usage(c.names)}`);
  }
  return await runStageChild({
    specPath: spec ? resolve(spec) : undefined,
    storeRoot: c.storeRoot,
    projectRoot: c.exp.projectRoot,
    importMap: c.exp.importMap,
    parseConfig: c.exp.parseConfig,
    buildStages: c.exp.buildStages,
    names: c.names,
  });
}
