import { assertEquals } from "../assert.ts";
import { notRunBecause, rootCause, shortNotRunReason } from "../../pipeline/not_run.ts";
import { rootCause as reportRootCause } from "../../report/not_run.ts";

Deno.test("not run: a chain of any length reads back to its root cause and to the stage it waits on directly", () => {
  const root = "data not available: x (tried: a; b). To provide it: put x.tar.gz in data/";
  let reason = root;
  const chain: string[] = [];
  for (let k = 1; k <= 6; k++) {
    const dep = `stage-${k}:a:b`;
    reason = notRunBecause(dep, reason);
    chain.unshift(dep);
    assertEquals(rootCause(reason), root);
    assertEquals(shortNotRunReason(reason), `needs '${chain[0]}', which did not run: ${root}`);
    // the report follows the same words to the same root, and to the first stage of the chain
    assertEquals(reportRootCause("me", reason), { cause: chain[chain.length - 1], reason: root });
  }
  assertEquals(notRunBecause("fetch:x", "put x.tar.gz in data/"), "needs 'fetch:x', which did not run: put x.tar.gz in data/");
});

Deno.test("not run: a reason without a chain is its own root; words inside the root are left alone", () => {
  assertEquals(rootCause(""), "");
  assertEquals(shortNotRunReason(""), "");
  assertEquals(rootCause("plain reason"), "plain reason");
  const inner = "it says needs 'y', which did not run: inside";
  assertEquals(rootCause(inner), inner, "only a leading chain is taken off");
  assertEquals(rootCause(notRunBecause("a", inner)), inner);
  assertEquals(shortNotRunReason(inner), inner);
});
