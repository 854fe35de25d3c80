// The CLI refuses what it does not understand, in one line that names the fix, and helps per command.
import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { allOptionNames, commandLineProblem, COMMANDS } from "../../../pipeline/cli/cli_help.ts";
import { didYouMean } from "../../../pipeline/did_you_mean.ts";

Deno.test("did-you-mean: close typos get the closest name, far ones nothing", () => {
  assertEquals(didYouMean("reprodce", Object.keys(COMMANDS)), " (did you mean 'reproduce'?)");
  assertEquals(didYouMean("--confg", allOptionNames()), " (did you mean '--config'?)");
  assertEquals(didYouMean("--hepl", allOptionNames()), " (did you mean '--help'?)");
  assertEquals(didYouMean("xyzzy", Object.keys(COMMANDS)), "");
});

Deno.test("command lines: unknown command, an option of another command, extra or missing words", () => {
  assertMatch(commandLineProblem("reprodce", [], [])!, /unknown command 'reprodce' \(did you mean 'reproduce'\?\)/);
  assertMatch(commandLineProblem("status", ["rerun"], [])!, /'status' takes no option --rerun/);
  assertMatch(commandLineProblem("status", [], ["extra"])!, /got extra 'extra'/);
  assertMatch(commandLineProblem("verify", [], [])!, /'verify' needs 1 argument/);
  assertMatch(commandLineProblem("gc", ["force"], [])!, /takes no option --force/, "reproduce's --force is not gc's flag");
  assertEquals(commandLineProblem("gc", ["force-gc", "dry-run", "store"], []), undefined);
  assertEquals(commandLineProblem("verify", ["rerun"], ["a.tar.gz"]), undefined);
  assertEquals(commandLineProblem("reproduce", ["config", "jobs", "set", "quiet"], []), undefined);
});

Deno.test("every command has help with a usage line", () => {
  for (const [name, c] of Object.entries(COMMANDS)) assert(c.help.startsWith(`usage: main.ts ${name}`), name);
});

Deno.test("backends: wasm and cpu are always usable; tensorflow, absent from deno.json, is refused with the install command", async () => {
  const { backendProblem } = await import("../../../nn/backend.ts");
  assertEquals(backendProblem("wasm"), undefined);
  assertEquals(backendProblem("cpu"), undefined);
  const imports = JSON.parse(Deno.readTextFileSync(new URL("../../../deno.json", import.meta.url))).imports as Record<string, string>;
  const installed = Object.keys(imports).some((k) => k.startsWith("@tensorflow/tfjs-node"));
  if (installed) assertEquals(backendProblem("tensorflow"), undefined);
  else assertMatch(backendProblem("tensorflow")!, /deno add npm:@tensorflow\/tfjs-node@4\.22\.0/);
});
