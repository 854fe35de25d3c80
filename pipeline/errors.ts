/** An error caused by the user's input (config, CLI, store contents): printed as one clear line, exit code 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
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
