// The git state of a checkout: the commit a run was made from, so that a reviewer holding its archive knows
// which code to check out when it differs from theirs.

/** The manifest environment entry holding the run's commit: "<sha>" or "<sha> (dirty)". */
export const GIT_COMMIT = "git commit";

/** The git commit of a checkout and whether its tracked files have uncommitted changes; undefined outside git or without git. */
export async function gitState(dir: string): Promise<{ commit: string; dirty: boolean } | undefined> {
  const git = async (...args: string[]) => {
    const r = await new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "piped", stderr: "null" }).output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : undefined;
  };
  try {
    const commit = await git("rev-parse", "HEAD");
    const status = await git("status", "--porcelain", "--untracked-files=no");
    return commit ? { commit, dirty: !!status } : undefined;
  } catch {
    return undefined; // no git, or not allowed to run it (the sandbox of verify --rerun)
  }
}

/** The manifest environment entry of a checkout's git state: {} outside git. */
export async function gitEnvironment(dir: string): Promise<Record<string, string>> {
  const g = await gitState(dir);
  return g ? { [GIT_COMMIT]: `${g.commit}${g.dirty ? " (dirty)" : ""}` } : {};
}
