import { assertEquals, assertMatch } from "../../assert.ts";
import { gzipTail, junkAfterGzip } from "../../../pipeline/archive/gzip_tail.ts";
import { gzipSync } from "node:zlib";
import { Rng } from "../../../data/rng.ts";

/** Writes bytes to a fresh temp file and runs `f` on its path. */
async function withFile<T>(bytes: Uint8Array, f: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ suffix: ".tar.gz" });
  try {
    await Deno.writeFile(path, bytes);
    return await f(path);
  } finally {
    await Deno.remove(path);
  }
}

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
};

/** Payloads of several sizes and kinds: empty, compressible, random (larger than the 64 KiB head and 1 MiB chunks). */
function payloads(): Uint8Array[] {
  const rng = new Rng(1);
  return [
    new Uint8Array(0),
    new TextEncoder().encode("hello ".repeat(1000)),
    Uint8Array.from({ length: 200_000 }, () => rng.int(256)),
    Uint8Array.from({ length: 1_500_000 }, (_, i) => (i % 251) ^ rng.int(4)),
  ];
}

Deno.test("gzip tail: a whole gzip file ends where it ends; any bytes after it are counted exactly", async () => {
  for (const p of payloads()) {
    const gz = new Uint8Array(gzipSync(p));
    assertEquals(await withFile(gz, gzipTail), { memberEnd: gz.length, trailing: 0, fileSize: gz.length });
    assertEquals(await withFile(gz, junkAfterGzip), undefined);
    for (const junk of [Uint8Array.of(0), new TextEncoder().encode("appended"), gz]) {
      const t = await withFile(cat(gz, junk), gzipTail);
      assertEquals(t, { memberEnd: gz.length, trailing: junk.length, fileSize: gz.length + junk.length }, `payload ${p.length}`);
      const line = await withFile(cat(gz, junk), junkAfterGzip);
      assertMatch(
        line!,
        new RegExp(`has ${junk.length} byte\\(s\\) after the end of its gzip stream \\(which ends at byte ${gz.length} of `),
      );
    }
  }
});

Deno.test("gzip tail: a header with extra field, name, comment and header CRC is skipped to the deflate data", async () => {
  const body = new Uint8Array(gzipSync(new TextEncoder().encode("payload")));
  // rebuild the member with flags FEXTRA | FNAME | FCOMMENT | FHCRC (4 | 8 | 16 | 2) around the same deflate data and trailer
  const head = Uint8Array.of(0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3);
  const extra = Uint8Array.of(3, 0, 1, 2, 3);
  const name = new TextEncoder().encode("a.tar\0"), comment = new TextEncoder().encode("note\0"), hcrc = Uint8Array.of(0, 0);
  const gz = cat(head, extra, name, comment, hcrc, body.subarray(10));
  assertEquals(await withFile(cat(gz, Uint8Array.of(9, 9)), gzipTail), { memberEnd: gz.length, trailing: 2, fileSize: gz.length + 2 });
  // an extra field longer than 255 bytes: its length is little-endian over two bytes
  const big = cat(Uint8Array.of(0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 300 & 0xff, 300 >> 8), new Uint8Array(300).fill(7), body.subarray(10));
  assertEquals(await withFile(big, gzipTail), { memberEnd: big.length, trailing: 0, fileSize: big.length });
});

Deno.test("gzip tail: truncated, corrupt, empty or non-gzip files give undefined, never a throw", async () => {
  const gz = new Uint8Array(gzipSync(payloads()[2]));
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["shorter than a header", gz.subarray(0, 9)],
    ["header only", gz.subarray(0, 10)],
    ["truncated in the deflate data", gz.subarray(0, Math.floor(gz.length / 2))],
    ["plain text", new TextEncoder().encode("not a gzip file at all, just text")],
    ["a tar without gzip", new Uint8Array(1024)],
    ["wrong method byte", cat(gz.subarray(0, 2), Uint8Array.of(7), gz.subarray(3))],
    ["garbage deflate data", cat(gz.subarray(0, 10), Uint8Array.from({ length: 500 }, (_, i) => (i * 73) % 256))],
    ["FEXTRA length past the end", Uint8Array.of(0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 0xff, 0xff)],
    ["FNAME never terminated", cat(Uint8Array.of(0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3), new TextEncoder().encode("name"))],
  ];
  for (const [what, bytes] of cases) {
    assertEquals(await withFile(bytes, gzipTail), undefined, what);
    assertEquals(await withFile(bytes, junkAfterGzip), undefined, what);
  }
  assertEquals(await junkAfterGzip("/nonexistent/dir/x.tar.gz"), undefined, "a missing file is not junk");
});

Deno.test("gzip tail: a file cut inside the 8-byte trailer is truncated, with no junk after it", async () => {
  // the deflate stream is complete, but the member's end lies past the end of the cut file: not a whole member
  // (it was once reported with memberEnd > fileSize)
  const gz = new Uint8Array(gzipSync(new TextEncoder().encode("x".repeat(5000))));
  for (const cut of [1, 3, 8]) {
    const t = await withFile(gz.subarray(0, gz.length - cut), gzipTail);
    assertEquals(t, undefined, `cut ${cut}`);
    assertEquals(await withFile(gz.subarray(0, gz.length - cut), junkAfterGzip), undefined);
  }
});
