/**
 * doctor.ts's objects (up to five names, the total, the script that lists
 * them all) and its checks of foreign keys without an index, estimated table
 * bloat and the age of the activity counters, on real servers of every
 * supported major version (PG_TEST_MAJORS, default 13 to 18): each built to
 * trigger (large unindexed children, a table with nine rows in ten deleted and
 * autovacuum off, pg_stat_reset()) and checked against the catalog, and each
 * ok where it should be.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import { makeProject, runSkillScript } from "../support/run.ts";
import { waitFor } from "../support/wait.ts";

const MAJORS = testMajors();

// Six children of about 110 kB whose key has no index, a small and an indexed one; a table with
// nine rows in ten deleted (autovacuum off, so nothing reclaims them) beside one never touched;
// seven indexes nobody scans; a table without statistics.
const FIXTURE = `
create table accounts (id int primary key);
insert into accounts select generate_series(1, 100);
do $$ begin
  for i in 1..6 loop
    execute format('create table fk_big_%s (account_id int references accounts, n int)', i);
    execute format('insert into fk_big_%s select 1 + g %% 100, g from generate_series(1, 3000) g', i);
  end loop;
end $$;
create table fk_small (account_id int references accounts);
create table fk_indexed (account_id int references accounts, n int);
insert into fk_indexed select 1 + g % 100, g from generate_series(1, 3000) g;
create index fk_indexed_account on fk_indexed (account_id);
create table bloated (id int, pad text) with (autovacuum_enabled = false);
insert into bloated select g, repeat('x', 60) from generate_series(1, 20000) g;
delete from bloated where id % 10 <> 0;
create table compact (id int, pad text) with (autovacuum_enabled = false);
insert into compact select g, repeat('x', 60) from generate_series(1, 20000) g;
create index compact_id on compact (id);
create index compact_pad on compact (pad);
create index compact_id_pad on compact (id, pad);
create index fk_big_1_n on fk_big_1 (n);
create index fk_big_2_n on fk_big_2 (n);
create index fk_big_3_n on fk_big_3 (n);
analyze;
create table fresh (v int) with (autovacuum_enabled = false);
insert into fresh select generate_series(1, 1000);
`;

interface Finding {
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

// Unindexed foreign keys on tables of at least 0.05 MiB, from the catalog: the fixture's keys
// are single columns, so "indexed" is an index leading with the key's column.
const FK_EXPECTED = `
select n.nspname || '.' || c.relname || ' (' || a.attname || ')' as name
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
where k.contype = 'f'
  and pg_relation_size(c.oid) >= 0.05 * 1048576
  and not exists (select 1 from pg_index i where i.indrelid = k.conrelid and i.indkey[0] = k.conkey[1])
order by pg_relation_size(c.oid) desc, n.nspname, c.relname`;

// Indexes never scanned that enforce nothing, largest first, from the statistics views.
const UNUSED_EXPECTED = `
select s.schemaname || '.' || s.indexrelname as name
from pg_stat_user_indexes s
join pg_index i on i.indexrelid = s.indexrelid
where s.idx_scan = 0 and not i.indisunique and not i.indisprimary
order by pg_relation_size(s.indexrelid) desc, s.schemaname, s.relname, s.indexrelname`;

for (const major of MAJORS) {
  Deno.test(`doctor's objects, foreign keys, bloat and statistics age on PostgreSQL ${major}`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
    });
    const project = await makeProject();
    const env = { ...project.env, DB_URL: cluster.url({ database: "shop" }) };
    const doctor = async (args: string[]): Promise<Record<string, Finding>> => {
      const result = await runSkillScript("doctor.ts", [...args, "--json"], { env });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { checks: Finding[] };
      return Object.fromEntries(report.checks.map((c) => [c.check, c]));
    };
    const names = async (sql: string) =>
      (await cluster.sql(sql, "shop")).map((r) => String(r.name));
    try {
      await cluster.sql("create database shop");
      await cluster.sql(FIXTURE, "shop");
      // Vacuumed, never analyzed: its pages are counted, its columns have no statistics.
      await cluster.sql("vacuum fresh", "shop");

      await t.step("foreign keys without an index past the size: named, counted", async () => {
        const expected = await names(FK_EXPECTED);
        assert.equal(expected.length, 6, expected.join(", "));
        const { foreign_key_indexes: fk } = await doctor([
          "--check",
          "foreign_key_indexes",
          "--fk-table-size-warning",
          "0.05",
        ]);
        assert.equal(fk.status, "warning");
        assert.equal(fk.total, expected.length);
        assert.deepEqual(fk.objects, expected.slice(0, 5));
        assert.equal(fk.see, "missing_fk_indexes.ts");
        assert.match(fk.summary, /^6 foreign keys without an index on tables of 0\.05 MiB/);
        assert.match(
          String(fk.items[0].suggestion),
          /^CREATE INDEX CONCURRENTLY ON public\.fk_big_/,
        );
        const critical = await doctor([
          "--check",
          "foreign_key_indexes",
          "--fk-table-size-warning",
          "0.05",
          "--fk-table-size-critical",
          "0.06",
        ]);
        assert.equal(critical.foreign_key_indexes.status, "critical");
        // At the default threshold (10 MiB) the small tables are no finding.
        const { foreign_key_indexes: ok } = await doctor(["--check", "foreign_key_indexes"]);
        assert.equal(ok.status, "ok");
        assert.equal(ok.objects, undefined);
        assert.equal(ok.total, undefined);
      });

      await t.step(
        "table bloat estimated from the statistics, the untouched table not",
        async () => {
          const [page] = await cluster.sql(
            `select c.relpages::bigint * current_setting('block_size')::bigint as bytes
           from pg_class c where c.relname = 'bloated'`,
            "shop",
          );
          const { table_bloat: bloat } = await doctor([
            "--check",
            "table_bloat",
            "--table-bloat-warning",
            "0.5",
          ]);
          assert.equal(bloat.status, "warning", bloat.summary);
          assert.equal(bloat.total, 1);
          assert.deepEqual(bloat.items.map((i) => i.table), ["bloated"]);
          const [item] = bloat.items;
          assert.equal(item.table_bytes, Number(page.bytes));
          // Nine rows in ten were deleted: about 90% of the pages hold nothing live.
          const pct = Number(item.wasted_pct);
          assert.ok(pct >= 80 && pct <= 95, `wasted ${pct}%`);
          assert.equal(
            bloat.objects![0],
            `public.bloated (${
              Math.round(Number(item.wasted_bytes) / 104857.6) / 10
            } MiB, ${pct}%)`,
          );
          assert.match(bloat.summary, /1 table not estimated: never analyzed/);
          const critical = await doctor([
            "--check",
            "table_bloat",
            "--table-bloat-warning",
            "0.5",
            "--table-bloat-critical",
            "1",
            "--table-bloat-ratio-critical",
            "80",
          ]);
          assert.equal(critical.table_bloat.status, "critical");
          // The defaults (100 MiB) pass a table of 2 MiB; rewritten, it wastes nothing at all.
          assert.equal((await doctor(["--check", "table_bloat"])).table_bloat.status, "ok");
          await cluster.sql("vacuum full bloated", "shop");
          await cluster.sql("analyze bloated", "shop");
          const rewritten = await doctor([
            "--check",
            "table_bloat",
            "--table-bloat-warning",
            "0.01",
            "--table-bloat-ratio-warning",
            "20",
          ]);
          assert.equal(rewritten.table_bloat.status, "ok", rewritten.table_bloat.summary);
        },
      );

      await t.step(
        "statistics counting long enough: unused indexes named, as counted",
        async () => {
          // The counters of a new server count from its start: wait until they are 4 s old.
          await waitFor(async () => {
            const [row] = await cluster.sql(
              "select now() - stats_reset > interval '4 seconds' as old from pg_stat_archiver",
            );
            return row.old === true;
          }, "counters 4 seconds old");
          const expected = await names(UNUSED_EXPECTED);
          assert.ok(expected.length >= 6, expected.join(", "));
          const [before] = await cluster.sql(
            "select stats_reset::text as at from pg_stat_database " +
              "where datname = current_database()",
            "shop",
          );
          const checks = await doctor(["--stats-age-warning", "0.001"]);
          assert.equal(checks.stats_age.status, "ok", checks.stats_age.summary);
          // 15 and later: null until pg_stat_reset(); 13 and 14 set it when the collector first
          // counts for the database, which is when its counting began.
          assert.equal(checks.stats_age.items[0].stats_reset, before.at);
          assert.match(
            checks.stats_age.summary,
            before.at === null
              ? /^the counters were never reset: they count for/
              : /^the counters were reset/,
          );
          const unused = checks.unused_indexes;
          assert.equal(unused.status, "warning");
          assert.equal(unused.value, expected.length);
          assert.equal(unused.total, expected.length);
          assert.deepEqual(unused.objects, expected.slice(0, 5));
          assert.equal(unused.see, "index_health.ts");
          assert.notEqual(unused.action, "");
          // The script it points to counts and orders the same indexes (the same SQL).
          const health = await runSkillScript("index_health.ts", ["--json"], { env });
          assert.equal(health.code, 0, health.stderr);
          const listed = JSON.parse(health.stdout).unused_index;
          assert.equal(listed.total, unused.total);
          assert.deepEqual(
            listed.rows.slice(0, 5).map((r: Record<string, unknown>) => `${r.schema}.${r.index}`),
            unused.objects,
          );
          // An ok finding names nothing.
          assert.equal(checks.connections.status, "ok");
          assert.equal("objects" in checks.connections, false);
          const table = await runSkillScript("doctor.ts", ["--stats-age-warning", "0.001"], {
            env,
          });
          assert.equal(table.code, 0, table.stderr);
          const line = table.stdout.split("\n").find((l) => l.startsWith("unused_indexes"))!;
          assert.ok(
            line.includes(
              `${expected.length} unused indexes: ${expected.slice(0, 5).join(", ")}, ... ` +
                `(${expected.length} in all: index_health.ts)`,
            ),
            line,
          );
        },
      );

      await t.step("counters just reset: stats_age warns, unused indexes skipped", async () => {
        const [before] = await cluster.sql(
          "select coalesce(stats_reset, '-infinity')::text as at from pg_stat_database " +
            "where datname = current_database()",
          "shop",
        );
        await cluster.sql("select pg_stat_reset()", "shop");
        // PostgreSQL 13 and 14's statistics collector records the reset a moment later.
        await waitFor(async () => {
          const [row] = await cluster.sql(
            `select stats_reset > '${before.at}'::timestamptz as reset from pg_stat_database ` +
              "where datname = current_database()",
            "shop",
          );
          return row.reset === true;
        }, "the reset recorded");
        // Blocks read after the reset, enough for the cache hit ratio to be judged.
        for (let i = 0; i < 6; i++) await cluster.sql("select count(*) from compact", "shop");
        await waitFor(async () => {
          const [row] = await cluster.sql(
            "select sum(heap_blks_hit + heap_blks_read) >= 1000 as enough from pg_statio_user_tables",
            "shop",
          );
          return row.enough === true;
        }, "block reads counted");
        const [reset] = await cluster.sql(
          "select stats_reset::text as at from pg_stat_database where datname = current_database()",
          "shop",
        );
        const expected = await names(UNUSED_EXPECTED);
        // Every threshold past, so cache_hit would be critical on counters that are old enough.
        const cache = ["--cache-hit-warning", "100", "--cache-hit-critical", "100"];
        const checks = await doctor(cache);
        assert.equal(checks.stats_age.status, "warning");
        assert.match(checks.stats_age.summary, /^the counters were reset .* ago; too soon/);
        assert.equal(String(checks.stats_age.items[0].stats_reset), String(reset.at));
        assert.ok(checks.stats_age.value! < 1, String(checks.stats_age.value));
        const unused = checks.unused_indexes;
        assert.equal(unused.status, "skipped");
        assert.match(unused.summary, /too soon to call them unused \(stats_age\)$/);
        assert.equal(unused.total, expected.length);
        assert.deepEqual(unused.objects, expected.slice(0, 5));
        assert.equal(unused.action, "");
        // index_health lists them with the same caution, not as "never scanned".
        const health = await runSkillScript("index_health.ts", ["--json"], { env });
        const listed = JSON.parse(health.stdout).unused_index;
        assert.equal(listed.total, expected.length, health.stderr);
        for (const row of listed.rows) {
          assert.match(row.detail, /^not scanned in the .* the counters cover: too soon to call/);
        }
        assert.equal(checks.cache_hit.status, "warning", checks.cache_hit.summary);
        assert.match(checks.cache_hit.summary, /see stats_age/);
        // Told that counters this young are enough, the findings stand as measured.
        const trusted = await doctor([...cache, "--stats-age-warning", "0"]);
        assert.equal(trusted.stats_age.status, "ok");
        assert.equal(trusted.unused_indexes.status, "warning");
        assert.equal(trusted.cache_hit.status, "critical");
        const refused = await runSkillScript("doctor.ts", ["--stats-age-critical", "1"], { env });
        assert.equal(refused.code, 2);
      });
    } finally {
      await project.remove();
      await cluster.stop();
    }
  });
}
