/**
 * Answers right the first time, on real servers of every supported major
 * (PG_TEST_MAJORS): table_sizes folds partitions into their parent,
 * find_objects finds constraints and policies, the pg_stat_statements scripts
 * show the connected database without the skill's own statements and say the
 * step left when the extension is missing; and run_sql started without its V8
 * flag starts itself again with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import { baseEnv, runSkillScript, SKILL_ROOT } from "../support/run.ts";
import { APP_SCHEMA } from "../support/fixtures.ts";
import { listRows } from "../support/lists.ts";
import { connect } from "../../lib/connection/script_sessions.ts";
import { resolveTarget } from "../../lib/connection/resolve.ts";

const MAJORS = testMajors();

/** Sub-partitioning two levels deep, beside the fixture's one-level app.events. */
const LEDGER = `
create table app.ledger (region text not null, booked date not null, note text)
  partition by list (region);
create table app.ledger_eu partition of app.ledger for values in ('eu')
  partition by range (booked);
create table app.ledger_eu_2025 partition of app.ledger_eu
  for values from ('2025-01-01') to ('2026-01-01');
create table app.ledger_eu_2026 partition of app.ledger_eu
  for values from ('2026-01-01') to ('2027-01-01');
create table app.ledger_us partition of app.ledger for values in ('us');
insert into app.ledger select 'eu', date '2025-01-01' + (g % 700), repeat('x', 200)
  from generate_series(1, 3000) g;
insert into app.ledger select 'us', date '2025-06-01', md5(g::text) from generate_series(1, 500) g;
create index ledger_booked_idx on app.ledger (booked);
analyze app.ledger;
alter table app.bookings add constraint bookings_room_positive check (room > 0);
alter table app.accounts add constraint accounts_email_unique unique (email);
`;

function listOf(result: { code: number; stdout: string; stderr: string }, what: string) {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  return listRows(JSON.parse(result.stdout));
}

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;

for (const major of MAJORS) {
  Deno.test(`answers on PostgreSQL ${major}`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
      preload: ["pg_stat_statements"],
      settings: { "pg_stat_statements.track": "top" },
    });
    try {
      await cluster.sql("create database shapes");
      await cluster.sql(APP_SCHEMA, "shapes");
      await cluster.sql(LEDGER, "shapes");
      const env = { DB_URL: cluster.url({ database: "shapes" }) };
      const run = (script: string, args: string[]) =>
        runSkillScript(script, [...args, "--json"], { env });

      await t.step("table_sizes: partitions folded into their parent", async () => {
        const folded = listOf(await run("table_sizes.ts", ["1000"]), "table_sizes");
        const all = listOf(await run("table_sizes.ts", ["1000", "--partitions"]), "--partitions");
        const [{ n }] = await cluster.sql(
          `select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'm') and not c.relispartition and s.nspname = 'app'`,
          "shapes",
        );
        assert.equal(folded.length, n, "one row per table that is not a partition");
        assert.ok(folded.every((r: Row) => r.kind !== "partition" && !("partition_of" in r)));
        const byName = (rows: Row[], name: string) => rows.find((r) => r.table === name)!;
        // The parent carries its leaves' sizes, however deep; the leaves as --partitions lists them.
        const leaves = await cluster.sql(
          `select relid::regclass::text as name from pg_partition_tree('app.ledger')
            where isleaf`,
          "shapes",
        );
        assert.equal(leaves.length, 3);
        const ledger = byName(folded, "ledger");
        assert.equal(ledger.kind, "partitioned table");
        for (const key of ["total_bytes", "table_bytes", "index_bytes", "toast_bytes"]) {
          const sum = leaves.reduce(
            (s: number, leaf: Row) => s + byName(all, String(leaf.name).replace("app.", ""))[key],
            0,
          );
          assert.equal(ledger[key], sum, key);
          assert.equal(byName(all, "ledger")[key], sum, `${key} with --partitions`);
        }
        assert.ok(ledger.index_bytes > 0 && ledger.total_bytes > 200 * 3000);
        assert.equal(ledger.estimated_rows, 3500);
        // The middle level is a partition that is itself partitioned, and carries its own leaves.
        const eu = byName(all, "ledger_eu");
        assert.deepEqual([eu.kind, eu.partition_of], ["partitioned table", "app.ledger"]);
        assert.equal(
          eu.total_bytes,
          byName(all, "ledger_eu_2025").total_bytes + byName(all, "ledger_eu_2026").total_bytes,
        );
        assert.deepEqual(
          [byName(all, "ledger_eu_2025").kind, byName(all, "ledger_eu_2025").partition_of],
          ["partition", "app.ledger_eu"],
        );
        assert.equal(byName(folded, "ledger_eu"), undefined);
        assert.equal(byName(folded, "events").total_bytes, byName(all, "events").total_bytes);
        // The table names no partition_of column unless partitions are listed.
        const table = await runSkillScript("table_sizes.ts", ["5"], { env });
        assert.equal(table.code, 0, table.stderr);
        assert.doesNotMatch(table.stdout.split("\n")[0], /partition_of/);
        const listed = await runSkillScript("table_sizes.ts", ["5", "--partitions"], { env });
        assert.match(listed.stdout.split("\n")[0], /partition_of/);
      });

      await t.step(
        "table_sizes: a table another session locks is estimated, not waited for",
        async () => {
          Deno.env.set("DB_URL", cluster.url({ database: "shapes" }));
          const target = await resolveTarget({ session: "plain" });
          Deno.env.delete("DB_URL");
          const { session: holder } = await connect(target);
          try {
            await holder.transaction("begin");
            await holder.query(
              "lock table app.accounts, app.ledger_eu_2025 in access exclusive mode",
            );
            const result = await runSkillScript("table_sizes.ts", ["1000", "--json"], {
              env: { ...env, DB_LOCK_TIMEOUT_MS: "500" },
            });
            assert.equal(result.code, 0, result.stderr);
            const rows = listRows(JSON.parse(result.stdout));
            assert.deepEqual(
              rows.filter((r: Row) => r.sizes_estimated).map((r: Row) => r.table).sort(),
              ["accounts", "ledger"],
              "the locked table, and the partitioned table whose partition is locked",
            );
            const ledger = rows.find((r: Row) => r.table === "ledger");
            assert.ok(ledger.total_bytes > 200 * 3000, "pg_class's pages still count the rows");
            assert.match(
              result.stderr,
              /note: another session holds or waits for ACCESS EXCLUSIVE on app\.(accounts|ledger)/,
            );
            const table = await runSkillScript("table_sizes.ts", ["5"], { env });
            assert.doesNotMatch(
              table.stdout,
              /sizes_estimated/,
              "the table format says it on stderr",
            );
          } finally {
            await holder.transaction("rollback").catch(() => {});
            await holder.close();
          }
        },
      );

      await t.step("find_objects: constraints and policies by name", async () => {
        const find = async (args: string[]) => listOf(await run("find_objects.ts", args), "find");
        const one = async (name: string, kind: string) => {
          const rows = (await find([name, "--kind", kind])).filter((r: Row) => r.name === name);
          assert.equal(rows.length, 1, `${name}: ${JSON.stringify(rows)}`);
          return rows[0];
        };
        const shape = (r: Row) => [r.kind, r.schema, r.table, r.detail];
        assert.deepEqual(shape(await one("bookings_no_overlap", "constraint")), [
          "constraint",
          "app",
          "bookings",
          "exclusion",
        ]);
        assert.deepEqual(shape(await one("refunds_event_fk", "constraint")), [
          "constraint",
          "app",
          "refunds",
          "foreign key",
        ]);
        assert.deepEqual(shape(await one("accounts_pkey", "constraints")), [
          "constraint",
          "app",
          "accounts",
          "primary key",
        ]);
        assert.deepEqual(shape(await one("email_has_one_at", "constraint")), [
          "constraint",
          "app",
          null,
          "check on domain app.email",
        ]);
        assert.deepEqual(shape(await one("own_account", "policy")), [
          "policy",
          "app",
          "accounts",
          "permissive for select",
        ]);
        assert.deepEqual(shape(await one("positive_ids", "policies")), [
          "policy",
          "app",
          "accounts",
          "restrictive for update",
        ]);
        // Every named constraint the catalog has in app (NOT NULL aside), each with its type.
        const catalog = await cluster.sql(
          `select conname as name, contype from pg_constraint
            where connamespace = 'app'::regnamespace and contype in ('p', 'u', 'c', 'f', 'x')`,
          "shapes",
        );
        const types: Record<string, string> = {
          p: "primary key",
          u: "unique",
          c: "check",
          f: "foreign key",
          x: "exclusion",
        };
        const found = await find([
          "app.*",
          "--kind",
          "constraint",
          "--limit",
          "1000",
          "--partitions",
        ]);
        assert.deepEqual(
          found.map((r: Row) => `${r.name} ${r.detail.replace(/ on domain .*|, inherited/g, "")}`)
            .sort(),
          catalog.map((r: Row) => `${r.name} ${types[String(r.contype)]}`).sort(),
        );
        for (
          const [name, table, detail] of [
            ["bookings_room_positive", "bookings", "check"],
            ["accounts_email_unique", "accounts", "unique"],
          ]
        ) {
          assert.deepEqual(shape(found.find((r: Row) => r.name === name)!), [
            "constraint",
            "app",
            table,
            detail,
          ]);
        }
        // A partition's copy of its parent's key says so.
        const copies = found.filter((r: Row) => r.name === "events_account_id_fkey");
        assert.deepEqual(
          copies.map((r: Row) => `${r.table} ${r.detail}`).sort(),
          [
            "events foreign key",
            "events_2025 foreign key, inherited",
            "events_2026 foreign key, inherited",
            "events_other foreign key, inherited",
          ],
        );
        // Without --partitions the partitions' copies are left out, and counted on stderr.
        const folded = await run("find_objects.ts", ["account_id", "--limit", "1000"]);
        const foldedRows = listOf(folded, "folded");
        const partitionNames = ["events_2025", "events_2026", "events_other"];
        assert.ok(foldedRows.every((r: Row) => !partitionNames.includes(r.table)));
        assert.ok(foldedRows.some((r: Row) => r.table === "events" && r.kind === "column"));
        const everything = listOf(
          await run("find_objects.ts", ["account_id", "--limit", "1000", "--partitions"]),
          "every",
        );
        const hidden = everything.length - foldedRows.length;
        assert.ok(hidden >= 6, `columns and key copies of three partitions: ${hidden}`);
        assert.match(folded.stderr, new RegExp(`note: ${hidden} more of partitions' own`));
        const exact = await run("find_objects.ts", ["events_account_id_fkey"]);
        assert.deepEqual(listOf(exact, "exact").map((r: Row) => r.table), ["events"]);
        assert.match(exact.stderr, /note: 3 more of partitions' own/);
        const onlyMembers = await run("find_objects.ts", ["events_2025_*", "--kind", "index"]);
        assert.match(onlyMembers.stderr, /more of partitions' own .* --partitions lists them/);
        assert.doesNotMatch(onlyMembers.stderr, /Nothing matches/);
        if (Number(cluster.major) >= 18) {
          // PostgreSQL 18 keeps NOT NULL as constraints; they are a column's, not listed.
          const [{ n }] = await cluster.sql(
            "select count(*)::int as n from pg_constraint where contype = 'n'",
            "shapes",
          );
          assert.ok(Number(n) > 0);
          assert.deepEqual(await find(["not_null", "--kind", "constraint"]), []);
        }
        const bad = await runSkillScript("find_objects.ts", ["x", "--kind", "constrain"], { env });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /Unknown kind "constrain"; .*constraint or policy/);
      });

      await t.step("pg_stat_statements: this database's, without the skill's own", async () => {
        await cluster.sql("create database stats");
        await cluster.sql("create database other");
        for (const db of ["stats", "other"]) {
          await cluster.sql("create extension pg_stat_statements", db);
          await cluster.sql(`create table ${db}_t as select g from generate_series(1, 100) g`, db);
        }
        for (let i = 0; i < 3; i++) {
          await cluster.sql("select count(*) from stats_t where g > 10", "stats");
          await cluster.sql("select count(*) from other_t where g > 10", "other");
          // An application's own comments, as sqlcommenter and hand-written reports add them.
          await cluster.sql(
            "-- report.sql: monthly\nselect sum(g) from stats_t /* report.sql */",
            "stats",
          );
        }
        const stats = { DB_URL: cluster.url({ database: "stats" }) };
        // The skill's own queries, run in this database.
        // describe_table also sends its own BEGIN ... and COMMIT.
        for (const script of ["table_sizes.ts", "find_objects.ts", "describe_table.ts"]) {
          const args = script === "table_sizes.ts" ? [] : ["stats_t"];
          const ran = await runSkillScript(script, args, { env: stats });
          assert.equal(ran.code, 0, ran.stderr);
        }
        // What the server kept of them: each text ends with the skill's mark, whatever it
        // did with the header comment (PostgreSQL 18 leaves it out).
        const kept = await cluster.sql(
          `select query from pg_stat_statements
            where dbid = (select oid from pg_database where datname = 'stats')
              and query ~ '/\\* postgres-skill sql/[a-z0-9_]+\\.sql \\*/\\s*$'`,
          "stats",
        );
        const keptText = kept.map((r: Row) => String(r.query));
        for (const file of ["table_sizes", "find_objects"]) {
          assert.ok(
            keptText.some((q) => q.trimEnd().endsWith(`/* postgres-skill sql/${file}.sql */`)),
            `${file} is recorded with its mark`,
          );
        }
        for (const script of ["slow_queries.ts", "pg_stat_statements_top.ts"]) {
          const top = (args: string[]) =>
            runSkillScript(script, ["1000", ...args, "--json"], { env: stats }).then((r) =>
              listOf(r, script)
            );
          const mine = await top([]);
          const queries = mine.map((r: Row) => String(r.query));
          assert.ok(queries.some((q) => /from stats_t where g > \$1/.test(q)), script);
          assert.ok(queries.some((q) => /sum\(g\) from stats_t/.test(q)), "not ours: shown");
          assert.ok(!queries.some((q) => /other_t/.test(q)), "another database's: left out");
          assert.ok(
            !queries.some((q) => /postgres-skill sql\/|^-- (table_sizes|find_objects)/.test(q)),
          );
          const control = queries.filter((q) => /^\s*(begin|commit|rollback)\b/i.test(q));
          assert.deepEqual(control, [], "the skill's transaction control is its own too");
          assert.ok(mine.every((r: Row) => !("database" in r)));
          // --all adds exactly the skill's own, those of this database (the query column is
          // cut at 500 characters, so they are counted, not read).
          const own = await top(["--all"]);
          const ownNow = await cluster.sql(
            `select count(*)::int as n from pg_stat_statements
              where dbid = (select oid from pg_database where datname = 'stats')
                and query ~ '/\\* postgres-skill( sql/[a-z0-9_]+\\.sql)? \\*/\\s*$'`,
            "stats",
          );
          assert.ok(own.length - mine.length >= keptText.length, "--all shows ours");
          assert.ok(own.length - mine.length <= Number(ownNow[0].n), "and nothing else");
          assert.ok(own.every((r: Row) => !/other_t/.test(r.query)));
          const everything = await top(["--all-databases", "--all"]);
          const where = (pattern: RegExp) =>
            everything.filter((r: Row) => pattern.test(r.query)).map((r: Row) => r.database);
          assert.deepEqual(where(/from other_t where/), ["other"]);
          assert.deepEqual(where(/from stats_t where/), ["stats"]);
          const servers = await top(["--all-databases"]);
          assert.ok(servers.some((r: Row) => r.database === "other"));
          assert.ok(servers.length < everything.length);
          assert.ok(
            !servers.some((r: Row) => /^-- (table_sizes|find_objects)\.sql:/.test(r.query)),
          );
        }
        // Loaded by the server, not created in this database: no restart is needed.
        const none = await runSkillScript("slow_queries.ts", [], {
          env: { DB_URL: cluster.url({ database: "shapes" }) },
        });
        assert.equal(none.code, 1);
        assert.match(
          none.stderr,
          /^slow_queries: pg_stat_statements is loaded by the server but not created in database "shapes"; run CREATE EXTENSION pg_stat_statements; in that database \(no restart needed\)/,
        );
        assert.doesNotMatch(none.stderr, /restart the server/);
        assert.equal(none.stderr.trim().split("\n").length, 1);
      });

      if (major === MAJORS[0]) {
        await t.step("pg_stat_statements: a server that does not load it", async () => {
          const plain = await startCluster({
            embeddedMajor: major === "system" ? undefined : Number(major),
          });
          try {
            await plain.sql("create database made");
            await plain.sql("create extension pg_stat_statements", "made");
            const missing = await runSkillScript("pg_stat_statements_top.ts", [], {
              env: { DB_URL: plain.url() },
            });
            assert.equal(missing.code, 1);
            assert.match(
              missing.stderr,
              /not installed in database "postgres"; enable it: add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server, then run CREATE EXTENSION/,
            );
            const made = await runSkillScript("pg_stat_statements_top.ts", [], {
              env: { DB_URL: plain.url({ database: "made" }) },
            });
            assert.equal(made.code, 1);
            assert.match(
              made.stderr,
              /is installed \(version [0-9.]+\) but not loaded by the server; add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server$/m,
            );
          } finally {
            await plain.stop();
          }
        });
      }
    } finally {
      await cluster.stop();
    }
  });
}

Deno.test("run_sql started without --v8-flags starts itself again with --liftoff-only", async () => {
  const script = join(SKILL_ROOT, "scripts", "run_sql.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "-"],
    env: baseEnv(),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // It waits for the SQL on stdin: by then it has replaced itself, under the same process id.
  let cmdline: string[] = [];
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    cmdline = (await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).split("\0").slice(0, -1);
    if (cmdline.includes("--v8-flags=--liftoff-only")) break;
  }
  assert.deepEqual(cmdline.slice(1), ["run", "--v8-flags=--liftoff-only", "-A", script, "-"]);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("   "));
  await writer.close();
  const out = await child.output();
  // The input reached the restarted process: it read the blank SQL and said so.
  assert.equal(out.code, 2);
  assert.equal(new TextDecoder().decode(out.stderr), "run_sql: The SQL holds no statement\n");
});

Deno.test("schema_introspect started without --v8-flags starts itself again with a small young generation", async () => {
  // A server that accepts and never answers: the script waits there, restarted by then.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  const script = join(SKILL_ROOT, "scripts", "schema_introspect.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env: { ...baseEnv(), DB_URL: `postgresql://u@127.0.0.1:${listener.addr.port}/d` },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const flag = "--v8-flags=--max-semi-space-size=2";
    let cmdline: string[] = [];
    for (let i = 0; i < 100 && accepted.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    cmdline = (await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).split("\0").slice(0, -1);
    assert.ok(accepted.length > 0, "it connected");
    assert.deepEqual(cmdline.slice(1), ["run", flag, "-A", script]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    for (const conn of accepted) conn.close();
    listener.close();
  }
});
