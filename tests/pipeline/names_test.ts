import { assert, assertEquals } from "../assert.ts";
import { DEFAULT_NAMES, EngineNames } from "../../pipeline/names.ts";
import { isTempName, TEMP_PREFIX } from "../../pipeline/store/fs_atomic.ts";

Deno.test("the engine's own names are neutral; an experiment's prefix gives its documented names", () => {
  assertEquals(DEFAULT_NAMES.env("STORE"), "PIPELINE_STORE");
  assertEquals(DEFAULT_NAMES.protocol, "@pipeline-run-stage ");
  const hpo = new EngineNames("HPO");
  assertEquals([hpo.env("STORE"), hpo.env("JOBS"), hpo.env("SLURM_PARTITION")], ["HPO_STORE", "HPO_JOBS", "HPO_SLURM_PARTITION"]);
  assertEquals(hpo.archive("2026-01-02"), "hpo-archive-2026-01-02.tar.gz");
  assertEquals(hpo.tempDir("verify"), "hpo-verify-");
  assertEquals(hpo.protocol, "@hpo-run-stage ");
  assertEquals(hpo.job("report"), "hpo:report");
});

Deno.test("temporary files of this version and of earlier ones (.hpo-tmp-) are both known as leftovers", () => {
  assert(!TEMP_PREFIX.includes("hpo"));
  assert(isTempName(`${TEMP_PREFIX}x-1-0.tmp`));
  assert(isTempName(".hpo-tmp-ab00-123-0.tmp"));
  assert(!isTempName("ab00"));
});
