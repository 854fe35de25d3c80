// One stage for one piece of work: the searches and the ablation ask for populations and runs with HLS,
// often the very same (same method, seed, data, training, HLS); the pool keeps one stage for each.
import type { Stage } from "../pipeline/stage.ts";
import { canonicalJson, sha256 } from "../pipeline/hash.ts";

/**
 * The stages of a DAG as they are added, with identical work kept once. Work is identical when the module,
 * the dependencies and the parameters as the stage's schema parses them are: Bazel's rule of keying an
 * action by exactly its inputs, so that what the searches and the ablation share is trained once.
 */
export class StagePool {
  readonly #stages: Stage[] = [];
  readonly #byName = new Map<string, string>();
  readonly #byWork = new Map<string, string>();

  /**
   * Adds `stage` unless the same work is there already; returns the name the work goes by (the first
   * stage's that asked for it). A stage whose name is taken by different work (the ablation naming its own
   * training under a search's population name) goes by its name with the work's digest appended.
   */
  add(stage: Stage): string {
    const work = workKey(stage);
    const known = this.#byWork.get(work);
    if (known !== undefined) return known;
    let name = stage.name;
    if (this.#byName.has(name)) name = `${name}~${sha256(work).slice(0, 8)}`;
    if (this.#byName.has(name)) throw new Error(`two stages named ${name}`);
    this.#stages.push(name === stage.name ? stage : { ...stage, name });
    this.#byName.set(name, work);
    this.#byWork.set(work, name);
    return name;
  }

  /** The stages added, in the order added. */
  stages(): Stage[] {
    return [...this.#stages];
  }
}

/** The identity of a stage's work: module, dependencies, parameters as parsed (defaults filled in). */
export function workKey(stage: Stage): string {
  const parsed = stage.schema.safeParse(stage.params);
  const params = parsed.success ? parsed.data : { unparsed: stage.params };
  return canonicalJson({ module: stage.module, deps: stage.deps, params });
}
