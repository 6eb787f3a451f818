/**
 * Files the skill writes (lib/config/files.ts and its callers): writers take turns,
 * symlinks are written through, read-only files are left alone, only regular
 * files are read or written (a FIFO or a device node is refused, a dump
 * target too), a symlink swapped in after the check is never followed, and
 * the one silent write (pg_bin_path) never stops a script.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { addToGitignore } from "../../lib/config/gitignore.ts";
import { findToolDir } from "../../lib/tools/client_tools.ts";
import { freePort, startCluster } from "../support/cluster.ts";
import { isOneLineError, makeProject, runSkillScript, tomlWithProfiles } from "../support/run.ts";

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

/** Makes a FIFO or a device node with the system's own tools (a device node needs root). */
async function make(command: "mkfifo" | "mknod", args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test({
  name:
    "dump targets: a regular file or nothing; FIFOs and device nodes are refused before connecting",
  ignore: findToolDir("pg_dump") === undefined,
  async fn(t) {
    const cluster = await startCluster();
    const server = {
      host: cluster.host,
      port: cluster.port,
      user: cluster.superuser,
      password: cluster.password,
      database: "postgres",
    };
    const project = await makeProject(tomlWithProfiles({
      src: server,
      down: { ...server, port: freePort() },
    }));
    const out = await Deno.makeTempDir({ prefix: "pgskill-targets-" });
    const dump = (script: string, file: string, profile: string) =>
      runSkillScript(script, [file], { env: { ...project.env, DB_PROFILE: profile } });
    try {
      // A device node of our own, the same device as /dev/null: replacing it harms nothing.
      await make("mknod", [`${out}/null`, "c", "1", "3"]);
      await make("mkfifo", [`${out}/pipe`]);
      await Deno.symlink(`${out}/null`, `${out}/to-null.dump`);
      await Deno.symlink("pipe", `${out}/to-pipe.sql`);

      await t.step("refused in one line, before connecting, the node left as it was", async () => {
        const before = await names(out);
        const cases: [string, string, RegExp][] = [
          ["schema_dump.ts", "null", /\/null" is a character device, not a regular file; /],
          ["data_dump.ts", "pipe", /\/pipe" is a FIFO \(named pipe\), not a regular file; /],
          [
            "schema_dump.ts",
            "to-null.dump",
            /\/to-null\.dump" leads to ".*\/null", which is a character device, not a regular/,
          ],
          ["data_dump.ts", "to-pipe.sql", /\/to-pipe\.sql" leads to ".*\/pipe", which is a FIFO/],
        ];
        for (const [script, name, pattern] of cases) {
          // The "down" profile has no server: a refusal that waited for the connection would say so.
          const result = await dump(script, `${out}/${name}`, "down");
          assert.equal(result.code, 1, `${name}: ${result.stderr}`);
          assert.match(result.stderr, pattern);
          assert.match(result.stderr, /nothing was read or written; give another path$/m);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          // And with a server there, the same refusal: pg_dump never runs.
          const up = await dump(script, `${out}/${name}`, "src");
          assert.equal(up.code, 1, `${name}: ${up.stderr}`);
          assert.match(up.stderr, pattern);
        }
        assert.ok((await Deno.lstat(`${out}/null`)).isCharDevice, "still a device node");
        assert.ok((await Deno.lstat(`${out}/pipe`)).isFifo, "still a FIFO");
        assert.ok((await Deno.lstat(`${out}/to-null.dump`)).isSymlink);
        assert.deepEqual(await names(out), before, "nothing new, nothing temporary");
      });

      await t.step(
        "a symlink to a regular file is followed; a dangling one is written through",
        async () => {
          await Deno.writeTextFile(`${out}/real.dump`, "old dump");
          await Deno.symlink("real.dump", `${out}/link.dump`);
          let result = await dump("schema_dump.ts", `${out}/link.dump`, "src");
          assert.equal(result.code, 0, result.stderr);
          assert.ok((await Deno.lstat(`${out}/link.dump`)).isSymlink, "the link stays");
          const head = (await Deno.readFile(`${out}/real.dump`)).slice(0, 5);
          assert.equal(new TextDecoder().decode(head), "PGDMP");
          assert.equal((await Deno.stat(`${out}/real.dump`)).mode! & 0o777, 0o600);

          await Deno.symlink("made-by-dump.sql", `${out}/dangling.sql`);
          result = await dump("schema_dump.ts", `${out}/dangling.sql`, "src");
          assert.equal(result.code, 0, result.stderr);
          assert.ok((await Deno.lstat(`${out}/dangling.sql`)).isSymlink, "the link stays");
          assert.match(
            await Deno.readTextFile(`${out}/made-by-dump.sql`),
            /PostgreSQL database dump/,
          );
          assert.deepEqual(
            (await names(out)).filter((n) => n.endsWith(".tmp")),
            [],
            "no temporary file",
          );
        },
      );
    } finally {
      await project.remove();
      await Deno.remove(out, { recursive: true });
      await cluster.stop();
    }
  },
});

Deno.test("rename(2), the last step of every write, replaces a symlink at the name instead of following it", async () => {
  // The premise of lib/config/files.ts: rename(2) does not follow a symlink at its target name. Were
  // it to, a link swapped in after the last check would carry the write out of the folder.
  const dir = await Deno.makeTempDir({ prefix: "pgskill-rename-" });
  try {
    await Deno.mkdir(`${dir}/folder`);
    await Deno.writeTextFile(`${dir}/outside`, "not ours");
    await Deno.symlink(`${dir}/outside`, `${dir}/folder/name`);
    // What is left after replaceFile's last check: its temporary file renamed onto the name.
    await Deno.writeTextFile(`${dir}/folder/.name.tmp`, "ours", { createNew: true });
    await Deno.rename(`${dir}/folder/.name.tmp`, `${dir}/folder/name`);
    assert.equal(await Deno.readTextFile(`${dir}/outside`), "not ours");
    assert.ok((await Deno.lstat(`${dir}/folder/name`)).isFile, "the link itself was replaced");
    assert.equal(await Deno.readTextFile(`${dir}/folder/name`), "ours");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a lock file planted as a symlink or a FIFO is refused, and creates nothing", async () => {
  const project = await makeProject(tomlWithProfiles(PROFILES));
  const lock = join(project.root, ".skills", "postgres", ".postgres.toml.lock");
  const elsewhere = join(project.root, "created-elsewhere");
  try {
    const before = await project.readToml();
    await Deno.symlink(elsewhere, lock);
    let run = await runSkillScript("update_sslmode.ts", ["one", "true"], { env: project.env });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /Cannot lock ".*postgres\.toml" for writing \(".*\.postgres\.toml\.lock" is a symlink; remove it\)/,
    );
    assert.ok(isOneLineError(run.stderr), run.stderr);
    assert.equal(await Deno.lstat(elsewhere).catch(() => undefined), undefined, "nothing created");
    await Deno.remove(lock);
    await make("mkfifo", [lock]);
    run = await runSkillScript("update_sslmode.ts", ["one", "true"], { env: project.env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\.postgres\.toml\.lock" is a FIFO \(named pipe\); remove it/);
    assert.equal(await project.readToml(), before);
  } finally {
    await project.remove();
  }
});

Deno.test("AGENTS.md or .gitignore that is a FIFO: refused in one line, nothing waits on it", async () => {
  const project = await makeProject();
  try {
    await make("mkfifo", [join(project.root, "AGENTS.md")]);
    const run = await runSkillScript("migration_path.ts", [], { env: project.env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /AGENTS\.md" is a FIFO \(named pipe\), not a regular file/);
    assert.ok(isOneLineError(run.stderr), run.stderr);
    await make("mkfifo", [join(project.root, ".gitignore")]);
    await assert.rejects(
      addToGitignore(project.root),
      /\.gitignore" is a FIFO \(named pipe\), not a regular file; the skill reads and writes only/,
    );
    assert.ok((await Deno.lstat(join(project.root, ".gitignore"))).isFifo);
  } finally {
    await project.remove();
  }
});

Deno.test("a postgres.toml that is a FIFO or not UTF-8: refused in one line, never rewritten", async () => {
  const project = await makeProject();
  try {
    await make("mkfifo", [project.tomlPath]);
    const fifo = await runSkillScript("resolve_db_url.ts", [], { env: project.env });
    assert.equal(fifo.code, 1);
    assert.match(fifo.stderr, /postgres\.toml" is a FIFO \(named pipe\), not a regular file/);
    assert.ok(isOneLineError(fifo.stderr), fifo.stderr);
    await Deno.remove(project.tomlPath);
    // "café" in Latin-1 inside a comment: the next edit would write U+FFFD back.
    const latin1 = new Uint8Array([
      ...new TextEncoder().encode("# caf"),
      0xe9,
      ...new TextEncoder().encode(
        '\n[configuration]\nschema_version = 1\n\n[database.local]\nhost = "h"\nport = 1\n' +
          'user = "u"\ndatabase = "d"\nsslmode = false\n',
      ),
    ]);
    await Deno.writeFile(project.tomlPath, latin1, { mode: 0o600 });
    const edit = await runSkillScript("update_sslmode.ts", ["local", "true"], { env: project.env });
    assert.equal(edit.code, 1, edit.stdout);
    assert.match(edit.stderr, /postgres\.toml" is not valid UTF-8: line 1 \(byte offset 5\)/);
    assert.ok(isOneLineError(edit.stderr), edit.stderr);
    assert.deepEqual(await Deno.readFile(project.tomlPath), latin1);
  } finally {
    await project.remove();
  }
});

Deno.test("a pending migration that is not UTF-8 is refused, never sent or rewritten", async () => {
  const project = await makeProject();
  try {
    const folder = join(project.root, "db", "migrations");
    await Deno.mkdir(folder, { recursive: true });
    const file = join(folder, "prerelease.sql");
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("insert into t values ('caf"),
      0xe9,
      ...new TextEncoder().encode("');\n"),
    ]);
    await Deno.writeFile(file, bytes);
    const env = { ...project.env, DB_URL: "postgresql://u@127.0.0.1:1/d" };
    for (
      const [script, args] of [
        ["migration_apply.ts", []],
        ["migration_add.ts", ["create table t2 (id int);"]],
      ] as const
    ) {
      const result = await runSkillScript(script, [...args], { env });
      assert.equal(result.code, 1, `${script}: ${result.stdout}`);
      assert.match(result.stderr, /prerelease\.sql" is not valid UTF-8: line 1/, script);
      assert.ok(isOneLineError(result.stderr), result.stderr);
    }
    // The status report names the file's problem in its row.
    const status = await runSkillScript("migration_status.ts", ["--json"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      JSON.parse(status.stdout).pending[0].error,
      /is not valid UTF-8: line 1 \(byte offset 26\) holds 0xe9 0x27/,
    );
    assert.deepEqual(await Deno.readFile(file), bytes);
  } finally {
    await project.remove();
  }
});
