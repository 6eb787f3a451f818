/**
 * The migration scripts on real folders and a real server: where the folder
 * is, what status reports, what add and release write (the changelog's exact
 * text after each step), every refusal with the folder left byte for byte as
 * it was, and apply: a check that leaves no trace, a failure half way that
 * leaves the database as it was, the post-change verification.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { type Cluster, startCluster } from "../support/cluster.ts";
import { appendEntry, parseChangelog, removeEntries } from "../../lib/migrations/changelog.ts";
import { expectations } from "../../lib/migrations/run.ts";
import { fileInFolder } from "../../lib/migrations/folder.ts";
import { checkMigrationsPath } from "../../lib/migrations/folder_path.ts";
import { readResolved, replaceFile, writeFileAtomic } from "../../lib/config/files.ts";
import { parseStatements } from "../../lib/sql/statements.ts";
import {
  baseEnv,
  isOneLineError,
  makeProject,
  type Project,
  runInTerminal,
  runSkillScript,
  skillCommandLine,
} from "../support/run.ts";
import { shellQuote } from "../../lib/core/text.ts";

/** Today as the scripts date entries: the local calendar day. */
function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Every file, folder and symlink under `root`, with contents and link targets. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const walk = async (folder: string, prefix: string) => {
    for await (const entry of Deno.readDir(folder)) {
      const path = join(folder, entry.name);
      const name = `${prefix}${entry.name}`;
      if (entry.isSymlink) tree[name] = `-> ${await Deno.readLink(path)}`;
      else if (entry.isDirectory) {
        tree[`${name}/`] = "";
        await walk(path, `${name}/`);
      } else tree[name] = await Deno.readTextFile(path);
    }
  };
  await walk(root, "");
  return tree;
}

function scriptIn(project: Project, env: Record<string, string> = {}) {
  return (script: string, args: string[], options: { stdin?: string; env?: object } = {}) =>
    runSkillScript(script, args, {
      cwd: project.root,
      env: { ...project.env, ...env, ...(options.env as Record<string, string> ?? {}) },
      stdin: options.stdin,
    });
}

const CHANGELOG_HEAD = `# Database changelog

Pending changes to the database structure: one dated entry for every change to a prerelease
migration in this folder. Entries are removed when their migration is released.
`;

Deno.test("migration_path: profile, [migrations].path, AGENTS.md, default, from the root", async () => {
  const project = await makeProject();
  const run = scriptIn(project);
  const path = async (args: string[] = []) => {
    const result = await run("migration_path.ts", [...args, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  try {
    let found = await path();
    assert.equal(found.rule, "default");
    assert.equal(found.path, join(project.root, "db/migrations"));
    assert.equal(found.exists, false);

    await Deno.writeTextFile(
      join(project.root, "AGENTS.md"),
      "# Agents\n\nDB_MIGRATIONS_PATH=sql/agents\n",
    );
    found = await path();
    assert.deepEqual([found.rule, found.path], ["AGENTS.md", join(project.root, "sql/agents")]);

    await project.writeToml(
      `[configuration]\nschema_version = 1\n\n[database.app]\nhost = "localhost"\n` +
        `migrations_path = "apps/api/migrations"\n\n[database.other]\nhost = "localhost"\n\n` +
        `[migrations]\npath = "shared/migrations"\n`,
    );
    await Deno.mkdir(join(project.root, "apps/api/migrations"), { recursive: true });
    found = await path(["--profile", "app"]);
    assert.deepEqual(
      [found.rule, found.path, found.exists],
      ["profile", join(project.root, "apps/api/migrations"), true],
    );
    found = await path(["--profile", "other"]);
    assert.deepEqual(
      [found.rule, found.path, found.exists],
      ["[migrations].path", join(project.root, "shared/migrations"), false],
    );
    // DB_PROFILE chooses the profile as everywhere else.
    const viaEnv = await run("migration_path.ts", ["--json"], { env: { DB_PROFILE: "app" } });
    assert.equal(JSON.parse(viaEnv.stdout).rule, "profile");

    const table = await run("migration_path.ts", ["--profile", "app"]);
    assert.match(table.stdout, /rule +\| profile/);
    const typo = await run("migration_path.ts", ["--profile", "ap"]);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /No profile "ap" in ".*postgres\.toml"; profiles: app, other/);
    const bad = await run("migration_path.ts", ["--profile", "Bad-Name"]);
    assert.equal(bad.code, 2);
    assert.ok(isOneLineError(bad.stderr), bad.stderr);
  } finally {
    await project.remove();
  }
});

Deno.test("migration_add: the latest pending file, the changelog, and every refusal", async (t) => {
  const project = await makeProject();
  const run = scriptIn(project);
  const folder = join(project.root, "db/migrations");
  const read = (name: string) => Deno.readTextFile(join(folder, name));
  const day = today();
  const outside = join(project.root, "outside.sql");
  try {
    await t.step(
      "the first change creates the folder, prerelease.sql and CHANGELOG.md",
      async () => {
        const result = await run("migration_add.ts", [
          "create table app.orders (id bigint primary key, customer_id bigint not null)",
          "--message",
          "orders",
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          await read("prerelease.sql"),
          "create table app.orders (id bigint primary key, customer_id bigint not null);\n",
        );
        assert.equal(
          await read("CHANGELOG.md"),
          `${CHANGELOG_HEAD}\n- ${day} \`prerelease.sql\`: orders — create table app.orders\n`,
        );
      },
    );

    await t.step(
      "-f FILE and stdin append to the same file; the changelog keeps its own text",
      async () => {
        // The user's own notes in the changelog stay where they are.
        await Deno.writeTextFile(
          join(folder, "CHANGELOG.md"),
          (await read("CHANGELOG.md")).replace(
            "# Database changelog\n",
            "# Database changelog\n\nOur notes.\n",
          ),
        );
        const sqlFile = join(project.root, "change.sql");
        await Deno.writeTextFile(
          sqlFile,
          "alter table app.orders add column note text; -- why\n" +
            "create index orders_customer_idx on app.orders (customer_id)",
        );
        let result = await run("migration_add.ts", ["-f", sqlFile, "-m", "notes and an index"]);
        assert.equal(result.code, 0, result.stderr);
        result = await run("migration_add.ts", ["-", "--json"], {
          stdin: "comment on table app.orders is 'Orders; one per checkout';\n",
        });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(JSON.parse(result.stdout).objects, ["comment on table app.orders"]);
        assert.equal(
          await read("prerelease.sql"),
          "create table app.orders (id bigint primary key, customer_id bigint not null);\n\n" +
            "alter table app.orders add column note text; -- why\n" +
            "create index orders_customer_idx on app.orders (customer_id);\n\n" +
            "comment on table app.orders is 'Orders; one per checkout';\n",
        );
        assert.equal(
          await read("CHANGELOG.md"),
          CHANGELOG_HEAD.replace("# Database changelog\n", "# Database changelog\n\nOur notes.\n") +
            `\n- ${day} \`prerelease.sql\`: orders — create table app.orders\n` +
            `- ${day} \`prerelease.sql\`: notes and an index — alter table app.orders; ` +
            `add column app.orders.note; create index app.orders_customer_idx\n` +
            `- ${day} \`prerelease.sql\`: comment on table app.orders\n`,
        );
      },
    );

    await t.step(
      "the highest numbered pending file is the latest; a trailing comment cannot swallow the next statement",
      async () => {
        await Deno.writeTextFile(
          join(folder, "2_prerelease.sql"),
          "create table b (id int) -- b\n",
        );
        await Deno.writeTextFile(join(folder, "10_prerelease.sql"), "create table c (id int) -- c");
        const before = await read("prerelease.sql");
        const result = await run("migration_add.ts", ["drop table c"]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          await read("10_prerelease.sql"),
          "create table c (id int) -- c\n;\n\ndrop table c;\n",
        );
        assert.equal(await read("prerelease.sql"), before);
        assert.match(
          await read("CHANGELOG.md"),
          new RegExp(`- ${day} \`10_prerelease\\.sql\`: drop table c\\n$`),
        );
        // Two statements, as written: the comment did not eat the drop.
        const status = await run("migration_status.ts", ["--json"]);
        const pending = JSON.parse(status.stdout).pending;
        assert.deepEqual(pending.map((p: { file: string }) => p.file), [
          "prerelease.sql",
          "2_prerelease.sql",
          "10_prerelease.sql",
        ]);
        assert.equal(pending[2].statements, 2);
        await Deno.remove(join(folder, "10_prerelease.sql"));
        await Deno.remove(join(folder, "2_prerelease.sql"));
      },
    );

    await t.step("an entry is one line, with control characters shown escaped", async () => {
      const result = await run("migration_add.ts", [
        'create table "evil\x1b[2J" (id int)',
        "-m",
        "two\nlines\tand a tab",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const last = (await read("CHANGELOG.md")).split("\n").at(-2);
      assert.equal(
        last,
        `- ${day} \`prerelease.sql\`: two lines and a tab — create table evil\\x1b[2J`,
      );
    });

    await t.step("refusals leave the folder byte for byte as it was", async () => {
      await Deno.writeTextFile(join(folder, "20250101_init_released.sql"), "create table a ();\n");
      await Deno.mkdir(join(folder, "Archive_RELEASED"));
      await Deno.writeTextFile(join(folder, "Archive_RELEASED/prerelease.sql"), "select 1;\n");
      await Deno.writeTextFile(outside, "-- not ours\n");
      const before = await snapshot(folder);
      const outsideBefore = await Deno.readTextFile(outside);
      const refused = async (args: string[], code: number, pattern: RegExp, stdin?: string) => {
        const result = await run("migration_add.ts", args, { stdin });
        assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, pattern);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.deepEqual(await snapshot(folder), before);
      };
      await refused(
        ["create tabel x (id int)"],
        2,
        /does not parse at line 1: syntax error at or near "tabel"/,
      );
      await refused(["select 1;\nselect (;"], 2, /does not parse at line 2/);
      await refused(["-"], 2, /holds no statement/, "-- only a comment\n");
      await refused([], 2, /Give the SQL as an argument/);

      // The latest pending file is a link to a released file, or out of the folder.
      await Deno.symlink("20250101_init_released.sql", join(folder, "1_prerelease.sql"));
      const withLink = await snapshot(folder);
      const linked = await run("migration_add.ts", ["create table d (id int)"]);
      assert.equal(linked.code, 1);
      assert.match(
        linked.stderr,
        /is a symlink to ".*20250101_init_released\.sql", a released item/,
      );
      assert.deepEqual(await snapshot(folder), withLink);
      await Deno.remove(join(folder, "1_prerelease.sql"));
      await Deno.symlink(outside, join(folder, "1_prerelease.sql"));
      const out = await run("migration_add.ts", ["create table d (id int)"]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /outside the migrations folder/);
      assert.equal(await Deno.readTextFile(outside), outsideBefore);
      await Deno.remove(join(folder, "1_prerelease.sql"));

      // The changelog itself is a link out of the folder.
      const changelog = await read("CHANGELOG.md");
      await Deno.rename(join(folder, "CHANGELOG.md"), join(project.root, "CHANGELOG.md"));
      await Deno.symlink(join(project.root, "CHANGELOG.md"), join(folder, "CHANGELOG.md"));
      const beforeLink = await snapshot(folder);
      const log = await run("migration_add.ts", ["create table d (id int)"]);
      assert.equal(log.code, 1);
      assert.match(log.stderr, /CHANGELOG\.md" is a symlink .* outside the migrations folder/);
      assert.deepEqual(await snapshot(folder), beforeLink);
      assert.equal(await Deno.readTextFile(join(project.root, "CHANGELOG.md")), changelog);
      await Deno.remove(join(folder, "CHANGELOG.md"));
      await Deno.rename(join(project.root, "CHANGELOG.md"), join(folder, "CHANGELOG.md"));

      // A pending file that no longer parses is not extended.
      await Deno.writeTextFile(join(folder, "1_prerelease.sql"), "create table (;\n");
      const broken = await snapshot(folder);
      const result = await run("migration_add.ts", ["create table d (id int)"]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /"1_prerelease\.sql" does not parse .*; fix it before adding to it/,
      );
      assert.deepEqual(await snapshot(folder), broken);
      await Deno.remove(join(folder, "1_prerelease.sql"));
      assert.deepEqual(await snapshot(folder), before);
    });

    await t.step("a changelog that cannot be written puts the migration back", async () => {
      await Deno.chmod(join(folder, "CHANGELOG.md"), 0o400);
      const before = await snapshot(folder);
      const result = await run("migration_add.ts", ["create table e (id int)"]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /CHANGELOG\.md" is read-only .*; "prerelease\.sql" was put back as it was/,
      );
      assert.deepEqual(await snapshot(folder), before);
      await Deno.chmod(join(folder, "CHANGELOG.md"), 0o644);
    });

    await t.step("a migrations path that is a file is refused", async () => {
      await project.writeToml(
        `[configuration]\nschema_version = 1\n\n[migrations]\npath = "outside.sql"\n`,
      );
      const result = await run("migration_add.ts", ["create table f (id int)"]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /outside\.sql" \(\[migrations\]\.path\) is not a folder/);
      assert.equal(await Deno.readTextFile(outside), "-- not ours\n");
    });
  } finally {
    await project.remove();
  }
});

Deno.test("migration_status: order, released items, changelog findings, compaction", async () => {
  const project = await makeProject();
  const run = scriptIn(project);
  const folder = join(project.root, "db/migrations");
  const day = today();
  try {
    await Deno.mkdir(join(folder, "Old_Released"), { recursive: true });
    await Deno.writeTextFile(join(folder, "20260101_init_released.sql"), "create table a ();\n");
    await Deno.writeTextFile(join(folder, "notes.txt"), "not a migration\n");
    await Deno.writeTextFile(
      join(folder, "prerelease.sql"),
      "create table orders (id int);\ncreate view v as select 1 as x;\n",
    );
    await Deno.writeTextFile(
      join(folder, "2_prerelease.sql"),
      "alter table orders add column n int;\n",
    );
    await Deno.writeTextFile(join(folder, "11_prerelease.sql"), "create tabel broken;\n");
    // Changed on an earlier day that has its entry.
    await Deno.writeTextFile(join(folder, "1_prerelease.sql"), "create index oi on orders (id);\n");
    const earlier = new Date(2026, 5, 1, 12);
    await Deno.utime(join(folder, "1_prerelease.sql"), earlier, earlier);
    await Deno.writeTextFile(
      join(folder, "CHANGELOG.md"),
      `# Changelog\n\n## 2026-06-01\n\n- \`1_prerelease.sql\`: index on orders\n\n` +
        `## Today\n\n- ${day} \`prerelease.sql\`: orders and v\n` +
        `- a note without a date\n` +
        `- 2025-12-31 \`20260101_init_released.sql\`: first tables\n`,
    );
    const result = await run("migration_status.ts", ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout);
    assert.deepEqual(
      status.pending.map((p: Record<string, unknown>) => [p.file, p.statements, p.objects]),
      [
        ["prerelease.sql", 2, ["create table orders", "create view v"]],
        ["1_prerelease.sql", 1, ["create index oi"]],
        ["2_prerelease.sql", 1, ["alter table orders", "add column orders.n"]],
        ["11_prerelease.sql", 0, []],
      ],
    );
    assert.match(status.pending[3].error, /syntax error at or near "tabel"/);
    assert.equal(status.pending[1].modified, "2026-06-01");
    assert.deepEqual(status.released, [
      { name: "20260101_init_released.sql", kind: "file" },
      { name: "Old_Released", kind: "folder" },
    ]);
    assert.deepEqual(
      status.changelog.map((f: Record<string, unknown>) => [f.problem, f.file, f.line]),
      [
        ["no dated entry", "2_prerelease.sql", null],
        ["no dated entry", "11_prerelease.sql", null],
        ["undated", null, 10],
        ["left after release", "20260101_init_released.sql", 11],
      ],
    );
    // The index belongs to orders: three files change orders, two of them today.
    assert.deepEqual(status.compaction, [
      { object: "orders", date: day, files: ["prerelease.sql", "2_prerelease.sql"] },
    ]);

    const table = await run("migration_status.ts", []);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /== pending \(4\)/);
    assert.match(table.stdout, /== compaction \(1\)\n/);

    // No changelog at all, with pending files: said so first.
    await Deno.remove(join(folder, "CHANGELOG.md"));
    const missing = JSON.parse((await run("migration_status.ts", ["--json"])).stdout);
    assert.match(missing.changelog[0].detail, /CHANGELOG\.md is missing/);
  } finally {
    await project.remove();
  }
});

async function catalogState(cluster: Cluster, database: string): Promise<unknown[]> {
  return await cluster.sql(
    `select c.relname, c.relkind, pg_catalog.obj_description(c.oid, 'pg_class') as comment,
            (select array_agg(a.attname order by a.attnum) from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' order by c.relname`,
    database,
  );
}

Deno.test("migration_apply: a check leaves no trace, failures leave nothing, verification", async (t) => {
  const cluster = await startCluster();
  const project = await makeProject();
  const folder = join(project.root, "db/migrations");
  const database = "shop";
  const run = scriptIn(project, { DB_URL: cluster.url({ database }) });
  const write = (name: string, text: string) => Deno.writeTextFile(join(folder, name), text);
  try {
    await cluster.sql(`create database ${database}`);
    await cluster.sql(
      `create table customers (id int primary key);
       create sequence probe;
       insert into customers values (1), (2);`,
      database,
    );
    await Deno.mkdir(folder, { recursive: true });
    await write(
      "prerelease.sql",
      `create table orders (
         id bigint generated always as identity primary key,
         customer_id int not null references customers
       );
       create index orders_customer_idx on orders (customer_id);
       comment on table orders is 'one per checkout';\n`,
    );
    await write(
      "1_prerelease.sql",
      `alter table orders add column note text, add constraint note_short check (length(note) < 200);
       alter table orders rename column note to remark;
       insert into orders (customer_id) values (1);\n`,
    );
    const initial = await catalogState(cluster, database);

    await t.step("a check runs everything, verifies inside, rolls back: no trace", async () => {
      const filesBefore = await snapshot(folder);
      const result = await run("migration_apply.ts", ["--json"]);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.mode, "check");
      assert.equal(report.committed, false);
      assert.equal(report.statements, 6);
      assert.deepEqual(report.files, ["prerelease.sql", "1_prerelease.sql"]);
      assert.deepEqual(
        report.verified.map((
          v: Record<string, unknown>,
        ) => [v.kind, v.name, v.expected, v.found, v.ok]),
        [
          ["table", "orders", "present", "table", true],
          ["index", "orders_customer_idx", "present", "index", true],
          ["column", "orders.note", "absent", null, true],
          ["constraint", "orders.note_short", "present", "check", true],
          ["column", "orders.remark", "present", "text", true],
        ],
      );
      assert.match(
        result.stderr,
        /Checked 6 statements from prerelease\.sql, 1_prerelease\.sql on database "shop" .*rolled back, nothing was changed/,
      );
      assert.deepEqual(await catalogState(cluster, database), initial);
      assert.deepEqual(await snapshot(folder), filesBefore);
      const table = await run("migration_apply.ts", []);
      assert.match(table.stdout, /kind +\| name +\| expected \| found before the rollback \| ok/);
      assert.match(table.stdout, /column +\| orders\.remark +\| present +\| text +\| true/);
    });

    await t.step(
      "--apply without confirmation changes nothing and names the database",
      async () => {
        const result = await run("migration_apply.ts", ["--apply"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /Not confirmed: Apply 6 statements .* to database "shop" at /);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.deepEqual(await catalogState(cluster, database), initial);
      },
    );

    await t.step(
      "a statement failing half way: the file and line, the database as it was",
      async () => {
        await write(
          "2_prerelease.sql",
          `insert into customers values (3);\n\nalter table no_such_table add column x int;\n`,
        );
        for (const [args, env] of [[[], {}], [["--apply"], { DB_CONFIRM: "YES" }]] as const) {
          const result = await run("migration_apply.ts", [...args], { env });
          assert.equal(result.code, 1, result.stderr);
          assert.match(
            result.stderr,
            /2_prerelease\.sql line 3 \(ALTER TABLE\) failed: .*relation "no_such_table" does not exist.*the transaction was rolled back: the database is as it was/,
          );
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.deepEqual(await catalogState(cluster, database), initial);
          assert.deepEqual(
            await cluster.sql("select count(*)::int as n from customers", database),
            [{ n: 2 }],
          );
        }
        await Deno.remove(join(folder, "2_prerelease.sql"));
      },
    );

    await t.step("--apply waits at most 2 s for a lock, then rolls back", async () => {
      // A long transaction reading customers: ALTER TABLE would queue behind it.
      const reader = await cluster.session(database);
      try {
        await reader.simpleQuery("begin; select count(*) from customers");
        await write("2_prerelease.sql", "alter table customers add column vip boolean;\n");
        const result = await run("migration_apply.ts", ["--apply"], { env: { DB_CONFIRM: "YES" } });
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          /2_prerelease\.sql line 1 \(ALTER TABLE\) failed: .*lock timeout \(2000 ms\).*locks_overview\.ts shows which.*just before the run, 1 other session held a lock on \w+, the oldest in its transaction for \d+ s\).*the database is as it was/,
        );
        assert.deepEqual(await catalogState(cluster, database), initial);
      } finally {
        await reader.simpleQuery("rollback").catch(() => {});
        await reader.close();
        await Deno.remove(join(folder, "2_prerelease.sql")).catch(() => {});
      }
    });

    await t.step(
      "what cannot run in the transaction is refused before anything is sent",
      async () => {
        const probe = async () =>
          (await cluster.sql("select last_value, is_called from probe", database))[0];
        const before = await probe();
        for (
          const [text, pattern] of [
            [
              "create database another;",
              /line 2 \(CREATE DATABASE\) cannot run inside a transaction block, and is no migration step/,
            ],
            [
              "alter system set work_mem = '1MB';",
              /line 2 \(ALTER SYSTEM\) cannot run inside a transaction block/,
            ],
            ["commit;", /line 2 \(COMMIT\) cannot be applied/],
          ] as const
        ) {
          // nextval is never rolled back: had anything been sent, the sequence would have moved.
          await write("2_prerelease.sql", `select nextval('probe');\n${text}\n`);
          const result = await run("migration_apply.ts", ["--apply"], {
            env: { DB_CONFIRM: "YES" },
          });
          assert.equal(result.code, 1, text);
          assert.match(result.stderr, pattern);
          assert.match(result.stderr, /nothing was run$/m);
          assert.deepEqual(await probe(), before);
          assert.deepEqual(await catalogState(cluster, database), initial);
        }
        await write("2_prerelease.sql", "create table (;\n");
        const broken = await run("migration_apply.ts", []);
        assert.equal(broken.code, 1);
        assert.match(broken.stderr, /"2_prerelease\.sql" cannot be applied: .*syntax error/);
        await Deno.remove(join(folder, "2_prerelease.sql"));
      },
    );

    await t.step("on a terminal the prompt names the database; only YES applies", async () => {
      const command = `cd ${shellQuote(project.root)} && ` +
        await skillCommandLine("migration_apply.ts", ["--apply"]);
      const terminalEnv = { ...baseEnv(), ...project.env, DB_URL: cluster.url({ database }) };
      const refused = await runInTerminal(command, "yes\n", terminalEnv);
      assert.equal(refused.code, 1, refused.output);
      assert.match(
        refused.output,
        /Apply 6 statements from prerelease\.sql, 1_prerelease\.sql to database "shop" at .*\?[\s\S]*Type YES to confirm/,
      );
      assert.match(refused.output, /Not confirmed \(the answer was not YES\); nothing was done/);
      assert.deepEqual(await catalogState(cluster, database), initial);
      const applied = await runInTerminal(command, "YES\n", terminalEnv);
      assert.equal(applied.code, 0, applied.output);
      assert.match(applied.output, /Applied 6 statements .* committed\./);
      assert.deepEqual(
        await cluster.sql("select remark from orders", database),
        [{ remark: null }],
      );
      // Undone by hand, for the next step to apply it again.
      await cluster.sql("drop table orders", database);
      assert.deepEqual(await catalogState(cluster, database), initial);
    });

    await t.step("--apply with DB_CONFIRM=YES commits once and confirms each object", async () => {
      const result = await run("migration_apply.ts", ["--apply", "--json"], {
        env: { DB_CONFIRM: "YES" },
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.committed, true);
      assert.ok(report.verified.every((v: { ok: boolean }) => v.ok));
      assert.deepEqual(await cluster.sql("select id, customer_id, remark from orders", database), [
        { id: 1, customer_id: 1, remark: null },
      ]);
      assert.deepEqual(
        await cluster.sql(
          "select obj_description('orders'::regclass, 'pg_class') as comment",
          database,
        ),
        [{ comment: "one per checkout" }],
      );
      // Applying again: the catalog shows the files applied, said before anything runs.
      const again = await run("migration_apply.ts", []);
      assert.equal(again.code, 1);
      assert.match(
        again.stderr,
        /already holds "prerelease\.sql" \(applied: table orders present.*nothing was run: release what is applied/,
      );
      assert.ok(isOneLineError(again.stderr), again.stderr);
      const status = await run("migration_status.ts", ["--applied", "--json"]);
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(
        JSON.parse(status.stdout).applied.map((a: { file: string; state: string }) => [
          a.file,
          a.state,
        ]),
        [["prerelease.sql", "applied"], ["1_prerelease.sql", "applied"]],
      );
    });

    await t.step("an object not as the files leave it: exit 1, named", async () => {
      await Deno.remove(join(folder, "prerelease.sql"));
      await write(
        "1_prerelease.sql",
        "create temporary table scratch (id int) on commit drop;\ndrop index orders_customer_idx;\n",
      );
      const result = await run("migration_apply.ts", ["--apply"], { env: { DB_CONFIRM: "YES" } });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /table +\| scratch +\| present +\| +\| false/);
      assert.match(result.stdout, /index +\| orders_customer_idx +\| absent +\| +\| true/);
      assert.match(
        result.stderr,
        /1 object is not as the files leave it: table scratch \(present expected\)/,
      );
    });

    await t.step("routines are confirmed by their signature; other overloads stay", async () => {
      await cluster.sql(
        `create function f(int) returns int language sql as 'select 1';
         create function f(text) returns int language sql as 'select 2';`,
        database,
      );
      await write(
        "1_prerelease.sql",
        `drop function f(text);
         create function g(a int, out b text, variadic c int[]) returns text language sql
           as 'select ''x''';
         alter function g(int, int[]) rename to g2;
         grant execute on all functions in schema public to public;
         select 1 as one into one_row;\n`,
      );
      const result = await run("migration_apply.ts", ["--json"]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        JSON.parse(result.stdout).verified.map((v: Record<string, unknown>) => [
          v.name,
          v.expected,
          v.found,
          v.ok,
        ]),
        [
          ["f(text)", "absent", null, true],
          ["g(int4, int4[])", "absent", null, true],
          ["g2(int4, int4[])", "present", "g2(integer,integer[])", true],
          ["one_row", "present", "table", true],
        ],
      );
      const status = JSON.parse((await run("migration_status.ts", ["--json"])).stdout);
      assert.deepEqual(status.pending[0].objects, [
        "drop function f(text)",
        "create function g(int4, int4[])",
        "rename function g(int4, int4[]) to g2(int4, int4[])",
        "change privileges on all functions in schema public",
        "create table one_row",
      ]);
    });

    await t.step("nothing pending: nothing to check", async () => {
      await Deno.remove(join(folder, "1_prerelease.sql"));
      const result = await run("migration_apply.ts", []);
      assert.equal(result.code, 0);
      assert.match(result.stderr, /No pending migrations in ".*db\/migrations"; nothing to check/);
    });
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("migration_release: one dated released file, entries removed, nothing released touched", async (t) => {
  const project = await makeProject();
  const run = scriptIn(project);
  const folder = join(project.root, "db/migrations");
  const read = (name: string) => Deno.readTextFile(join(folder, name));
  const day = today();
  const stamp = day.replaceAll("-", "");
  try {
    await Deno.mkdir(join(folder, "Archive_RELEASED"), { recursive: true });
    await Deno.writeTextFile(join(folder, "Archive_RELEASED/prerelease.sql"), "select 1;\n");
    await Deno.writeTextFile(join(folder, "20250101_init_released.sql"), "create table a ();\n");
    for (
      const [sql, message] of [
        ["create table orders (id int primary key)", "add orders"],
        ["create index orders_id_idx on orders (id)", "index orders"],
      ]
    ) {
      const result = await run("migration_add.ts", [sql, "--message", message]);
      assert.equal(result.code, 0, result.stderr);
    }
    await Deno.writeTextFile(
      join(folder, "1_prerelease.sql"),
      "alter table orders add column n int;\n",
    );
    await Deno.writeTextFile(
      join(folder, "CHANGELOG.md"),
      (await read("CHANGELOG.md")) +
        `- ${day} \`1_prerelease.sql\`: column n\n  continued on a second line\n` +
        `- a note the team keeps\n`,
    );
    const released = [
      "20250101_init_released.sql",
      "Archive_RELEASED/",
      "Archive_RELEASED/prerelease.sql",
    ];
    const untouched = async () => {
      const tree = await snapshot(folder);
      return Object.fromEntries(released.map((name) => [name, tree[name]]));
    };
    const releasedBefore = await untouched();

    await t.step("without confirmation nothing changes", async () => {
      const before = await snapshot(folder);
      const result = await run("migration_release.ts", ["--name", "Add orders!"]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `Not confirmed: Release prerelease\\.sql, 1_prerelease\\.sql \\(3 statements\\) as ` +
            `db/migrations/${stamp}_add_orders_released\\.sql, deleting them and 3 changelog entries`,
        ),
      );
      assert.deepEqual(await snapshot(folder), before);
    });

    await t.step("a pending file that does not parse, or a taken name, is refused", async () => {
      await Deno.writeTextFile(join(folder, "2_prerelease.sql"), "alter tabel x;\n");
      let before = await snapshot(folder);
      let result = await run("migration_release.ts", [], { env: { DB_CONFIRM: "YES" } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /"2_prerelease\.sql" cannot be released: .*syntax error/);
      assert.deepEqual(await snapshot(folder), before);
      await Deno.remove(join(folder, "2_prerelease.sql"));

      await Deno.writeTextFile(join(folder, `${stamp}_taken_released.sql`), "select 2;\n");
      before = await snapshot(folder);
      result = await run("migration_release.ts", ["--name", "taken"], {
        env: { DB_CONFIRM: "YES" },
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /_taken_released\.sql" already exists; give another --name/);
      assert.deepEqual(await snapshot(folder), before);
      await Deno.remove(join(folder, `${stamp}_taken_released.sql`));

      result = await run("migration_release.ts", ["--name", "!!!"], { env: { DB_CONFIRM: "YES" } });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /The name "!!!" has no letter or digit/);
    });

    await t.step("confirmed: the SQL in order, pending files and their entries gone", async () => {
      const prerelease = await read("prerelease.sql");
      const result = await run("migration_release.ts", ["--json"], { env: { DB_CONFIRM: "YES" } });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      // Named after the first entry's message.
      const name = `${stamp}_add_orders_released.sql`;
      assert.deepEqual(report, {
        file: join(folder, name),
        released: ["prerelease.sql", "1_prerelease.sql"],
        statements: 3,
        changelog_entries_removed: 3,
      });
      assert.equal(
        await read(name),
        `-- Released ${day} from prerelease.sql, 1_prerelease.sql.\n\n` +
          `-- prerelease.sql\n${prerelease}\n` +
          `-- 1_prerelease.sql\nalter table orders add column n int;\n`,
      );
      const tree = await snapshot(folder);
      assert.equal(tree["prerelease.sql"], undefined);
      assert.equal(tree["1_prerelease.sql"], undefined);
      assert.equal(await read("CHANGELOG.md"), `${CHANGELOG_HEAD}\n- a note the team keeps\n`);
      assert.deepEqual(await untouched(), releasedBefore);

      const status = JSON.parse((await run("migration_status.ts", ["--json"])).stdout);
      assert.deepEqual(status.pending, []);
      assert.deepEqual(
        status.released.map((r: { name: string }) => r.name),
        [
          name,
          "20250101_init_released.sql",
          "Archive_RELEASED",
        ].sort((a, b) => a.localeCompare(b)),
      );
      assert.deepEqual(status.changelog.map((f: { problem: string }) => f.problem), ["undated"]);
    });

    await t.step("nothing pending: nothing to release", async () => {
      const result = await run("migration_release.ts", [], { env: { DB_CONFIRM: "YES" } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /No pending migrations in ".*"; nothing to release/);
      // The next change starts a new prerelease.sql beside the released file.
      const added = await run("migration_add.ts", ["drop index orders_id_idx"]);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(await read("prerelease.sql"), "drop index orders_id_idx;\n");
      assert.deepEqual(await untouched(), releasedBefore);
    });
  } finally {
    await project.remove();
  }
});

Deno.test("what a migration leaves behind follows renames, moves and drops", async () => {
  const statements = (await parseStatements(`
    create table "Sales"."Orders" (id int);
    create trigger touch before insert on "Sales"."Orders" for each row execute function f();
    alter table "Sales"."Orders" add column note text;
    create policy own on "Sales"."Orders" using (true);
    alter table "Sales"."Orders" rename to "Order";
    alter table "Sales"."Order" set schema public;
    create table gone (id int);
    alter table gone add constraint gone_pk primary key (id);
    drop table gone;
    create schema tmp;
    create view tmp.v as select 1;
    drop schema tmp cascade;
    drop function if exists g(int);
    create function g(int, text) returns int language sql as 'select 1';
  `)).map((statement) => ({ file: "prerelease.sql", statement, alone: false }));
  assert.deepEqual(
    expectations(statements).map((e) => [e.kind, e.name, e.expected, e.schema, e.object, e.item]),
    [
      ["table", "Sales.Orders", "absent", "Sales", "Orders", null],
      ["table", "Sales.Order", "absent", "Sales", "Order", null],
      ["table", "public.Order", "present", "public", "Order", null],
      ["trigger", "public.Order.touch", "present", "public", "Order", "touch"],
      ["column", "public.Order.note", "present", "public", "Order", "note"],
      ["policy", "public.Order.own", "present", "public", "Order", "own"],
      ["table", "gone", "absent", null, "gone", null],
      ["constraint", "gone.gone_pk", "absent", null, "gone", "gone_pk"],
      ["schema", "tmp", "absent", null, "tmp", null],
      ["view", "tmp.v", "absent", "tmp", "v", null],
      ["function", "g(int4)", "absent", null, "g", '"pg_catalog"."int4"'],
      ["function", "g(int4, text)", "present", null, "g", '"pg_catalog"."int4", "text"'],
    ],
  );
});

Deno.test("migration_add run six times at once: every statement and every entry lands", async () => {
  const project = await makeProject();
  const run = scriptIn(project);
  const folder = join(project.root, "db/migrations");
  try {
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) =>
        run("migration_add.ts", [`create table t${i} (id int)`, "-m", `table ${i}`])
      ),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const sql = await Deno.readTextFile(join(folder, "prerelease.sql"));
    const changelog = await Deno.readTextFile(join(folder, "CHANGELOG.md"));
    for (let i = 1; i <= 6; i++) {
      assert.equal(sql.split(`create table t${i} (id int);`).length, 2, `t${i} once in the file`);
      assert.match(changelog, new RegExp(`: table ${i} — create table t${i}\\n`));
    }
    assert.deepEqual(Object.keys(await snapshot(folder)).sort(), [
      "CHANGELOG.md",
      "prerelease.sql",
    ]);
  } finally {
    await project.remove();
  }
});

Deno.test("a changelog written with CRLF is read, extended and trimmed the same way", () => {
  const text = "# Changes\r\n\r\n## 2026-11-20\r\n\r\n- `prerelease.sql`: orders\r\n" +
    "  more words\r\n\r\n## 2026-11-25\r\n\r\n- `1_prerelease.sql`: index\r\n";
  const entries = parseChangelog(text);
  assert.deepEqual(
    entries.map((e) => [e.line, e.endLine, e.date, e.files]),
    [[5, 6, "2026-11-20", ["prerelease.sql"]], [10, 10, "2026-11-25", ["1_prerelease.sql"]]],
  );
  const appended = appendEntry(text, "- 2026-11-25 `1_prerelease.sql`: more");
  assert.equal(appended, `${text}- 2026-11-25 \`1_prerelease.sql\`: more\r\n`);
  assert.equal(
    removeEntries(
      appended,
      parseChangelog(appended).filter((e) => e.files[0] === "prerelease.sql"),
    ),
    "# Changes\r\n\r\n## 2026-11-25\r\n\r\n- `1_prerelease.sql`: index\r\n" +
      "- 2026-11-25 `1_prerelease.sql`: more\r\n",
  );
});

Deno.test("a migrations folder outside the project is refused, naming the rule that chose it", async (t) => {
  const project = await makeProject();
  const outside = await Deno.makeTempDir({ prefix: "pgskill-elsewhere-" });
  const run = scriptIn(project);
  const agents = join(project.root, "AGENTS.md");
  const toml = (body: string) =>
    project.writeToml(
      `[configuration]\nschema_version = 1\n\n[database.app]\nhost = "localhost"\n${body}`,
    );
  /** Every script refuses in one line naming the rule; nothing appears outside. */
  const refusedBy = async (rule: RegExp, scripts: string[][]) => {
    for (const [script, ...args] of scripts) {
      const result = await run(script, [...args, "--profile", "app"], {
        // migration_apply and migration_release would go on to a database and a prompt.
        env: { DB_CONFIRM: "YES", DB_URL: "postgresql://u@127.0.0.1:1/none" },
      });
      assert.equal(result.code, 1, `${script}: ${result.stderr}`);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, rule, script);
      assert.match(result.stderr, /the skill reads and writes migrations only inside the project/);
      assert.deepEqual(await snapshot(outside), {}, `${script} left nothing outside`);
    }
  };
  const ALL = [
    ["migration_add.ts", "create table x (id int)"],
    ["migration_path.ts"],
    ["migration_status.ts"],
    ["migration_apply.ts"],
    ["migration_release.ts"],
  ];
  try {
    await toml("");
    await t.step("DB_MIGRATIONS_PATH=../.. in AGENTS.md", async () => {
      await Deno.writeTextFile(agents, `DB_MIGRATIONS_PATH=../${basename(outside)}\n`);
      await refusedBy(
        /The migrations folder "\.\.\/pgskill-elsewhere-\w+" \(chosen by DB_MIGRATIONS_PATH in AGENTS\.md\) lies outside the project ".*"; .*: point DB_MIGRATIONS_PATH in AGENTS\.md at a folder inside the project$/m,
        ALL,
      );
      // `.` is the project itself, not a folder inside it.
      await Deno.writeTextFile(agents, "DB_MIGRATIONS_PATH=.\n");
      await refusedBy(/\(chosen by DB_MIGRATIONS_PATH in AGENTS\.md\) is the project root/, [
        ALL[0],
      ]);
      await Deno.remove(agents);
    });
    await t.step("an absolute [migrations].path", async () => {
      await toml(`\n[migrations]\npath = ${JSON.stringify(outside)}\n`);
      await refusedBy(/\(chosen by \[migrations\]\.path in postgres\.toml\) lies outside/, ALL);
    });
    await t.step("a profile's migrations_path", async () => {
      await toml(`migrations_path = "db/../../${basename(outside)}/m"\n`);
      await refusedBy(
        /\(chosen by migrations_path of \[database\.app\] in postgres\.toml\) lies outside/,
        ALL,
      );
      await toml("");
    });
    await t.step("db/migrations, or the db above it, a symlink out of the project", async () => {
      await Deno.mkdir(join(project.root, "db"));
      await Deno.symlink(outside, join(project.root, "db/migrations"));
      const out = new RegExp(
        `\\(chosen by the default db/migrations\\) resolves to "${outside}", outside the ` +
          `project .*: make db/migrations a folder inside the project, or set \\[migrations\\]\\.path`,
      );
      await refusedBy(out, ALL);
      await Deno.remove(join(project.root, "db"), { recursive: true });
      // db/migrations does not exist yet, but mkdir would make it through the linked db.
      await Deno.symlink(outside, join(project.root, "db"));
      await refusedBy(new RegExp(`resolves to "${outside}/migrations", outside the project`), ALL);
      await Deno.remove(join(project.root, "db"));
    });
    await t.step("a symlink that stays inside the project is followed", async () => {
      await Deno.mkdir(join(project.root, "sql/real"), { recursive: true });
      await Deno.mkdir(join(project.root, "db"));
      await Deno.symlink("../sql/real", join(project.root, "db/migrations"));
      const added = await run("migration_add.ts", ["create table y (id int)", "--profile", "app"]);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(
        await Deno.readTextFile(join(project.root, "sql/real/prerelease.sql")),
        "create table y (id int);\n",
      );
      const path = JSON.parse((await run("migration_path.ts", ["--json"])).stdout);
      assert.deepEqual([path.rule, path.configured, path.path], [
        "default",
        "db/migrations",
        join(project.root, "sql/real"),
      ]);
    });
    await t.step("bootstrap's check of a typed path sees through symlinks too", () => {
      Deno.symlinkSync(outside, join(project.root, "linked"));
      assert.throws(
        () => checkMigrationsPath(project.root, "linked/migrations"),
        new RegExp(
          `"linked/migrations" is not inside the project root .* \\(it resolves to "${outside}/migrations"\\)`,
        ),
      );
      assert.throws(() => checkMigrationsPath(project.root, outside), /is not inside/);
      assert.equal(checkMigrationsPath(project.root, "db/migrations"), "db/migrations");
    });
  } finally {
    await project.remove();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a pending file that leads to a released one, or out of the folder, is refused by every script", async (t) => {
  const project = await makeProject();
  const run = scriptIn(project, {
    DB_CONFIRM: "YES",
    // Refused before any connection: nothing listens here.
    DB_URL: "postgresql://u@127.0.0.1:1/none",
  });
  const folder = join(project.root, "db/migrations");
  const secret = join(project.root, "secret.sql");
  const SCRIPTS = [
    ["migration_status.ts"],
    ["migration_apply.ts"],
    ["migration_apply.ts", "--apply"],
    ["migration_release.ts"],
    ["migration_add.ts", "create table z (id int)"],
  ];
  const refused = async (pattern: RegExp) => {
    const before = await snapshot(project.root);
    for (const [script, ...args] of SCRIPTS) {
      const result = await run(script, args);
      assert.equal(result.code, 1, `${script} ${args.join(" ")}: ${result.stderr}`);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, pattern, script);
      assert.deepEqual(await snapshot(project.root), before, `${script} changed nothing`);
    }
  };
  try {
    await Deno.mkdir(join(folder, "Archive_RELEASED"), { recursive: true });
    await Deno.writeTextFile(join(folder, "20250101_init_released.sql"), "create table a ();\n");
    await Deno.writeTextFile(join(folder, "Archive_RELEASED/old.sql"), "create table b ();\n");
    await Deno.writeTextFile(secret, "create table secret_stuff ();\n");
    await Deno.writeTextFile(join(folder, "prerelease.sql"), "create table p (id int);\n");

    await t.step("a symlink to a released file", async () => {
      await Deno.symlink("20250101_init_released.sql", join(folder, "1_prerelease.sql"));
      await refused(
        /"[^"]*\/1_prerelease\.sql" is a symlink to "[^"]*\/20250101_init_released\.sql", a released item .*nor takes them for pending migrations; nothing was changed$/m,
      );
      await Deno.remove(join(folder, "1_prerelease.sql"));
    });
    await t.step("a symlink into a released folder", async () => {
      await Deno.symlink("Archive_RELEASED/old.sql", join(folder, "1_prerelease.sql"));
      await refused(
        /1_prerelease\.sql" is a symlink to ".*Archive_RELEASED\/old\.sql", a released item/,
      );
      await Deno.remove(join(folder, "1_prerelease.sql"));
    });
    await t.step("a hard link to a released file", async () => {
      await Deno.link(join(folder, "20250101_init_released.sql"), join(folder, "1_prerelease.sql"));
      await refused(
        /1_prerelease\.sql" is a hard link to ".*20250101_init_released\.sql", a released item .*make it a file of its own/,
      );
      await Deno.remove(join(folder, "1_prerelease.sql"));
    });
    await t.step("a symlink out of the folder is not read either", async () => {
      await Deno.symlink("../../secret.sql", join(folder, "1_prerelease.sql"));
      await refused(
        /1_prerelease\.sql" is a symlink to ".*\/secret\.sql", outside the migrations folder/,
      );
      await Deno.remove(join(folder, "1_prerelease.sql"));
    });
    await t.step("a CHANGELOG.md linking out of the folder is not read by status", async () => {
      await Deno.symlink("../../secret.sql", join(folder, "CHANGELOG.md"));
      const result = await run("migration_status.ts", []);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /CHANGELOG\.md" is a symlink to ".*secret\.sql", outside the migrations folder/,
      );
      assert.doesNotMatch(result.stdout, /secret_stuff/);
      await Deno.remove(join(folder, "CHANGELOG.md"));
    });
    await t.step("a symlink to a file of the folder's own is fine", async () => {
      await Deno.mkdir(join(folder, "drafts"));
      await Deno.writeTextFile(join(folder, "drafts/next.sql"), "create table n (id int);\n");
      await Deno.symlink("drafts/next.sql", join(folder, "1_prerelease.sql"));
      const status = await run("migration_status.ts", ["--json"]);
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(
        JSON.parse(status.stdout).pending.map((p: { file: string; objects: string[] }) => [
          p.file,
          p.objects,
        ]),
        [["prerelease.sql", ["create table p"]], ["1_prerelease.sql", ["create table n"]]],
      );
    });
  } finally {
    await project.remove();
  }
});

Deno.test("a symlink swapped in for prerelease.sql after the check is never written through", async (t) => {
  const project = await makeProject();
  const folder = join(project.root, "db/migrations");
  const outside = join(project.root, "outside.sql");
  const pending = join(folder, "prerelease.sql");
  /** Puts a link to the outside file at `pending` in one step (rename), as an attacker would. */
  const swapIn = async () => {
    const link = join(folder, `.swap-${crypto.randomUUID()}`);
    await Deno.symlink(outside, link);
    await Deno.rename(link, pending);
  };
  try {
    await Deno.mkdir(folder, { recursive: true });
    await Deno.writeTextFile(outside, "-- not ours\n");

    await t.step("between the check and the write, deterministically", async () => {
      await Deno.writeTextFile(pending, "create table p (id int);\n");
      // migration_add's two steps: resolve the file in the folder (checked), then write it.
      let checked = await fileInFolder(folder, "prerelease.sql");
      await swapIn();
      await assert.rejects(
        writeFileAtomic(checked, "drop table p;\n"),
        /prerelease\.sql" is a symlink, not a regular file; .*nothing was read or written/,
      );
      await assert.rejects(readResolved(checked), /prerelease\.sql" is a symlink, not a regular/);
      assert.equal(await Deno.readTextFile(outside), "-- not ours\n");
      // Later still: swapped in while the new text is written, the last moment before the rename.
      await Deno.remove(pending);
      await Deno.writeTextFile(pending, "create table p (id int);\n");
      checked = await fileInFolder(folder, "prerelease.sql");
      await assert.rejects(
        replaceFile(checked, async ({ file }) => {
          await file.write(new TextEncoder().encode("drop table p;\n"));
          await swapIn();
        }),
        /prerelease\.sql" changed while it was being written \(it is now a symlink\); nothing was written/,
      );
      assert.equal(await Deno.readTextFile(outside), "-- not ours\n");
      assert.deepEqual(
        Object.keys(await snapshot(folder)),
        ["prerelease.sql"],
        "no temporary file",
      );
      await Deno.remove(pending);
    });

    await t.step("while migration_add.ts runs, swapped back and forth", async () => {
      let swapping = true;
      let swaps = 0;
      const swapper = (async () => {
        while (swapping) {
          const file = join(folder, `.swap-${crypto.randomUUID()}`);
          await Deno.writeTextFile(file, "-- ours\n");
          await Deno.rename(file, pending);
          await swapIn();
          swaps++;
        }
      })();
      const outcomes = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const result = await runSkillScript("migration_add.ts", [`create table r${i} (id int)`], {
          env: project.env,
        });
        assert.ok(result.code === 0 || isOneLineError(result.stderr), result.stderr);
        outcomes.add(result.code === 0 ? "written" : result.stderr.replace(/".*?"/g, "…").trim());
      }
      swapping = false;
      await swapper;
      assert.ok(swaps > 8, `the link was swapped ${swaps} times`);
      assert.equal(await Deno.readTextFile(outside), "-- not ours\n", [...outcomes].join("\n"));
      const left = Object.keys(await snapshot(folder)).filter((n) => n.endsWith(".tmp"));
      assert.deepEqual(left, [], "no temporary file left");
    });
  } finally {
    await project.remove();
  }
});
