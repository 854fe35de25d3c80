import { dirname, relative, resolve } from "node:path";
import { fromFileUrl } from "../paths.ts";
import { sha256 } from "../hash.ts";

/** The digest of a module's code and of every local module it imports, transitively. */
export interface CodeDigest {
  digest: string;
  /** project-relative path → sha256 of its content, for explaining staleness. */
  files: Record<string, string>;
  /** bare specifiers imported (npm packages), with the version they resolve to in deno.json. */
  packages: Record<string, string>;
}

// Static import / export-from / dynamic import with a literal specifier / a module named by URL relative to
// the importer (`new URL("./x.ts", import.meta.url)`): a module loaded by such a URL when it is needed is as
// much a dependency as one imported (stages name their science this way, see stages/_load.ts lazyModule).
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\bfrom\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|\bnew\s+URL\(\s*["'](\.{1,2}\/[^"']+\.(?:ts|js|mjs))["']\s*,\s*import\.meta\.url\s*\)/gm;

/** Lists the specifiers a TypeScript/JavaScript source imports statically. */
export function importSpecifiers(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (spec) out.add(spec);
  }
  return [...out];
}

/**
 * The files of a code digest (paths relative to the project root) that lie outside the root: a child's copy
 * of the project cannot carry them, nor can an archive.
 */
export function outsideProjectRoot(files: Iterable<string>): string[] {
  return [...files].filter((f) => f === ".." || f.startsWith("../") || f.startsWith("/")).sort();
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The code digest of a set of files (path → sha256) and packages (specifier → version): what a stage's
 * cache key covers. Exported so that `verify` can recompute a recorded digest from the recorded parts.
 */
export function codeDigestOf(files: Record<string, string>, packages: Record<string, string>): string {
  return sha256(JSON.stringify([sortedRecord(files), sortedRecord(packages)]));
}

/**
 * Computes code digests from the module graph: each module's own file plus the local files it imports,
 * transitively. Bare specifiers are resolved through the import map so that a version bump changes the
 * digest. Results are memoised per file for the life of the object.
 */
export class CodeDigester {
  readonly #root: string;
  readonly #importMap: Record<string, string>;
  readonly #fileCache = new Map<string, { hash: string; locals: string[]; bare: string[] }>();
  // many stages share a module (125 stages, 9 modules in the default config): a closure is walked once
  readonly #digestCache = new Map<string, CodeDigest>();
  readonly #edited: Set<string>;

  /**
   * `simulatedEdits`: files (absolute, or relative to the project root) digested as if they had been edited,
   * to ask what an edit would invalidate without making it (bench/stale.ts).
   */
  /**
   * @example
   * ```ts
   * const d = new CodeDigester("/path/to/project", denoJson.imports);
   * const { digest, files } = d.digest(stage.module); // the module and every local module it loads
   * ```
   */
  constructor(projectRoot: string, importMap: Record<string, string> = {}, opts: { simulatedEdits?: Iterable<string> } = {}) {
    this.#root = projectRoot;
    this.#importMap = importMap;
    this.#edited = new Set([...(opts.simulatedEdits ?? [])].map((f) => resolve(projectRoot, f)));
  }

  #scan(path: string) {
    let entry = this.#fileCache.get(path);
    if (entry) return entry;
    let source: string;
    try {
      source = Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(`code digest: cannot read module ${path}: ${(e as Error).message}`);
    }
    const locals: string[] = [];
    const bare: string[] = [];
    for (const spec of importSpecifiers(source)) {
      if (spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("/")) {
        locals.push(resolve(dirname(path), spec));
      } else if (spec.startsWith("file://")) {
        locals.push(fromFileUrl(spec));
      } else bare.push(spec);
    }
    entry = { hash: sha256(this.#edited.has(path) ? `${source}\n// a simulated edit\n` : source), locals, bare };
    this.#fileCache.set(path, entry);
    return entry;
  }

  /** Digest of the module at `moduleUrlOrPath` and its local import closure. */
  digest(moduleUrlOrPath: string): CodeDigest {
    const start = moduleUrlOrPath.startsWith("file://") ? fromFileUrl(moduleUrlOrPath) : resolve(moduleUrlOrPath);
    const known = this.#digestCache.get(start);
    if (known) return known;
    const files: Record<string, string> = {};
    const packages: Record<string, string> = {};
    const stack = [start];
    const seen = new Set<string>();
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      const e = this.#scan(p);
      files[relative(this.#root, p)] = e.hash;
      for (const b of e.bare) packages[b] = this.#resolveBare(b);
      stack.push(...e.locals);
    }
    const sorted = sortedRecord(files);
    const sortedPk = sortedRecord(packages);
    const out = { digest: codeDigestOf(sorted, sortedPk), files: sorted, packages: sortedPk };
    this.#digestCache.set(start, out);
    return out;
  }

  #resolveBare(spec: string): string {
    if (spec.startsWith("node:") || spec.startsWith("npm:")) return spec;
    // Longest prefix match in the import map ("pkg" or "pkg/sub").
    let best = "";
    for (const k of Object.keys(this.#importMap)) {
      if ((spec === k || spec.startsWith(k.endsWith("/") ? k : `${k}/`)) && k.length > best.length) best = k;
    }
    return best ? this.#importMap[best] + spec.slice(best.length) : spec;
  }
}
