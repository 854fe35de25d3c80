/** An error caused by the user's input (config, CLI, store contents): printed as one clear line, exit code 2. */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UserError";
  }
}

/**
 * One or more stages failed (a bug in a stage, a crashed or cancelled job): exit code 1. The message and
 * `cause` are the first failure's; the rest of the DAG that did not need the failed stages has finished.
 */
export class StagesFailed extends Error {
  readonly stages: string[];
  constructor(stages: string[], first: Error) {
    super(first.message, { cause: first });
    this.name = "StagesFailed";
    this.stages = stages;
  }
}

/**
 * Thrown by a stage that cannot run for a reason outside the code (typically: data not available).
 * The runner records the stage as "not run" with the reason and carries on with stages that do not need it.
 */
export class SkipStage extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "SkipStage";
  }
}

/**
 * An artifact read from the store whose bytes do not hash to its name (or that vanished). The object has
 * already been removed when this is thrown; the runner catches it and recomputes the stage that made it.
 */
export class DamagedObject extends UserError {
  readonly digest: string;
  constructor(digest: string, message: string) {
    super(message);
    this.name = "DamagedObject";
    this.digest = digest;
  }
}

// Linux errno values that are the user's environment, not a bug: the message says what to do.
const FS_FAULTS: { code: string; errno: number; what: string; fix: string }[] = [
  { code: "ENOSPC", errno: 28, what: "the disk is full", fix: "free some space (e.g. 'deno task gc') or point --store at another disk" },
  { code: "EDQUOT", errno: 122, what: "the disk quota is exhausted", fix: "free some space or point --store at another disk" },
  { code: "EROFS", errno: 30, what: "the file system is read-only", fix: "point --store at a writable directory" },
  {
    code: "EACCES",
    errno: 13,
    what: "permission denied",
    fix: "fix the permissions or point --store at a directory you can write",
  },
  { code: "EPERM", errno: 1, what: "operation not permitted", fix: "fix the permissions or point --store at a directory you can write" },
  { code: "ENOTDIR", errno: 20, what: "a path component is a file, not a directory", fix: "point --store at a directory" },
];

/**
 * Recognises a file-system error that is the user's to fix (disk full, read-only, permission denied, a file
 * where a directory should be) anywhere in an error's cause chain, and returns one line naming the cause
 * and the fix; undefined for anything else.
 */
export function describeFsFault(e: unknown, context = ""): string | undefined {
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    const code = (cur as { code?: string }).code;
    const text = cur.message;
    for (const f of FS_FAULTS) {
      if (code === f.code || text.includes(`os error ${f.errno})`) || text.startsWith(`${f.code}:`)) {
        const where = context ? `${context}: ` : "";
        return `${where}${f.what} (${f.code}): ${text.replace(/\s+/g, " ").slice(0, 200)}; ${f.fix}`;
      }
    }
    if (cur instanceof Deno.errors.PermissionDenied) {
      return `${
        context ? `${context}: ` : ""
      }permission denied (EACCES): ${text}; fix the permissions or point --store at a directory you can write`;
    }
  }
  return undefined;
}

/** Rethrows a file-system fault as a UserError naming `context` (what was being written), else the error. */
export function asUserFsError(e: unknown, context: string): unknown {
  if (e instanceof UserError) return e;
  const line = describeFsFault(e, context);
  return line ? new UserError(line, { cause: e }) : e;
}
