// The engine's sha256 has two implementations (portable for small inputs, native for large ones): every
// digest must be the standard SHA-256, whichever one computes it.
import { assertEquals } from "../assert.ts";
import { createHash } from "node:crypto";
import { sha256, sha256File } from "../../pipeline/hash.ts";
import { Rng } from "../../data/rng.ts";

const reference = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("sha256: standard test vectors, empty input, strings as UTF-8", () => {
  assertEquals(sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assertEquals(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assertEquals(
    sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(sha256("λ ∇ €"), reference(new TextEncoder().encode("λ ∇ €")));
});

Deno.test("sha256: the same digest as node:crypto at every size around the block and the switch to native", async () => {
  const rng = new Rng(5);
  const sizes = [1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 65535, 65536, 262143, 262144, 262145, 1 << 20];
  for (const n of sizes) {
    const b = new Uint8Array(n).map(() => rng.int(256));
    assertEquals(sha256(b), reference(b), `size ${n}`);
  }
  const dir = Deno.makeTempDirSync();
  try {
    const b = new Uint8Array(3_000_001).map(() => rng.int(256));
    Deno.writeFileSync(`${dir}/f`, b);
    assertEquals(await sha256File(`${dir}/f`), reference(b));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
