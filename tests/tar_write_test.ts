// writeTarGz into a place it cannot write: always the write's own error (never "already destroyed", never
// an unhandled rejection), and no partial file left.
import { assert, assertRejects } from "./assert.ts";
import { writeTarGz } from "../util/tar.ts";

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
