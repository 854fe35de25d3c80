// Runs every benchmark in turn (each prints its own figures). `--quick` shortens the slow ones.
const benches = [
  "engine_noop.ts",
  "data.ts",
  "training.ts",
  "hot_paths.ts",
  "hvp_lp.ts",
  "hessian_block.ts",
  "protocol.ts",
  "eta.ts",
  "stale.ts",
];
for (const b of benches) {
  console.log(`\n# bench/${b}`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`./${b}`, import.meta.url).pathname, ...Deno.args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) console.log(`(bench/${b} failed with exit code ${r.code})`);
}
