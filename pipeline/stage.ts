import type { z } from "zod";

/** Files a stage produces: name → bytes. Names are flat, e.g. "train.bin", "summary.json". */
export type StageOutputs = Record<string, Uint8Array>;

/** Read access to the outputs of an upstream stage. */
export interface ArtifactSet {
  readonly stage: string;
  /** Output file names. */
  names(): string[];
  /** sha256 of a file. */
  digest(name: string): string;
  /** The bytes of a file (verified against its digest). */
  bytes(name: string): Promise<Uint8Array>;
  /** A file parsed as UTF-8 JSON. */
  json<T = unknown>(name: string): Promise<T>;
}

/** An upstream stage that did not run (e.g. its data is not available), with the reason. */
export interface NotRun {
  readonly stage: string;
  readonly notRun: string;
}

/** Progress reporting for long work: step k of n, with an optional label. */
export interface Progress {
  (step: number, total: number, label?: string): void;
}

/** What a stage's run function receives. */
export interface StageContext<P> {
  readonly params: P;
  /** Upstream outputs by stage name; an optional dependency that did not run appears as NotRun. */
  readonly inputs: Record<string, ArtifactSet | NotRun>;
  readonly progress: Progress;
  /** Writes a structured event to the run's JSON-lines log. */
  log(event: Record<string, unknown>): void;
  /** A scratch directory removed after the stage. */
  readonly scratchDir: string;
}

/** A dependency on another stage. Optional ones let a stage run when the upstream could not. */
export interface StageDep {
  stage: string;
  optional?: boolean;
}

/**
 * A pipeline stage: a pure function of (params, input artifacts, code). The engine knows nothing else
 * about it. `module` is the URL of the module that implements it (pass `import.meta.url`): its code digest
 * covers that file and every local module it imports.
 */
export interface Stage<P = unknown> {
  readonly name: string;
  readonly module: string;
  readonly deps: readonly StageDep[];
  readonly schema: z.ZodType<P>;
  /** The raw parameters from the config, validated by `schema` before use. */
  readonly params: unknown;
  /** A one-line description for `status`. */
  readonly description?: string;
  /**
   * Outputs that legitimately differ between identical runs (timings, or documents that embed them).
   * Default: names containing ".volatile.". `verify --rerun` lists them but does not count them as mismatches.
   */
  readonly isVolatileOutput?: (name: string) => boolean;
  /**
   * What one run of the stage needs from a cluster scheduler (`--executor slurm`): CPUs, memory, time
   * limit. Not part of the cache key. Default: the executor's (1 CPU, 4 GB, 2 h, or the --slurm-* flags).
   */
  readonly resources?: { cpus?: number; memMB?: number; timeMin?: number };
  /**
   * Cheap enough to compute in the scheduling process (a merge of seed units: reading JSON, a few sums): a
   * parallel run computes it there rather than start a child (0.3-1 s of start-up) for it. Under --isolate
   * and on Slurm every stage is still a job of its own.
   */
  readonly light?: boolean;
  run(ctx: StageContext<P>): Promise<StageOutputs>;
}

/** True when an input is a NotRun marker. */
export function isNotRun(x: ArtifactSet | NotRun | undefined): x is NotRun {
  return x !== undefined && "notRun" in x;
}

/**
 * A typed stage as a member of a list of stages with different params. Sound because the engine only hands
 * a stage the params its own schema parsed.
 */
export function untyped<P>(stage: Stage<P>): Stage {
  return stage as unknown as Stage;
}
