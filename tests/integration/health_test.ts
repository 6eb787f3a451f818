/**
 * doctor.ts, find_objects.ts, settings_overview.ts and replication_status.ts
 * on real servers of every supported major version (PG_TEST_MAJORS, default
 * 13 to 18; "system" means the Debian server), each situation built for real:
 * a sequence near its maximum, an int column fed by a bigint sequence, an idle
 * transaction, a blocked session, a long query, an invalid index, a NOT VALID
 * constraint, a table with autovacuum off and dead rows, an inactive logical
 * slot, failing WAL archiving, requested checkpoints, consumed transaction IDs,
 * a pending restart, and a streaming standby made with pg_basebackup.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster, startStandby, testMajors } from "../support/cluster.ts";
import type { PgSession } from "../../lib/connection/session.ts";
import { isOneLineError, makeProject, type Project, runSkillScript } from "../support/run.ts";
import { activeSession, waitFor } from "../support/wait.ts";
import { listRows, sectionRows } from "../support/lists.ts";

const MAJORS = testMajors();

const FIXTURE = `
create sequence near_end maxvalue 100;
select setval('near_end', 95);
create sequence wide_seq;
select setval('wide_seq', 2000000000);
create table fed (id int default nextval('wide_seq'), note text);
create table orders (id serial primary key, customer_id int, placed date);
create index orders_customer_idx on orders (customer_id);
create index orders_customer_placed_idx on orders (customer_id, placed);
create table order_lines (order_id int references orders, qty int);
create table legacy (v int);
insert into legacy values (-1);
alter table legacy add constraint legacy_positive check (v > 0) not valid;
create table dupvals (v int);
insert into dupvals values (1), (1);
create table churn (id int) with (autovacuum_enabled = false);
insert into churn select generate_series(1, 2000);
delete from churn where id > 100;
create function order_total(order_id int) returns int language sql as 'select 1';
create view order_summary as select customer_id, count(*) from orders group by 1;
create type order_state as enum ('new', 'paid');
create role watcher login password 'watcher-pw';
grant select on all tables in schema public to watcher;
-- Statistics for every table, so that table_bloat estimates them all (none is bloated enough).
analyze;
`;

interface Check {
  check: string;
  status: string;
  value: number | null;
  summary: string;
  action: string;
  items: Record<string, unknown>[];
  objects?: string[];
  total?: number;
  see?: string;
}

async function doctor(
  project: Project,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; checks: Record<string, Check>; stderr: string }> {
  const result = await runSkillScript("doctor.ts", [...args, "--json"], {
    env: { ...project.env, ...env },
  });
  assert.ok(result.code === 0 || result.code === 1, `doctor: ${result.code} ${result.stderr}`);
  const report = JSON.parse(result.stdout);
  return {
    code: result.code,
    checks: Object.fromEntries(report.checks.map((c: Check) => [c.check, c])),
    stderr: result.stderr,
  };
}

for (const major of MAJORS) {
  Deno.test(`health checks on PostgreSQL ${major}`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
      settings: {
        fsync: "on",
        full_page_writes: "on",
        wal_level: "logical",
        archive_mode: "on",
        archive_command: "'false'",
        autovacuum: "on",
        max_prepared_transactions: "5",
      },
      hba: ["local replication all trust"],
    });
    const project = await makeProject();
    const url = cluster.url({ database: "health" });
    const env = { DB_URL: url };
    const watcher = {
      DB_URL: cluster.url({ user: "watcher", password: "watcher-pw", database: "health" }),
    };
    const held: PgSession[] = [];
    try {
      await cluster.sql("create database health");
      await cluster.sql(FIXTURE, "health");
      // A failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index behind.
      await cluster.sql("create unique index concurrently dupvals_v_idx on dupvals (v)", "health")
        .then(() => assert.fail("the unique index should have failed"), () => {});
      await cluster.sql(
        "select pg_create_logical_replication_slot('stale_slot', 'pgoutput')",
        "health",
      );
      // Transaction IDs consumed one transaction each, for the lowered wraparound threshold.
      await cluster.sql(
        "do $$ begin for i in 1..60 loop perform txid_current(); commit; end loop; end $$",
      );
      for (let i = 0; i < 12; i++) await cluster.sql("checkpoint");
      await cluster.sql("select pg_switch_wal()");
      await waitFor(async () => {
        const [row] = await cluster.sql("select failed_count from pg_stat_archiver");
        return Number(row.failed_count) > 0;
      }, "a failed archive attempt");
      await waitFor(async () => {
        const [row] = await cluster.sql(
          "select n_dead_tup from pg_stat_user_tables where relname = 'churn'",
          "health",
        );
        return Number(row?.n_dead_tup) >= 1900;
      }, "dead rows of churn counted");

      // An idle transaction, a lock held with a session waiting for it, a long query.
      const idle = await cluster.session("health");
      const holder = await cluster.session("health");
      const waiter = await cluster.session("health");
      const sleeper = await cluster.session("health");
      held.push(idle, holder, waiter, sleeper);
      await idle.simpleQuery("begin; select 1");
      await holder.simpleQuery("begin; lock table orders in access exclusive mode");
      const waiting = waiter.simpleQuery("set application_name = 'waiter'; lock table orders")
        .catch(() => {});
      const sleeping = sleeper.simpleQuery("set application_name = 'sleeper'; select pg_sleep(60)")
        .catch(() => {});
      // A two-phase transaction prepared and never finished.
      await cluster.sql(
        "begin; insert into legacy values (7); prepare transaction 'forgotten_2pc'",
        "health",
      );
      await activeSession(cluster, "waiter", "lock table");
      await activeSession(cluster, "sleeper", "pg_sleep");

      await t.step("doctor: every situation found, graded, with what to do", async () => {
        const { code, checks, stderr } = await doctor(project, env, [
          "--idle-transaction-warning",
          "0",
          "--long-query-warning",
          "0",
          "--blocked-warning",
          "0",
          "--wraparound-warning",
          "50",
          // The server is minutes old: its counters are trusted here (doctor_test.ts tests them).
          "--stats-age-warning",
          "0",
        ]);
        assert.equal(code, 0, "without --fail-on the status says only that the checks ran");
        const status = Object.fromEntries(Object.values(checks).map((c) => [c.check, c.status]));
        assert.deepEqual(status, {
          connections: "ok",
          stats_age: "ok",
          cache_hit: status.cache_hit === "ok" || status.cache_hit === "warning" ||
              status.cache_hit === "critical"
            ? status.cache_hit
            : "skipped",
          xid_wraparound: "warning",
          multixact_wraparound: "ok",
          sequences: "critical",
          idle_in_transaction: "warning",
          prepared_transactions: "warning",
          long_queries: "warning",
          blocked_sessions: "warning",
          invalid_indexes: "warning",
          not_valid_constraints: "warning",
          duplicate_indexes: "warning",
          unused_indexes: "warning",
          foreign_key_indexes: "ok",
          vacuum: "warning",
          table_bloat: "ok",
          autovacuum_off: "warning",
          standby_lag: "ok",
          replication_slots: "warning",
          archiver: "critical",
          checkpoints: "critical",
          risky_settings: "ok",
        });
        // The stderr line counts what the rows say (the cache ratio depends on the machine).
        const count = (level: string) => Object.values(status).filter((s) => s === level).length;
        assert.match(
          stderr,
          new RegExp(
            `^${count("critical")} critical, ${count("warning")} warning, ` +
              `${count("skipped")} skipped, ${count("ok")} ok$`,
            "m",
          ),
        );
        assert.ok(count("critical") >= 3 && count("warning") >= 11);
        const sequences = checks.sequences;
        assert.equal(sequences.value, 95);
        assert.deepEqual(
          sequences.items.map((i) => [i.sequence, i.used_pct, i.column]).sort(),
          [["near_end", 95, null], ["wide_seq", 93.13, "public.fed.id"]],
        );
        assert.match(sequences.action, /bigint/);
        assert.ok(checks.idle_in_transaction.items.some((i) => i.pid === idle.backendPid));
        assert.ok(checks.long_queries.items.some((i) => i.pid === sleeper.backendPid));
        assert.deepEqual(checks.prepared_transactions.items.map((i) => [i.gid, i.database]), [
          ["forgotten_2pc", "health"],
        ]);
        assert.ok(
          checks.blocked_sessions.items.some((i) =>
            i.blocked_pid === waiter.backendPid && i.blocking_pid === holder.backendPid
          ),
        );
        assert.deepEqual(checks.invalid_indexes.items.map((i) => i.index), ["dupvals_v_idx"]);
        assert.deepEqual(checks.not_valid_constraints.items.map((i) => i.constraint), [
          "legacy_positive",
        ]);
        assert.deepEqual(
          checks.duplicate_indexes.items.map((i) => [i.index, i.covered_by]),
          [["orders_customer_idx", "orders_customer_placed_idx"]],
        );
        assert.deepEqual(checks.vacuum.items.map((i) => [i.table, i.autovacuum]), [
          ["churn", false],
        ]);
        assert.deepEqual(checks.autovacuum_off.items.map((i) => i.table), ["churn"]);
        assert.deepEqual(
          [checks.autovacuum_off.objects, checks.autovacuum_off.total],
          [["public.churn"], 1],
        );
        assert.deepEqual(checks.invalid_indexes.objects, ["public.dupvals_v_idx"]);
        assert.equal(checks.invalid_indexes.see, "index_health.ts");
        assert.deepEqual(checks.not_valid_constraints.objects, [
          "legacy_positive on public.legacy",
        ]);
        assert.deepEqual(checks.replication_slots.objects, ["stale_slot"]);
        assert.deepEqual(checks.prepared_transactions.objects, ["forgotten_2pc (postgres@health)"]);
        assert.ok(checks.blocked_sessions.objects!.includes(
          `pid ${waiter.backendPid} (waits for pid ${holder.backendPid})`,
        ));
        assert.equal(checks.sequences.total, 2);
        assert.deepEqual(checks.sequences.objects, ["public.near_end", "public.wide_seq"]);
        assert.deepEqual(
          checks.replication_slots.items.map((i) => [i.slot_name, i.slot_type, i.active]),
          [["stale_slot", "logical", false]],
        );
        assert.match(checks.archiver.summary, /archiving is failing/);
        assert.match(checks.checkpoints.summary, /^1[2-9] requested|^[2-9]\d requested/);
        assert.ok(checks.xid_wraparound.value! >= 60);
        assert.ok(checks.xid_wraparound.items.some((i) => i.table !== undefined));
        for (const check of Object.values(checks)) {
          if (check.status === "warning" || check.status === "critical") {
            assert.notEqual(check.action, "", `${check.check} says what to do`);
          }
        }
      });

      await t.step("--fail-on turns findings into exit 1; thresholds are checked", async () => {
        assert.equal((await doctor(project, env, ["--fail-on", "critical"])).code, 1);
        assert.equal((await doctor(project, env, ["--fail-on", "warning"])).code, 1);
        const some = await doctor(project, env, ["--check", "sequences,risky_settings"]);
        assert.deepEqual(Object.keys(some.checks), ["sequences", "risky_settings"]);
        assert.equal(some.code, 0);
        const relaxed = await doctor(project, env, [
          "--sequence-warning",
          "99",
          "--sequence-critical",
          "99.5",
        ]);
        assert.equal(relaxed.checks.sequences.status, "ok");
        const table = await runSkillScript("doctor.ts", [], { env });
        assert.equal(table.code, 0);
        assert.match(
          table.stdout,
          /^check +\| status +\| value +\| threshold +\| finding +\| action/,
        );
        assert.match(table.stdout, /\nsequences +\| critical \| 95% +\| >= 75 \/ 90% +\|/);
        for (
          const [args, pattern] of [
            [["--fail-on", "sometimes"], /--fail-on must be warning or critical/],
            [["--check", "sequences,wraparound"], /Unknown check "wraparound"; the checks are/],
            [["--sequence-warning", "95", "--sequence-critical", "90"], /must be at most/],
            [["--cache-hit-warning", "101"], /must be at most 100/],
            [["--long-query-warning", "1; drop table orders"], /must be a number/],
          ] as const
        ) {
          const result = await runSkillScript("doctor.ts", [...args], { env });
          assert.equal(result.code, 2, args.join(" "));
          assert.match(result.stderr, pattern);
          assert.ok(isOneLineError(result.stderr), result.stderr);
        }
      });

      await t.step("risky settings and a crowded server, as they are set", async () => {
        await cluster.sql("alter system set fsync = off");
        await cluster.sql("select pg_reload_conf()");
        await waitFor(async () => {
          const [row] = await cluster.sql("select current_setting('fsync') as f");
          return row.f === "off";
        }, "fsync off after the reload");
        const { checks } = await doctor(project, env, [
          "--connections-warning",
          "5",
          "--connections-critical",
          "99",
        ]);
        assert.equal(checks.risky_settings.status, "critical");
        assert.deepEqual(checks.risky_settings.items.map((i) => [i.name, i.setting, i.source]), [
          ["fsync", "off", "configuration file"],
        ]);
        assert.equal(checks.connections.status, "warning");
        assert.ok(checks.connections.value! >= 5, String(checks.connections.value));
        assert.match(checks.connections.summary, /^\d+ of \d+ usable slots/);
        await cluster.sql("alter system reset fsync");
        await cluster.sql("select pg_reload_conf()");
      });

      await t.step("doctor as a role without pg_read_all_stats: skipped, never ok", async () => {
        const { checks } = await doctor(project, watcher);
        for (const name of ["idle_in_transaction", "long_queries", "blocked_sessions"]) {
          assert.equal(checks[name].status, "skipped", name);
          assert.match(checks[name].summary, /needs pg_read_all_stats/);
        }
        // The sequences are not the watcher's to read: not measured, so not ok.
        assert.equal(checks.sequences.status, "skipped");
        assert.match(checks.sequences.summary, /may not read/);
        assert.ok(checks.sequences.objects!.includes("public.near_end"));
        await cluster.sql("grant pg_read_all_stats to watcher");
        const granted = await doctor(project, watcher, ["--idle-transaction-warning", "0"]);
        assert.equal(granted.checks.idle_in_transaction.status, "warning");
      });

      await t.step("find_objects: every kind, exact names first, patterns bound", async () => {
        const find = async (args: string[]) => {
          const result = await runSkillScript("find_objects.ts", [...args, "--json"], { env });
          assert.equal(result.code, 0, result.stderr);
          return listRows(JSON.parse(result.stdout)) as Record<string, unknown>[];
        };
        const rows = await find(["ORDER"]);
        const seen = rows.map((r) => `${r.kind}:${r.name}:${r.table ?? ""}`);
        for (
          const expected of [
            "table:orders:",
            "view:order_summary:",
            "column:order_id:order_lines",
            "function:order_total:",
            "index:orders_customer_idx:orders",
            "index:orders_pkey:orders",
            "sequence:orders_id_seq:orders",
            "type:order_state:",
          ]
        ) {
          assert.ok(seen.includes(expected), `${expected} in ${seen.join(", ")}`);
        }
        assert.equal(rows.find((r) => r.name === "order_total")!.detail, "(order_id integer)");
        // Read from the catalogs while orders is locked (ACCESS EXCLUSIVE) by another session.
        assert.equal(
          rows.find((r) => r.name === "orders_customer_placed_idx")!.detail,
          "btree (customer_id, placed)",
        );
        // The primary key is found twice: as its index and as the constraint.
        assert.deepEqual(
          rows.filter((r) => r.name === "orders_pkey").map((r) => `${r.kind}: ${r.detail}`),
          ["constraint: primary key", "index: unique btree (id)"],
        );
        const exact = await find(["Orders"]);
        assert.deepEqual([exact[0].kind, exact[0].name], ["table", "orders"]);
        assert.deepEqual(
          (await find(["order*", "--kind", "column,type"])).map((r) => [r.kind, r.name]),
          [["column", "order_id"], ["type", "order_state"]],
        );
        assert.deepEqual(
          (await find(["PUBLIC.order*", "--kind", "table"])).map((r) => r.name),
          ["order_lines", "orders"],
        );
        assert.deepEqual(await find(["pub.orders"]), []);
        assert.ok((await find(["public."])).length > 10);
        assert.deepEqual(await find(["%"]), []);
        assert.deepEqual(await find(["x'; drop table orders; --"]), []);
        assert.deepEqual(
          await cluster.sql("select relname from pg_class where relname = 'orders'", "health"),
          [{ relname: "orders" }],
        );
        // A limit keeps the first rows and says exactly how many there are.
        const every = await find(["o", "--limit", "10000"]);
        assert.ok(every.length > 2);
        const limited = await runSkillScript("find_objects.ts", ["o", "--limit", "2"], { env });
        assert.equal(limited.code, 0);
        assert.equal(
          limited.stdout.trim().split("\n").at(-1),
          `(2 of ${every.length} rows shown; limit 2: --limit ${every.length} shows all)`,
        );
        const two = await runSkillScript("find_objects.ts", ["o", "2", "--json"], { env });
        const cut = JSON.parse(two.stdout);
        assert.deepEqual(listRows(cut), every.slice(0, 2));
        assert.deepEqual([cut.total, cut.truncated, cut.limit], [every.length, true, 2]);
        const bad = await runSkillScript("find_objects.ts", ["o", "--kind", "tabel"], { env });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /Unknown kind "tabel"/);
      });

      await t.step(
        "settings_overview: changed settings with file and line; pending restart",
        async () => {
          await cluster.sql("alter system set max_connections = 35");
          await cluster.sql("alter system set work_mem = '8MB'");
          await cluster.sql("select pg_reload_conf()");
          await waitFor(async () => {
            const [row] = await cluster.sql("select current_setting('work_mem') as w");
            return row.w === "8MB";
          }, "the reload");
          const result = await runSkillScript("settings_overview.ts", ["--json"], { env });
          assert.equal(result.code, 0, result.stderr);
          const { changed, pending } = sectionRows(JSON.parse(result.stdout));
          const wal = changed.find((s: Record<string, unknown>) => s.name === "wal_level");
          assert.equal(wal.value, "logical");
          assert.equal(wal.default_value, "replica");
          assert.equal(wal.source, "configuration file");
          assert.match(wal.sourcefile, /postgresql\.conf$/);
          assert.ok(Number(wal.sourceline) > 0);
          const workMem = changed.find((s: Record<string, unknown>) => s.name === "work_mem");
          assert.deepEqual([workMem.value, workMem.default_value], ["8MB", "4096 kB"]);
          assert.match(workMem.sourcefile, /postgresql\.auto\.conf$/);
          assert.ok(!changed.some((s: Record<string, unknown>) => s.name === "application_name"));
          const restart = pending.find((s: Record<string, unknown>) =>
            s.name === "max_connections"
          );
          assert.equal(restart.value_in_effect, "40");
          assert.equal(restart.new_value, "35");
          assert.match(restart.reason, /restart/);
          // A standby copied from this server must not inherit the pending change.
          await cluster.sql("alter system reset max_connections");
          await cluster.sql("select pg_reload_conf()");

          const asWatcher = await runSkillScript("settings_overview.ts", ["--json"], {
            env: watcher,
          });
          assert.equal(asWatcher.code, 0, asWatcher.stderr);
          assert.match(asWatcher.stderr, /configuration files cannot be read by this role/);
          const seen = sectionRows(JSON.parse(asWatcher.stdout));
          assert.equal(
            seen.changed.find((s: Record<string, unknown>) => s.name === "wal_level").sourcefile,
            null,
          );
        },
      );

      await t.step("replication_status on a primary: slots and subscriptions", async () => {
        await cluster.sql("create publication everything for all tables", "health");
        await cluster.sql("create database replica_side");
        await cluster.sql(
          `create subscription from_health connection '${url}' publication everything
             with (connect = false, enabled = false, create_slot = false, slot_name = none)`,
          "replica_side",
        );
        const result = await runSkillScript("replication_status.ts", ["--json"], { env });
        assert.equal(result.code, 0, result.stderr);
        const status = sectionRows(JSON.parse(result.stdout));
        assert.equal(status.server[0].role, "primary");
        assert.equal(status.server[0].wal_level, "logical");
        assert.deepEqual(status.standbys, []);
        assert.deepEqual(status.receiver, []);
        assert.deepEqual(
          status.slots.map((s: Record<string, unknown>) => [s.slot_name, s.slot_type, s.plugin]),
          [["stale_slot", "logical", "pgoutput"]],
        );
        assert.ok(Number(status.slots[0].wal_retained_bytes) > 0);
        assert.deepEqual(
          status.subscriptions.map((s: Record<string, unknown>) => [
            s.subscription,
            s.database,
            s.enabled,
            s.worker_pid,
          ]),
          [["from_health", "replica_side", false, null]],
        );
        assert.ok(!result.stdout.includes(cluster.password), "no connection string is shown");
      });

      const standby = await startStandby(cluster);
      if (typeof standby === "string") {
        console.error(`  (no standby on PostgreSQL ${major}: ${standby})`);
      }
      await t.step({
        name: "a streaming standby made with pg_basebackup",
        ignore: typeof standby === "string",
        fn: async () => {
          if (typeof standby === "string") return;
          try {
            await waitFor(async () => {
              const rows = await cluster.sql(
                // replay_lsn stays null until the standby's first feedback message.
                "select state from pg_stat_replication " +
                  "where state = 'streaming' and replay_lsn is not null",
              );
              return rows.length === 1;
            }, "the standby streaming and replaying");
            const primary = await runSkillScript("replication_status.ts", ["--json"], { env });
            const standbys = sectionRows(JSON.parse(primary.stdout)).standbys;
            assert.equal(standbys.length, 1);
            assert.equal(standbys[0].state, "streaming");
            assert.notEqual(standbys[0].replay_lsn, null);
            const onStandby = { DB_URL: standby.url({ database: "health" }) };
            const own = await runSkillScript("replication_status.ts", ["--json"], {
              env: onStandby,
            });
            assert.equal(own.code, 0, own.stderr);
            const view = sectionRows(JSON.parse(own.stdout));
            assert.equal(view.server[0].role, "standby");
            assert.equal(view.receiver[0].receiver_status, "streaming");
            const fromPrimary = await doctor(project, env);
            assert.equal(fromPrimary.checks.standby_lag.status, "ok");
            assert.match(fromPrimary.checks.standby_lag.summary, /^1 standby; the furthest/);
            const fromStandby = await doctor(project, onStandby);
            assert.equal(fromStandby.checks.standby_lag.status, "ok");
            assert.match(fromStandby.checks.standby_lag.summary, /this standby replays/);
            // A standby inherits the primary's findings; none of its checks fails to run.
            const refused = Object.values(fromStandby.checks).filter((c) =>
              /refused the check/.test(c.summary)
            );
            assert.deepEqual(refused, []);
          } finally {
            await standby.stop();
          }
        },
      });
      await holder.simpleQuery("rollback").catch(() => {});
      await sleeper.cancel().catch(() => {});
      await Promise.all([waiting, sleeping]);
    } finally {
      for (const session of held) await session.close().catch(() => {});
      await project.remove();
      await cluster.stop();
    }
  });
}
