// A store damaged in each way a disk, a user or a crash can damage it, and the user faults that used to end
// in a stack trace: each case asserts what the store does (repair, refuse, report) and what the user reads.
import { assert, assertEquals, assertMatch, assertRejects } from "../../assert.ts";
import { makeToyProject, type ToyProject } from "../../fixtures/toy_project.ts";
import { ArtifactStore } from "../../../pipeline/store/store.ts";
import { isTempName } from "../../../pipeline/store/fs_atomic.ts";
import { DamagedObject, UserError } from "../../../pipeline/errors.ts";
import { sha256 } from "../../../pipeline/hash.ts";
import { runPipeline } from "../../../pipeline/exec/runner.ts";
import type { Stage } from "../../../pipeline/stage.ts";
import { subsampleStage } from "../../../stages/subsample.ts";
import { ExperimentConfig } from "../../../stages/config.ts";
import { fakeMnistFetch } from "../../fixtures/fake_fetch.ts";
import { fetchDataset } from "../../../data/fetch.ts";
import { PROJECT_ROOT } from "../../fixtures/toy_project.ts";
import { collectGarbage } from "../../../pipeline/store/gc.ts";
import { STORE_MARKER } from "../../../pipeline/store/store_root.ts";

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

let cases = 0;

/** Every file under a directory (relative paths), sorted; `skip` leaves subtrees out. */
function listTree(root: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${root}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (skip.includes(p)) continue;
      if (e.isDirectory) walk(p);
      else out.push(p);
    }
  };
  walk("");
  return out.sort();
}

/** The store path of the object holding a given output of the toy's last run. */
function objectOf(toy: ToyProject, stage: string, output: string, store = `${toy.dir}/artifacts`): string {
  const m = JSON.parse(Deno.readTextFileSync(`${store}/manifests/latest.json`));
  const d = m.stages.find((s: { stage: string }) => s.stage === stage).outputs[output].digest;
  return `${store}/objects/${d.slice(0, 2)}/${d}`;
}

function oneLine(stderr: string): void {
  assertEquals(stderr.trim().split("\n").length, 1, `expected one line, got:\n${stderr}`);
  assert(!/^\s+at /m.test(stderr), "no stack trace");
}

async function withToy(fn: (toy: ToyProject) => Promise<void>): Promise<void> {
  const toy = makeToyProject();
  try {
    const r = await toy.cli("reproduce");
    assertEquals(r.code, 0, r.stderr);
    toy.takeCounts();
    await fn(toy);
  } finally {
    toy.cleanup();
  }
}

Deno.test("store damage: each kind is found, reported and repaired by recomputing", async (t) => {
  await t.step(
    "a same-size bit flip nobody reads: status --verify finds it; reproduce recomputes it when exporting",
    () =>
      withToy(async (toy) => {
        const z = objectOf(toy, "slow", "z.json");
        const good = Deno.readFileSync(z);
        const bad = good.slice();
        bad[2] ^= 0x04;
        Deno.writeFileSync(z, bad);
        let r = await toy.cli("status", "--verify");
        assertEquals(r.code, 1, r.stdout + r.stderr);
        assertMatch(r.stdout, new RegExp(`DAMAGED ${z} \\(output 'z\\.json' of stage 'slow'\\): content hashes to`));
        r = await toy.cli("reproduce");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /was corrupt .*; recomputing it/);
        assertEquals(Deno.readFileSync(z), good);
        assertEquals(JSON.parse(Deno.readTextFileSync(`${toy.dir}/out/config/z.json`)), JSON.parse(new TextDecoder().decode(good)));
        r = await toy.cli("status", "--verify");
        assertEquals(r.code, 0, r.stdout);
        assertMatch(r.stdout, /0 damaged/);
        cases += 2;
      }),
  );

  await t.step(
    "a bit flip in an input a stage reads: removed, its producer recomputed, the reader carries on",
    () =>
      withToy(async (toy) => {
        const y = objectOf(toy, "double", "y.json");
        const good = Deno.readFileSync(y);
        const bad = good.slice();
        bad[bad.length - 2] ^= 0x01;
        Deno.writeFileSync(y, bad);
        const r = await toy.cli("reproduce", "--force", "slow");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /\[slow\] input [0-9a-f]{12} \(from 'double'\) was damaged and has been removed; recomputing 'double'/);
        assertEquals(toy.takeCounts(), ["double", "slow"]);
        assertEquals(Deno.readFileSync(y), good);
        cases++;
      }),
  );

  for (
    const [what, damage] of [
      ["truncated", (p: string) => Deno.writeFileSync(p, Deno.readFileSync(p).subarray(0, 3))],
      ["emptied", (p: string) => Deno.writeFileSync(p, new Uint8Array(0))],
      ["deleted", (p: string) => Deno.removeSync(p)],
    ] as const
  ) {
    await t.step(`an artifact ${what}: its cache entry is dropped and the stage recomputes`, () =>
      withToy(async (toy) => {
        const x = objectOf(toy, "gen", "x.json");
        const good = Deno.readFileSync(x);
        damage(x);
        const r = await toy.cli("reproduce");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /cache entry .* dropped: its output 'x\.json' .* is missing or truncated/);
        assertEquals(toy.takeCounts(), ["gen"]);
        assertEquals(Deno.readFileSync(x), good);
        cases++;
      }));
  }

  await t.step("writing an object over a damaged copy replaces it; reading a damaged copy removes it", async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const store = new ArtifactStore(dir);
      const bytes = new TextEncoder().encode("hello artifact");
      const ref = await store.putObject(bytes);
      const path = store.objectPath(ref.digest);
      Deno.writeTextFileSync(path, "hellO artifact");
      assert(await assertRejects(() => store.getObject(ref.digest), DamagedObject) instanceof UserError);
      assertEquals(store.takeDamaged(), [ref.digest]);
      assertEquals(await Deno.stat(path).catch(() => undefined), undefined, "the damaged copy is gone");
      Deno.writeTextFileSync(path, "hellO artifact");
      await store.putObject(bytes);
      assertEquals(sha256(Deno.readFileSync(path)), ref.digest, "the damaged copy was replaced");
      assertMatch(store.warnings.join("\n"), /damaged object .* replaced by a good copy/);
      cases += 2;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test("gc fails closed: strays and unreadable manifests make it refuse; --force, --dry-run, --keep-runs", async (t) => {
  for (
    const [what, make, named] of [
      [
        "a stray file under objects/",
        (root: string) => Deno.writeTextFileSync(`${root}/objects/zz-notes.txt`, "mine"),
        "objects/zz-notes.txt",
      ],
      [
        "a stray directory under objects/<xx>/",
        (root: string) => Deno.mkdirSync(`${root}/objects/ab/keep-me`, { recursive: true }),
        "objects/ab/keep-me",
      ],
      ["a file in objects/ named like no digest", (root: string) => {
        Deno.mkdirSync(`${root}/objects/ab`, { recursive: true });
        Deno.writeTextFileSync(`${root}/objects/ab/thesis.pdf`, "x");
      }, "objects/ab/thesis.pdf"],
      ["a stray file at the top of the store", (root: string) => Deno.writeTextFileSync(`${root}/results.csv`, "x"), "results.csv"],
      ["a symbolic link in the store", (root: string) => Deno.symlinkSync("/etc", `${root}/objects/ee`), "objects/ee"],
    ] as const
  ) {
    await t.step(`${what}: gc refuses (exit 2, naming it) and removes nothing; --force leaves it alone`, () =>
      withToy(async (toy) => {
        const root = `${toy.dir}/artifacts`;
        make(root);
        const before = listTree(root, ["logs"]);
        let r = await toy.cli("gc");
        assertEquals(r.code, 2, r.stdout + r.stderr);
        oneLine(r.stderr);
        assertMatch(r.stderr, new RegExp(`gc refused: .*${named.replace(/[.]/g, "\\.")}.*--force`));
        assertEquals(listTree(root, ["logs"]), before);
        r = await toy.cli("gc", "--force");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /left alone \(--force\)/);
        assertMatch(r.stdout, /3 artifact\(s\) kept/);
        assert(Deno.lstatSync(`${root}/${named}`), "left where it was");
        cases++;
      }));
  }

  await t.step(
    "unreadable run manifests with latest.json intact: gc refuses; with --force it keeps what latest.json names",
    () =>
      withToy(async (toy) => {
        const root = `${toy.dir}/artifacts`;
        for (const f of Deno.readDirSync(`${root}/manifests`)) {
          if (f.name !== "latest.json") Deno.writeTextFileSync(`${root}/manifests/${f.name}`, "{ truncated");
        }
        let r = await toy.cli("gc");
        assertEquals(r.code, 2);
        oneLine(r.stderr);
        assertMatch(r.stderr, /gc refused: .*manifests\/.*\.json \(is not valid JSON/);
        r = await toy.cli("gc", "--force");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /removed 0 artifact\(s\).*3 artifact\(s\) kept/);
        const a = await toy.cli("archive", "--out", `${toy.dir}/a.tar.gz`);
        assertEquals(a.code, 0, a.stderr);
        cases += 2;
      }),
  );

  await t.step("an unreadable latest.json: gc refuses, archive and status say so in one line", () =>
    withToy(async (toy) => {
      const root = `${toy.dir}/artifacts`;
      Deno.writeTextFileSync(`${root}/manifests/latest.json`, JSON.stringify({ runId: 1 }));
      let r = await toy.cli("gc");
      assertEquals(r.code, 2);
      assertMatch(r.stderr, /latest\.json \(does not have the expected shape/);
      r = await toy.cli("archive", "--out", `${toy.dir}/a.tar.gz`);
      assertEquals(r.code, 2);
      oneLine(r.stderr);
      assertMatch(r.stderr, /manifest .*latest\.json does not have the expected shape .*; remove it or restore it/);
      r = await toy.cli("status", "--verify");
      assertEquals(r.code, 1);
      assertMatch(r.stdout, /DAMAGED .*latest\.json: manifest does not have the expected shape/);
      cases += 3;
    }));

  await t.step("gc --dry-run lists what would go and the bytes, and changes nothing", () =>
    withToy(async (toy) => {
      const root = `${toy.dir}/artifacts`;
      const orphan = new TextEncoder().encode("an orphan of 23 bytes!!");
      const d = sha256(orphan);
      Deno.mkdirSync(`${root}/objects/${d.slice(0, 2)}`, { recursive: true });
      Deno.writeFileSync(`${root}/objects/${d.slice(0, 2)}/${d}`, orphan);
      const before = listTree(root, ["logs"]);
      const r = await toy.cli("gc", "--dry-run");
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, new RegExp(`would remove .*objects/${d.slice(0, 2)}/${d}`));
      assertMatch(r.stdout, /gc --dry-run: would remove 1 artifact\(s\), 0\.00 MB to free/);
      assertEquals(listTree(root, ["logs"]), before);
      const g = await toy.cli("gc");
      assertMatch(g.stdout, /gc: removed 1 artifact/);
      cases++;
    }));

  await t.step("gc --keep-runs 1 drops older runs and their artifacts; the latest stays archivable", () =>
    withToy(async (toy) => {
      toy.write("config.json", `{ "a": 4, "b": 1 }`);
      assertEquals((await toy.cli("reproduce")).code, 0);
      let r = await toy.cli("gc");
      assertMatch(r.stdout, /removed 0 artifact\(s\)/, "by default the last runs are kept");
      r = await toy.cli("gc", "--keep-runs", "1");
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /removed 3 artifact\(s\).*1 old run manifest\(s\); 3 artifact\(s\) kept/);
      const a = await toy.cli("archive", "--out", `${toy.dir}/a.tar.gz`);
      assertEquals(a.code, 0, a.stderr);
      assertEquals((await toy.cli("verify", `${toy.dir}/a.tar.gz`)).code, 0);
      r = await toy.cli("gc", "--keep-runs", "0");
      assertEquals(r.code, 2);
      oneLine(r.stderr);
      cases += 2;
    }));
});

/** Mounts a small tmpfs (root only); undefined where mounting is not allowed. */
function mountTmpfs(sizeKb: number): string | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "hpo-mnt-" });
  const r = new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir], stderr: "null", stdout: "null" })
    .outputSync();
  if (r.success) return dir;
  Deno.removeSync(dir);
  return undefined;
}

function umount(dir: string): void {
  new Deno.Command("umount", { args: [dir], stderr: "null" }).outputSync();
  Deno.removeSync(dir, { recursive: true });
}

Deno.test("user faults end in one line, exit 2; an internal error in exit 3 with its stack only under --debug", async (t) => {
  await t.step("HPO_STORE or --store pointing at a file", () =>
    withToy(async (toy) => {
      const file = `${toy.dir}/config.json`;
      let r = await toy.cliEnv({ HPO_STORE: file }, "reproduce");
      assertEquals(r.code, 2);
      oneLine(r.stderr);
      assertMatch(
        r.stderr,
        /the artifact store .*config\.json \(from \$HPO_STORE\) is a file, not a directory; point \$HPO_STORE at a directory/,
      );
      r = await toy.cli("gc", "--store", file);
      assertEquals(r.code, 2);
      assertMatch(r.stderr, /\(from --store\) is a file/);
      cases += 2;
    }));

  await t.step("archive --out into a missing directory or onto a directory", () =>
    withToy(async (toy) => {
      let r = await toy.cli("archive", "--out", `${toy.dir}/no/such/dir/a.tar.gz`);
      assertEquals(r.code, 2, r.stderr);
      oneLine(r.stderr);
      assertMatch(r.stderr, /its directory does not exist; create it or choose another --out/);
      r = await toy.cli("archive", "--out", toy.dir);
      assertEquals(r.code, 2, r.stderr);
      oneLine(r.stderr);
      cases += 2;
    }));

  await t.step("a full disk (ENOSPC): one line, and the store is unchanged", async () => {
    const mnt = mountTmpfs(256);
    if (!mnt) return console.log("  skipped: cannot mount a tmpfs here (not root)");
    const toy = makeToyProject();
    try {
      const store = `${mnt}/store`;
      let r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      const before = listTree(store, ["logs"]);
      // fill the disk, then ask for new work
      try {
        Deno.writeFileSync(`${mnt}/filler`, new Uint8Array(1 << 20));
      } catch { /* full: as intended */ }
      toy.write("config.json", `{ "a": 7, "b": 1 }`);
      r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr.trim().split("\n").pop()!, /^error: .*the disk is full \(ENOSPC\).*free some space/);
      assert(!/^\s+at /m.test(r.stderr));
      assertEquals(listTree(store, ["logs"]), before, "nothing half-written left in the store");
      Deno.removeSync(`${mnt}/filler`);
      r = await toy.cli("status", "--verify", "--store", store);
      assertMatch(r.stdout, /0 damaged/);
      cases++;
    } finally {
      toy.cleanup();
      umount(mnt);
    }
  });

  await t.step("a disk that fills up in the middle of a run: one line; nothing half-written; the next run completes", async () => {
    const mnt = mountTmpfs(256);
    if (!mnt) return console.log("  skipped: cannot mount a tmpfs here (not root)");
    const toy = makeToyProject();
    try {
      const store = `${mnt}/store`;
      let r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      const [blocks, size] = new TextDecoder().decode(
        new Deno.Command("stat", { args: ["-f", "-c", "%a %S", mnt], stdout: "piped" }).outputSync().stdout,
      )
        .trim().split(" ").map(Number);
      Deno.writeFileSync(`${mnt}/filler`, new Uint8Array(Math.max(0, blocks * size - 12 * 1024))); // room for the lock and a log
      toy.write("config.json", `{ "a": 7, "b": 1 }`);
      r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr.trim().split("\n").pop()!, /^error: .*cannot write .*: the disk is full \(ENOSPC\)/);
      assert(!/^\s+at /m.test(r.stderr));
      assertEquals(listTree(store).filter((p) => isTempName(p.split("/").pop()!) || p === "LOCK"), [], "no temporary file or lock left");
      Deno.removeSync(`${mnt}/filler`);
      r = await toy.cli("status", "--verify", "--store", store);
      assertMatch(r.stdout, /0 damaged/);
      r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      cases++;
    } finally {
      toy.cleanup();
      umount(mnt);
    }
  });

  await t.step("a read-only store (EROFS): one line, and the store is unchanged", async () => {
    const mnt = mountTmpfs(4096);
    if (!mnt) return console.log("  skipped: cannot mount a tmpfs here (not root)");
    const toy = makeToyProject();
    try {
      const store = `${mnt}/store`;
      let r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      const before = listTree(store);
      assert(new Deno.Command("mount", { args: ["-o", "remount,ro", mnt] }).outputSync().success);
      toy.write("config.json", `{ "a": 7, "b": 1 }`);
      for (const args of [["reproduce"], ["gc"]]) {
        r = await toy.cli(...args, "--store", store);
        assertEquals(r.code, 2, `${args[0]}: ${r.stderr}`);
        oneLine(r.stderr);
        assertMatch(r.stderr, /the file system is read-only \(EROFS\).*point --store/);
        cases++;
      }
      assertEquals(listTree(store), before);
      // archive only reads: a read-only store is archived without the lock, and the archive verifies
      r = await toy.cli("archive", "--out", `${toy.dir}/a.tar.gz`, "--store", store);
      assertEquals(r.code, 0, `archive of a read-only store: ${r.stderr}`);
      assertEquals(listTree(store), before);
      r = await toy.cli("verify", `${toy.dir}/a.tar.gz`);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      cases++;
      r = await toy.cli("status", "--store", store);
      assertEquals(r.code, 0, "status only reads");
    } finally {
      toy.cleanup();
      umount(mnt);
    }
  });

  await t.step("a store on another file system: the export to the project works (no EXDEV)", async () => {
    const toy = makeToyProject();
    const store = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "hpo-xdev-" });
    try {
      if (Deno.statSync(store).dev === Deno.statSync(toy.dir).dev) return console.log("  skipped: /dev/shm is on the same file system");
      const r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(Deno.readTextFileSync(`${toy.dir}/out/config/z.json`)), { z: 7 });
      cases++;
    } finally {
      toy.cleanup();
      Deno.removeSync(store, { recursive: true });
    }
  });

  await t.step("a bug in a stage: exit 1 (a stage failed), one line without --debug, the stack with it and in the log", async () => {
    const toy = makeToyProject();
    try {
      toy.write("config.json", `{ "a": 3, "b": 1, "boom": true }`);
      let r = await toy.cli("reproduce");
      assertEquals(r.code, 1, r.stderr);
      assertMatch(r.stderr, /error: stage 'gen' failed: a bug in gen \(rerun with --debug for the stack trace\)/);
      assert(!/^\s+at /m.test(r.stderr), r.stderr);
      r = await toy.cli("reproduce", "--debug");
      assertEquals(r.code, 1);
      assertMatch(r.stderr, /^\s+at .*stages\/gen\.ts/m);
      assertMatch(Deno.readTextFileSync(`${toy.dir}/artifacts/logs/errors.jsonl`), /"event":"internal-error".*a bug in gen/);
      cases += 2;
    } finally {
      toy.cleanup();
    }
  });

  await t.step(
    "a missing external input: exit 0 with the stages not run grouped by cause in the last lines; --require-all: exit 1",
    async () => {
      const toy = makeToyProject();
      try {
        toy.write("config.json", `{ "a": 3, "b": 1, "missing": "the toy data set is not available: put it in ./data" }`);
        // -j 1: the toy's data stage imports the engine from outside the toy project, which children cannot copy
        const r = await toy.cli("reproduce", "-j", "1");
        assertEquals(r.code, 0, r.stderr);
        // one line for the cause, naming every stage it blocks (the stage itself, and what needs it)
        assertMatch(r.stderr, /not run \(2 stages: data, uses-data\): the toy data set is not available: put it in \.\/data\n/);
        assertEquals(r.stderr.match(/not run \(/g)?.length, 1, r.stderr);
        const last = r.stderr.trim().split("\n").at(-1)!;
        assertMatch(last, /done, except 2 stage\(s\) not run for a missing input .*--require-all makes this exit 1/);
        const strict = await toy.cli("reproduce", "-j", "1", "--require-all");
        assertEquals(strict.code, 1, strict.stderr);
        assertMatch(strict.stderr.trim().split("\n").at(-1)!, /2 stage\(s\) not run .*--require-all was given: exit 1/);
        toy.write("config.json", `{ "a": 3, "b": 1 }`);
        assertEquals((await toy.cli("reproduce", "--require-all")).code, 0);
        cases += 1;
      } finally {
        toy.cleanup();
      }
    },
  );

  await t.step("nTrain + nVal larger than the data set: one line naming the split and the fix", async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const n = 20;
      const fake = fakeMnistFetch(n);
      const sub = subsampleStage("tiny", { dataset: "mnist", nTrain: 15, nVal: 10 }) as Stage;
      await assertRejects(
        () => runPipeline([fake, sub], { storeRoot: dir, projectRoot: PROJECT_ROOT, quiet: true }),
        UserError,
        /stage 'subsample:tiny': nTrain \+ nVal = 15 \+ 10 = 25 exceeds the 20 examples of mnist's training set; lower nTrain or nVal in the split 'tiny'/,
      );
      cases++;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });

  await t.step("nVal 0: refused when the config is read, naming the field", async () => {
    const r = ExperimentConfig.safeParse({ splits: { s: { dataset: "mnist", nTrain: 10, nVal: 0 } } });
    assert(!r.success);
    assertMatch(JSON.stringify(r.error.issues[0]), /nVal must be at least 1/);
    // and through the real CLI: one line, exit 2
    const dir = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify({ splits: { s: { dataset: "mnist", nTrain: 10, nVal: 0 } } }));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", `${PROJECT_ROOT}/main.ts`, "status", "--config", `${dir}/c.json`, "--store", `${dir}/store`],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, stderr);
      oneLine(stderr);
      assertMatch(stderr, /c\.json: field 'splits\.s\.nVal': nVal must be at least 1/);
      cases += 2;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test("data sources: a CIFAR-10 directory is digest-checked like every other source", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const names = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
    const pins: Record<string, string> = {};
    names.forEach((n, i) => {
      const b = new Uint8Array(3073).fill(i);
      b[0] = i;
      Deno.writeFileSync(`${dir}/${n}`, b);
      pins[n] = sha256(b);
    });
    const opts = { expectedCifarRecords: 1 };
    let r = await fetchDataset("cifar10", [{ kind: "dir", path: dir }], opts);
    assert(!r.ok && r.kind === "invalid");
    assertMatch(r.attempts[0], /a CIFAR-10 directory source needs a pinned sha256 per batch file/);
    r = await fetchDataset("cifar10", [{ kind: "dir", path: dir, sha256: { ...pins, "test_batch.bin": "0".repeat(64) } }], opts);
    assert(!r.ok && r.kind === "invalid");
    assertMatch(r.attempts[0], /test_batch\.bin: sha256 [0-9a-f]{64}, expected 0{64}/);
    r = await fetchDataset("cifar10", [{ kind: "dir", path: dir, sha256: pins }], opts);
    assert(r.ok, JSON.stringify(r));
    assertEquals(r.dataset.provenance.files["test_batch.bin"], pins["test_batch.bin"]);
    cases += 3;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Every entry under a directory, with what it is: a file's sha256, a link's target, or "dir"; links are not followed. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const full = `${root}/${p}`;
      if (e.isSymlink) out[p] = `link:${Deno.readLinkSync(full)}`;
      else if (e.isDirectory) {
        out[p] = "dir";
        walk(p);
      } else out[p] = `file:${sha256(Deno.readFileSync(full))}`;
    }
  };
  walk("");
  return out;
}

/** Writes a tree of files (relative path -> content) under `root`. */
function plant(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    Deno.mkdirSync(`${root}/${rel}`.replace(/\/[^/]+$/, ""), { recursive: true });
    Deno.writeTextFileSync(`${root}/${rel}`, text);
  }
}

Deno.test("the store touches only what is its own: a directory that is not a store is refused by every command", async (t) => {
  const toy = makeToyProject();
  const scratch = Deno.makeTempDirSync({ prefix: "hpo-foreign-" });
  try {
    // targets a careless --store could name: a directory with a tmp/, a home, a root, one holding only a tmp/
    const targets: Record<string, Record<string, string>> = {
      "a directory with a tmp/": { "tmp/a.txt": "a", "tmp/deep/b.txt": "b", "tmp/deep/er/c.bin": "c", "notes.txt": "mine" },
      "a home (~)": { "tmp/x": "x", ".bashrc": "alias ll='ls -l'", ".ssh/id_ed25519": "secret", "Documents/thesis.tex": "\\section{}" },
      "a root (/)": {
        "tmp/.X11-unix/X0": "",
        "tmp/.pipeline-tmp-1-2-3.tmp": "looks like ours",
        "etc/passwd": "root:x:0:0",
        "usr/bin/sh": "#!",
      },
      "only a tmp/ with foreign files": { "tmp/report.pdf": "%PDF", "tmp/sub/dir/f": "f" },
      "a store look-alike with a foreign file": { "objects/.keep": "", "runs/x": "", "manifests/notes.md": "#" },
    };
    const commands: string[][] = [
      ["reproduce"],
      ["reproduce", "--jobs", "2"],
      ["status"],
      ["status", "--verify"],
      ["archive", "--out", `${scratch}/out.tar.gz`],
      ["gc"],
      ["gc", "--force"],
      ["gc", "--dry-run"],
      ["run-stage", "--spec", `${scratch}/spec.json`],
    ];
    for (const [what, files] of Object.entries(targets)) {
      await t.step(`${what}: every command exits 2 in one line, and every byte is still there`, async () => {
        const dir = `${scratch}/${what.replace(/[^a-z]+/g, "-")}`;
        plant(dir, files);
        const before = snapshot(dir);
        for (const args of commands) {
          const r = await toy.cli(...args, "--store", dir);
          assertEquals(r.code, 2, `${args.join(" ")} on ${what}: ${r.stderr}`);
          oneLine(r.stderr);
          assertMatch(r.stderr, /is not an artifact store.*point --store at a store or at an empty or new directory/);
          assertEquals(snapshot(dir), before, `${args.join(" ")} changed ${what}`);
          cases++;
        }
        // the store's variable is refused the same way
        const r = await toy.cliEnv({ HPO_STORE: dir }, "reproduce");
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /from \$HPO_STORE\) is not an artifact store/);
        assertEquals(snapshot(dir), before);
        // and the functions themselves, below the CLI
        for (
          const call of [
            () => collectGarbage({ storeRoot: dir, force: true }),
            () => runPipeline([], { storeRoot: dir, projectRoot: toy.dir }),
          ]
        ) {
          const e = await call().then(() => undefined, (e) => e);
          assert(e instanceof UserError, `a UserError, got ${e}`);
        }
        assertEquals(snapshot(dir), before);
        assertEquals(existsSync(`${scratch}/out.tar.gz`), false, "no archive written");
        cases += 2;
      });
    }

    await t.step("a real store whose tmp/ holds a foreign file and a link leading outside: nothing foreign is touched", async () => {
      const store = `${scratch}/real`;
      let r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      assert(existsSync(`${store}/${STORE_MARKER}`), "the store made its marker");
      plant(`${scratch}/outside`, { "precious.txt": "do not delete", "sub/more.txt": "nor this" });
      plant(store, { "tmp/foreign.txt": "not the store's", "tmp/foreign-dir/f": "f" });
      Deno.symlinkSync(`${scratch}/outside`, `${store}/tmp/scratch-0123456789abcdef-1`); // a link under a name the store uses
      Deno.symlinkSync(`${scratch}/outside`, `${store}/tmp/link-out`);
      // leftovers the store did make are swept
      plant(store, { "tmp/.pipeline-tmp-77-1-0.tmp": "half", "tmp/scratch-fedcba9876543210-77/part": "p" });
      const outside = snapshot(`${scratch}/outside`);
      const foreign = () => ["tmp/foreign.txt", "tmp/foreign-dir/f"].map((p) => Deno.readTextFileSync(`${store}/${p}`));
      toy.write("config.json", `{ "a": 4, "b": 1 }`);
      r = await toy.cli("reproduce", "--store", store);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(existsSync(`${store}/tmp/.pipeline-tmp-77-1-0.tmp`), false, "the store's own temporary file is swept");
      assertEquals(existsSync(`${store}/tmp/scratch-fedcba9876543210-77`), false, "the store's own scratch directory is swept");
      for (const args of [["status"], ["archive", "--out", `${scratch}/real.tar.gz`], ["gc", "--force"], ["gc", "--dry-run", "--force"]]) {
        r = await toy.cli(...args, "--store", store);
        assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assertEquals(foreign(), ["not the store's", "f"]);
        assert(Deno.lstatSync(`${store}/tmp/link-out`).isSymlink && Deno.lstatSync(`${store}/tmp/scratch-0123456789abcdef-1`).isSymlink);
        assertEquals(snapshot(`${scratch}/outside`), outside, `${args.join(" ")} touched what the link leads to`);
        cases++;
      }
      // gc without --force refuses, naming what it cannot account for
      r = await toy.cli("gc", "--store", store);
      assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /tmp\/foreign\.txt \(not something the store wrote\)/);
      r = await toy.cli("status", "--verify", "--store", store);
      assertMatch(r.stdout, /DAMAGED .*tmp\/link-out: not something the store wrote/);
      // the functions: cleanTmp sweeps only what the store named
      await new ArtifactStore(store).cleanTmp({ everywhere: true });
      assertEquals(foreign(), ["not the store's", "f"]);
      assertEquals(snapshot(`${scratch}/outside`), outside);
      cases += 3;
    });

    await t.step(
      "a store of an earlier version (no marker, only the store's own entries) is adopted; one with a stray entry is not",
      async () => {
        const store = `${scratch}/legacy`;
        let r = await toy.cli("reproduce", "--store", store);
        assertEquals(r.code, 0, r.stderr);
        Deno.removeSync(`${store}/${STORE_MARKER}`);
        plant(store, { "tmp/.hpo-tmp-5-6-7.tmp": "an old leftover", "tmp/12-34-5.tmp": "an older one" });
        r = await toy.cli("status", "--store", store);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(existsSync(`${store}/${STORE_MARKER}`), false, "status only reads: it adopts nothing");
        r = await toy.cli("reproduce", "--store", store);
        assertEquals(r.code, 0, r.stderr);
        const marker = JSON.parse(Deno.readTextFileSync(`${store}/${STORE_MARKER}`));
        assertEquals([marker.kind, marker.formatVersion, marker.adopted], ["artifact-store", 1, true]);
        // the same store without its marker but with a note at the top: not a store this program made
        Deno.removeSync(`${store}/${STORE_MARKER}`);
        plant(store, { "README.txt": "my notes" });
        const before = snapshot(store);
        r = await toy.cli("reproduce", "--store", store);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /holds .*README\.txt, which no store makes/);
        assertEquals(snapshot(store), before);
        // a marker from a newer format, or a damaged one: refused, naming it
        Deno.removeSync(`${store}/README.txt`);
        Deno.writeTextFileSync(`${store}/${STORE_MARKER}`, JSON.stringify({ kind: "artifact-store", formatVersion: 99, createdAt: "x" }));
        r = await toy.cli("gc", "--store", store);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /format version 99, newer than this program's 1/);
        Deno.writeTextFileSync(`${store}/${STORE_MARKER}`, "{ not json");
        r = await toy.cli("status", "--store", store);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /store marker .* is damaged/);
        // an empty directory becomes a store; a file is refused
        Deno.mkdirSync(`${scratch}/empty`);
        r = await toy.cli("reproduce", "--store", `${scratch}/empty`);
        assertEquals(r.code, 0, r.stderr);
        assert(existsSync(`${scratch}/empty/${STORE_MARKER}`));
        cases += 5;
      },
    );
  } finally {
    toy.cleanup();
    Deno.removeSync(scratch, { recursive: true });
  }
});

Deno.test("damage is a user fault with a name: status, gc and reproduce name the stage and the fix; exit 2, never 3", async () => {
  await withToy(async (toy) => {
    const store = `${toy.dir}/artifacts`;
    const m = JSON.parse(Deno.readTextFileSync(`${store}/manifests/latest.json`));
    const dbl = m.stages.find((s: { stage: string }) => s.stage === "double");
    // a same-size bit flip: status --verify names the artifact and the stage that made it, with the fix
    const y = objectOf(toy, "double", "y.json");
    const b = Deno.readFileSync(y);
    b[0] ^= 1;
    Deno.writeFileSync(y, b);
    let r = await toy.cli("status", "--verify");
    assertEquals(r.code, 1, r.stderr);
    assertMatch(
      r.stdout,
      new RegExp(`DAMAGED \\S+${dbl.outputs["y.json"].digest} \\(output 'y\\.json' of stage 'double'\\): content hashes to [0-9a-f]{64}`),
    );
    assertMatch(r.stdout, /remove the damaged artifacts and cache entries listed and rerun 'reproduce'/);
    Deno.removeSync(y);
    assertEquals((await toy.cli("reproduce")).code, 0);
    // a cache entry replaced by a directory: reproduce and status name it (exit 2), nothing removed; gc refuses
    const entry = `${store}/runs/${dbl.key.slice(0, 2)}/${dbl.key}.json`;
    Deno.removeSync(entry);
    Deno.mkdirSync(`${entry}/inside`, { recursive: true });
    for (const args of [["reproduce"], ["status"], ["gc"]]) {
      r = await toy.cli(...args);
      assertEquals(r.code, 2, `${args[0]}: ${r.stderr}`);
      oneLine(r.stderr);
      assertMatch(r.stderr, new RegExp(`${dbl.key}\\.json`));
      assert(Deno.statSync(`${entry}/inside`).isDirectory, "left where it is");
      cases++;
    }
    Deno.removeSync(entry, { recursive: true });
    assertEquals((await toy.cli("reproduce")).code, 0);
    cases++;
  });
});

// the count, once the file's tests are done (each test asserts its own cases; this only reports them)
globalThis.addEventListener("unload", () => console.log(`store damage and user fault cases tried: ${cases}`));
