/**
 * Foreign tables that run a program when read (file_fdw's `program` option),
 * on real servers: the security test's reproduction (a superuser makes one,
 * readonly_role.ts used to grant the reader SELECT on it, and a read-only
 * run_sql.ts ran the shell command), through views and parent tables too,
 * with and without a reader role; the reader's grants leaving them out and
 * the check flagging a grant made later; ordinary tables and foreign tables
 * still read. A marker file the program would write must never appear,
 * until the test's own superuser reads the table at the end (the proof that
 * the program does run when read).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import { isOneLineError, makeProject, runSkillScript, tomlWithProfiles } from "../support/run.ts";
import { parseStatements } from "../../lib/sql/statements.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("the parser names the relations a statement reads, and a search_path change", async () => {
  const [select, set, config, plain] = await parseStatements(
    `select * from shop.ft join "Odd"."Name" using (x), v;
     set search_path to shop;
     select set_config('search_path', 'shop', true);
     select set_config('work_mem', '1MB', true)`,
  );
  assert.deepEqual(select.relations, [
    { schema: "shop", name: "ft" },
    { schema: "Odd", name: "Name" },
    { name: "v" },
  ]);
  assert.equal(select.changesSearchPath, false);
  assert.equal(set.changesSearchPath, true);
  assert.equal(config.changesSearchPath, true);
  assert.equal(plain.changesSearchPath, false);
  const [explained] = await parseStatements("explain select * from shop.v");
  assert.deepEqual(explained.relations, [{ schema: "shop", name: "v" }]);
});

for (const major of testMajors()) {
  Deno.test(`a read that runs a program is refused (PostgreSQL ${major})`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
    });
    const project = await makeProject();
    // The server runs as another OS user when we are root: the folder must be its to write.
    const attack = await Deno.makeTempDir({ prefix: "pgskill-attack-" });
    await Deno.chmod(attack, 0o777);
    const marker = join(attack, "fdw_ran");
    const dataFile = join(attack, "plain.txt");
    await Deno.writeTextFile(dataFile, "from a file\n");
    await Deno.chmod(dataFile, 0o644);
    try {
      const [{ available }] = await cluster.sql(
        "select exists (select from pg_available_extensions where name = 'file_fdw') as available",
      );
      if (!available) {
        console.log(`skipped on PostgreSQL ${major}: its binaries lack file_fdw (contrib)`);
        return;
      }
      const program = (what: string) => `'id > ${marker}; echo ${what}'`;
      await cluster.sql(`
        revoke create on schema public from public;
        create role owner login createrole password 'owner-pw';
        -- What PostgreSQL 16 and later require of a CREATEROLE role that grants them.
        grant pg_read_all_stats, pg_stat_scan_tables to owner with admin option;
        create schema shop authorization owner;
        create extension file_fdw;
        create server fs foreign data wrapper file_fdw;
        grant usage on foreign server fs to owner;
        create foreign table shop.ft (x text) server fs options (program ${program("hi")});
        alter foreign table shop.ft owner to owner;
        create foreign table shop.plain (x text) server fs options (filename '${dataFile}');
        alter foreign table shop.plain owner to owner;
        create table shop.parent (x text);
        create foreign table shop.child () inherits (shop.parent)
          server fs options (program ${program("child")});
        alter table shop.parent owner to owner;
        alter foreign table shop.child owner to owner;
        set role owner;
        create table shop.t (x text);
        insert into shop.t values ('row');
        create view shop.v as select x from shop.ft;
        create view shop.vv as select x from shop.v;
        create view shop.tv as select x from shop.t;
        reset role;`);
      await project.writeToml(tomlWithProfiles({
        local: {
          host: cluster.host,
          port: cluster.port,
          user: "owner",
          password: "owner-pw",
          database: "postgres",
        },
      }));
      const env = { ...project.env, DB_CONFIRM: "YES" };
      const run = (script: string, args: string[], extra: Record<string, string> = {}) =>
        runSkillScript(script, args, { env: { ...env, ...extra } });
      const noMarker = async () => assert.equal(await exists(marker), false, "the program ran");

      await t.step(
        "readonly_role.ts leaves them out of the reader's grants and says why",
        async () => {
          const made = await run("readonly_role.ts", ["--save", "--json"]);
          assert.equal(made.code, 0, made.stderr);
          const report = JSON.parse(made.stdout);
          const leftOut = (report.left_out as string[]).map((line) => line.split(":")[0]);
          assert.deepEqual(leftOut.sort(), [
            "shop.child",
            "shop.ft",
            "shop.parent",
            "shop.v",
            "shop.vv",
          ]);
          assert.match(
            report.left_out.find((l: string) => l.startsWith("shop.v:")),
            /reads foreign table shop\.ft, whose option program runs a program on the server/,
          );
          assert.match(report.later_foreign_tables, /program option too/);
          const [grants] = await cluster.sql(`
          select array(select c.relname::text from pg_class c
                       where c.relnamespace = 'shop'::regnamespace
                         and has_table_privilege('owner_reader', c.oid, 'select')
                       order by 1) as readable`);
          assert.deepEqual(grants.readable, ["plain", "t", "tv"]);
          await noMarker();
        },
      );

      await t.step(
        "the reproduction: run_sql.ts as the reader refuses it, nothing runs",
        async () => {
          const refused = await run("run_sql.ts", ["--json", "select * from shop.ft"]);
          assert.equal(refused.code, 2, refused.stderr);
          assert.ok(isOneLineError(refused.stderr), refused.stderr);
          assert.match(
            refused.stderr,
            /Statement 1, SELECT \(shop\.ft\), reads shop\.ft, which is a foreign table whose option program runs a program on the server .* a read-only run refuses it; the statement was not sent/,
          );
          assert.equal(refused.stdout, "");
          await noMarker();
        },
      );

      await t.step("through views, a parent table, a changed search_path, EXPLAIN", async () => {
        for (
          const [sql, named] of [
            ["select * from shop.vv", /reads shop\.vv, which reads foreign table shop\.ft/],
            ["select count(*) from shop.t, shop.parent", /reads shop\.parent, .*shop\.child/],
            ["with c as (select * from shop.v) select * from c", /reads shop\.v, /],
            [
              "set search_path to shop; select * from ft",
              /Statement 2, SELECT \(ft\), reads shop\.ft/,
            ],
            ["select (select count(*) from shop.ft)", /reads shop\.ft/],
            [
              // A function may set search_path in its body: later names match in every schema.
              "select set_config('application_name', 'x', false); select * from ft",
              /Statement 2, SELECT \(ft\), reads shop\.ft/,
            ],
          ] as const
        ) {
          const refused = await run("run_sql.ts", [sql]);
          assert.equal(refused.code, 2, `${sql}: ${refused.stderr}`);
          assert.match(refused.stderr, named, sql);
        }
        if (cluster.major >= 14) {
          // A view calling a function whose BEGIN ATOMIC body reads the table (in pg_depend).
          await cluster.sql(`
            create function shop.f() returns setof text language sql
              begin atomic select x from shop.ft; end;
            create view shop.fv as select * from shop.f() as x;`);
          const refused = await run("run_sql.ts", ["select * from shop.fv"], {
            DB_URL: cluster.url(),
          });
          assert.equal(refused.code, 2, refused.stderr);
          assert.match(refused.stderr, /reads shop\.fv, which reads foreign table shop\.ft/);
        }
        const explained = await run("explain_analyze.ts", ["select * from shop.v"]);
        assert.equal(explained.code, 2, explained.stderr);
        assert.match(explained.stderr, /reads shop\.v, .*EXPLAIN ANALYZE, which runs it, refuses/);
        // Planning alone runs no program: the plan is shown (as the superuser: the reader may
        // not read the view at all).
        const planned = await run("explain_analyze.ts", ["--no-analyze", "select * from shop.v"], {
          DB_URL: cluster.url(),
        });
        assert.equal(planned.code, 0, planned.stderr);
        assert.match(planned.stdout, /Foreign Scan on ft/);
        await noMarker();
      });

      await t.step(
        "without a reader role too (the profile's own user, a superuser URL)",
        async () => {
          for (const extra of [{ DB_URL: cluster.url() }, {}] as Record<string, string>[]) {
            const refused = await run("run_sql.ts", ["select * from shop.ft"], extra);
            assert.equal(refused.code, 2, refused.stderr);
          }
          const superuser = await run("run_sql.ts", ["select * from shop.v"], {
            DB_URL: cluster.url(),
          });
          assert.equal(superuser.code, 2, superuser.stderr);
          await noMarker();
        },
      );

      await t.step("ordinary tables, views and foreign tables are still read", async () => {
        const read = await run("run_sql.ts", [
          "--json",
          "select (select x from shop.t) as t, (select x from shop.tv) as tv, " +
          "(select x from shop.plain) as plain",
        ]);
        assert.equal(read.code, 0, read.stderr);
        const report = JSON.parse(read.stdout);
        assert.equal(report.role, "owner_reader");
        assert.deepEqual(report.results[0].rows, [{ t: "row", tv: "row", plain: "from a file" }]);
        const explained = await run("explain_analyze.ts", ["select * from shop.plain"]);
        assert.equal(explained.code, 0, explained.stderr);
        await noMarker();
      });

      await t.step("a grant made earlier, or by default privileges, is flagged", async () => {
        await cluster.sql("grant select on shop.ft to owner_reader");
        const flagged = await run("readonly_role.ts", ["--json"]);
        assert.equal(flagged.code, 1, flagged.stderr);
        assert.ok(isOneLineError(flagged.stderr), flagged.stderr);
        assert.match(
          flagged.stderr,
          /Role "owner_reader" exists and may read shop\.ft \(which is a foreign table whose option program .*run_sql\.ts --ddl "revoke select on table shop\.ft from owner_reader"/,
        );
        await cluster.sql("revoke select on shop.ft from owner_reader");
        assert.equal((await run("readonly_role.ts", ["--json"])).code, 0);

        // A foreign table with a program made later by the owner: the default privileges make it
        // readable (the report says so); the check names it, and a read is still refused.
        await cluster.sql(`
          grant pg_execute_server_program to owner;
          set role owner;
          create foreign table shop.later (x text) server fs options (program ${program("l")});
          reset role;
          revoke pg_execute_server_program from owner;`);
        const [{ can }] = await cluster.sql(
          "select has_table_privilege('owner_reader', 'shop.later', 'select') as can",
        );
        assert.equal(can, true);
        const later = await run("readonly_role.ts", []);
        assert.equal(later.code, 1);
        assert.match(later.stderr, /may read shop\.later .*revoke select on table shop\.later/);
        const refused = await run("run_sql.ts", ["select * from shop.later"]);
        assert.equal(refused.code, 2, refused.stderr);
        await cluster.sql("drop foreign table shop.later");
        await noMarker();
      });

      await t.step("no reader is made while PUBLIC may read one", async () => {
        await cluster.sql("grant select on shop.ft to public");
        const refused = await run("readonly_role.ts", ["--role", "second_reader", "--save"]);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(
          refused.stderr,
          /Every role \(PUBLIC\) may read shop\.ft .*"revoke select on table shop\.ft from public"/,
        );
        const [{ made }] = await cluster.sql(
          "select exists (select from pg_roles where rolname = 'second_reader') as made",
        );
        assert.equal(made, false);
        await cluster.sql("revoke select on shop.ft from public");
        await noMarker();
      });

      await t.step("the control: read for real, the table runs its program", async () => {
        await cluster.sql("select * from shop.ft");
        assert.equal(await exists(marker), true);
      });
    } finally {
      await cluster.stop();
      await project.remove();
      await Deno.remove(attack, { recursive: true });
    }
  });
}
