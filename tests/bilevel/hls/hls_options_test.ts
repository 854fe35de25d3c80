// HLS's options (bilevel/hls/hls_options.ts): they take the direction's settings (DirectionOptions) and every
// other field from one defaults-free schema, adding only defaults, and validate to the very bytes they always did
// (every stage that runs HLS hashes them into its cache key); an override fills nothing in.
import { assertEquals, assertTakesFields } from "../../assert.ts";
import { DirectionOptions, HlsOptions, HlsOptionsFields } from "../../../bilevel/hls/hls_options.ts";
import { HlsOverride } from "../../../search/hls_variants.ts";

Deno.test("HLS's fields take the direction's settings as the science declares them", () => {
  assertTakesFields(HlsOptionsFields, DirectionOptions);
});

Deno.test("HLS options validate to the bytes they had before DirectionOptions was a schema (cache keys kept)", () => {
  // as validated at 3aef273, key order included
  assertEquals(
    JSON.stringify(HlsOptions.parse({})),
    '{"preset":"honest","block":"output","k":200,"maxLpWeights":1500,"solver":"simplex","pdlpTolerance":0.0001,"epsilon":0.001,"delta":1,"tMin":0.0001,"tMax":1,"points":20,"timeLimitS":60,"lambdaScale":"log10","lambdaBox":1,"selection":"held-out","heldOutFraction":0.5,"criterion":"loss"}',
  );
  assertEquals(
    JSON.stringify(HlsOptions.parse({ preset: "paper", maxStationarityRatio: 2, k: 3, block: "topk" })),
    '{"preset":"paper","block":"topk","k":3,"maxLpWeights":1500,"solver":"simplex","pdlpTolerance":0.0001,"epsilon":0.001,"delta":1,"tMin":0.0001,"tMax":1,"points":20,"timeLimitS":60,"lambdaScale":"linear","lambdaBox":1,"selection":"in-sample","heldOutFraction":0.5,"criterion":"loss","maxStationarityRatio":2}',
  );
});

Deno.test("an HLS override reads back as written: no default filled in, its own order kept", () => {
  const written = { lambdaScale: "log10", selection: "held-out", criterion: "loss", block: "topk", k: 40 };
  assertEquals(JSON.stringify(HlsOverride.parse(written)), JSON.stringify(written));
  assertEquals(HlsOverride.parse({}), {});
});
