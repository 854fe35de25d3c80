// Loading the science when a stage computes, not when the CLI starts.

/**
 * A module of the science, loaded when a stage computes. Deno fetches and prepares every module a literal
 * `import("…")` names as the program starts, run or not (about 20 ms for the science's graph, a tenth of a
 * run that has nothing to compute), so stages name their science by URL instead; the code digest counts a
 * module named `new URL("…", import.meta.url)` as a dependency (pipeline/plan/code_digest.ts), so a stage's key
 * still covers it.
 */
export function loadModule<M>(url: URL): Promise<M> {
  return import(url.href);
}
