// writeTarGz into a place it cannot write: always the write's own error (never "already destroyed", never
// an unhandled rejection), and no partial file left.
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { createHash } from "node:crypto";
import { scanTar, writeTarGz } from "../../util/tar.ts";

Deno.test("writeTarGz into a missing directory: the write's own error, every time, nothing left", async () => {
  const dir = await Deno.makeTempDir();
  const big = new Uint8Array(256 * 1024).map((_, i) => i % 251);
  const files = () => Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, bytes: big }));
  for (let i = 0; i < 20; i++) {
    await assertRejects(() => writeTarGz(`${dir}/no/such/dir/a.tar.gz`, files()), /ENOENT|No such file/, `attempt ${i}`);
  }
  assert([...Deno.readDirSync(dir)].length === 0, "nothing written");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("scanTar: an unwanted member is streamed past whatever its size; a rejected large one still stops the scan", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // incompressible, so that the archive really holds 3 MiB ahead of the member wanted
    const big = new Uint8Array(3 << 20);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    const small = new TextEncoder().encode("the member a spot check needs");
    await writeTarGz(`${dir}/a.tar.gz`, [{ name: "objects/big", bytes: big }, { name: "objects/small", bytes: small }]);
    const limits = { maxMembers: 10, maxTotalBytes: 64 << 20 };
    const want = (name: string) => name === "objects/small";
    const quiet = await scanTar(`${dir}/a.tar.gz`, {
      limits,
      policy: (name, size) => (want(name) ? { read: true, maxBytes: size } : { read: false, unwanted: true }),
    });
    assertEquals(quiet.cutOff, undefined);
    assertEquals(quiet.problems, []);
    assertEquals(quiet.members.map((m) => m.name), ["objects/small"]);
    assertEquals(quiet.members[0].sha256, createHash("sha256").update(small).digest("hex"));
    // a member refused as a problem is not read through when large: the scan stops there (bounded work on hostile input)
    const refused = await scanTar(`${dir}/a.tar.gz`, {
      limits,
      policy: (name, size) => (want(name) ? { read: true, maxBytes: size } : { read: false, problem: "not expected" }),
    });
    assertMatch(refused.cutOff ?? "", /rejected member of 3145728 bytes is not read/);
    assertEquals(refused.members, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
