/**
 * Files the skill writes (lib/files.ts and its callers): writers take turns,
 * symlinks are written through, read-only files are left alone, and the one
 * silent write (pg_bin_path) never stops a script.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findToolDir } from "../lib/tools.ts";
import { startCluster } from "./support/cluster.ts";
import { makeProject, runSkillScript, tomlWithProfiles } from "./support/run.ts";

const PROFILES = Object.fromEntries(
  ["one", "two", "three", "four", "five"].map((name) => [
    name,
    { host: "127.0.0.1", port: 5432, user: "u", database: "d" },
  ]),
);

Deno.test("five update_sslmode.ts at once: every change lands, each says so", async () => {
  const project = await makeProject(
    tomlWithProfiles(PROFILES, { pgBinPath: "/nonexistent", comment: "keep me" }),
  );
  try {
    const runs = await Promise.all(
      Object.keys(PROFILES).map((name) =>
        runSkillScript("update_sslmode.ts", [name, "true", "--json"], { env: project.env })
      ),
    );
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).changed, true);
    }
    const text = await project.readToml();
    for (const name of Object.keys(PROFILES)) {
      assert.match(text, new RegExp(`\\[database\\.${name}\\][^[]*sslmode = true`), name);
    }
    assert.match(text, /^# keep me$/m);
    const left = [...Deno.readDirSync(join(project.root, ".skills", "postgres"))].map((e) =>
      e.name
    );
    assert.deepEqual(left, ["postgres.toml"], "no lock or temporary file left behind");
  } finally {
    await project.remove();
  }
});

Deno.test("a symlinked postgres.toml is edited through its link", async () => {
  const project = await makeProject();
  const shared = join(project.root, "shared.toml");
  try {
    await Deno.writeTextFile(shared, tomlWithProfiles(PROFILES), { mode: 0o600 });
    await Deno.symlink(shared, project.tomlPath);
    const run = await runSkillScript("update_sslmode.ts", ["two", "true"], { env: project.env });
    assert.equal(run.code, 0, run.stderr);
    assert.ok((await Deno.lstat(project.tomlPath)).isSymlink, "still a link");
    assert.match(await Deno.readTextFile(shared), /\[database\.two\][^[]*sslmode = true/);
    assert.equal((await Deno.stat(shared)).mode! & 0o777, 0o600);
  } finally {
    await project.remove();
  }
});

Deno.test("a read-only postgres.toml is refused, never replaced", async () => {
  const project = await makeProject(tomlWithProfiles(PROFILES));
  try {
    await Deno.chmod(project.tomlPath, 0o400);
    const before = await project.readToml();
    const run = await runSkillScript("update_sslmode.ts", ["one", "true"], { env: project.env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is read-only \(mode 400\); nothing was written; make it writable/);
    assert.equal(await project.readToml(), before);
    assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o400);
  } finally {
    await Deno.chmod(project.tomlPath, 0o600);
    await project.remove();
  }
});

Deno.test({
  name: "pg_bin_path that cannot be saved: a warning, and psql runs anyway",
  ignore: findToolDir("psql") === undefined,
  async fn() {
    const cluster = await startCluster();
    const project = await makeProject(tomlWithProfiles({
      local: {
        host: cluster.host,
        port: cluster.port,
        user: cluster.superuser,
        password: cluster.password,
        database: "postgres",
      },
    }));
    try {
      await Deno.chmod(project.tomlPath, 0o400);
      const before = await project.readToml();
      const run = await runSkillScript(
        "psql_with_ssl_fallback.ts",
        ["-tAc", "select 40 + 2"],
        { env: project.env },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), "42");
      assert.match(run.stderr, /warning: could not save pg_bin_path = .*; using it anyway/);
      assert.equal(await project.readToml(), before);
    } finally {
      await Deno.chmod(project.tomlPath, 0o600);
      await project.remove();
      await cluster.stop();
    }
  },
});
