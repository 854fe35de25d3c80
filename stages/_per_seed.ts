import type { ArtifactSet, NotRun, Stage } from "../pipeline/stage.ts";
import { isNotRun, untyped } from "../pipeline/stage.ts";
import { readWithVolatile } from "./_load.ts";

/** The name of one seed's unit of a per-seed computation: `<unit prefix>:<seed>`. */
export function seedUnitName(unitPrefix: string, seed: number): string {
  return `${unitPrefix}:${seed}`;
}

/**
 * A computation split into one stage per seed plus a cheap merge stage that depends on them all. Each seed
 * is its own cache entry: seeds can run in parallel, a killed run keeps the seeds it finished, and adding
 * a seed reuses every seed already computed.
 */
export function perSeedStages<U, M>(a: {
  unitPrefix: string;
  seeds: number[];
  unit: (seed: number) => Stage<U>;
  merge: (unitNames: string[]) => Stage<M>;
}): Stage[] {
  return [...a.seeds.map((s) => untyped(a.unit(s))), untyped(a.merge(a.seeds.map((s) => seedUnitName(a.unitPrefix, s))))];
}

/** Reads the same JSON output (timings merged back in) from every seed unit, in seed order. */
export async function readSeedUnits<T>(inputs: Record<string, ArtifactSet | NotRun>, unitNames: string[], file: string): Promise<T[]> {
  const out: T[] = [];
  for (const name of unitNames) {
    const a = inputs[name];
    if (!a || isNotRun(a)) throw new Error(`seed unit ${name} has no output`);
    out.push(await readWithVolatile<T>(a, file));
  }
  return out;
}
