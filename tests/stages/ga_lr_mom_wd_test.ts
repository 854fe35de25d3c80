// The ga-lr-mom-wd stage's parameters (stages/ga_lr_mom_wd.ts GaLrMomWdParams) take the science's run
// (search/ga_lr_mom_wd.ts GaLrMomWdRun), adding only defaults, and validate to the very bytes they always did: a
// stage's cache key is the hash of its validated parameters.
import { assertEquals, assertTakesFields } from "../assert.ts";
import { GaLrMomWdParams } from "../../stages/ga_lr_mom_wd.ts";
import { GaLrMomWdRun } from "../../search/ga_lr_mom_wd.ts";

Deno.test("the ga-lr-mom-wd stage's parameters are the science's GaLrMomWdRun fields with the stage's defaults", () => {
  assertTakesFields(GaLrMomWdParams, GaLrMomWdRun);
});

Deno.test("the ga-lr-mom-wd stage's parameters validate to the bytes they had before GaLrMomWdRun was a schema (cache keys kept)", () => {
  // as validated at 3aef273, key order included
  assertEquals(
    JSON.stringify(GaLrMomWdParams.parse({ backend: "cpu", split: "s", run: "r", mode: "ga" })),
    '{"backend":"cpu","split":"s","run":"r","mode":"ga","ga":{"population":10,"generations":3,"mutationRate":0.1,"ranges":{"lr":[0.0001,1],"momentum":[0,0.9],"weightDecay":[0,0.1]}},"baseline":{"lr":0.01,"momentum":0.5,"weightDecay":0},"epochs":3,"batchSize":64,"stepGamma":0.7,"cnn":{"conv1":8,"conv2":16,"hidden":64,"dropout":[0.25,0.5]},"seed":1}',
  );
  const given = {
    seed: 2,
    cnn: { dropout: [0.1, 0.2], hidden: 3, conv2: 2, conv1: 1 },
    baseline: { weightDecay: 0.1, momentum: 0.2, lr: 0.3 },
    mode: "baseline",
    run: "r",
    split: "s",
    backend: "cpu",
    ga: { generations: 2 },
  } as const;
  assertEquals(
    JSON.stringify(GaLrMomWdParams.parse(given)),
    '{"backend":"cpu","split":"s","run":"r","mode":"baseline","ga":{"population":10,"generations":2,"mutationRate":0.1,"ranges":{"lr":[0.0001,1],"momentum":[0,0.9],"weightDecay":[0,0.1]}},"baseline":{"lr":0.3,"momentum":0.2,"weightDecay":0.1},"epochs":3,"batchSize":64,"stepGamma":0.7,"cnn":{"conv1":1,"conv2":2,"hidden":3,"dropout":[0.1,0.2]},"seed":2}',
  );
});
