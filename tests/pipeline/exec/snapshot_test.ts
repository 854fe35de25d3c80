import { assert, assertEquals } from "../../assert.ts";
import { rebase, snapshotSources } from "../../../pipeline/exec/snapshot.ts";

/** A small project tree in a temp dir: source, data, a big file, ignored and skipped dirs, .git, node_modules, a link. */
async function project(): Promise<string> {
  const root = await Deno.makeTempDir();
  const w = (p: string, s: string | Uint8Array) => {
    Deno.mkdirSync(`${root}/${p}`.replace(/\/[^/]+$/, ""), { recursive: true });
    typeof s === "string" ? Deno.writeTextFileSync(`${root}/${p}`, s) : Deno.writeFileSync(`${root}/${p}`, s);
  };
  w("main.ts", "export const a = 1;\n");
  w("deno.json", "{}");
  w("deno.lock", "{}");
  w("lib/deep/x.ts", "export const x = 2;\n");
  w("lib/deep/notes.md", "# notes");
  w("data/mnist.bin", new Uint8Array(100));
  w("lib/huge.json", new Uint8Array((2 << 20) + 1));
  w("store/cas/blob", "stored");
  w("reports/r.html", "<p>");
  w("cache-1/a.ts", "x");
  w("sub/store-like/keep.ts", "kept");
  w("lib/reports/r.ts", "nested, same name as an ignored top-level directory");
  w(".git/HEAD", "ref");
  w("node_modules/zod/index.js", "module.exports = {}");
  w(".gitignore", "# comment\n/reports/\ncache-*/\n!keep/\nsub/store-like/\nnot-a-dir\n");
  Deno.symlinkSync(`${root}/main.ts`, `${root}/link.ts`);
  return root;
}

const isLink = (p: string) => Deno.lstatSync(p).isSymlink;

Deno.test("snapshot: source is copied, data and big files linked, ignored top-level dirs and node_modules linked, .git and skip left out", async () => {
  const root = await project(), dest = `${await Deno.makeTempDir()}/snap`;
  try {
    const n = await snapshotSources(root, dest, [`${root}/store/`]);
    // copied: the six source files (.gitignore has no source suffix: linked)
    for (const p of ["main.ts", "deno.json", "deno.lock", "lib/deep/x.ts", "sub/store-like/keep.ts", "lib/reports/r.ts"]) {
      assert(!isLink(`${dest}/${p}`), `${p} copied`);
      assertEquals(Deno.readFileSync(`${dest}/${p}`), Deno.readFileSync(`${root}/${p}`));
    }
    assertEquals(n, 6);
    for (const p of ["lib/deep/notes.md", "data/mnist.bin", "lib/huge.json", ".gitignore"]) assert(isLink(`${dest}/${p}`), `${p} linked`);
    assert(isLink(`${dest}/reports`) && isLink(`${dest}/cache-1`), "git-ignored top-level directories are linked, not walked");
    assert(!isLink(`${dest}/sub/store-like`), "a nested ignore pattern is not a top-level directory");
    assert(!isLink(`${dest}/lib/reports`), "an ignored top-level name matches at the top level only");
    assert(isLink(`${dest}/node_modules`));
    assertEquals(Deno.realPathSync(`${dest}/link.ts`), Deno.realPathSync(`${root}/main.ts`), "a link points at the original's target");
    for (const gone of [".git", "store"]) {
      let exists = true;
      try {
        Deno.lstatSync(`${dest}/${gone}`);
      } catch {
        exists = false;
      }
      assert(!exists, `${gone} left out`);
    }
    // the copy is independent of later edits of the tree: a child computes with the code the run digested
    Deno.writeTextFileSync(`${root}/main.ts`, "export const a = 2;\n");
    assertEquals(Deno.readTextFileSync(`${dest}/main.ts`), "export const a = 1;\n");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dest.replace(/\/snap$/, ""), { recursive: true });
  }
});

Deno.test("snapshot: a project without .gitignore walks every directory", async () => {
  const root = await project(), dest = `${await Deno.makeTempDir()}/snap`;
  try {
    Deno.removeSync(`${root}/.gitignore`);
    await snapshotSources(root, dest);
    assert(!isLink(`${dest}/reports`) && !isLink(`${dest}/cache-1/a.ts`), "walked and copied");
    assert(!isLink(`${dest}/store/cas`), "no skip given: the store is walked (its blob linked)");
    assert(isLink(`${dest}/store/cas/blob`));
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dest.replace(/\/snap$/, ""), { recursive: true });
  }
});

Deno.test("rebase: paths and file URLs under the root move, anything else is unchanged", () => {
  assertEquals(rebase("/p/root/a/b.ts", "/p/root", "/tmp/snap"), "/tmp/snap/a/b.ts");
  assertEquals(rebase("file:///p/root/a%20b/c.ts", "/p/root", "/tmp/snap"), "/tmp/snap/a b/c.ts");
  assertEquals(rebase("/p/rootless/x.ts", "/p/root", "/tmp/snap"), "/p/rootless/x.ts", "a sibling sharing a prefix is not under it");
  assertEquals(rebase("/p/other.ts", "/p/root", "/tmp/snap"), "/p/other.ts");
  assertEquals(rebase("https://example.org/p/root/x.ts", "/p/root", "/s"), "https://example.org/p/root/x.ts");
  assertEquals(rebase("/p/root/../root/y.ts", "/p/root", "/s"), "/s/y.ts");
});
