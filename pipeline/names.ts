// The names the engine gives things on an experiment's behalf: its environment variables, the default
// archive name, temporary directories, the run-stage protocol and cluster job names. The engine itself
// never names the science; an experiment picks its prefix (main.ts: "HPO"), and the default is neutral.

/** Names derived from an experiment's prefixes. */
export class EngineNames {
  /**
   * @param envPrefix prefix of environment variables: "HPO" gives $HPO_STORE, $HPO_JOBS, …
   * @param filePrefix prefix of file and job names (default: envPrefix in lower case): "hpo" gives
   *   hpo-archive-<date>.tar.gz, hpo-verify-* temporary directories, "@hpo-run-stage " protocol lines
   */
  constructor(readonly envPrefix = "PIPELINE", readonly filePrefix = envPrefix.toLowerCase()) {}

  /** An environment variable: env("STORE") is "HPO_STORE" for the prefix "HPO". */
  env(name: string): string {
    return `${this.envPrefix}_${name}`;
  }

  /** The value of one of the experiment's environment variables, if set. */
  getEnv(name: string): string | undefined {
    return Deno.env.get(this.env(name));
  }

  /** The default archive file name for a day (YYYY-MM-DD). */
  archive(day: string): string {
    return `${this.filePrefix}-archive-${day}.tar.gz`;
  }

  /** The prefix of a temporary directory for `what` (e.g. "verify"). */
  tempDir(what: string): string {
    return `${this.filePrefix}-${what}-`;
  }

  /** Lines a `run-stage` child writes to stdout for its parent start with this; anything else is passed on as text. */
  get protocol(): string {
    return `@${this.filePrefix}-run-stage `;
  }

  /** The name of a stage's job on a cluster. */
  job(stage: string): string {
    return `${this.filePrefix}:${stage}`;
  }
}

/** The engine's own names, for callers that name no experiment (tests, benchmarks). */
export const DEFAULT_NAMES = new EngineNames();
