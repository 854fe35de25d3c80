// The cpmlho stage's parameters (stages/cpmlho.ts CpmlhoParams) take the science's run (cpmlho/cpmlho_options.ts
// CpmlhoRun), adding only defaults, and validate to the very bytes they always did: a stage's cache key is the
// hash of its validated parameters.
import { assertEquals, assertTakesFields } from "../assert.ts";
import { CpmlhoParams } from "../../stages/cpmlho.ts";
import { CpmlhoRun } from "../../cpmlho/cpmlho_options.ts";

Deno.test("the cpmlho stage's parameters are the science's CpmlhoRun fields with the stage's defaults", () => {
  assertTakesFields(CpmlhoParams, CpmlhoRun);
});

Deno.test("the cpmlho stage's parameters validate to the bytes they had before CpmlhoRun was a schema (cache keys kept)", () => {
  // as validated at 3aef273, key order included
  assertEquals(
    JSON.stringify(CpmlhoParams.parse({ backend: "cpu", run: "r", split: "s" })),
    '{"backend":"cpu","run":"r","split":"s","cpmlho":{"arch":"mlp","hidden":[64,64],"channels":[8,16],"initialDropout":[0.2,0.2,0.2],"initialCutout":[1,8],"maxCutout":[4,16],"epochs":5,"batchSize":128,"lrWeights":0.001,"lrHyper":0.01,"outerEvery":5,"theta":1,"epsilon":0.01,"cutEvery":50,"mu0":0,"rho":0.1,"perturbation":0.5,"temperature":0.1},"baselineTrials":4,"maxDropout":0.8,"seed":1}',
  );
  const given = {
    seed: 3,
    maxDropout: 0.5,
    cpmlho: { theta: 2, arch: "cnn" },
    split: "s",
    run: "r",
    backend: "cpu",
    baselineTrials: 2,
  } as const;
  assertEquals(
    JSON.stringify(CpmlhoParams.parse(given)),
    '{"backend":"cpu","run":"r","split":"s","cpmlho":{"arch":"cnn","hidden":[64,64],"channels":[8,16],"initialDropout":[0.2,0.2,0.2],"initialCutout":[1,8],"maxCutout":[4,16],"epochs":5,"batchSize":128,"lrWeights":0.001,"lrHyper":0.01,"outerEvery":5,"theta":2,"epsilon":0.01,"cutEvery":50,"mu0":0,"rho":0.1,"perturbation":0.5,"temperature":0.1},"baselineTrials":2,"maxDropout":0.5,"seed":3}',
  );
});
