/**
 * Dumps, restores and schema comparison on real servers: round trips in both
 * formats, files that appear whole or not at all, restores that fail without
 * a trace and never run twice, confirmation, secrets, progress, versions.
 */
import { pathExists } from "../../lib/config/files.ts";
import assert from "node:assert/strict";
import { applyPatch } from "diff";
import { normalizeDump, unifiedDiff } from "../../lib/tools/schema_diff.ts";
import { join } from "node:path";
import { SkillError } from "../../lib/core/errors.ts";
import { planRestore, restoreFile } from "../../lib/tools/dump.ts";
import { resolveTarget } from "../../lib/connection/resolve.ts";
import {
  findToolDir,
  psqlHasRestrict,
  resolveClientTools,
  toolMajor,
} from "../../lib/tools/client_tools.ts";
import { type Cluster, freePort, startCluster } from "../support/cluster.ts";
import {
  baseEnv,
  isOneLineError,
  makeProject,
  type Project,
  runSkillScript,
  skillCommandLine,
  spawnSkillScript,
  tomlWithProfiles,
} from "../support/run.ts";
import { Terminal } from "../support/terminal.ts";
import { watchFamily } from "../support/processes.ts";
import { APP_SCHEMA } from "../support/fixtures.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURE = `
create type mood as enum ('calm', 'busy');
create table customers (id serial primary key, name text not null, mood mood, note text);
comment on table customers is 'People who buy';
create table orders (
  id bigserial primary key,
  customer_id int not null references customers (id),
  amount numeric(10, 2) check (amount >= 0),
  placed_at timestamptz not null default '2024-01-02 03:04:05+00'
);
create index orders_customer_idx on orders (customer_id);
create view big_orders as select * from orders where amount > 100;
create function order_count(c int) returns bigint language sql stable
  as $$ select count(*) from orders where customer_id = c $$;
insert into customers (name, mood, note) values
  ('Ada', 'calm', 'tab\there'), ('Zoë', 'busy', null), ('O''Brien', null, 'quote''s');
insert into orders (customer_id, amount) select 1 + g % 3, g * 1.5 from generate_series(1, 500) g;
`;

async function fingerprint(cluster: Cluster, database: string): Promise<string> {
  const [row] = await cluster.sql(
    `select (select md5(string_agg(c::text, '|' order by id)) from customers c) ||
            (select md5(string_agg(o::text, '|' order by id)) from orders o) as f`,
    database,
  );
  return String(row.f);
}

function profile(cluster: Cluster, database: string, port = cluster.port) {
  return {
    host: cluster.host,
    port,
    user: cluster.superuser,
    password: cluster.password,
    database,
  };
}

async function files(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("dumps and restores on a real server", async (t) => {
  const cluster = await startCluster({ settings: { log_statement: "'all'" } });
  const project: Project = await makeProject();
  const out = await Deno.makeTempDir({ prefix: "pgskill-dumps-" });
  try {
    await cluster.sql("create database src");
    await cluster.sql(FIXTURE, "src");
    const databases = ["dst_custom", "dst_plain", "half", "broken", "guarded"];
    for (const db of databases) await cluster.sql(`create database ${db}`);
    const profiles: Record<string, ReturnType<typeof profile>> = { src: profile(cluster, "src") };
    for (const db of databases) profiles[db] = profile(cluster, db);
    profiles.down = profile(cluster, "src", freePort());
    await project.writeToml(tomlWithProfiles(profiles));
    const run = (script: string, args: string[], env: Record<string, string> = {}) =>
      runSkillScript(script, args, { env: { ...project.env, ...env }, cwd: out });
    const source = await fingerprint(cluster, "src");

    for (const [format, ext] of [["custom", "dump"], ["plain", "sql"]]) {
      await t.step(
        `round trip in ${format} format: schema and data, restored and compared`,
        async () => {
          const target = `dst_${format}`;
          const schema = await run("schema_dump.ts", [`schema.${ext}`, "--json"], {
            DB_PROFILE: "src",
          });
          assert.equal(schema.code, 0, schema.stderr);
          assert.equal(JSON.parse(schema.stdout).format, format);
          const data = await run("data_dump.ts", [`data.${ext}`], { DB_PROFILE: "src" });
          assert.equal(data.code, 0, data.stderr);
          const header = new TextDecoder().decode(
            (await Deno.readFile(`${out}/schema.${ext}`)).slice(0, 5),
          );
          assert.equal(header === "PGDMP", format === "custom", "custom dumps start with PGDMP");
          if (format === "plain") {
            const text = await Deno.readTextFile(`${out}/schema.${ext}`);
            assert.ok(!/OWNER TO|GRANT /.test(text), "no owners, privileges");
            assert.match(text, /COMMENT ON TABLE public\.customers IS 'People who buy';/);
            assert.ok(!/INSERT|COPY/.test(text), "schema only");
          }
          for (const file of [`schema.${ext}`, `data.${ext}`]) {
            const restored = await run("restore_dump.ts", [file, "--json"], {
              DB_PROFILE: target,
              DB_CONFIRM: "YES",
            });
            assert.equal(restored.code, 0, restored.stderr);
            assert.equal(JSON.parse(restored.stdout).result, "restored");
            assert.match(
              restored.stderr,
              new RegExp(`About to restore .* into database "${target}"`),
            );
          }
          assert.equal(await fingerprint(cluster, target), source);
          // Profiles named by DB_PROFILE_A/B here; the other schema_diff tests use DB_URL_A/B.
          const diff = await run("schema_diff.ts", [], {
            DB_PROFILE_A: "src",
            DB_PROFILE_B: target,
          });
          assert.equal(diff.code, 0, diff.stdout + diff.stderr);
          assert.equal(diff.stdout, "No structural differences.\n");
          await Deno.remove(`${out}/schema.${ext}`);
          await Deno.remove(`${out}/data.${ext}`);
        },
      );
    }

    await t.step("default file names: <kind>_<profile>_<YYYYMMDD_HHMMSS>.dump", async () => {
      const result = await run("schema_dump.ts", ["--json"], { DB_PROFILE: "src" });
      assert.equal(result.code, 0, result.stderr);
      const file = JSON.parse(result.stdout).file as string;
      assert.match(file, new RegExp(`^${out}/schema_src_\\d{8}_\\d{6}\\.dump$`));
      await Deno.remove(file);
    });

    await t.step("dump files are private (0600), for they hold data", async () => {
      for (const [script, name] of [["schema_dump.ts", "p.sql"], ["data_dump.ts", "p.dump"]]) {
        const result = await run(script, [name], { DB_PROFILE: "src" });
        assert.equal(result.code, 0, result.stderr);
        assert.equal((await Deno.stat(`${out}/${name}`)).mode! & 0o777, 0o600, name);
        await Deno.remove(`${out}/${name}`);
      }
    });

    await t.step("an interrupted dump stops pg_dump, leaves no file, and says so", async () => {
      // A lock makes pg_dump wait, so the signal finds it running.
      const holder = await cluster.session("src");
      await holder.simpleQuery("begin; lock table orders in access exclusive mode");
      try {
        const before = await files(out);
        // SIGHUP: the terminal closed (a tester's hang-up left a 100 MB temporary file once).
        const statuses = { SIGTERM: 143, SIGINT: 130, SIGHUP: 129 };
        for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
          const app = `dump_${signal.toLowerCase()}`;
          const running = await spawnSkillScript("data_dump.ts", ["stopped.dump"], {
            env: { ...project.env, DB_PROFILE: "src", DB_APPLICATION_NAME: app },
            cwd: out,
          });
          await waitFor(async () =>
            (await cluster.sql(
              `select 1 from pg_stat_activity where application_name = '${app}' and wait_event_type = 'Lock'`,
            )).length > 0, "pg_dump waiting for the lock");
          running.child.kill(signal);
          const result = await running.result;
          assert.equal(result.code, statuses[signal], result.stderr);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(
            result.stderr,
            new RegExp(`Interrupted \\(${signal}\\); pg_dump was stopped; no file was written`),
          );
          assert.deepEqual(await files(out), before, "no file, no temporary file");
          await waitFor(async () =>
            (await cluster.sql(
              `select 1 from pg_stat_activity where application_name = '${app}'`,
            )).length === 0, "pg_dump's session to end");
        }
      } finally {
        await holder.simpleQuery("rollback");
        await holder.close();
      }
    });

    await t.step("an unreachable server leaves no file, and an existing file intact", async () => {
      await Deno.writeTextFile(`${out}/precious.dump`, "precious bytes");
      const before = await files(out);
      for (const name of ["precious.dump", "new.sql"]) {
        const result = await run("data_dump.ts", [name], { DB_PROFILE: "down" });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /Connection refused by 127\.0\.0\.1:\d+/);
      }
      assert.equal(await Deno.readTextFile(`${out}/precious.dump`), "precious bytes");
      assert.deepEqual(await files(out), before, "no new or temporary file");
      await Deno.remove(`${out}/precious.dump`);
    });

    await t.step("a failing dump leaves no file either", async () => {
      // A role that may connect but not read the tables: pg_dump fails after connecting.
      await cluster.sql("create role outsider login password 'outsider-pw'");
      const result = await run("data_dump.ts", ["failed.dump"], {
        DB_URL: cluster.url({ user: "outsider", password: "outsider-pw", database: "src" }),
      });
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /pg_dump failed: .*permission denied.*; no file was written/);
      assert.deepEqual(await files(out), []);
    });

    await t.step("a target that cannot be replaced is refused before pg_dump runs", async () => {
      await Deno.mkdir(`${out}/folder.dump`);
      await Deno.writeTextFile(`${out}/kept.sql`, "kept");
      await Deno.chmod(`${out}/kept.sql`, 0o400);
      await Deno.symlink(`${out}/real.dump`, `${out}/link.dump`);
      const before = await files(out);
      const refusals: [string, RegExp][] = [
        ["missing/s.dump", /The folder ".*\/missing" does not exist; create it/],
        ["folder.dump", /\/folder\.dump" is a folder; give a file name/],
        ["kept.sql", /\/kept\.sql" is read-only \(mode 400\); nothing was written/],
      ];
      for (const [name, pattern] of refusals) {
        const result = await run("schema_dump.ts", [name], { DB_PROFILE: "src" });
        assert.equal(result.code, 1, name);
        assert.match(result.stderr, pattern);
      }
      assert.deepEqual(await files(out), before, "nothing new, nothing temporary");
      assert.equal(await Deno.readTextFile(`${out}/kept.sql`), "kept");
      // A symlink is written through: the dump lands in its target, the link stays.
      const linked = await run("schema_dump.ts", ["link.dump"], { DB_PROFILE: "src" });
      assert.equal(linked.code, 0, linked.stderr);
      assert.ok((await Deno.lstat(`${out}/link.dump`)).isSymlink);
      assert.equal(
        new TextDecoder().decode((await Deno.readFile(`${out}/real.dump`)).slice(0, 5)),
        "PGDMP",
      );
      for (const name of ["folder.dump", "kept.sql", "link.dump", "real.dump"]) {
        await Deno.remove(`${out}/${name}`);
      }
    });

    await t.step("a half-failing SQL file leaves the target unchanged and runs once", async () => {
      await cluster.sql("create table items (id int primary key)", "half");
      await Deno.writeTextFile(
        `${out}/half.sql`,
        "insert into items values (1);\ninsert into items values (2);\n" +
          "insert into items values (1);\ninsert into items values (3);\n",
      );
      const runs = async () =>
        ((await cluster.log()).match(/statement: insert into items values \(2\)/g) ?? []).length;
      const before = await runs();
      const result = await run("restore_dump.ts", ["half.sql"], {
        DB_PROFILE: "half",
        DB_CONFIRM: "YES",
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /duplicate key value .*; the transaction was rolled back, so the database is as it was/,
      );
      const rows = await cluster.sql("select count(*)::int as n from items", "half");
      assert.equal(rows[0].n, 0, "nothing of it stayed");
      assert.equal(await runs() - before, 1, "the file ran once, not again");
      const stepwise = await run("restore_dump.ts", ["half.sql", "--no-single-transaction"], {
        DB_PROFILE: "half",
        DB_CONFIRM: "YES",
      });
      assert.equal(stepwise.code, 1);
      assert.match(stepwise.stderr, /stopped at the first error; what ran before it stays/);
      const kept = await cluster.sql(
        "select array_agg(id order by id)::text as ids from items",
        "half",
      );
      assert.equal(kept[0].ids, "{1,2}");
    });

    await t.step(
      "a SQL file with its own COMMIT is refused unless restored step by step",
      async () => {
        await cluster.sql("create table ledger (id int primary key)", "half");
        await Deno.writeTextFile(
          `${out}/committing.sql`,
          "-- a hand-made script\n-- (no psql meta-command: a restore refuses them)\n" +
            "COPY ledger (id) FROM stdin;\n10\n11\n\\.\n" +
            "insert into ledger values (1);\ncommit;\ninsert into ledger values (1);\n",
        );
        const refused = await run("restore_dump.ts", ["committing.sql"], {
          DB_PROFILE: "half",
          DB_CONFIRM: "YES",
        });
        assert.equal(refused.code, 2);
        assert.match(
          refused.stderr,
          /has transaction control of its own \(COMMIT at line 8\), so it cannot be restored all or nothing.*--no-single-transaction/,
        );
        const untouched = await cluster.sql("select count(*)::int as n from ledger", "half");
        assert.equal(untouched[0].n, 0);
        const stepwise = await run(
          "restore_dump.ts",
          ["committing.sql", "--no-single-transaction"],
          {
            DB_PROFILE: "half",
            DB_CONFIRM: "YES",
          },
        );
        assert.equal(stepwise.code, 1);
        assert.match(stepwise.stderr, /stopped at the first error; what ran before it stays/);
        const kept = await cluster.sql(
          "select array_agg(id order by id)::text as ids from ledger",
          "half",
        );
        assert.equal(kept[0].ids, "{1,10,11}");
      },
    );

    await t.step("a custom dump with a failing table restores nothing", async () => {
      const schema = await run("schema_dump.ts", ["s.dump"], { DB_PROFILE: "src" });
      const data = await run("data_dump.ts", ["d.dump"], { DB_PROFILE: "src" });
      assert.equal(schema.code + data.code, 0, schema.stderr + data.stderr);
      const restored = await run("restore_dump.ts", ["s.dump"], {
        DB_PROFILE: "broken",
        DB_CONFIRM: "YES",
      });
      assert.equal(restored.code, 0, restored.stderr);
      // The orders table now refuses what the dump holds.
      await cluster.sql("alter table orders add constraint small check (amount < 10)", "broken");
      const failed = await run("restore_dump.ts", ["d.dump"], {
        DB_PROFILE: "broken",
        DB_CONFIRM: "YES",
      });
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /The restore failed: .*small.*; the transaction was rolled back/);
      const counts = await cluster.sql(
        "select (select count(*) from customers)::int as c, (select count(*) from orders)::int as o",
        "broken",
      );
      assert.deepEqual(counts[0], { c: 0, o: 0 }, "not even the table that loaded stayed");
    });

    await t.step("the database confirmed is the database written, whatever its name", async () => {
      await cluster.sql(`create database "dbname=appdb"`);
      await cluster.sql("create database appdb");
      const odd = { ...profile(cluster, "dbname=appdb") };
      await project.writeToml(tomlWithProfiles({ ...profiles, odd }));
      const result = await run("restore_dump.ts", ["s.dump"], {
        DB_PROFILE: "odd",
        DB_CONFIRM: "YES",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /into database "dbname=appdb"/);
      const tables = async (db: string): Promise<number> =>
        (await cluster.sql(
          "select count(*)::int as n from pg_tables where schemaname = 'public'",
          db,
        ))[0].n as number;
      assert.ok(await tables("dbname=appdb") > 0, "restored where it said");
      assert.equal(await tables("appdb"), 0, "and not anywhere else");
      await project.writeToml(tomlWithProfiles(profiles));
    });

    await t.step("a restore without confirmation does nothing and names its target", async () => {
      const result = await run("restore_dump.ts", ["s.dump"], { DB_PROFILE: "guarded" });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /into database "guarded" at 127\.0\.0\.1:\d+ \(profile "guarded"/,
      );
      assert.match(
        result.stderr,
        /needs confirmation; run it on a terminal and type YES, or set DB_CONFIRM=YES/,
      );
      const tables = await cluster.sql(
        "select count(*)::int as n from pg_tables where schemaname = 'public'",
        "guarded",
      );
      assert.equal(tables[0].n, 0);
      const missing = await run("restore_dump.ts", ["nope.dump"], {
        DB_PROFILE: "guarded",
        DB_CONFIRM: "YES",
      });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No dump file at ".*nope\.dump"/);
    });

    await t.step("the password is in no process's arguments while a dump runs", async () => {
      // A lock held elsewhere keeps pg_dump waiting long enough to be watched.
      const holder = await cluster.session("src");
      await holder.simpleQuery("begin; lock table orders in access exclusive mode");
      const dumping = await spawnSkillScript("data_dump.ts", ["watched.sql"], {
        env: { ...project.env, DB_PROFILE: "src" },
        cwd: out,
      });
      setTimeout(() => holder.simpleQuery("commit").catch(() => {}), 1500);
      const seen = await watchFamily(dumping.child.pid, dumping.result);
      const result = await dumping.result;
      await holder.close();
      assert.equal(result.code, 0, result.stderr);
      assert.ok(seen.some((c) => /pg_dump --data-only/.test(c)), "pg_dump was seen running");
      const leaked = seen.filter((c) => c.includes(cluster.password));
      assert.deepEqual(leaked, [], "the password is in no command line");
      assert.ok(!/\r|data dump: /.test(result.stderr), "no progress on a pipe");
    });

    await t.step("progress on a terminal while a dump waits and runs", async () => {
      const holder = await cluster.session("src");
      await holder.simpleQuery("begin; lock table orders in access exclusive mode");
      const command = await skillCommandLine("data_dump.ts", [`${out}/progress.sql`]);
      const term = new Terminal(command, { ...baseEnv(), ...project.env, DB_PROFILE: "src" });
      await term.expect(/data dump: \d+(\.\d)? (B|kB|MB), \d+\.\d s/);
      await holder.simpleQuery("commit");
      await holder.close();
      const { code, output } = await term.finish();
      assert.equal(code, 0, output);
      assert.match(output, /format\s+\| plain/);
    });

    await t.step(
      "a symlink swapped in before pg_dump starts gets nothing written through it",
      async () => {
        // pg_dump writes to its stdout, into the temporary file we made and hold
        // open: replacing that file's name (or the target's) by a link, here while
        // a pg_dump that waits before it starts has not opened anything yet,
        // changes where nothing is written.
        const bin = `${out}/bin`;
        await Deno.mkdir(bin);
        const real = findToolDir("pg_dump")!;
        for (const tool of ["psql", "pg_restore"]) {
          await Deno.symlink(`${real}/${tool}`, `${bin}/${tool}`);
        }
        await Deno.writeTextFile(
          `${bin}/pg_dump`,
          `#!/bin/sh\n[ "$1" = --version ] || sleep 2\nexec "${real}/pg_dump" "$@"\n`,
          { mode: 0o755 },
        );
        await Deno.writeTextFile(`${out}/victim`, "victim");
        await Deno.writeTextFile(`${out}/existing.dump`, "old dump");
        const cases: [string, "temporary" | "target", RegExp][] = [
          ["swapped.dump", "temporary", /the temporary file ".*" was replaced/],
          ["swapped.sql", "temporary", /the temporary file ".*" was replaced/],
          ["existing.dump", "target", /it is now a symlink/],
        ];
        for (const [name, swap, reason] of cases) {
          const running = await spawnSkillScript("data_dump.ts", [name], {
            env: { DB_URL: cluster.url({ database: "src" }), PATH: `${bin}:${baseEnv().PATH}` },
            cwd: out,
          });
          let temp: string | undefined;
          await waitFor(async () => {
            temp = (await files(out)).find((f) => f.startsWith(`.${name}.`) && f.endsWith(".tmp"));
            return temp !== undefined;
          }, "the temporary file");
          const link = `${out}/${swap === "temporary" ? temp : name}`;
          await Deno.remove(link);
          await Deno.symlink(`${out}/victim`, link);
          const result = await running.result;
          assert.equal(result.code, 1, result.stderr);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(result.stderr, /changed while it was being written/);
          assert.match(result.stderr, reason);
          assert.equal(
            await Deno.readTextFile(`${out}/victim`),
            "victim",
            "nothing went through the link",
          );
          assert.ok((await Deno.lstat(link)).isSymlink, "the link is left as it was put");
          await Deno.remove(link);
          if (swap === "temporary") {
            assert.ok(!(await files(out)).includes(name), "no dump appeared");
          }
        }
        assert.deepEqual(
          (await files(out)).filter((f) => f.endsWith(".tmp")),
          [],
          "none of ours left",
        );
        await Deno.remove(bin, { recursive: true });
        await Deno.remove(`${out}/victim`);
      },
    );
  } finally {
    await project.remove();
    await Deno.remove(out, { recursive: true });
    await cluster.stop();
  }
});

Deno.test("schema_diff names a column, an index, a constraint, a view and a function", async (t) => {
  const cluster = await startCluster();
  try {
    const base = "create table t (id int primary key, a text); create function f() returns int " +
      "language sql as 'select 1'; create view v as select id from t;";
    await cluster.sql("create database left_db");
    await cluster.sql("create database right_db");
    await cluster.sql("create database twin_db");
    await cluster.sql(base, "left_db");
    await cluster.sql(base, "twin_db");
    await cluster.sql(
      base.replace("a text)", "a text, b int)").replace("select 1", "select 2") +
        "create index t_a_idx on t (a); alter table t add constraint a_not_empty check (a <> '');" +
        "create view only_right as select 1 as one;",
      "right_db",
    );
    const env = (a: string, b: string) => ({
      DB_URL_A: cluster.url({ database: a }),
      DB_URL_B: cluster.url({ database: b }),
    });

    await t.step("text: a unified diff naming each", async () => {
      const result = await runSkillScript("schema_diff.ts", [], {
        env: env("left_db", "right_db"),
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /^--- a: DB_URL_A\n\+\+\+ b: DB_URL_B\n@@ /);
      for (
        const line of [
          /^\+ {4}b integer,$/m,
          /^\+CREATE INDEX t_a_idx ON public\.t/m,
          /^\+ {4}CONSTRAINT a_not_empty CHECK/m,
          /^\+CREATE VIEW public\.only_right AS/m,
          /^- {4}AS \$\$select 1\$\$;$/m,
          /^\+ {4}AS \$\$select 2\$\$;$/m,
        ]
      ) {
        assert.match(result.stdout, line);
      }
      assert.ok(!/Dumped (from|by)|^[-+]SET /m.test(result.stdout), "no banners or settings");
    });

    await t.step("--json: the objects by kind", async () => {
      const result = await runSkillScript("schema_diff.ts", ["--json"], {
        env: env("left_db", "right_db"),
      });
      assert.equal(result.code, 1, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.same, false);
      assert.deepEqual(summary.only_in_a, []);
      assert.deepEqual(summary.only_in_b, [
        { kind: "column", name: "public.t.b" },
        { kind: "constraint", name: "public.t.a_not_empty" },
        { kind: "index", name: "public.t_a_idx" },
        { kind: "view", name: "public.only_right" },
      ]);
      assert.deepEqual(summary.different, [{ kind: "function", name: "public.f()" }]);
      assert.match(summary.diff, /^\+CREATE VIEW public\.only_right AS/m);
      // --summary: the same lists without the diff, and a table of them.
      const short = await runSkillScript("schema_diff.ts", ["--summary", "--json"], {
        env: env("left_db", "right_db"),
      });
      assert.equal(short.code, 1, short.stderr);
      const { diff: _diff, ...lists } = summary;
      assert.deepEqual(JSON.parse(short.stdout), lists);
      const table = await runSkillScript("schema_diff.ts", ["--summary"], {
        env: env("left_db", "right_db"),
      });
      assert.equal(table.code, 1, table.stderr);
      assert.match(table.stdout, /^only in B +\| view +\| public\.only_right$/m);
      assert.match(table.stdout, /^different +\| function +\| public\.f\(\)$/m);
      assert.match(table.stdout, /^\(5 rows\)$/m);
      assert.ok(!table.stdout.includes("CREATE"), "no diff lines");
    });

    await t.step("identical databases: exit 0", async () => {
      const result = await runSkillScript("schema_diff.ts", [], { env: env("left_db", "twin_db") });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout, "No structural differences.\n");
    });

    await t.step("one unreachable side: exit 2", async () => {
      const result = await runSkillScript("schema_diff.ts", [], {
        env: {
          DB_URL_A: cluster.url({ database: "left_db" }),
          DB_URL_B: `postgresql://x@127.0.0.1:${freePort()}/db`,
        },
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /Connection refused by 127\.0\.0\.1:\d+;.*DB_URL_B/);
      const usage = await runSkillScript("schema_diff.ts", ["only_one"], { env: {} });
      assert.equal(usage.code, 2);
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("real-world shapes: dump, restore and compare; data-only restores and triggers", async (t) => {
  const cluster = await startCluster();
  const out = await Deno.makeTempDir({ prefix: "pgskill-shapes-" });
  const superuser = (database: string) => ({ DB_URL: cluster.url({ database }) });
  const run = (script: string, args: string[], env: Record<string, string>) =>
    runSkillScript(script, args, { env: { DB_CONFIRM: "YES", ...env }, cwd: out });
  const count = async (database: string, table: string) =>
    Number((await cluster.sql(`select count(*) as n from ${table}`, database))[0].n);
  try {
    for (const db of ["src", "dst", "empty"]) await cluster.sql(`create database ${db}`);
    await cluster.sql(APP_SCHEMA, "src");
    // An older database: public owned by someone else than a fresh one's default.
    await cluster.sql("create role old_owner nologin");
    await cluster.sql("alter schema public owner to old_owner", "src");
    const diff = (a: string, b: string, args: string[] = []) =>
      run("schema_diff.ts", args, {
        DB_URL_A: cluster.url({ database: a }),
        DB_URL_B: cluster.url({ database: b }),
      });

    await t.step("schema and data round trip; the restored database compares equal", async () => {
      const schema = await run("schema_dump.ts", ["schema.sql"], superuser("src"));
      assert.equal(schema.code, 0, schema.stderr);
      const text = await Deno.readTextFile(`${out}/schema.sql`);
      assert.match(
        text,
        /COMMENT ON POLICY own_account ON app\.accounts IS 'Each sees their own';/,
      );
      const data = await run("data_dump.ts", ["data.dump"], superuser("src"));
      assert.equal(data.code, 0, data.stderr);
      const restoredSchema = await run(
        "restore_dump.ts",
        ["schema.sql", "--json"],
        superuser("dst"),
      );
      assert.equal(restoredSchema.code, 0, restoredSchema.stderr);
      assert.equal(JSON.parse(restoredSchema.stdout).data_only, false);
      const restoredData = await run("restore_dump.ts", ["data.dump", "--json"], superuser("dst"));
      assert.equal(restoredData.code, 0, restoredData.stderr);
      assert.match(restoredData.stderr, /\(with pg_restore; data only, triggers off\)/);
      const report = JSON.parse(restoredData.stdout);
      assert.deepEqual([report.data_only, report.triggers], [true, "off"]);
      // The trigger did not fire again (nor fail on pg_dump's empty search_path).
      for (const table of ["app.events", "app.accounts", "app.refunds", "app.audit"]) {
        assert.equal(await count("dst", table), await count("src", table), table);
      }
      assert.ok(await count("dst", "app.audit") > 0);
      const same = await diff("src", "dst");
      assert.equal(same.code, 0, same.stdout + same.stderr);
      assert.equal(same.stdout, "No structural differences.\n");
    });

    await t.step("comments are compared, unless --ignore-comments", async () => {
      await cluster.sql("comment on table app.events is 'Changed'", "dst");
      const changed = await diff("src", "dst", ["--json"]);
      assert.equal(changed.code, 1, changed.stderr);
      const summary = JSON.parse(changed.stdout);
      assert.deepEqual(summary.different, [{ kind: "comment", name: "table app.events" }]);
      assert.match(summary.diff, /^\+COMMENT ON TABLE app\.events IS 'Changed';$/m);
      const ignored = await diff("src", "dst", ["--ignore-comments"]);
      assert.equal(ignored.code, 0, ignored.stdout + ignored.stderr);
      await cluster.sql("comment on table app.events is 'Everything that happened'", "dst");
    });

    await t.step("what belongs to an object only on one side is not listed again", async () => {
      const result = await diff("src", "empty", ["--json"]);
      assert.equal(result.code, 1, result.stderr);
      const summary = JSON.parse(result.stdout);
      const names = (kind: string) =>
        summary.only_in_a.filter((o: { kind: string }) => o.kind === kind)
          .map((o: { name: string }) => o.name);
      assert.ok(names("table").includes("app.accounts"));
      assert.deepEqual(names("column"), [], "a new table's columns are part of it");
      assert.deepEqual(names("comment"), [], "so are the comments on new objects");
      // The diff text still has every line.
      assert.match(summary.diff, /^-COMMENT ON COLUMN app\.accounts\.email IS /m);
      assert.match(summary.diff, /^- {4}email /m);
    });

    await t.step("every kind --json reports is documented in --help", async () => {
      const result = await diff("src", "empty", ["--json"]);
      assert.equal(result.code, 1, result.stderr);
      const kinds = new Set<string>(
        JSON.parse(result.stdout).only_in_a.map((o: { kind: string }) => o.kind),
      );
      for (const kind of ["policy", "row security", "table attach", "index attach", "domain"]) {
        assert.ok(kinds.has(kind), `${kind} is reported`);
      }
      kinds.add("comment"); // reported in the step before, where only a comment differs
      const help = (await runSkillScript("schema_diff.ts", ["--help"])).stdout;
      for (const kind of kinds) {
        assert.match(help, new RegExp(`^  ${kind} {2,}\\S`, "m"), `${kind} is in --help`);
      }
    });

    await t.step(
      "a role that may not turn triggers off: the failure says why and what to do",
      async () => {
        await cluster.sql("create role loader login password 'loader-pw'");
        await cluster.sql("create database trig_src");
        await cluster.sql("create database trig_dst owner loader");
        const shape = `
        create table items (id int primary key, name text);
        create table item_log (id int);
        create function log_item() returns trigger language plpgsql
          as $$ begin insert into item_log values (new.id); return new; end $$;
        create trigger items_log after insert on items for each row execute function log_item();`;
        await cluster.sql(`${shape} insert into items values (1, 'a'), (2, 'b');`, "trig_src");
        await cluster.sql(`set role loader; ${shape} reset role;`, "trig_dst");
        const data = await run("data_dump.ts", ["items.sql"], superuser("trig_src"));
        assert.equal(data.code, 0, data.stderr);
        const loader = {
          DB_URL: cluster.url({ user: "loader", password: "loader-pw", database: "trig_dst" }),
        };
        const failed = await run("restore_dump.ts", ["items.sql"], loader);
        assert.equal(failed.code, 1);
        assert.ok(isOneLineError(failed.stderr.split("\n").slice(1).join("\n")), failed.stderr);
        assert.match(failed.stderr, /\(plain SQL, with psql; data only, triggers on\)/);
        assert.match(failed.stderr, /relation "item_log" does not exist/);
        assert.match(
          failed.stderr,
          /ran with triggers and foreign-key checks on because role "loader" may not turn them off: restore as a superuser, or have one run GRANT SET ON PARAMETER session_replication_role TO "loader"/,
        );
        assert.equal(await count("trig_dst", "items"), 0, "rolled back");
        if (cluster.major >= 15) {
          await cluster.sql("grant set on parameter session_replication_role to loader");
          const granted = await run("restore_dump.ts", ["items.sql", "--json"], loader);
          assert.equal(granted.code, 0, granted.stderr);
          assert.equal(JSON.parse(granted.stdout).triggers, "off");
          assert.equal(await count("trig_dst", "items"), 2);
          assert.equal(
            await count("trig_dst", "item_log"),
            await count("trig_src", "item_log"),
            "the log rows came from the dump, the trigger did not add more",
          );
        }
      },
    );

    await t.step("a file pg_restore cannot read is refused before anything runs", async () => {
      await Deno.writeTextFile(`${out}/garbage.dump`, "not a dump\n");
      const result = await run("restore_dump.ts", ["garbage.dump"], superuser("empty"));
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /"[^"]*garbage\.dump" is not a dump pg_restore can read: .*; give a custom-format dump \(a plain one must be named \*\.sql\), made by a pg_dump no newer than this pg_restore \(\/\S*pg_restore\)$/m,
      );
    });
  } finally {
    await Deno.remove(out, { recursive: true });
    await cluster.stop();
  }
});

Deno.test("client tools older than the server are refused before anything runs", async (t) => {
  const clientDir = findToolDir("pg_dump");
  assert.ok(clientDir, "pg_dump is installed");
  const clientMajor = await toolMajor(`${clientDir}/pg_dump`);
  await t.step({
    name: `pg_dump ${clientMajor} against PostgreSQL 18`,
    ignore: clientMajor >= 18,
    fn: async () => {
      const cluster = await startCluster({ embeddedMajor: 18 });
      const project = await makeProject(tomlWithProfiles({ local: profile(cluster, "postgres") }, {
        pgBinPath: clientDir,
      }));
      const out = await Deno.makeTempDir();
      try {
        const result = await runSkillScript("schema_dump.ts", ["x.dump"], {
          env: project.env,
          cwd: out,
        });
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          new RegExp(
            `pg_dump ${clientMajor} \\(.*\\) is older than the server \\(PostgreSQL 18\\); .*pg_bin_path`,
          ),
        );
        assert.deepEqual(await files(out), []);
      } finally {
        await Deno.remove(out, { recursive: true });
        await project.remove();
        await cluster.stop();
      }
    },
  });
});

Deno.test("unifiedDiff output is a standard patch that turns A into B", () => {
  // Random edits; applying the diff to A must give B exactly.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 200; round++) {
    const a = Array.from(
      { length: Math.floor(random() * 40) },
      () => `line ${Math.floor(random() * 12)}`,
    );
    const b = a.flatMap((line) => {
      const r = random();
      if (r < 0.15) return [];
      if (r < 0.3) return [line, `new ${Math.floor(random() * 12)}`];
      if (r < 0.4) return [`changed ${line}`];
      return [line];
    });
    const diff = unifiedDiff(a, b, { a: "a", b: "b" });
    if (diff === "") {
      assert.deepEqual(a, b);
      continue;
    }
    // jsdiff parses it strictly (hunk counts must match their lines) and applies it.
    const text = (lines: string[]) => lines.map((line) => `${line}\n`).join("");
    assert.equal(applyPatch(text(a), `${diff}\n`), text(b), `round ${round}`);
  }
  assert.deepEqual(
    normalizeDump(
      "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET x = 1;\n\nCREATE TABLE t ();\n",
    ),
    [
      "CREATE TABLE t ();",
    ],
  );
  // public owned by another role than in a fresh database: a header without a statement.
  const publicSchema = "--\n-- Name: public; Type: SCHEMA; Schema: -; Owner: -\n--\n\n" +
    "-- *not* creating schema, since initdb creates it\n\n\n";
  const table = "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE t ();\n";
  assert.deepEqual(normalizeDump(publicSchema + table), normalizeDump(table));
  assert.deepEqual(normalizeDump(table), [
    "--",
    "-- Name: t; Type: TABLE; Schema: public; Owner: -",
    "--",
    "",
    "CREATE TABLE t ();",
  ]);
});

Deno.test("plain restores run no psql meta-command and stay all or nothing", async (t) => {
  const cluster = await startCluster();
  const out = await Deno.makeTempDir({ prefix: "pgskill-restrict-" });
  const marker = join(out, "touched");
  const run = (file: string, args: string[] = [], env: Record<string, string> = {}) =>
    runSkillScript("restore_dump.ts", [file, ...args], {
      env: { DB_URL: cluster.url({ database: "target" }), DB_CONFIRM: "YES", ...env },
      cwd: out,
    });
  const write = (name: string, text: string) => Deno.writeTextFile(join(out, name), text);
  const rows = async (database = "target") =>
    String(
      (await cluster.sql(
        "select coalesce(string_agg(x, ',' order by x), '') as x from canary",
        database,
      ))[0].x,
    );
  const untouched = async () => {
    assert.equal(await rows(), "", "the canary of the target is empty");
    assert.equal(await rows("other"), "kept", "the other database is untouched");
    assert.equal(await pathExists(marker), false, "no shell command ran");
  };
  try {
    for (const db of ["target", "other", "src"]) {
      await cluster.sql(`create database ${db}`);
      await cluster.sql("create table canary (x text)", db);
    }
    await cluster.sql("insert into canary values ('kept')", "other");

    await t.step("psql meta-commands are refused before asking, in either mode", async () => {
      const files: [string, string, RegExp][] = [
        ["shell.sql", `insert into canary values ('a');\n\\! touch ${marker}\n`, /\\! at line 2/],
        [
          "copy.sql",
          `insert into canary values ('a');\n` +
          `\\copy canary from program 'touch ${marker}; echo pwned'\n`,
          /\\copy at line 2/,
        ],
        [
          "connect.sql",
          "insert into canary values ('a');\n\\connect other\ninsert into canary values ('b');\n",
          /\\connect at line 2\), which a restore never runs .*; to restore into another database, name it with --database \(or --profile\)/,
        ],
        // After a statement on the same line: psql reads it as a meta-command too.
        [
          "same_line.sql",
          "insert into canary values ('a'); \\connect other\ninsert into canary values ('b');\n",
          /\\connect at line 1/,
        ],
      ];
      for (const [name, text, pattern] of files) {
        await write(name, text);
        for (const args of [[], ["--no-single-transaction"]]) {
          const result = await run(name, args);
          assert.equal(result.code, 2, `${name} ${args}: ${result.stderr}`);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(result.stderr, pattern);
          assert.ok(!/About to restore/.test(result.stderr), "refused before asking");
          await untouched();
        }
      }
      // A backslash line inside a string is no meta-command, for psql nor for the check.
      await write("in_string.sql", "insert into canary values ('a\n\\! not a command');\n");
      const inString = await run("in_string.sql");
      assert.equal(inString.code, 0, inString.stderr);
      assert.equal(await rows(), "a\n\\! not a command");
      await cluster.sql("truncate canary", "target");
    });

    await t.step(
      "past the check, psql itself refuses them: nothing changed, the report true",
      async () => {
        for (const single of [true, false]) {
          const name = "same_line.sql";
          const error = await restoreDirectly(cluster, join(out, name), single);
          assert.ok(error instanceof SkillError, String(error));
          assert.match(error.message, /backslash commands are restricted/);
          assert.match(
            error.message,
            single
              ? /; the transaction was rolled back, so the database is as it was$/
              : /; it stopped at the first error; what ran before it stays$/,
          );
          assert.equal(await rows(), single ? "" : "a", "the insert before it stays only stepwise");
          assert.equal(await rows("other"), "kept");
          await cluster.sql("truncate canary", "target");
        }
        // A file's own \unrestrict cannot lift the restriction: the key is random.
        await write(
          "unrestrict.sql",
          `insert into canary values ('a');\n\\unrestrict abc\n\\! touch ${marker}\n`,
        );
        const error = await restoreDirectly(cluster, join(out, "unrestrict.sql"), true);
        assert.match(String(error), /\\unrestrict: wrong key; the transaction was rolled back/);
        await untouched();
      },
    );

    await t.step("standard_conforming_strings turned off by the file is refused", async () => {
      for (
        const [name, sql] of [
          ["set.sql", "set standard_conforming_strings = off;"],
          ["set_config.sql", "select set_config('standard_conforming_strings', 'off', false);"],
          ["reset.sql", "reset standard_conforming_strings;"],
        ]
      ) {
        await write(name, `insert into canary values ('a');\n${sql}\n`);
        const result = await run(name);
        assert.equal(result.code, 2, result.stderr);
        assert.match(
          result.stderr,
          /changes how the rest of it is read \((SET|SELECT|RESET) at line 2: standard_conf/,
        );
        await untouched();
      }
      // pg_dump's own SET ... = on is fine.
      await write(
        "on.sql",
        "set standard_conforming_strings = on;\ninsert into canary values ('a');\n",
      );
      const on = await run("on.sql");
      assert.equal(on.code, 0, on.stderr);
      await cluster.sql("truncate canary", "target");
    });

    await t.step(
      "a client encoding that is not ASCII-safe, and psql variables, are refused",
      async () => {
        // In SJIS, 0x83 0x5c is one character: the backslash no longer escapes the quote after it,
        // so psql would read a ROLLBACK and an INSERT where the check read one string.
        const sjis = new Uint8Array([
          ...new TextEncoder().encode("set client_encoding = 'SJIS';\nselect E'"),
          0x83,
          0x5c,
          ...new TextEncoder().encode(
            "' ; rollback ; insert into canary values ($$after$$) ; -- ';\n",
          ),
        ]);
        await Deno.writeFile(join(out, "sjis.sql"), sjis);
        const encoding = await run("sjis.sql");
        assert.equal(encoding.code, 2, encoding.stderr);
        assert.match(encoding.stderr, /changes how the rest of it is read \(SET at line 1: /);
        await untouched();
        await write(
          "variable.sql",
          "select generate_series(1, 2);\n" +
            "insert into canary select (array['first', 'second'])[int4:'ROW_COUNT'];\n",
        );
        const variable = await run("variable.sql");
        assert.equal(variable.code, 2, variable.stderr);
        assert.match(variable.stderr, /refers to psql variables \(:'ROW_COUNT' at line 2\)/);
        await untouched();
        // The encoding pg_dump writes for a LATIN1 database, and a slice by a column, are fine.
        await write(
          "latin1.sql",
          "set client_encoding = 'LATIN1';\n" +
            "insert into canary select (array['a', 'b'])[n:n] from (select 1 as n) s;\n",
        );
        const latin1 = await run("latin1.sql");
        assert.equal(latin1.code, 0, latin1.stderr);
        assert.equal(await rows(), "{a}");
        await cluster.sql("truncate canary", "target");
      },
    );

    await t.step("a cast the file creates does not fool the check of its transaction", async () => {
      // A cast from xid8 to text of the file's own would answer any comparison made as text.
      await write(
        "cast.sql",
        "create function public.fake_text(xid8) returns text language sql as $$ select '1' $$;\n" +
          "create cast (xid8 as text) with function public.fake_text(xid8);\n" +
          "insert into canary values ('with a cast');\n",
      );
      const result = await run("cast.sql", ["--json"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).result, "restored");
      assert.equal(await rows(), "with a cast");
      await cluster.sql(
        "truncate canary; drop cast (xid8 as text); drop function public.fake_text(xid8)",
        "target",
      );
    });

    // With standard_conforming_strings off, psql would read line 2 as a SELECT and a COMMIT.
    const crafted = "insert into canary values ('before');\nselect 'a\\'' ; commit; --';\n" +
      "insert into canary values ('after');\n";
    await write("crafted.sql", `${crafted}select 1/0;\n`);
    await write("crafted_ok.sql", crafted);
    await t.step("PGOPTIONS or the database turning the setting off changes nothing", async () => {
      const ways: [string, Record<string, string>][] = [
        ["PGOPTIONS", { PGOPTIONS: "-c standard_conforming_strings=off" }],
        ["ALTER DATABASE", {}],
      ];
      for (const [way, env] of ways) {
        if (way === "ALTER DATABASE") {
          await cluster.sql("alter database target set standard_conforming_strings = off");
        }
        const failed = await run("crafted.sql", [], env);
        assert.equal(failed.code, 1, `${way}: ${failed.stderr}`);
        assert.match(failed.stderr, /division by zero; the restore's transaction was rolled back/);
        assert.equal(await rows(), "", `${way}: nothing of it committed`);
        const restored = await run("crafted_ok.sql", ["--json"], env);
        assert.equal(restored.code, 0, restored.stderr);
        assert.equal(
          await rows(),
          "after,before",
          `${way}: one transaction, read as the check read it`,
        );
        await cluster.sql("truncate canary", "target");
      }
      await cluster.sql("alter database target reset standard_conforming_strings");
    });

    await t.step("a file that ends the transaction unseen is reported as it is", async () => {
      // A DO block that turns the setting off in plain sight is refused before asking.
      await write(
        "visible.sql",
        "do $$ begin perform set_config('standard_conforming_strings', 'off', false); end $$;\n",
      );
      const visible = await run("visible.sql");
      assert.equal(visible.code, 2, visible.stderr);
      assert.match(visible.stderr, /changes how the rest of it is read \(DO at line 1/);
      // SQL built at run time can turn it off where no parser sees it; then psql
      // splits line 3 into a SELECT and a COMMIT (or ROLLBACK).
      const unseen = (end: string, tail: string) =>
        "insert into canary values ('before');\n" +
        "do $$ begin execute format('set %s = %s', 'standard_conforming_strings', 'off'); end $$;\n" +
        `select 'a\\'' ; ${end}; --';\ninsert into canary values ('after');\n${tail}`;
      await write("commits.sql", unseen("commit", "select 1/0;\n"));
      const committed = await run("commits.sql");
      assert.equal(committed.code, 1, committed.stderr);
      assert.match(
        committed.stderr,
        /division by zero; the file committed the restore's transaction itself before that .*, so what ran before the error stays/,
      );
      assert.equal(await rows(), "after,before", "what the report says stays, stays");
      await cluster.sql("truncate canary", "target");

      await write("rolls_back.sql", unseen("rollback", ""));
      const ended = await run("rolls_back.sql");
      assert.equal(ended.code, 1, ended.stderr);
      assert.match(
        ended.stderr,
        /did not run as one transaction: the file ended the restore's transaction itself .* what it ran before that was rolled back, and what it ran after that outside a transaction of its own stays/,
      );
      assert.equal(await rows(), "after");
      await cluster.sql("truncate canary", "target");

      await write("rolls_back_fails.sql", unseen("rollback", "select 1/0;\n"));
      const unknown = await run("rolls_back_fails.sql");
      assert.equal(unknown.code, 1, unknown.stderr);
      assert.ok(!/the database is as it was/.test(unknown.stderr), unknown.stderr);
      assert.match(
        unknown.stderr,
        /whether the file had ended it itself before the error cannot be told: line 3 holds a string/,
      );
      assert.equal(await rows(), "after", "which is why it says so");
      await cluster.sql("truncate canary", "target");
    });

    await t.step(
      "a pg_dump plain dump with its own \\restrict lines restores as it is",
      async () => {
        await cluster.sql(
          "insert into canary select 'row ' || g from generate_series(1, 20) g; " +
            "insert into canary values (E'\\\\unrestrict x'), (null)",
          "src",
        );
        const dump = await runSkillScript("data_dump.ts", ["canary.sql"], {
          env: { DB_URL: cluster.url({ database: "src" }) },
          cwd: out,
        });
        assert.equal(dump.code, 0, dump.stderr);
        const text = await Deno.readTextFile(join(out, "canary.sql"));
        const key = text.match(/^\\restrict ([A-Za-z0-9]+)$/m)?.[1];
        assert.ok(key, "pg_dump wrote \\restrict");
        assert.match(text, new RegExp(`^\\\\unrestrict ${key}$`, "m"));
        const restored = await run("canary.sql");
        assert.equal(restored.code, 0, restored.stderr);
        const all =
          "select md5(string_agg(coalesce(x, '<null>'), ',' order by x)) as f from canary";
        assert.deepEqual(await cluster.sql(all, "target"), await cluster.sql(all, "src"));
        await cluster.sql("truncate canary", "target");

        // Its \unrestrict anywhere but at the end is a meta-command like any other.
        const lines = text.split("\n");
        const at = lines.findIndex((line) => line.startsWith("COPY "));
        lines.splice(at, 0, `\\unrestrict ${key}`, `\\! touch ${marker}`);
        await write("moved.sql", lines.join("\n"));
        const moved = await run("moved.sql");
        assert.equal(moved.code, 2, moved.stderr);
        assert.match(
          moved.stderr,
          new RegExp(`\\\\unrestrict at line ${at + 1}, \\\\! at line ${at + 2}`),
        );
        const direct = await restoreDirectly(cluster, join(out, "moved.sql"), true);
        assert.match(String(direct), /\\unrestrict: wrong key; the transaction was rolled back/);
        await untouched();

        // Rows that read like the dump's \restrict lines are rows.
        await write(
          "rows.sql",
          `\\restrict ${key}\nCOPY public.canary (x) FROM stdin;\n\\restrict ${key}\n` +
            `\\unrestrict ${key}\n\\.\n\\unrestrict ${key}\n`,
        );
        const copied = await run("rows.sql");
        assert.equal(copied.code, 0, copied.stderr);
        assert.equal(await rows(), `\restrict ${key},unrestrict ${key}`);
        await cluster.sql("truncate canary", "target");
      },
    );

    await t.step("a rolled-back restore names what no rollback undoes", async () => {
      await cluster.sql("create sequence canary_seq", "target");
      await write(
        "escapes.sql",
        "insert into canary values ('a');\nselect setval('canary_seq', 42);\n" +
          "select pg_terminate_backend(0);\nselect 1/0;\n",
      );
      const result = await run("escapes.sql");
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /division by zero; the transaction was rolled back, so the database is as it was, except what no rollback undoes: pg_terminate_backend\(\) .* at line 3; sequences it may have moved \(setval, nextval\)$/m,
      );
      await untouched();
      const [sequence] = await cluster.sql("select last_value from canary_seq", "target");
      assert.equal(Number(sequence.last_value), 42, "the sequence did stay moved");
    });

    await t.step("a NUL byte (psql would drop the rest of its line) is refused", async () => {
      await write("nul.sql", "insert into canary values ('a');\0 commit;\n");
      const result = await run("nul.sql");
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /has a NUL byte at line 1/);
      await untouched();
    });
  } finally {
    await Deno.remove(out, { recursive: true });
    await cluster.stop();
  }
});

/** Runs a client tool against `cluster` as its superuser (the password in the environment). */
async function clientTool(cluster: Cluster, tool: string, args: string[]): Promise<string> {
  const dir = findToolDir(tool);
  assert.ok(dir, `${tool} is installed`);
  const out = await new Deno.Command(join(dir, tool), {
    args,
    env: {
      PGHOST: cluster.host,
      PGPORT: String(cluster.port),
      PGUSER: cluster.superuser,
      PGPASSWORD: cluster.password,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.ok(out.success, `${tool} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** Processes (anyone's) whose command line holds `text`. */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const line = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (line.replaceAll("\0", " ").includes(text)) found.push(line.replaceAll("\0", " "));
  }
  return found;
}

/** Runs `work` with DB_URL set to `url`, as a script would see it, and gives back what it threw. */
async function withDbUrl(url: string, work: () => Promise<void>): Promise<unknown> {
  const previous = Deno.env.get("DB_URL");
  Deno.env.set("DB_URL", url);
  try {
    await work();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    if (previous === undefined) Deno.env.delete("DB_URL");
    else Deno.env.set("DB_URL", previous);
  }
}

Deno.test("custom-format archives: the SQL pg_restore writes, checked and run as a plain file", async (t) => {
  const cluster = await startCluster();
  const out = await Deno.makeTempDir({ prefix: "pgskill-archives-" });
  const marker = join(out, "touched");
  const url = (database: string) => cluster.url({ database });
  const run = (file: string, database: string, args: string[] = []) =>
    runSkillScript("restore_dump.ts", [file, ...args], {
      env: { DB_URL: url(database), DB_CONFIRM: "YES" },
      cwd: out,
    });
  const tables = async (database: string) =>
    Number(
      (await cluster.sql(
        "select count(*) as n from pg_tables where schemaname = 'public'",
        database,
      ))[0].n,
    );
  // What a restore leaves: rows, large objects, the comment and function body with their \! lines.
  const contents = async (database: string) =>
    String(
      (await cluster.sql(
        `select (select md5(string_agg(i::text, '|' order by id)) from items i)
            || (select string_agg(oid::text || '=' || encode(lo_get(oid), 'hex'), ',' order by oid)
                  from pg_largeobject_metadata)
            || obj_description('items'::regclass, 'pg_class')
            || (select prosrc from pg_proc where proname = 'noted') as f`,
        database,
      ))[0].f,
    );
  // The schema as pg_dump prints it, without its random \restrict key lines.
  const schema = async (database: string) =>
    (await clientTool(cluster, "pg_dump", ["--schema-only", "--no-owner", "-d", database]))
      .split("\n").filter((line) => !/^\\(un)?restrict /.test(line)).join("\n");
  try {
    for (const db of ["src", "direct", "single", "stepwise", "target"]) {
      await cluster.sql(`create database ${db}`);
    }
    // psql would read line 2 of the comment and of the function body as \! if they
    // were not inside a string: pg_dump quotes both (the body with a dollar tag it
    // does not hold), and the check reads them as psql does.
    await cluster.sql(
      `create table items (id int primary key, name text not null);
       comment on table items is E'first line\\n\\\\! touch ${marker}';
       create function noted() returns text language plpgsql as $$
       begin
       /*
       \\! touch ${marker}
       */
         return 'noted';
       end $$;
       insert into items select g, repeat('x', g % 50) from generate_series(1, 2000) g;
       select lo_from_bytea(0, 'a large object'), lo_from_bytea(0, '\\x00ff'::bytea);`,
      "src",
    );
    const archive = join(out, "full.dump");
    await clientTool(cluster, "pg_dump", ["-Fc", "-f", archive, "-d", "src"]);

    await t.step(
      "a pg_dump archive restores as pg_restore itself restored it, in both modes",
      async () => {
        // How restores ran before: pg_restore straight into the database.
        await clientTool(cluster, "pg_restore", [
          "--no-owner",
          "--no-privileges",
          "--exit-on-error",
          "--single-transaction",
          "-d",
          "direct",
          archive,
        ]);
        const modes: [string, string[]][] = [["single", []], ["stepwise", [
          "--no-single-transaction",
        ]]];
        for (const [database, args] of modes) {
          const restored = await run(archive, database, [...args, "--json"]);
          assert.equal(restored.code, 0, restored.stderr);
          const report = JSON.parse(restored.stdout);
          assert.equal(report.tool, "pg_restore");
          assert.equal(report.single_transaction, args.length === 0);
          assert.match(restored.stderr, /About to restore .* \(with pg_restore\) into database/);
          assert.equal(await contents(database), await contents("direct"), database);
          assert.equal(await schema(database), await schema("direct"), database);
        }
        assert.equal(await contents("direct"), await contents("src"));
        assert.match(await contents("single"), /first line\n\\! touch /);
        assert.equal(await pathExists(marker), false, "no shell command ran");
      },
    );

    await t.step(
      "pg_restore writes the same SQL for every read, so the check's is the restore's",
      async () => {
        const error = await withDbUrl(url("postgres"), async () => {
          const target = await resolveTarget();
          const plan = await planRestore(target, archive, {
            singleTransaction: true,
            tools: await resolveClientTools(target),
          });
          const read = async () =>
            new Uint8Array(
              await new Response(
                ReadableStream.from(plan.source.read()),
              ).arrayBuffer(),
            );
          const [first, second] = [await read(), await read()];
          assert.match(new TextDecoder().decode(first), /^COPY public\.items .* FROM stdin;$/m);
          assert.deepEqual(first, second);
          assert.ok(plan.check.ownTransaction, "pg_restore's own BEGIN and COMMIT were found");
          assert.deepEqual(
            plan.check.transactionControl,
            [],
            "the large objects' own are not written",
          );
        });
        assert.equal(error, undefined, String(error));
      },
    );

    // A comment whose text the archive holds as it is: pg_dump writes each archive
    // entry's SQL into its table of contents uncompressed, so an archive from
    // elsewhere (or changed) can hold any SQL in an entry. A database cannot give
    // pg_dump such text (it quotes what it takes from the catalogs), so the entry
    // is changed here byte for byte, keeping its length.
    const placeholder = "P".repeat(240);
    await cluster.sql("create database crafted");
    await cluster.sql(`create table canary (x text)`, "target");
    await cluster.sql(
      `create table canary (x text); comment on table canary is '${placeholder}';` +
        `insert into canary values ('from the archive');`,
      "crafted",
    );
    const crafted = join(out, "crafted.dump");
    await clientTool(cluster, "pg_dump", ["-Fc", "-f", crafted, "-d", "crafted"]);
    const craft = async (name: string, sql: string) => {
      const text = `x'; ${sql} select '`;
      assert.ok(text.length <= placeholder.length);
      const bytes = await Deno.readFile(crafted);
      const at = new TextDecoder("latin1").decode(bytes).indexOf(placeholder);
      assert.ok(at > 0, "the comment is in the archive's table of contents as it is");
      bytes.set(new TextEncoder().encode(text.padEnd(placeholder.length, "p")), at);
      await Deno.writeFile(join(out, name), bytes);
    };

    await t.step(
      "an archive whose entry holds a COMMIT or a meta-command is refused before asking",
      async () => {
        await craft("commit.dump", "commit;");
        await craft("shell.dump", `\n\\! touch ${marker}\n`);
        const cases: [string, string[], RegExp][] = [
          [
            "commit.dump",
            [],
            /^restore_dump: The SQL that pg_restore writes for ".*commit\.dump" has transaction control of its own \(COMMIT at line \d+\), so it cannot be restored all or nothing.*pg_dump never writes that into an archive/,
          ],
          [
            "shell.dump",
            [],
            /writes for ".*shell\.dump" holds psql meta-commands \(\\! at line \d+\)/,
          ],
          [
            "shell.dump",
            ["--no-single-transaction"],
            /holds psql meta-commands \(\\! at line \d+\)/,
          ],
        ];
        for (const [name, args, pattern] of cases) {
          const result = await run(join(out, name), "target", args);
          assert.equal(result.code, 2, `${name}: ${result.stderr}`);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(result.stderr, pattern);
          assert.ok(!/About to restore/.test(result.stderr), "refused before asking");
          const rows = await cluster.sql("select count(*)::int as n from canary", "target");
          assert.equal(rows[0].n, 0, "nothing reached the target");
          assert.equal(await pathExists(marker), false, "no shell command ran");
        }
      },
    );

    await t.step(
      "a function the check cannot see that ends the transaction: the report says what stays",
      async () => {
        // A check constraint that turns standard_conforming_strings off while
        // the rows load, with SQL built at run time (a set_config in plain sight
        // is refused before asking): psql then reads the index comment after
        // them as a COMMENT and a COMMIT (or a \! outside quotes), which no
        // check before the restore can know.
        const fixture = (comment: string) =>
          `create function flip(id int) returns boolean language plpgsql as $$
           begin
             execute format('set %s = %s', 'standard_conforming_strings', 'off');
             return true;
           end $$;
           create table flipped (id int check (flip(id)));
           create index flipped_idx on flipped (id);
           comment on index flipped_idx is '${comment}';`;
        const cases = [
          ["commits", "x\\'' ; commit; --"],
          ["shell", `x\\'' ; \\! touch ${marker} --`],
        ];
        for (const [name] of cases) {
          await cluster.sql(`create database ${name}_src`);
          await cluster.sql(`create database ${name}_dst`);
        }
        for (const [name, comment] of cases) {
          await cluster.sql(fixture(comment), `${name}_src`);
          await cluster.sql("insert into flipped values (1), (2)", `${name}_src`);
          await clientTool(cluster, "pg_dump", [
            "-Fc",
            "-f",
            join(out, `${name}.dump`),
            "-d",
            `${name}_src`,
          ]);
        }
        const committed = await run(join(out, "commits.dump"), "commits_dst");
        assert.equal(committed.code, 1, committed.stderr);
        assert.ok(isOneLineError(committed.stderr.split("\n").slice(1).join("\n")));
        assert.match(
          committed.stderr,
          /The restore did not run as one transaction: the archive ended the restore's transaction itself .* so what it ran before that stays, and what it ran after that outside a transaction of its own stays; check the database/,
        );
        const kept = await cluster.sql("select count(*)::int as n from flipped", "commits_dst");
        assert.equal(kept[0].n, 2, "what the report says stays, stays");

        const shell = await run(join(out, "shell.dump"), "shell_dst");
        assert.equal(shell.code, 1, shell.stderr);
        assert.match(shell.stderr, /backslash commands are restricted/);
        assert.match(
          shell.stderr,
          /the restore's transaction was rolled back, but whether the archive had ended it itself before the error cannot be told: line \d+ of the SQL pg_restore writes for it holds a string/,
        );
        assert.equal(await pathExists(marker), false, "\\restrict held: no shell command ran");
        assert.equal(await tables("shell_dst"), 0, "and nothing stayed");
      },
    );

    await t.step(
      "SQL that changed since its check reaches psql only up to the change",
      async () => {
        // A plain file of three blocks whose last statement changes after the check.
        const file = join(out, "changing.sql");
        const text = (last: string) =>
          "insert into canary values ('first');\n" + "-- padding\n".repeat(250_000) +
          `insert into canary values ('${last}');\n`;
        await Deno.writeTextFile(file, text("last1"));
        for (const singleTransaction of [true, false]) {
          const error = await withDbUrl(url("target"), async () => {
            const target = await resolveTarget();
            const plan = await planRestore(target, file, {
              singleTransaction,
              tools: await resolveClientTools(target),
            });
            await Deno.writeTextFile(file, text("last2"));
            try {
              await restoreFile(target, plan);
            } finally {
              await Deno.writeTextFile(file, text("last1"));
            }
          });
          assert.ok(error instanceof SkillError, String(error));
          assert.match(
            error.message,
            /psql was stopped: its input could not be read \(".*changing\.sql" changed since it was checked \(from byte 2097152 on\)\)/,
          );
          const rows = await cluster.sql("select x from canary", "target");
          // Stopped before psql began the file, or after: either is reported as it is.
          if (singleTransaction) {
            assert.match(
              error.message,
              /; (the transaction was rolled back, so the database is as it was|nothing of the file ran)$/,
            );
            assert.deepEqual(rows, []);
          } else {
            assert.match(error.message, /; (what ran before it stays|nothing of the file ran)$/);
            assert.ok(!rows.some((row) => row.x === "last2"), "the changed block never ran");
          }
          await cluster.sql("truncate canary", "target");
        }
        // An archive replaced by another after its check.
        const replaced = join(out, "replaced.dump");
        await Deno.copyFile(crafted, replaced);
        const error = await withDbUrl(url("target"), async () => {
          const target = await resolveTarget();
          const plan = await planRestore(target, replaced, {
            singleTransaction: true,
            tools: await resolveClientTools(target),
          });
          await Deno.copyFile(archive, replaced);
          await restoreFile(target, plan);
        });
        assert.ok(error instanceof SkillError, String(error));
        assert.match(
          error.message,
          /\(the SQL that pg_restore writes for ".*replaced\.dump" changed since it was checked \(from byte 0 on\)\); (the transaction was rolled back|nothing of the archive ran)/,
        );
        assert.deepEqual(await cluster.sql("select x from canary", "target"), []);
        assert.equal(await tables("target"), 1, "only the canary, nothing of either archive");
      },
    );

    // A data-only archive big enough that pg_restore is still writing while psql waits on a lock.
    await cluster.sql("create database waits");
    await cluster.sql(
      `create table items (id int primary key, name text not null);
       create function refuse() returns trigger language plpgsql
         as $$ begin raise exception 'the trigger fired'; end $$;
       create trigger refuse before insert on items for each row execute function refuse();`,
      "waits",
    );
    await cluster.sql(
      "insert into items select g, repeat('y', 100) from generate_series(2001, 40000) g",
      "src",
    );
    const data = join(out, "data.dump");
    await clientTool(cluster, "pg_dump", [
      "-Fc",
      "--data-only",
      "-t",
      "items",
      "-f",
      data,
      "-d",
      "src",
    ]);
    const locked = async (work: () => Promise<void>) => {
      const holder = await cluster.session("waits");
      await holder.simpleQuery("begin; lock table items in access exclusive mode");
      try {
        await work();
      } finally {
        await holder.simpleQuery("rollback").catch(() => {});
        await holder.close();
      }
    };
    const waiting = (app: string) =>
      waitFor(async () =>
        (await cluster.sql(
          `select 1 from pg_stat_activity where application_name = '${app}' and wait_event_type = 'Lock'`,
        )).length > 0, `${app} waiting for the lock`);

    await t.step(
      "an interrupted archive restore stops pg_restore and psql, and says so",
      async () => {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const app = `restore_${signal.toLowerCase()}`;
          let seen: string[] = [];
          let result: { code: number; stderr: string } | undefined;
          await locked(async () => {
            const running = await spawnSkillScript("restore_dump.ts", [data], {
              env: { DB_URL: url("waits"), DB_CONFIRM: "YES", DB_APPLICATION_NAME: app },
              cwd: out,
            });
            const watching = watchFamily(running.child.pid, running.result);
            await waiting(app);
            running.child.kill(signal);
            result = await running.result;
            seen = await watching;
          });
          assert.equal(result!.code, signal === "SIGTERM" ? 143 : 130, result!.stderr);
          assert.match(result!.stderr, new RegExp(`Interrupted \\(${signal}\\); psql was stopped`));
          assert.ok(seen.some((line) => /pg_restore .*--file -/.test(line)), "pg_restore ran");
          assert.deepEqual(await processesMentioning(data), [], "pg_restore no longer runs");
          // psql's files are named by its arguments (when the watch caught it running).
          for (const line of seen) {
            const prologue = line.match(/ -f (\S+before\.psql)/)?.[1];
            if (prologue) assert.deepEqual(await processesMentioning(prologue), [], "nor psql");
          }
          await waitFor(async () =>
            (await cluster.sql(
              `select 1 from pg_stat_activity where application_name = '${app}'`,
            )).length === 0, "the restore's session to end");
          const rows = await cluster.sql("select count(*)::int as n from items", "waits");
          assert.equal(rows[0].n, 0, "nothing of it stayed");
        }
      },
    );

    await t.step(
      "progress on a terminal while a data-only archive waits and runs, triggers off",
      async () => {
        const holder = await cluster.session("waits");
        await holder.simpleQuery("begin; lock table items in access exclusive mode");
        const command = await skillCommandLine("restore_dump.ts", [data]);
        const term = new Terminal(command, {
          ...baseEnv(),
          DB_URL: url("waits"),
          DB_CONFIRM: "YES",
        }, out);
        try {
          await term.expect(/restore: \d+(\.\d)? (B|kB|MB), \d+\.\d s/);
        } finally {
          await holder.simpleQuery("rollback");
          await holder.close();
        }
        const { code, output } = await term.finish();
        assert.equal(code, 0, output);
        assert.match(output, /\(with pg_restore; data only, triggers off\)/);
        assert.match(output, /triggers\s+\| off/);
        const rows = await cluster.sql("select count(*)::int as n from items", "waits");
        assert.equal(rows[0].n, 40000, "every row, and the trigger that refuses them never fired");
      },
    );
  } finally {
    await Deno.remove(out, { recursive: true });
    await cluster.stop();
  }
});

/** Restores `file` through the library, past the script's check (as a changed file would be). */
async function restoreDirectly(
  cluster: Cluster,
  file: string,
  singleTransaction: boolean,
): Promise<unknown> {
  const previous = Deno.env.get("DB_URL");
  Deno.env.set("DB_URL", cluster.url({ database: "target" }));
  try {
    const target = await resolveTarget();
    const plan = await planRestore(target, file, {
      singleTransaction,
      tools: await resolveClientTools(target),
    });
    await restoreFile(target, plan);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    if (previous === undefined) Deno.env.delete("DB_URL");
    else Deno.env.set("DB_URL", previous);
  }
}

Deno.test("psql has \\restrict from 13.22, 14.19, 15.14, 16.10, 17.6 and 18 on", () => {
  // No psql older than the fix is at hand (Debian ships 15.18, the npm server
  // packages ship no psql), so the decision is tested on what --version prints.
  const cases: [string, boolean][] = [
    ["psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", true],
    ["psql (PostgreSQL) 15.14", true],
    ["psql (PostgreSQL) 15.13 (Ubuntu 15.13-1.pgdg22.04+1)", false],
    ["psql (PostgreSQL) 13.22", true],
    ["psql (PostgreSQL) 13.21", false],
    ["psql (PostgreSQL) 14.19", true],
    ["psql (PostgreSQL) 14.18", false],
    ["psql (PostgreSQL) 16.10 (Homebrew)", true],
    ["psql (PostgreSQL) 16.9", false],
    ["psql (PostgreSQL) 17.6", true],
    ["psql (PostgreSQL) 17.5", false],
    ["psql (PostgreSQL) 17beta1", false],
    ["psql (PostgreSQL) 18.0", true],
    ["psql (PostgreSQL) 18beta2", false],
    ["psql (PostgreSQL) 18beta3", true],
    ["psql (PostgreSQL) 18rc1", true],
    ["psql (PostgreSQL) 19devel", true],
    ["psql (PostgreSQL) 12.22", false],
    ["psql (PostgreSQL) 9.6.24", false],
    ["not psql at all", false],
  ];
  for (const [text, expected] of cases) assert.equal(psqlHasRestrict(text), expected, text);
});
