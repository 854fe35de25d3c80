// The command line's parser (pipeline/cli/cli_args.ts), imported directly: values and positionals, gc's
// --force flag, option problems as one-line UserErrors (unknown option with the closest suggested, wrong
// arity), and a property test over random argv built from the option table.
import { assert, assertEquals, assertMatch, assertThrows } from "../../assert.ts";
import { list, parseCli, usage } from "../../../pipeline/cli/cli_args.ts";
import { allOptionNames } from "../../../pipeline/cli/cli_help.ts";
import { UserError } from "../../../pipeline/errors.ts";
import { EngineNames } from "../../../pipeline/names.ts";
import { rng } from "../../fixtures/random.ts";

const STRING_OPTS = [
  "config",
  "only",
  "from",
  "force",
  "store",
  "out",
  "sample",
  "budget",
  "nonce",
  "keep-runs",
  "jobs",
  "executor",
  "partition",
  "account",
  "sbatch-args",
  "slurm-cpus",
  "slurm-mem",
  "slurm-time",
  "spec",
];
const MULTI_OPTS = ["set", "stage"];
const FLAGS = ["rerun", "allow-net", "verify", "dry-run", "isolate", "serve", "no-export", "require-all", "quiet", "debug", "help"];

Deno.test("parseCli: values of each type, positionals in order, short -j and -h, '--' ends the options", () => {
  const r = parseCli(["reproduce", "--config", "c.json", "-j", "4", "--set", "a=1", "--set=b=2", "--quiet", "extra"]);
  assertEquals(r.positionals, ["reproduce", "extra"]);
  assertEquals(r.values.config, "c.json");
  assertEquals(r.values.jobs, "4");
  assertEquals(r.values.set, ["a=1", "b=2"]);
  assertEquals(r.values.quiet, true);
  assertEquals(parseCli(["-j8"]).values.jobs, "8");
  assertEquals(parseCli(["-h"]).values.help, true);
  const ended = parseCli(["verify", "--", "--rerun"]);
  assertEquals({ ...ended.values }, {});
  assertEquals(ended.positionals, ["verify", "--rerun"]);
  assertEquals(parseCli(["--config=--quiet"]).values.config, "--quiet", "a value given with '=' may start with a dash");
  assertEquals(parseCli([]).positionals, []);
});

Deno.test("parseCli: gc's --force is a flag, reproduce's --force takes stage names", () => {
  assertEquals(parseCli(["gc", "--force"]).values["force-gc"], true);
  assertEquals(parseCli(["gc", "--force"]).values.force, undefined);
  assertEquals(parseCli(["--quiet", "gc", "--force", "--dry-run"]).values["force-gc"], true);
  assertEquals(parseCli(["reproduce", "--force", "search:"]).values.force, "search:");
  assertEquals(parseCli(["reproduce", "--force", "search:"]).values["force-gc"], undefined);
  // 'gc' as a value of another command's option is not the gc command
  assertEquals(parseCli(["reproduce", "--only", "gc", "--force", "x"]).values.force, "x");
});

Deno.test({
  // Was a bug (pipeline/cli/cli_args.ts parseCli): gc is recognised only as argv[0] or the first word not starting
  // with '-'; after a common option's value (`--store DIR gc --force`) that word is DIR, so gc's --force is
  // read as reproduce's --force and refused as "Option '--force <value>' argument missing".
  name: "parseCli: gc --force after a common option with a value (--store DIR) is still gc's flag",
  fn() {
    assertEquals(parseCli(["--store", "/tmp/s", "gc", "--force"]).values["force-gc"], true);
  },
});

Deno.test("option problems: an unknown option is named, with the closest option suggested when one is close", () => {
  const e = assertThrows(() => parseCli(["reproduce", "--confg", "x"]), UserError, /unknown option '--confg'/);
  assertMatch(e.message, /did you mean '--config'\?/);
  assertMatch(e.message, /see 'main\.ts --help'$/);
  assertMatch(assertThrows(() => parseCli(["--hepl"]), UserError).message, /did you mean '--help'/);
  assertMatch(assertThrows(() => parseCli(["--jbos=2"]), UserError).message, /unknown option '--jbos' \(did you mean '--jobs'\?\)/);
  // far from every option: no suggestion
  const far = assertThrows(() => parseCli(["--xyzzyplugh"]), UserError);
  assert(!/did you mean/.test(far.message), far.message);
  assertMatch(assertThrows(() => parseCli(["-x"]), UserError).message, /unknown option '-x'/);
  // the gc rewrite does not leak the internal name into a suggestion
  assert(!allOptionNames().includes("--force-gc"));
});

Deno.test("option problems: wrong arity (a value missing, a value given to a flag) is a UserError", () => {
  assertMatch(assertThrows(() => parseCli(["reproduce", "--config"]), UserError).message, /--config.*argument missing/);
  assertMatch(assertThrows(() => parseCli(["--quiet=yes"]), UserError).message, /'--quiet' does not take an argument/);
  assertMatch(assertThrows(() => parseCli(["-j"]), UserError).message, /argument missing/);
  assertMatch(assertThrows(() => parseCli(["--store"]), UserError).message, /see 'main\.ts --help'$/);
});

Deno.test({
  // Was a bug (pipeline/cli/cli_args.ts parseCli): the module promises a one-line UserError, but node's "argument is
  // ambiguous" message is split on ". " only, and its sentences are separated by ".\n": `--only --quiet`
  // gives a three-line message.
  name: "option problems: an option value that looks like an option gives a one-line error",
  fn() {
    const e = assertThrows(() => parseCli(["reproduce", "--only", "--quiet"]), UserError);
    assert(!e.message.includes("\n"), JSON.stringify(e.message));
  },
});

Deno.test("property: random well-formed argv parse back to the values and positionals they were built from", () => {
  const next = rng(28);
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const word = () => {
    const alphabet = "abcxyz0123:=,./_ ";
    let s = pick("abcxyz".split("")); // never starts with '-'
    for (let i = Math.floor(next() * 8); i > 0; i--) s += pick(alphabet.split(""));
    return s;
  };
  for (let trial = 0; trial < 300; trial++) {
    const argv: string[] = ["reproduce"];
    const want: Record<string, unknown> = {};
    const positionals = ["reproduce"];
    for (let n = Math.floor(next() * 8); n > 0; n--) {
      const kind = next();
      if (kind < 0.35) {
        const o = pick(STRING_OPTS);
        const v = word();
        if (next() < 0.5) argv.push(`--${o}`, v);
        else argv.push(`--${o}=${v}`);
        want[o] = v; // the last one wins
      } else if (kind < 0.55) {
        const o = pick(MULTI_OPTS);
        const v = word();
        argv.push(`--${o}`, v);
        want[o] = [...((want[o] as string[] | undefined) ?? []), v];
      } else if (kind < 0.85) {
        const o = pick(FLAGS);
        argv.push(`--${o}`);
        want[o] = true;
      } else {
        const p = word();
        argv.push(p);
        positionals.push(p);
      }
    }
    const r = parseCli(argv);
    assertEquals({ ...r.values }, want, JSON.stringify(argv));
    assertEquals(r.positionals, positionals, JSON.stringify(argv));
  }
});

Deno.test("property: any unknown long option is refused as a one-line UserError naming it exactly", () => {
  const next = rng(6);
  const known = new Set([...STRING_OPTS, ...MULTI_OPTS, ...FLAGS, "force-gc"]);
  let tried = 0;
  for (let trial = 0; trial < 300; trial++) {
    // a mutation of a known name: a dropped, doubled or swapped letter, or random letters
    const base = [...STRING_OPTS, ...FLAGS][Math.floor(next() * (STRING_OPTS.length + FLAGS.length))];
    const i = Math.floor(next() * base.length);
    const m = Math.floor(next() * 3);
    let name = m === 0 ? base.slice(0, i) + base.slice(i + 1) : m === 1 ? base.slice(0, i) + base[i] + base.slice(i) : base + "q";
    if (!name || known.has(name)) continue;
    name = name.replace(/^-+/, "");
    if (!name || known.has(name)) continue;
    tried++;
    const where = Math.floor(next() * 3);
    const argv = where === 0 ? [`--${name}`] : where === 1 ? ["status", `--${name}`, "x"] : ["--quiet", `--${name}=v`];
    const e = assertThrows(() => parseCli(argv), UserError, undefined, JSON.stringify(argv));
    assert(e.message.startsWith(`unknown option '--${name}'`), e.message);
    assert(!e.message.includes("\n"), e.message);
    const suggested = /did you mean '([^']+)'/.exec(e.message)?.[1];
    if (suggested) assert(allOptionNames().includes(suggested), `${suggested} is not an option`);
  }
  assert(tried > 200, `only ${tried} unknown names tried`);
});

Deno.test("list: splits on commas, trims, drops empties; a non-string is undefined", () => {
  assertEquals(list(" a, ,b ,"), ["a", "b"]);
  assertEquals(list(""), []);
  assertEquals(list(",,,"), []);
  assertEquals(list("search:,hls-ablation:mnist:"), ["search:", "hls-ablation:mnist:"]);
  assertEquals(list(undefined), undefined);
  assertEquals(list(true), undefined);
  assertEquals(list(["a"]), undefined);
});

Deno.test("usage: names the store's variable as the experiment names it, and every command", () => {
  const u = usage(new EngineNames("HPO"));
  assertMatch(u, /\$HPO_STORE/);
  for (const c of ["reproduce", "run-stage", "status", "archive", "verify", "gc"]) assertMatch(u, new RegExp(`^  ${c} `, "m"));
});
