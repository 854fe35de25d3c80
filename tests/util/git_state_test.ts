// util/git_state.ts and pipeline/git_state.ts imported directly, in temporary git repositories: clean,
// dirty (tracked file edited or staged), untracked files only, no commit yet, and not a repository.
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { gitState } from "../../util/git_state.ts";
import { GIT_COMMIT, gitEnvironment } from "../../pipeline/git_state.ts";

function git(dir: string, ...args: string[]): string {
  const r = new Deno.Command("git", {
    args: ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

async function withRepo(fn: (dir: string) => Promise<void>, commit = true): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "hpo-git-" });
  try {
    git(dir, "init", "-q");
    if (commit) {
      Deno.writeTextFileSync(`${dir}/a.ts`, "export const a = 1;\n");
      git(dir, "add", "a.ts");
      git(dir, "commit", "-q", "-m", "first");
    }
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("clean checkout: the HEAD commit, not dirty; the manifest entry is the bare sha", async () => {
  await withRepo(async (dir) => {
    const head = git(dir, "rev-parse", "HEAD");
    assertMatch(head, /^[0-9a-f]{40}$/);
    assertEquals(await gitState(dir), { commit: head, dirty: false });
    assertEquals(await gitEnvironment(dir), { [GIT_COMMIT]: head });
  });
});

Deno.test("dirty: an edited tracked file, a staged change or a deleted tracked file each mark the state dirty", async () => {
  await withRepo(async (dir) => {
    const head = git(dir, "rev-parse", "HEAD");
    Deno.writeTextFileSync(`${dir}/a.ts`, "export const a = 2;\n");
    assertEquals(await gitState(dir), { commit: head, dirty: true });
    assertEquals(await gitEnvironment(dir), { [GIT_COMMIT]: `${head} (dirty)` });
    git(dir, "add", "a.ts");
    assertEquals((await gitState(dir))?.dirty, true, "staged");
    git(dir, "commit", "-q", "-m", "second");
    const second = git(dir, "rev-parse", "HEAD");
    assert(second !== head);
    assertEquals(await gitState(dir), { commit: second, dirty: false }, "the new commit, clean again");
    Deno.removeSync(`${dir}/a.ts`);
    assertEquals((await gitState(dir))?.dirty, true, "deleted");
  });
});

Deno.test("untracked files alone (a store, a report) do not make a checkout dirty", async () => {
  await withRepo(async (dir) => {
    Deno.mkdirSync(`${dir}/artifacts`);
    Deno.writeTextFileSync(`${dir}/artifacts/x`, "x");
    Deno.writeTextFileSync(`${dir}/new.ts`, "export {};\n");
    assertEquals((await gitState(dir))?.dirty, false);
  });
});

Deno.test("a subdirectory of a checkout reports the checkout's commit", async () => {
  await withRepo(async (dir) => {
    Deno.mkdirSync(`${dir}/sub`);
    assertEquals((await gitState(`${dir}/sub`))?.commit, git(dir, "rev-parse", "HEAD"));
  });
});

Deno.test("no commit yet, not a repository, or a directory that does not exist: undefined, and {} in the manifest", async () => {
  await withRepo(async (dir) => {
    assertEquals(await gitState(dir), undefined, "no commit");
    assertEquals(await gitEnvironment(dir), {});
  }, false);
  const plain = Deno.makeTempDirSync({ prefix: "hpo-nogit-" });
  try {
    // a directory outside any checkout (guard against a temp dir inside one)
    const inside =
      new Deno.Command("git", { args: ["-C", plain, "rev-parse", "HEAD"], stdout: "null", stderr: "null" }).outputSync().success;
    if (!inside) {
      assertEquals(await gitState(plain), undefined);
      assertEquals(await gitEnvironment(plain), {});
    }
    assertEquals(await gitState(`${plain}/absent`), undefined);
  } finally {
    Deno.removeSync(plain, { recursive: true });
  }
});
