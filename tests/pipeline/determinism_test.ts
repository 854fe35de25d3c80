import { assert, assertEquals, assertMatch } from "../assert.ts";
import { PROJECT_ROOT } from "../fixtures/toy_project.ts";

const tiny = {
  description: "determinism test",
  backend: "wasm",
  splits: { m: { dataset: "mnist", nTrain: 200, nVal: 100, nTest: 200, seed: 3 } },
  baseline: { split: "m", hidden: [8, 8], training: { optimizer: "sgd", learningRate: 0.1, momentum: 0.9, epochs: 2, batchSize: 50 } },
  lpFinetune: { groupings: ["1HP", "perLayer"], hls: { block: "topk", k: 12, points: 4 } },
  search: {
    splits: ["m"],
    methods: ["grid", "random", "microga"],
    seeds: [1],
    budget: 4,
    budgets: { short: { epochs: 1, batchSize: 50 } },
    ga: { population: 2, generations: 1, offspring: 2 },
    hls: { points: 4 },
  },
  report: {},
};

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${PROJECT_ROOT}/main.ts`, ...args, "--quiet"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the real pipeline twice from scratch: byte-identical artifacts (timings apart); archive + verify --rerun agree", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hpo-det-" });
  try {
    Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify(tiny));
    const manifests = [];
    for (const store of ["a", "b"]) {
      const r = await cli("reproduce", "--config", `${dir}/c.json`, "--store", `${dir}/${store}`);
      assertEquals(r.code, 0, r.stderr);
      manifests.push(JSON.parse(Deno.readTextFileSync(`${dir}/${store}/manifests/latest.json`)));
    }
    const [a, b] = manifests;
    assertEquals(a.stages.map((s: { stage: string }) => s.stage), b.stages.map((s: { stage: string }) => s.stage));
    let compared = 0;
    for (let i = 0; i < a.stages.length; i++) {
      for (const [name, ref] of Object.entries(a.stages[i].outputs as Record<string, { digest: string }>)) {
        if (a.stages[i].volatile.includes(name)) continue;
        assertEquals(b.stages[i].outputs[name].digest, ref.digest, `${a.stages[i].stage}/${name} differs between identical runs`);
        compared++;
      }
    }
    assert(compared > 20, `compared ${compared} outputs`);
    assert(a.stages.some((s: { stage: string }) => s.stage === "report"));
    const arch = await cli("archive", "--out", `${dir}/run.tar.gz`, "--store", `${dir}/a`);
    assertEquals(arch.code, 0, arch.stderr);
    const v = await cli("verify", `${dir}/run.tar.gz`, "--rerun");
    assertEquals(v.code, 0, v.stdout + v.stderr);
    assertMatch(v.stdout, /0 output mismatch/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
