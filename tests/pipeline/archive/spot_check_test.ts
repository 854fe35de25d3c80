// Spot-check verification and archives from other code (issue 27, items 3 and 4): the draw and its
// probability against brute force; a forged stage output that passes every static check is caught by
// recomputing that stage from its archived inputs; an honest archive made with other code is not called
// forged, says which code differs, and is recomputed where the code matches.
import { assert, assertEquals, assertMatch, assertThrows } from "../../assert.ts";
import { makeToyProject, type ToyProject } from "../../fixtures/toy_project.ts";
import { assuranceLines, catchProbability, drawOrder, planSpotCheck, type SpotCandidate } from "../../../pipeline/archive/spot_check.ts";
import { sha256 } from "../../../pipeline/hash.ts";
import { UserError } from "../../../pipeline/errors.ts";

/** C(n, k) subsets of 0..n-1, for brute force. */
function* subsets(n: number, k: number, from = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) {
    yield acc;
    return;
  }
  for (let i = from; i < n; i++) yield* subsets(n, k, i + 1, [...acc, i]);
}

Deno.test("catchProbability equals the share of draws that hold a forged stage, counted by brute force", () => {
  let cases = 0;
  for (let n = 1; n <= 9; n++) {
    for (let k = 0; k <= n; k++) {
      for (let f = 0; f <= n; f++) {
        let hit = 0, all = 0;
        for (const s of subsets(n, k)) {
          all++;
          if (s.some((i) => i < f)) hit++; // stages 0..f-1 are the forged ones
        }
        const p = catchProbability(n, k, f);
        assert(Math.abs(p - hit / all) < 1e-12, `n=${n} k=${k} f=${f}: ${p} vs ${hit}/${all}`);
        // the bound the report prints is never above the exact figure
        if (f > 0 && k > 0) assert(p >= 1 - (1 - f / n) ** k - 1e-12, `bound above exact at n=${n} k=${k} f=${f}`);
        cases++;
      }
    }
  }
  // large populations stay finite and in [0, 1]
  for (const [n, k, f] of [[100_000, 20, 1], [100_000, 20, 5000], [10, 50, 1], [125, 20, 7]]) {
    const p = catchProbability(n, k, f);
    assert(p >= 0 && p <= 1 && Number.isFinite(p), `n=${n} k=${k} f=${f}: ${p}`);
    cases++;
  }
  for (const bad of [[-1, 1, 1], [3, 1.5, 1], [3, 1, NaN]]) {
    assertThrows(() => catchProbability(bad[0], bad[1], bad[2]), RangeError, undefined, `catchProbability(${bad}) must refuse`);
    cases++;
  }
  console.log(`catchProbability: ${cases} cases`);
});

Deno.test("the draw: seeded by its nonce, auditable, capped by --sample and --budget, named stages first", () => {
  const names = Array.from({ length: 40 }, (_, i) => `unit:${i % 4}:${i}`);
  const a = drawOrder("00112233", names);
  assertEquals(drawOrder("00112233", [...names].reverse()), a, "the order depends on the nonce only, not on the listing order");
  assert(drawOrder("44556677", names).join() !== a.join(), "another nonce draws another order");
  // the order is sha256(nonce NUL name), ascending: a reviewer can recompute it by hand
  assertEquals(a[0], [...names].sort((x, y) => (sha256(`00112233\u0000${x}`) < sha256(`00112233\u0000${y}`) ? -1 : 1))[0]);

  const cands: SpotCandidate[] = names.map((stage, i) => ({
    stage,
    wallMs: 1000 * (i % 5),
    cannot: i === 3 ? "its code differs" : undefined,
  }));
  const p = planSpotCheck(cands, { sample: 5, nonce: "00112233" });
  assertEquals(p.drawn.length, 5);
  assertEquals(p.population, 39, "a stage this checkout cannot recompute is not in the population");
  assert(!p.drawn.includes("unit:3:3"));
  assertEquals(new Set(p.drawn).size, 5, "without replacement");

  const named = planSpotCheck(cands, { named: ["unit:1:"], nonce: "00" });
  assertEquals(named.chosen, names.filter((n) => n.startsWith("unit:1:")), "a prefix names every stage under it");
  assertEquals(named.drawn, []);
  const withCannot = planSpotCheck(cands, { named: ["unit:3:3", "unit:0:0"], nonce: "00" });
  assertEquals(withCannot.chosen, ["unit:0:0"]);
  assertEquals(withCannot.cannot, [{ stage: "unit:3:3", why: "its code differs" }]);

  // a budget of one minute holds stages by their archived wall time plus a child's start-up (3 s)
  const b = planSpotCheck(cands, { budgetMinutes: 1, nonce: "00112233" });
  const cost = b.drawn.reduce((s, n) => s + cands.find((c) => c.stage === n)!.wallMs! + 3000, 0);
  assert(cost <= 60_000 && b.drawn.length > 0, `budget held: ${cost} ms for ${b.drawn.length}`);
  const left = cands.filter((c) => !c.cannot && !b.drawn.includes(c.stage));
  assert(left.every((c) => c.wallMs! + 3000 > 60_000 - cost), "no stage that still fits was left out");

  assertThrows(
    () => planSpotCheck(cands, { named: ["nope"], nonce: "00" }),
    UserError,
    /names no stage/,
    "an unknown --stage is a user error naming it",
  );
  const lines = assuranceLines(p);
  assertMatch(lines[0], /5 of 39 recomputable stages/);
  assert(lines.some((l) => /at least 10% of them \(4\) were forged/.test(l)), lines.join("\n"));
});

/** A toy run archived; `forge` rewrites the `slow` stage's output in the store (objects, cache entry, manifest) first. */
async function archivedToy(o: { forge?: boolean } = {}): Promise<{ toy: ToyProject; archive: string }> {
  const toy = makeToyProject();
  const r = await toy.cli("reproduce");
  assertEquals(r.code, 0, r.stderr);
  if (o.forge) forgeSlow(toy);
  const archive = `${toy.dir}/run.tar.gz`;
  const a = await toy.cli("archive", "--out", archive);
  assertEquals(a.code, 0, a.stderr + a.stdout);
  return { toy, archive };
}

/** A forger's edit that keeps every digest consistent: slow's z.json says 999, under its own new digest. */
function forgeSlow(toy: ToyProject): void {
  const store = `${toy.dir}/artifacts`;
  const latest = `${store}/manifests/latest.json`;
  const m = JSON.parse(Deno.readTextFileSync(latest));
  const rec = m.stages.find((s: { stage: string }) => s.stage === "slow");
  const bytes = new TextEncoder().encode(JSON.stringify({ z: 999 }));
  const d = sha256(bytes);
  Deno.mkdirSync(`${store}/objects/${d.slice(0, 2)}`, { recursive: true });
  Deno.writeFileSync(`${store}/objects/${d.slice(0, 2)}/${d}`, bytes);
  rec.outputs["z.json"] = { digest: d, size: bytes.length };
  Deno.writeTextFileSync(latest, JSON.stringify(m, null, 1));
  Deno.writeTextFileSync(`${store}/manifests/${m.runId}.json`, JSON.stringify(m, null, 1));
}

Deno.test("spot check: a forged output that passes every static check is caught by recomputing its stage", async () => {
  const { toy, archive } = await archivedToy({ forge: true });
  try {
    const plain = await toy.cli("verify", archive);
    assertEquals(plain.code, 0, `the forgery is self-consistent, so the static check passes: ${plain.stdout}`);
    const r = await toy.cli("verify", archive, "--rerun", "--stage", "slow");
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(r.stdout, /RERUN-MISMATCH slow\/z\.json: archived [0-9a-f]{64}, recomputed [0-9a-f]{64}/);
    const other = await toy.cli("verify", archive, "--rerun", "--stage", "gen,double");
    assertEquals(other.code, 0, `the honest stages recompute identically: ${other.stdout}${other.stderr}`);
    assertMatch(other.stdout, /RECOMPUTED gen: every non-volatile output identical/);
    assertMatch(other.stdout, /2 stage\(s\) recomputed identically, 0 differ/);
  } finally {
    toy.cleanup();
  }
});

Deno.test("spot check: a seeded draw prints its nonce and what it proves, and the same nonce draws the same stages", async () => {
  const { toy, archive } = await archivedToy();
  try {
    const r = await toy.cli("verify", archive, "--rerun", "--sample", "2", "--nonce", "0123456789abcdef");
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertMatch(r.stdout, /spot check: 2 of 3 recomputable stages drawn at random \(nonce 0123456789abcdef/);
    assertMatch(r.stdout, /a single forged stage would have been caught with probability 66\.7%/);
    const picked = (out: string) => [...out.matchAll(/^RECOMPUTED (\S+):/gm)].map((m) => m[1]).sort();
    const again = await toy.cli("verify", archive, "--rerun", "--sample", "2", "--nonce", "0123456789abcdef");
    assertEquals(picked(again.stdout), picked(r.stdout));
    assertEquals(picked(r.stdout), drawOrder("0123456789abcdef", ["gen", "double", "slow"]).slice(0, 2).sort());
    for (
      const [args, re] of [
        [["--sample", "2"], /add --rerun/],
        [["--rerun", "--sample", "0"], /--sample expects a whole number >= 1/],
        [["--rerun", "--nonce", "zz"], /--nonce expects 8 to 64 lower-case hex digits/],
        [["--rerun", "--stage", "nope"], /names no stage of the archived run/],
      ] as const
    ) {
      const bad = await toy.cli("verify", archive, ...args);
      assertEquals(bad.code, 2, `${args.join(" ")}: ${bad.stdout}${bad.stderr}`);
      assertMatch(bad.stderr, re);
    }
  } finally {
    toy.cleanup();
  }
});

Deno.test("an honest archive from other code is not called forged: it names the code that differs and recomputes the rest", async () => {
  const { toy, archive } = await archivedToy();
  try {
    // this checkout moves on: the slow stage's code changes after the archive was made
    const path = `${toy.dir}/stages/slow.ts`;
    Deno.writeTextFileSync(path, Deno.readTextFileSync(path).replace("const steps = 10;", "const steps = 10; // edited later"));
    const r = await toy.cli("verify", archive);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assert(!/MISMATCH/.test(r.stdout), r.stdout);
    assertMatch(
      r.stdout,
      /CODE-DIFFERS the archived run \(.*\) used code that differs from this checkout in 1 file\(s\): stages\/slow\.ts/,
    );
    assertMatch(r.stdout, /CODE-DIFFERS 1 stage\(s\) have other code here.*\(slow\)/);
    const rr = await toy.cli("verify", archive, "--rerun");
    assertEquals(rr.code, 0, rr.stdout + rr.stderr);
    assertMatch(rr.stdout, /NOT-RECOMPUTED slow: its code differs from this checkout's/);
    assertMatch(rr.stdout, /RECOMPUTED gen: /);
    assertMatch(rr.stdout, /RECOMPUTED double: /);
    assertMatch(rr.stdout, /2 stage\(s\) recomputed identically, 0 differ, 0 could not be recomputed, 1 not attempted/);
  } finally {
    toy.cleanup();
  }
});
