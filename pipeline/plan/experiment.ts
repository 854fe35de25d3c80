// What an experiment plugs into the generic CLI. The engine never sees more of the science than this.
import type { Manifest } from "../store/manifest.ts";
import type { Stage } from "../stage.ts";

/** What an experiment plugs into the generic CLI. The engine never sees more of the science than this. */
export interface Experiment<C = unknown> {
  /** Project root (for code digests and the default store). */
  projectRoot: string;
  /** Default config file, relative to the project root. */
  defaultConfig: string;
  /** Import map, so package version changes reach code digests. */
  importMap?: Record<string, string>;
  /**
   * Prefix of the experiment's environment variables ($<P>_STORE, $<P>_JOBS, $<P>_EXECUTOR, $<P>_SLURM_*,
   * $<P>_SBATCH_ARGS). Default "PIPELINE".
   */
  envPrefix?: string;
  /**
   * Prefix of the names the engine gives files and jobs for the experiment (the default archive
   * <p>-archive-<date>.tar.gz, temporary directories, run-stage protocol lines, cluster job names).
   * Default: envPrefix in lower case.
   */
  namePrefix?: string;
  /** Loads and validates a config (file path, overrides), or throws a UserError. */
  loadConfig(path: string, overrides: [string, unknown][]): Promise<{ raw: unknown; config: C }>;
  /** Validates an already-parsed config (from an archive). */
  parseConfig(raw: unknown): C;
  /** The stage DAG for a config. */
  buildStages(config: C): Stage[];
  /**
   * The cluster settings a config gives for `--executor slurm` (flags and environment variables win over
   * them). Default: none.
   */
  cluster?(config: C): ClusterSettings | undefined;
  /** Extra environment entries for the manifest (libraries, backend). */
  environment?(config: C): Promise<Record<string, string>> | Record<string, string>;
  /**
   * Outputs copied out of the store after a successful reproduce, to paths relative to the project root;
   * `{config}` in a path stands for the config file's base name.
   */
  exports?: ExportRule[];
  /**
   * How `verify --rerun` treats an archived config before running it: the experiment keeps only what its
   * own pinned defaults allow (e.g. data sources) and says what it dropped. Default: unchanged.
   */
  rerunConfig?(raw: unknown): { config: unknown; notes: string[] };
  /** The sandbox of `verify --rerun`. */
  sandbox?: {
    /** Extra directories the rerun may read (the experiment's own pinned data directories). */
    read?: string[];
    /** The entry module to run (default: Deno.mainModule). */
    mainModule?: string;
    /** The deno.json to run it with (default: the project root's, if any). */
    denoConfig?: string;
  };
}

/** Where and as whom cluster jobs run, from an experiment's config. */
export interface ClusterSettings {
  partition?: string;
  account?: string;
  /** Extra sbatch arguments, one per element (e.g. ["--qos=short", "--constraint=avx2"]). */
  sbatchArgs?: string[];
}

/**
 * An output copied out of the store after a successful reproduce. `output` names one output, or matches
 * several (a RegExp); in `to`, `{config}` is the config file's base name and `{output}` the output's name.
 * `transform` may rewrite the bytes on the way out (e.g. fill in facts of the run that are no stage input).
 */
export interface ExportRule {
  stage: string;
  output: string | RegExp;
  to: string;
  transform?(bytes: Uint8Array, run: { manifest: Manifest; storeRoot: string }): Promise<Uint8Array> | Uint8Array;
}
