// The git state of a checkout: the commit a run was made from, so that a reviewer holding its archive knows
// which code to check out when it differs from theirs.

import { gitState } from "../util/git_state.ts";

/** The manifest environment entry holding the run's commit: "<sha>" or "<sha> (dirty)". */
export const GIT_COMMIT = "git commit";

/** The manifest environment entry of a checkout's git state: {} outside git. */
export async function gitEnvironment(dir: string): Promise<Record<string, string>> {
  const g = await gitState(dir);
  return g ? { [GIT_COMMIT]: `${g.commit}${g.dirty ? " (dirty)" : ""}` } : {};
}
