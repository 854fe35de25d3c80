// Archives a hostile or careless sender could hand a reviewer, one class per case, each asserted on what
// `verify` must say. The verifier is the engine's own verifyArchive with the toy project's stage code (the
// verifier's code, never the archive's); a few cases go through the real CLI for exit codes and the sandbox.
import tarStream from "tar-stream";
import { createGzip, gzipSync } from "node:zlib";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertMatch } from "../../assert.ts";
import { makeToyProject, type ToyProject } from "../../fixtures/toy_project.ts";
import { readTar, scanTar } from "../../../util/tar.ts";
import { sha256 } from "../../../pipeline/hash.ts";
import { compareRerun, type VerifierCode, verifyArchive, type VerifyReport } from "../../../pipeline/archive/archive.ts";
import type { Manifest } from "../../../pipeline/store/manifest.ts";
import type { Stage } from "../../../pipeline/stage.ts";
import { pinnedSourcesOnly } from "../../../stages/fetch.ts";
import { DEFAULT_SOURCES } from "../../../data/datasets.ts";

let cases = 0;

/** A tar member as a test crafts it: any type, any name, any declared size. */
interface Member {
  name: string;
  bytes?: Uint8Array;
  type?: "file" | "symlink" | "link" | "directory";
  linkname?: string;
}

/** Packs members into a tar (not gzipped), exactly as given. */
function tar(members: Member[]): Promise<Uint8Array> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    pack.on("end", res);
    pack.on("error", rej);
  });
  for (const m of members) {
    const bytes = m.bytes ?? new Uint8Array(0);
    const type = m.type ?? "file";
    const header = { name: m.name, type, linkname: m.linkname, size: type === "file" ? bytes.length : 0, mtime: new Date(0), mode: 0o644 };
    if (type === "file") pack.entry(header, Buffer.from(bytes));
    else pack.entry(header, "");
  }
  pack.finalize();
  return done.then(() => new Uint8Array(Buffer.concat(chunks)));
}

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 1));

/** The members of the good archive, the manifest parsed; `rebuild` writes a variant with fresh checksums. */
interface Fixture {
  toy: ToyProject;
  good: string;
  members: Member[];
  manifest: Manifest;
  verifier: VerifierCode;
}

function sums(members: Member[]): Member {
  const lines = members.filter((m) => m.name !== "checksums.sha256" && (m.type ?? "file") === "file").map((m) =>
    `${sha256(m.bytes!)}  ${m.name}`
  );
  return { name: "checksums.sha256", bytes: enc.encode(lines.join("\n") + "\n") };
}

/** Writes members as a .tar.gz; with `fixSums`, checksums.sha256 is recomputed so only the intended lie remains. */
async function write(fx: Fixture, name: string, members: Member[], fixSums = true): Promise<string> {
  const list = fixSums ? [...members.filter((m) => m.name !== "checksums.sha256"), sums(members)] : members;
  const path = `${fx.toy.dir}/${name}.tar.gz`;
  await Deno.writeFile(path, gzipSync(await tar(list)));
  return path;
}

/** Same members with manifest.json (and config.json, when `config` is set) replaced. */
function withManifest(fx: Fixture, m: Manifest, opts: { config?: boolean } = {}): Member[] {
  return fx.members.map((x) =>
    x.name === "manifest.json"
      ? { name: x.name, bytes: json(m) }
      : x.name === "config.json" && opts.config
      ? { name: x.name, bytes: json(m.config) }
      : x
  );
}

const clone = (m: Manifest): Manifest => structuredClone(m);

/**
 * Streams a bomb to disk without holding it: `members`, then optionally a member declaring `bomb.size`
 * bytes of zeros (`bomb.written` of them written), then `tailZeros` zero bytes after the end of the tar, all gzipped (level 9).
 */
async function writeBomb(
  path: string,
  members: Member[],
  bomb: { name: string; size: number; written: number } | undefined,
  tailZeros: number,
): Promise<void> {
  const gz = createGzip({ level: 9 });
  const out = createWriteStream(path);
  const done = pipeline(gz, out);
  const put = (b: Uint8Array) => new Promise<void>((res) => (gz.write(b) ? res() : gz.once("drain", () => res())));
  const raw = await tar(members);
  await put(raw.subarray(0, raw.length - 1024)); // without the end-of-archive blocks
  const zeros = new Uint8Array(1 << 22);
  const stream = async (n: number) => {
    for (let left = n; left > 0; left -= zeros.length) await put(zeros.subarray(0, Math.min(left, zeros.length)));
  };
  if (bomb) {
    const header = await tar([{ name: bomb.name, bytes: new Uint8Array(0) }]);
    const h = header.slice(0, 512);
    h.set(new TextEncoder().encode(bomb.size.toString(8).padStart(11, "0") + "\0"), 124);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of h) sum += x;
    h.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    await put(h);
    await stream(bomb.written);
  } else {
    await put(new Uint8Array(1024));
  }
  await stream(tailZeros);
  gz.end();
  await done;
}

/** Runs the toy CLI's verify with --debug and reads the peak memory it reports. */
async function cliMeasured(fx: Fixture, path: string): Promise<{ code: number; out: string; ms: number; peakMb: number }> {
  cases++;
  const t0 = performance.now();
  const r = await fx.toy.cli("verify", path, "--debug");
  const ms = performance.now() - t0;
  const out = r.stdout + r.stderr;
  const peak = /peak memory (\d+) MB/.exec(out);
  assert(peak, out);
  return { code: r.code, out, ms, peakMb: Number(peak[1]) };
}

async function verify(fx: Fixture, path: string): Promise<VerifyReport> {
  cases++;
  return await verifyArchive({ path, ...fx.verifier });
}

function expectMismatch(r: VerifyReport, re: RegExp): void {
  assertEquals(r.verdict, "mismatch", `expected a mismatch matching ${re}; got ${r.verdict}: ${r.problems.join(" | ")}`);
  assert(r.problems.some((p) => re.test(p)), `no problem matches ${re}: ${r.problems.join(" | ")}`);
}

function expectNotArchive(r: VerifyReport, re: RegExp): void {
  assertEquals(r.verdict, "not-archive", r.problems.join(" | "));
  assertMatch(r.problems[0], re);
}

async function fixture(config = `{ "a": 3, "b": 1 }`): Promise<Fixture> {
  const toy = makeToyProject();
  toy.write("config.json", config);
  const r = await toy.cli("reproduce");
  assertEquals(r.code, 0, r.stderr);
  const good = `${toy.dir}/good.tar.gz`;
  const a = await toy.cli("archive", "--out", good);
  assertEquals(a.code, 0, a.stderr);
  const members: Member[] = [];
  await readTar(good, (name, bytes) => {
    members.push({ name, bytes });
  });
  const manifest = JSON.parse(new TextDecoder().decode(members[0].bytes!)) as Manifest;
  // The verifier's code: the toy's own stage modules and schema, loaded here.
  const url = (f: string) => new URL(`file://${toy.dir}/${f}`).href;
  const { gen } = await import(url("stages/gen.ts"));
  const { double } = await import(url("stages/double.ts"));
  const { slow } = await import(url("stages/slow.ts"));
  const { z } = await import("zod");
  const Schema = z.object({ a: z.number(), b: z.number(), ms: z.number().default(0), after: z.boolean().default(false) });
  const verifier: VerifierCode<{ a: number; b: number; ms: number }> = {
    parseConfig: (raw) => Schema.parse(raw),
    buildStages: (c) => [gen({ a: c.a }), double({}), slow({ ms: c.ms, b: c.b })] as Stage[],
  };
  return { toy, good, members, manifest, verifier: verifier as VerifierCode };
}

Deno.test("adversarial archives: each class is rejected, naming what is wrong", async (t) => {
  const fx = await fixture();
  const objOf = (stage: string, out: string) => fx.manifest.stages.find((s) => s.stage === stage)!.outputs[out];
  try {
    await t.step("the honest archive verifies", async () => {
      const r = await verify(fx, fx.good);
      assertEquals(r.verdict, "ok", r.problems.join(" | "));
      assertEquals(r.stages?.map((s) => s.name), ["gen", "double", "slow"]);
    });

    await t.step("forged output declared volatile by the archive: the claim is not the verifier's", async () => {
      const m = clone(fx.manifest);
      const forged = json({ z: 999 });
      const d = sha256(forged);
      const slow = m.stages.find((s) => s.stage === "slow")!;
      const old = slow.outputs["z.json"].digest;
      slow.outputs["z.json"] = { digest: d, size: forged.length };
      slow.volatile = ["z.json"];
      const members = withManifest(fx, m).map((x) => (x.name === `objects/${old}` ? { name: `objects/${d}`, bytes: forged } : x));
      expectMismatch(
        await verify(fx, await write(fx, "forged-volatile", members)),
        /stage 'slow': claims volatile outputs \[z\.json\], this code's declaration says \[\]/,
      );
      // and the rerun comparison reads volatility from the verifier's stages, not from the manifest
      const rerun = clone(fx.manifest);
      const c = compareRerun(m, rerun, fx.verifier.buildStages(fx.verifier.parseConfig(m.config)));
      assertEquals(c.mismatches.length, 1, c.mismatches.join(" | "));
      assertMatch(c.mismatches[0], /^slow\/z\.json: archived/);
      cases++;
    });

    await t.step("an empty stage list", async () => {
      const m = clone(fx.manifest);
      m.stages = [];
      const members = withManifest(fx, m).filter((x) => !x.name.startsWith("objects/") && !x.name.startsWith("code/"));
      expectMismatch(
        await verify(fx, await write(fx, "empty-stages", members)),
        /stages the archived config implies but the archive lacks: gen, double, slow/,
      );
    });

    await t.step("a whole stage removed", async () => {
      const m = clone(fx.manifest);
      const gone = m.stages.find((s) => s.stage === "slow")!;
      m.stages = m.stages.filter((s) => s.stage !== "slow");
      const members = withManifest(fx, m).filter((x) =>
        x.name !== `objects/${gone.outputs["z.json"].digest}` && x.name !== "code/stages/slow.ts"
      );
      expectMismatch(await verify(fx, await write(fx, "missing-stage", members)), /the archive lacks: slow$/);
    });

    await t.step("a stage the config does not imply", async () => {
      const m = clone(fx.manifest);
      m.stages.push({ ...clone(fx.manifest).stages[0], stage: "extra" });
      expectMismatch(
        await verify(fx, await write(fx, "extra-stage", withManifest(fx, m))),
        /stages in the manifest that the archived config does not imply: extra/,
      );
    });

    await t.step("a stage recorded twice", async () => {
      const m = clone(fx.manifest);
      m.stages.push(clone(fx.manifest).stages[0]);
      expectMismatch(await verify(fx, await write(fx, "dup-stage", withManifest(fx, m))), /stage 'gen' is recorded twice/);
    });

    await t.step("a stage marked failed", async () => {
      const m = clone(fx.manifest);
      m.stages[2].status = "failed";
      expectMismatch(await verify(fx, await write(fx, "failed-stage", withManifest(fx, m))), /stage 'slow' is failed/);
    });

    await t.step("an incomplete run", async () => {
      const m = clone(fx.manifest);
      m.state = "interrupted";
      expectMismatch(
        await verify(fx, await write(fx, "interrupted", withManifest(fx, m))),
        /the archived run is interrupted, not complete/,
      );
    });

    await t.step("lying code: a code file that is not the one the digest covers", async () => {
      const members = fx.members.map((
        x,
      ) => (x.name === "code/lib.ts" ? { name: x.name, bytes: enc.encode("export function scale(x: number) { return 7 * x; }\n") } : x));
      expectMismatch(
        await verify(fx, await write(fx, "lying-code", members)),
        /code\/lib\.ts: sha256 [0-9a-f]{64}, the manifest's code digest covers/,
      );
    });

    await t.step("lying code digest: code file and its recorded hash swapped together", async () => {
      const evil = enc.encode("export function scale(x: number) { return 7 * x; }\n");
      const m = clone(fx.manifest);
      m.stages.find((s) => s.stage === "double")!.codeFiles["lib.ts"] = sha256(evil);
      const members = withManifest(fx, m).map((x) => (x.name === "code/lib.ts" ? { name: x.name, bytes: evil } : x));
      expectMismatch(
        await verify(fx, await write(fx, "lying-digest", members)),
        /stage 'double': its code digest does not follow from its code files/,
      );
    });

    await t.step("a code file missing", async () => {
      const members = fx.members.filter((x) => x.name !== "code/lib.ts");
      expectMismatch(
        await verify(fx, await write(fx, "code-missing", members)),
        /code\/lib\.ts: covered by a stage's code digest but missing/,
      );
    });

    await t.step("lying config: config.json is not the manifest's config", async () => {
      const members = fx.members.map((x) => (x.name === "config.json" ? { name: x.name, bytes: json({ a: 4, b: 1 }) } : x));
      expectMismatch(await verify(fx, await write(fx, "lying-config", members)), /config\.json differs from the manifest's config/);
    });

    await t.step("lying environment", async () => {
      const members = fx.members.map((x) => (x.name === "environment.json" ? { name: x.name, bytes: json({ deno: "0" }) } : x));
      expectMismatch(await verify(fx, await write(fx, "lying-env", members)), /environment\.json differs from the manifest's environment/);
    });

    await t.step("a config whose parameters are not those recorded", async () => {
      const m = clone(fx.manifest);
      m.config = { a: 4, b: 1 };
      expectMismatch(
        await verify(fx, await write(fx, "lying-params", withManifest(fx, m, { config: true }))),
        /stage 'gen': its recorded parameters are not those/,
      );
    });

    await t.step("a config the verifier's code rejects", async () => {
      const m = clone(fx.manifest);
      m.config = { a: "three", b: 1 };
      expectMismatch(
        await verify(fx, await write(fx, "bad-config", withManifest(fx, m, { config: true }))),
        /the archived config does not validate with this code/,
      );
    });

    await t.step("inputs that are not the upstream's outputs", async () => {
      const m = clone(fx.manifest);
      m.stages[1].inputs = { gen: { "x.json": "0".repeat(64) } };
      expectMismatch(
        await verify(fx, await write(fx, "lying-inputs", withManifest(fx, m))),
        /stage 'double': its recorded inputs are not its upstream/,
      );
    });

    await t.step("a key that does not follow from its parts", async () => {
      const m = clone(fx.manifest);
      m.stages[0].key = "f".repeat(64);
      expectMismatch(await verify(fx, await write(fx, "lying-key", withManifest(fx, m))), /stage 'gen': its key does not follow/);
    });

    await t.step("an artifact whose bytes are not its name", async () => {
      const d = objOf("gen", "x.json").digest;
      const members = fx.members.map((
        x,
      ) => (x.name === `objects/${d}` ? { name: x.name, bytes: json({ x: 5 }).subarray(0, objOf("gen", "x.json").size) } : x));
      expectMismatch(await verify(fx, await write(fx, "flipped-object", members)), new RegExp(`objects/${d}: content hashes to`));
    });

    await t.step("an artifact missing", async () => {
      const d = objOf("gen", "x.json").digest;
      expectMismatch(
        await verify(fx, await write(fx, "object-missing", fx.members.filter((x) => x.name !== `objects/${d}`))),
        /named by the manifest but missing/,
      );
    });

    await t.step("path traversal '../'", async () => {
      const members = [...fx.members, { name: "../../evil.sh", bytes: enc.encode("rm -rf ~") }];
      expectMismatch(await verify(fx, await write(fx, "traversal", members)), /"\.\.\/\.\.\/evil\.sh": unsafe path: '\.\.' in the path/);
    });

    await t.step("path traversal hidden in the middle", async () => {
      const members = [...fx.members, { name: "code/../../evil.sh", bytes: enc.encode("x") }];
      expectMismatch(await verify(fx, await write(fx, "traversal-mid", members)), /unsafe path: '\.\.'/);
    });

    await t.step("an absolute path", async () => {
      const members = [...fx.members, { name: "/etc/cron.d/evil", bytes: enc.encode("x") }];
      expectMismatch(await verify(fx, await write(fx, "absolute", members)), /"\/etc\/cron\.d\/evil": unsafe path: absolute path/);
    });

    await t.step("a symbolic link", async () => {
      const members = [...fx.members, { name: "code/link.ts", type: "symlink" as const, linkname: "/etc/passwd" }];
      expectMismatch(
        await verify(fx, await write(fx, "symlink", members)),
        /"code\/link\.ts": a symbolic link to "\/etc\/passwd", not a regular file/,
      );
    });

    await t.step("a hard link", async () => {
      const members = [...fx.members, { name: "code/hard.ts", type: "link" as const, linkname: "manifest.json" }];
      expectMismatch(await verify(fx, await write(fx, "hardlink", members)), /"code\/hard\.ts": a hard link to "manifest\.json"/);
    });

    await t.step("a directory entry", async () => {
      const members = [...fx.members, { name: "objects/", type: "directory" as const }];
      expectMismatch(await verify(fx, await write(fx, "directory", members)), /"objects\/": a directory, not a regular file/);
    });

    await t.step("a duplicate member (a second, different copy of a name)", async () => {
      const d = objOf("gen", "x.json").digest;
      const members = [...fx.members, { name: `objects/${d}`, bytes: json({ x: 1 }) }];
      expectMismatch(await verify(fx, await write(fx, "duplicate", members, false)), new RegExp(`"objects/${d}": duplicate member`));
    });

    await t.step("an extra member listed in the checksums", async () => {
      const members = [...fx.members, { name: "extra.txt", bytes: enc.encode("hello") }];
      expectMismatch(
        await verify(fx, await write(fx, "extra", members)),
        /"extra\.txt": not a member an archive of this pipeline has \(extra member\)/,
      );
    });

    await t.step("an extra object no stage produced", async () => {
      const b = enc.encode("orphan");
      const members = [...fx.members, { name: `objects/${sha256(b)}`, bytes: b }];
      expectMismatch(await verify(fx, await write(fx, "extra-object", members)), /an object no stage of the manifest produced/);
    });

    await t.step("a member not in the checksums", async () => {
      const sumsMember = fx.members.find((x) => x.name === "checksums.sha256")!;
      const text = new TextDecoder().decode(sumsMember.bytes).split("\n").filter((l) => !l.endsWith("  README.txt")).join("\n");
      const members = fx.members.map((x) => (x === sumsMember ? { name: x.name, bytes: enc.encode(text) } : x));
      expectMismatch(
        await verify(fx, await write(fx, "unlisted", members, false)),
        /README\.txt: in the archive but not in checksums\.sha256/,
      );
    });

    await t.step("checksums listing a member that is not there, twice, and outside", async () => {
      const sumsMember = fx.members.find((x) => x.name === "checksums.sha256")!;
      const text = new TextDecoder().decode(sumsMember.bytes) + `${"a".repeat(64)}  ghost.txt\n${"b".repeat(64)}  ../x\n` +
        new TextDecoder().decode(sumsMember.bytes).split("\n")[0] + "\nnot a checksum line\n";
      const members = fx.members.map((x) => (x === sumsMember ? { name: x.name, bytes: enc.encode(text) } : x));
      const r = await verify(fx, await write(fx, "sums-lies", members, false));
      expectMismatch(r, /ghost\.txt: listed in checksums\.sha256 but missing/);
      expectMismatch(r, /checksums\.sha256 lists "\.\.\/x": unsafe path/);
      expectMismatch(r, /checksums\.sha256 lists manifest\.json twice/);
      expectMismatch(r, /checksums\.sha256: malformed line "not a checksum line"/);
    });

    await t.step("checksums.sha256 missing", async () => {
      expectMismatch(
        await verify(fx, await write(fx, "no-sums", fx.members.filter((x) => x.name !== "checksums.sha256"), false)),
        /checksums\.sha256 is missing/,
      );
    });

    await t.step("a member larger than the manifest declares is cut off before it is read", async () => {
      const d = objOf("gen", "x.json").digest;
      const big = new Uint8Array(1 << 20);
      const members = fx.members.map((x) => (x.name === `objects/${d}` ? { name: x.name, bytes: big } : x));
      const r = await verify(fx, await write(fx, "oversize", members));
      expectMismatch(r, new RegExp(`"objects/${d}": declares 1048576 bytes, more than the ${objOf("gen", "x.json").size} allowed`));
      expectMismatch(r, /archive cut off/);
    });

    await t.step("a tar header that declares fewer bytes than follow (the rest streams into the next header)", async () => {
      const raw = await tar(fx.members);
      // the 2nd member (config.json): shrink its declared size by one and fix the header checksum
      const hdr = 512 * (1 + Math.ceil(fx.members[0].bytes!.length / 512));
      const size = fx.members[1].bytes!.length - 1;
      raw.set(enc.encode(size.toString(8).padStart(11, "0") + "\0"), hdr + 124);
      raw.fill(0x20, hdr + 148, hdr + 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += raw[hdr + i];
      raw.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), hdr + 148);
      const path = `${fx.toy.dir}/short-header.tar.gz`;
      await Deno.writeFile(path, gzipSync(raw));
      const r = await verify(fx, path);
      expectMismatch(r, /archive cut off: unreadable or truncated|config\.json/);
    });

    await t.step("a truncated archive", async () => {
      const raw = Deno.readFileSync(fx.good);
      const path = `${fx.toy.dir}/trunc.tar.gz`;
      Deno.writeFileSync(path, raw.subarray(0, Math.floor(raw.length * 0.6)));
      expectMismatch(await verify(fx, path), /archive cut off: unreadable or truncated/);
    });

    await t.step(
      "a gzip bomb member (declares 2 GiB of zeros; 64 MiB of them written, to keep the test fast) is cut off at its header",
      async () => {
        const d = objOf("gen", "x.json").digest;
        const i = fx.members.findIndex((x) => x.name === `objects/${d}`);
        const path = `${fx.toy.dir}/bomb-member.tar.gz`;
        await writeBomb(path, fx.members.slice(0, i), { name: `objects/${d}`, size: 2 * 1024 ** 3, written: 64 << 20 }, 0);
        const r = await cliMeasured(fx, path);
        assertEquals(r.code, 1, r.out);
        assertMatch(r.out, /declares 2147483648 bytes, more than the \d+ allowed/);
        console.log(
          `  bomb member: ${(Deno.statSync(path).size / 1e6).toFixed(2)} MB archive declaring a 2 GiB member: verify ${
            r.ms.toFixed(0)
          } ms, peak memory ${r.peakMb} MB`,
        );
        assert(r.peakMb < 500, `peak ${r.peakMb} MB`);
      },
    );

    await t.step(
      "a gzip bomb after the end of the tar (1 GiB of zeros, 1 MB compressed) is cut off at the size cap; verify stays under 500 MB",
      async () => {
        const path = `${fx.toy.dir}/bomb-tail.tar.gz`;
        await writeBomb(path, fx.members, undefined, 1024 ** 3);
        const r = await cliMeasured(fx, path);
        assertEquals(r.code, 1, r.out);
        assertMatch(r.out, /archive cut off: more than \d+ bytes once decompressed/);
        console.log(
          `  bomb tail: ${(Deno.statSync(path).size / 1e6).toFixed(2)} MB archive inflating to 1 GiB: verify ${
            r.ms.toFixed(0)
          } ms, peak memory ${r.peakMb} MB`,
        );
        assert(r.peakMb < 500, `peak ${r.peakMb} MB`);
      },
    );

    await t.step("a member-count bomb (20,000 empty members) is cut off at the cap", async () => {
      const members = [...fx.members];
      for (let i = 0; i < 20_000; i++) members.push({ name: `code/pad/${i}.ts`, bytes: new Uint8Array(0) });
      const r = await verify(fx, await write(fx, "many-members", members, false));
      expectMismatch(r, /archive cut off: more than \d+ members/);
    });

    await t.step("manifest.json not first: not an archive of this pipeline", async () => {
      const members = [fx.members[1], fx.members[0], ...fx.members.slice(2)];
      expectNotArchive(await verify(fx, await write(fx, "manifest-second", members)), /the first member is not manifest\.json/);
    });

    await t.step("manifest.json not JSON", async () => {
      const members = fx.members.map((x) => (x.name === "manifest.json" ? { name: x.name, bytes: enc.encode("{ not json") } : x));
      expectNotArchive(await verify(fx, await write(fx, "manifest-garbage", members)), /manifest\.json is not valid JSON/);
    });

    await t.step("manifest.json of the wrong shape", async () => {
      const members = fx.members.map((x) => (x.name === "manifest.json" ? { name: x.name, bytes: json({ runId: 5, stages: "all" }) } : x));
      expectNotArchive(await verify(fx, await write(fx, "manifest-shape", members)), /manifest\.json does not have the expected shape/);
    });

    await t.step("a manifest larger than any honest one (a bomb in the first member)", async () => {
      const members = [{ name: "manifest.json", bytes: new Uint8Array(80 << 20) }, ...fx.members.slice(1)];
      expectNotArchive(await verify(fx, await write(fx, "manifest-bomb", members)), /declares 83886080 bytes, more than the \d+ allowed/);
    });

    await t.step("not a tar at all; an empty file; a directory", async () => {
      const junk = `${fx.toy.dir}/junk.bin`;
      Deno.writeFileSync(junk, crypto.getRandomValues(new Uint8Array(4096)));
      expectNotArchive(await verify(fx, junk), /not an archive of this pipeline/);
      const empty = `${fx.toy.dir}/empty.tar.gz`;
      Deno.writeFileSync(empty, new Uint8Array(0));
      expectNotArchive(await verify(fx, empty), /not an archive of this pipeline/);
      expectNotArchive(await verify(fx, fx.toy.dir), /is not a file/);
      cases += 0; // three cases, counted by verify()
    });
  } finally {
    fx.toy.cleanup();
  }
});

Deno.test("bounded extraction to disk: members land only inside the directory; hostile names are never written", async () => {
  const fx = await fixture();
  const dest = Deno.makeTempDirSync({ prefix: "hpo-extract-" });
  const outside = `${dest}-evil.sh`;
  try {
    const members = [...fx.members, { name: `../${outside.split("/").pop()}`, bytes: enc.encode("x") }, {
      name: "code/l",
      type: "symlink" as const,
      linkname: "/etc",
    }];
    const path = await write(fx, "extract-hostile", members);
    const scan = await scanTar(path, {
      limits: { maxMembers: 1000, maxTotalBytes: 64 << 20 },
      policy: () => ({ read: true, maxBytes: 1 << 20 }),
      extractTo: dest,
    });
    assertEquals(scan.problems.length, 2, scan.problems.join(" | "));
    assertEquals(await Deno.stat(outside).catch(() => undefined), undefined, "nothing written outside");
    assertEquals(await Deno.lstat(`${dest}/code/l`).catch(() => undefined), undefined, "no link made");
    const m = scan.members.find((x) => x.name === "manifest.json")!;
    assertEquals(sha256(Deno.readFileSync(`${dest}/manifest.json`)), m.sha256, "written bytes are the hashed bytes");
    assertEquals(scan.members.length, fx.members.length);
    cases += 3;
  } finally {
    Deno.removeSync(dest, { recursive: true });
    fx.toy.cleanup();
  }
});

Deno.test("verify through the CLI: exit 0 ok, 1 does not verify, 2 not an archive; one line for a missing file", async () => {
  const fx = await fixture();
  try {
    let r = await fx.toy.cli("verify", fx.good);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const m = clone(fx.manifest);
    m.stages = [];
    r = await fx.toy.cli("verify", await write(fx, "cli-empty", withManifest(fx, m)));
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(r.stdout, /MISMATCH stages the archived config implies but the archive lacks: gen, double, slow/);
    const junk = `${fx.toy.dir}/junk.tar.gz`;
    Deno.writeFileSync(junk, enc.encode("hello"));
    r = await fx.toy.cli("verify", junk);
    assertEquals(r.code, 2, r.stdout + r.stderr);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertMatch(r.stderr, /^error: not an archive of this pipeline/);
    r = await fx.toy.cli("verify", `${fx.toy.dir}/nope.tar.gz`);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /^error: archive not found: .*nope\.tar\.gz\n$/);
    cases += 4;
  } finally {
    fx.toy.cleanup();
  }
});

Deno.test("verify --rerun: a forged output consistent with its manifest is caught by recomputing it, in a sandbox", async () => {
  const fx = await fixture();
  try {
    const m = clone(fx.manifest);
    const forged = json({ z: 999 });
    const d = sha256(forged);
    const slow = m.stages.find((s) => s.stage === "slow")!;
    const old = slow.outputs["z.json"].digest;
    slow.outputs["z.json"] = { digest: d, size: forged.length };
    const path = await write(
      fx,
      "forged",
      withManifest(fx, m).map((x) => (x.name === `objects/${old}` ? { name: `objects/${d}`, bytes: forged } : x)),
    );
    // statically self-consistent: only recomputation can tell
    let r = await fx.toy.cli("verify", path);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    r = await fx.toy.cli("verify", path, "--rerun", "--quiet");
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(r.stdout, /RERUN-MISMATCH slow\/z\.json: archived [0-9a-f]{64}, rerun [0-9a-f]{64}/);
    assertMatch(r.stdout, /3 stages compared, 1 output mismatch/);
    assertEquals(
      fx.toy.takeCounts(),
      ["gen", "double", "slow"],
      "the reproduce, not the sandboxed rerun, counted (its project is read-only)",
    );
    cases += 2;
  } finally {
    fx.toy.cleanup();
  }
});

Deno.test("verify --rerun sandbox: no reads outside the project and no network unless --allow-net; SIGTERM removes the temporary store", async (t) => {
  await t.step("a config that makes a stage read a file outside the project", async () => {
    const fx = await fixture(`{ "a": 3, "b": 1, "peek": "/etc/hostname" }`);
    try {
      const r = await fx.toy.cli("verify", fx.good, "--rerun", "--quiet");
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertMatch(r.stderr, /NotCapable|Requires read access to "\/etc\/hostname"/);
      assertMatch(r.stdout, /the rerun failed/);
      cases++;
    } finally {
      fx.toy.cleanup();
    }
  });
  await t.step("a config that makes a stage contact a host", async () => {
    let hits = 0;
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
      hits++;
      return new Response("hello");
    });
    const fx = await fixture(`{ "a": 3, "b": 1, "url": "http://127.0.0.1:${server.addr.port}/" }`);
    try {
      assertEquals(hits, 1);
      let r = await fx.toy.cli("verify", fx.good, "--rerun", "--quiet");
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertMatch(r.stderr, /Requires net access/);
      assertEquals(hits, 1, "no request left the sandbox");
      r = await fx.toy.cli("verify", fx.good, "--rerun", "--quiet", "--allow-net");
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertEquals(hits, 2);
      cases += 2;
    } finally {
      fx.toy.cleanup();
      await server.shutdown();
    }
  });
  await t.step("SIGTERM during the rerun removes its temporary store", async () => {
    const fx = await fixture(`{ "a": 3, "b": 1, "ms": 20000 }`);
    const tmp = Deno.makeTempDirSync({ prefix: "hpo-sigterm-" });
    try {
      const child = fx.toy.spawnEnv({ TMPDIR: tmp }, "verify", fx.good, "--rerun", "--quiet");
      const end = Date.now() + 20000;
      let store = "";
      while (Date.now() < end && !store) {
        const d = [...Deno.readDirSync(tmp)].find((e) => e.name.startsWith("hpo-verify-"));
        if (d && [...Deno.readDirSync(`${tmp}/${d.name}`)].some((e) => e.name === "store")) store = `${tmp}/${d.name}`;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert(store, "the rerun made its temporary store");
      await new Promise((r) => setTimeout(r, 1500)); // the child is inside the slow stage now
      child.kill("SIGTERM");
      const st = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      assertEquals(st.code, 143);
      assertEquals([...Deno.readDirSync(tmp)].length, 0, "temporary store removed");
      cases++;
    } finally {
      Deno.removeSync(tmp, { recursive: true });
      fx.toy.cleanup();
    }
  });
});

Deno.test("hostile data sources in an archived config: only the verifier's own pinned sources survive", () => {
  const raw = {
    splits: {},
    datasets: {
      mnist: { sources: [{ kind: "url", base: "https://evil.example/" }, DEFAULT_SOURCES.mnist[0]] },
      "fashion-mnist": { sources: [{ kind: "dir", path: "/home/reviewer/.ssh" }] },
      cifar10: { sources: [{ kind: "archive", path: "/etc/shadow" }, { kind: "package", package: "left-pad" }] },
    },
  };
  const { config, notes } = pinnedSourcesOnly(raw);
  const ds = (config as typeof raw).datasets;
  assertEquals(ds.mnist.sources, [DEFAULT_SOURCES.mnist[0]]);
  assertEquals("sources" in ds["fashion-mnist"], false);
  assertEquals("sources" in ds.cifar10, false);
  assertEquals(notes.length, 4);
  assertMatch(notes.join("\n"), /evil\.example.*not one of this checkout's pinned sources/);
  assertMatch(notes.join("\n"), /\.ssh/);
  assertEquals(raw.datasets.mnist.sources.length, 2, "the archived config itself is not changed");
  cases += 4;
});

Deno.test("archive meets damage: each kind named (stage, output, full digests, the fix), exit 2, no partial archive; what it writes verifies", async (t) => {
  const toy = makeToyProject();
  const out = `${toy.dir}/a.tar.gz`;
  const store = `${toy.dir}/artifacts`;
  const latest = () => JSON.parse(Deno.readTextFileSync(`${store}/manifests/latest.json`));
  const objectOf = (stage: string, output: string) => {
    const d = latest().stages.find((s: { stage: string }) => s.stage === stage).outputs[output].digest as string;
    return { digest: d, path: `${store}/objects/${d.slice(0, 2)}/${d}` };
  };
  const noArchive = () =>
    assert(
      !(() => {
        try {
          Deno.statSync(out);
          return true;
        } catch {
          return false;
        }
      })() && ![...Deno.readDirSync(toy.dir)].some((e) => e.name.startsWith("a.tar.gz")),
      "no archive, no partial file",
    );
  try {
    assertEquals((await toy.cli("reproduce")).code, 0);
    await t.step("a same-size bit flip in an artifact no stage reads again: exit 2 naming it, then 'reproduce' repairs it", async () => {
      const { digest, path } = objectOf("slow", "z.json");
      const b = Deno.readFileSync(path);
      b[1] ^= 0x04; // same size: reproduce and status (no --verify) do not notice
      Deno.writeFileSync(path, b);
      let r = await toy.cli("archive", "--out", out);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert(!/internal error|Premature close/i.test(r.stderr), r.stderr);
      assertMatch(
        r.stderr,
        new RegExp(`output 'z\\.json' of stage 'slow' \\(${digest}\\): its content hashes to [0-9a-f]{64}, not ${digest}`),
      );
      assertMatch(r.stderr, /rerun 'reproduce' \(it recomputes them\), then 'archive'; 'status --verify' lists every damaged file/);
      noArchive();
      r = await toy.cli("reproduce");
      assertEquals(r.code, 0, r.stderr);
      r = await toy.cli("archive", "--out", out);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await toy.cli("verify", out)).code, 0);
      Deno.removeSync(out);
      cases += 2;
    });
    await t.step("a missing artifact and a truncated one: exit 2, both named", async () => {
      const x = objectOf("gen", "x.json");
      const y = objectOf("double", "y.json");
      Deno.removeSync(x.path);
      Deno.writeFileSync(y.path, Deno.readFileSync(y.path).subarray(0, 3));
      const r = await toy.cli("archive", "--out", out);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, new RegExp(`output 'x\\.json' of stage 'gen' \\(${x.digest}\\): missing from the store`));
      assertMatch(r.stderr, new RegExp(`output 'y\\.json' of stage 'double' \\(${y.digest}\\)`));
      noArchive();
      assertEquals((await toy.cli("reproduce")).code, 0);
      cases++;
    });
    await t.step("an earlier stage's code-file digest altered in latest.json: archive refuses (exit 2) as verify would", async () => {
      const m = latest();
      const gen = m.stages.find((s: { stage: string }) => s.stage === "gen");
      const file = Object.keys(gen.codeFiles).find((f) => f.endsWith("count.ts"))!;
      const later = m.stages.filter((s: { stage: string; codeFiles: Record<string, string> }) => s.stage !== "gen" && s.codeFiles[file]);
      assert(later.length >= 1, "a later stage records the same file: archive used to check only that one");
      const good = gen.codeFiles[file];
      gen.codeFiles[file] = "0".repeat(64);
      Deno.writeTextFileSync(`${store}/manifests/latest.json`, JSON.stringify(m, null, 1));
      const r = await toy.cli("archive", "--out", out);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, new RegExp(`${file.replace(".", "\\.")} \\(sha256 ${good}; stage 'gen' recorded ${"0".repeat(64)}\\)`));
      noArchive();
      // a code digest that does not follow from its files: refused too
      gen.codeFiles[file] = good;
      gen.codeDigest = "f".repeat(64);
      Deno.writeTextFileSync(`${store}/manifests/latest.json`, JSON.stringify(m, null, 1));
      const r2 = await toy.cli("archive", "--out", out);
      assertEquals(r2.code, 2, r2.stderr);
      assertMatch(r2.stderr, /the code digest of stage 'gen' does not follow from its code files and packages/);
      noArchive();
      assertEquals((await toy.cli("reproduce", "--force", "gen")).code, 0);
      cases += 2;
    });
    await t.step("verify compares digests in full (64 hex), never cut to a prefix two digests could share", () => {
      const m = latest() as Manifest;
      const a = "ab".repeat(32);
      const b = "ab".repeat(6) + "cd".repeat(26); // same first 12 characters
      const rerun = structuredClone(m);
      const double = rerun.stages.find((s) => s.stage === "double")!;
      const arch = structuredClone(m);
      arch.stages.find((s) => s.stage === "double")!.outputs["y.json"].digest = a;
      double.outputs["y.json"].digest = b;
      const stages = [{
        name: "double",
        deps: [],
        module: "",
        params: {},
        schema: undefined,
        run: () => Promise.resolve({}),
      }] as unknown as Stage[];
      const c = compareRerun(arch, rerun, stages);
      assertEquals(c.mismatches.length, 1, JSON.stringify(c));
      assertMatch(c.mismatches[0], new RegExp(`archived ${a}, rerun ${b}`));
      cases++;
    });
  } finally {
    toy.cleanup();
  }
});

Deno.test("an archive with junk after its gzip stream: one line saying so, not members reported missing", async () => {
  const toy = makeToyProject();
  try {
    assertEquals((await toy.cli("reproduce")).code, 0);
    const out = `${toy.dir}/a.tar.gz`;
    assertEquals((await toy.cli("archive", "--out", out)).code, 0);
    const good = Deno.readFileSync(out);
    for (const junk of [new TextEncoder().encode("appended text"), Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2]), good.subarray(0, 40)]) {
      const bad = new Uint8Array(good.length + junk.length);
      bad.set(good);
      bad.set(junk, good.length);
      Deno.writeFileSync(`${toy.dir}/j.tar.gz`, bad);
      const r = await toy.cli("verify", `${toy.dir}/j.tar.gz`);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertMatch(
        r.stdout,
        new RegExp(`the archive has ${junk.length} byte\\(s\\) after the end of its gzip stream \\(which ends at byte ${good.length} of`),
      );
      assert(!/missing|not an archive/.test(r.stdout + r.stderr), r.stdout + r.stderr);
      cases++;
    }
  } finally {
    toy.cleanup();
  }
});

// the count, once the file's tests are done (each test asserts its own cases; this only reports them)
globalThis.addEventListener("unload", () => console.log(`archive adversarial cases tried: ${cases}`));

Deno.test("code from outside the project: computed in the scheduling process, not a child; archive refuses the run in one line (exit 2), writes nothing", async () => {
  const toy = makeToyProject();
  try {
    // the toy's data stage imports the engine's SkipStage by an absolute URL: outside the toy project. With two
    // jobs it is computed in the scheduling process (a child's copy of the project cannot carry the file),
    // not failed as "code changed since the run started"
    toy.write("config.json", `{ "a": 3, "b": 1, "missing": "no data here" }`);
    const r = await toy.cli("reproduce", "-j", "2");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /\[data\] computed in this process: its code imports \S*pipeline\/errors\.ts from outside the project root/);
    assertMatch(r.stderr, /not run \(2 stages: data, uses-data\): no data here/);
    const out = `${toy.dir}/a.tar.gz`;
    const a = await toy.cli("archive", "--out", out);
    assertEquals(a.code, 2, a.stderr);
    assertMatch(
      a.stderr,
      /cannot archive run .*: its stages' code imports 1 file\(s\) from outside the project root .*pipeline\/errors\.ts/,
    );
    assertEquals(a.stderr.trim().split("\n").length, 1, a.stderr);
    assert(!(await Deno.stat(out).then(() => true, () => false)), "no archive written");
  } finally {
    toy.cleanup();
  }
});
