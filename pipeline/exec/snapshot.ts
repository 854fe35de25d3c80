// A snapshot of the project's source for the children of a parallel run. A sequential run computes with
// the modules it loaded when it started, and its code digests are taken then; a child started an hour
// later would load whatever the working tree holds by then. So the parent copies the source once, right
// after taking the digests, and every child runs from the copy: it computes with the code the run
// digested, however the tree changes meanwhile (a child still recomputes its key and refuses to store
// under another, which catches an edit made between the digests and the copy).
import { relative } from "node:path";

/** Files copied (source and small text); everything else is linked to the original. */
const COPIED = /\.(ts|tsx|mts|js|mjs|cjs|json|jsonc|lock)$/;
const MAX_COPY = 2 << 20;

/**
 * Copies the project's source under `dest`: code and config files are copied, other files (data,
 * binaries), `node_modules` and the top-level directories `.gitignore` names (other stores, reports) are
 * symbolic links to the originals; `.git` and the directories in `skip` (the store, when it lies inside
 * the project) are left out. Returns the number of files copied.
 */
export async function snapshotSources(projectRoot: string, dest: string, skip: string[] = []): Promise<number> {
  const skipAbs = new Set(skip.map((s) => s.replace(/\/$/, "")));
  const ignored = await ignoredTopLevel(projectRoot);
  let copied = 0;
  const walk = async (dir: string, out: string) => {
    await Deno.mkdir(out, { recursive: true });
    for await (const e of Deno.readDir(dir)) {
      const src = `${dir}/${e.name}`;
      const to = `${out}/${e.name}`;
      if (skipAbs.has(src) || (dir === projectRoot && e.name === ".git")) continue;
      // git-ignored top-level directories (stores, reports, caches) are linked, not walked
      if (e.isSymlink || e.name === "node_modules" || (dir === projectRoot && e.isDirectory && ignored.some((re) => re.test(e.name)))) {
        await Deno.symlink(await Deno.realPath(src).catch(() => src), to);
      } else if (e.isDirectory) {
        await walk(src, to);
      } else if (e.isFile) {
        const size = (await Deno.stat(src)).size;
        if (COPIED.test(e.name) && size <= MAX_COPY) {
          await Deno.copyFile(src, to);
          copied++;
        } else await Deno.symlink(src, to);
      }
    }
  };
  await walk(projectRoot, dest);
  return copied;
}

/** Top-level directory patterns of the project's .gitignore (lines such as "name/" or "/name/"), as regexps. */
async function ignoredTopLevel(projectRoot: string): Promise<RegExp[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(`${projectRoot}/.gitignore`);
  } catch {
    return [];
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l.endsWith("/") && !l.startsWith("#") && !l.startsWith("!"))
    .map((l) => l.replace(/^\//, "").replace(/\/$/, ""))
    .filter((l) => l && !l.includes("/"))
    .map((l) => new RegExp(`^${l.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`));
}

/** `path` (a path or file URL under `from`) moved under `to`; unchanged when it is not under `from`. */
export function rebase(path: string, from: string, to: string): string {
  const p = path.startsWith("file://") ? decodeURIComponent(new URL(path).pathname) : path;
  const rel = relative(from, p);
  if (rel.startsWith("..") || rel.startsWith("/")) return path;
  return `${to}/${rel}`;
}
