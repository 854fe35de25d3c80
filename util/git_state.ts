// The git state of a checkout: the commit a run was made from. Here in util/ because both the engine (the run
// manifest, verify) and the report (its run facts) record it, and neither may import the other.

/**
 * The git commit of a checkout and whether its tracked files have uncommitted changes; undefined outside git,
 * without git, or where running git is not allowed (the sandbox of verify --rerun).
 *
 * @example
 * ```ts
 * import { gitState } from "./git_state.ts";
 * const g = await gitState("."); // { commit: "6093c41…", dirty: false } in a clean checkout
 * ```
 */
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
    return undefined;
  }
}
