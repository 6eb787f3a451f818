/**
 * The read-only diagnostics on real servers of every supported major version
 * (PG_TEST_MAJORS, default 13 to 18; "system" means the installed server). Each script's test builds the situation it diagnoses and
 * checks that the output names it.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import { makeProject, type Project, runSkillScript, tomlWithProfiles } from "../support/run.ts";
import { waitFor } from "../support/wait.ts";
import { APP_SCHEMA } from "../support/fixtures.ts";
import { listRows } from "../support/lists.ts";

const MAJORS = testMajors();

const FIXTURE = `
create schema sales;
create schema crm;
create type sales.status as enum ('new', 'paid', 'shipped');
create table crm.customers (
  id int primary key,
  email text not null unique,
  region text,
  constraint email_has_at check (email like '%@%')
);
comment on table crm.customers is 'People who buy';
create table sales.orders (
  id serial primary key,
  customer_id int not null references crm.customers (id),
  status sales.status not null default 'new',
  amount numeric(10, 2) check (amount >= 0),
  created_at timestamptz not null default now()
);
create table sales.order_lines (
  order_id int not null references sales.orders (id),
  line_no int not null,
  product text,
  primary key (order_id, line_no)
);
create table sales.shipments (
  id serial primary key,
  order_id int not null,
  line_no int not null,
  constraint shipments_line_fk foreign key (order_id, line_no)
    references sales.order_lines (order_id, line_no)
);
create index shipments_line_idx on sales.shipments (line_no, order_id, id);
create table sales.returns (
  id serial primary key,
  order_id int references sales.orders (id),
  reason text
);
create index returns_reason_order_idx on sales.returns (reason, order_id);
create index orders_status_idx on sales.orders (status);
create index orders_status_created_idx on sales.orders (status, created_at);
create index orders_amount_idx on sales.orders (amount);
create index orders_amount_copy_idx on sales.orders (amount);
create table public.big (id int, payload text);
insert into public.big select g, md5(g::text) from generate_series(1, 20000) g;
create index big_payload_idx on public.big (payload);
create table public.dupvals (v int);
insert into public.dupvals values (1), (1);
create view sales.order_totals as
  select o.id, o.customer_id, sum(o.amount) as total from sales.orders o group by o.id;
create materialized view sales.daily as
  select date_trunc('day', created_at) as day, count(*) as orders from sales.orders group by 1;
create sequence crm.ticket_seq start 100;
create function sales.order_total(order_id int) returns numeric language sql stable
  as $$ select amount from sales.orders where id = order_id $$;
create function sales.touch() returns trigger language plpgsql
  as $$ begin new.created_at := now(); return new; end $$;
create trigger orders_touch before update on sales.orders
  for each row execute function sales.touch();
create extension pg_stat_statements;
insert into crm.customers values (1, 'ada@example.com', 'eu'), (2, 'alan@example.com', 'uk');
insert into sales.orders (customer_id, amount) values (1, 10), (2, 20);
create role analyst nologin;
create role alice login connection limit 3 in role analyst;
`;

async function json(project: Project, script: string, args: string[] = [], env = {}) {
  const result = await runSkillScript(script, [...args, "--json"], {
    env: { ...project.env, ...env },
  });
  assert.equal(result.code, 0, `${script}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

async function list(project: Project, script: string, args: string[] = [], env = {}) {
  return listRows(await json(project, script, args, env));
}

/** index_health's findings, one section per check, as one list with the check on each row. */
async function findingsOf(project: Project, args: string[] = [], env = {}) {
  const doc = await json(project, "index_health.ts", args, env);
  assert.deepEqual(Object.keys(doc), [
    "missing_index",
    "unused_index",
    "invalid_index",
    "duplicate_index",
  ]);
  return Object.entries(doc).flatMap(([check, section]) =>
    listRows(section as Record<string, unknown>).map((row) => ({ check, ...row }))
  );
}

for (const major of MAJORS) {
  Deno.test(`diagnostics on PostgreSQL ${major}`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
      preload: ["pg_stat_statements"],
      settings: { autovacuum: "off", "pg_stat_statements.track": "all" },
    });
    const project = await makeProject();
    try {
      await cluster.sql("create database diag");
      await cluster.sql(FIXTURE, "diag");
      await cluster.sql("analyze crm.customers", "diag");
      await cluster.sql("create database shapes");
      await cluster.sql(APP_SCHEMA, "shapes");
      // Partitions with rows counted; accounts, refunds and bookings never counted.
      await cluster.sql("analyze app.events_2025; analyze app.events_2026", "shapes");
      const shapes = { ...project.env, DB_URL: cluster.url({ database: "shapes" }) };
      // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind.
      await cluster.sql(
        "create unique index concurrently dupvals_v_idx on public.dupvals (v)",
        "diag",
      )
        .then(() => assert.fail("the unique index should have failed"), () => {});
      for (let i = 0; i < 6; i++) {
        await cluster.sql("select count(*) from public.big where payload like '%needle%'", "diag");
      }
      await waitFor(async () => {
        const [row] = await cluster.sql(
          "select seq_scan, n_live_tup from pg_stat_user_tables where relname = 'big'",
          "diag",
        );
        return Number(row?.seq_scan) >= 6 && Number(row?.n_live_tup) >= 20000;
      }, "statistics of public.big");
      await project.writeToml(tomlWithProfiles({
        local: {
          host: cluster.host,
          port: cluster.port,
          user: cluster.superuser,
          password: cluster.password,
          database: "diag",
        },
      }));

      await t.step(
        "partitioned tables: sizes add up, foreign keys once, suggestions the server accepts",
        async () => {
          const sizes = await list(project, "table_sizes.ts", ["100", "--partitions"], shapes);
          const row = (name: string) => sizes.find((r: { table: string }) => r.table === name);
          const parts = ["events_2025", "events_2026", "events_other"].map(row);
          const events = row("events");
          assert.equal(events.kind, "partitioned table");
          for (const key of ["total_bytes", "table_bytes", "index_bytes", "toast_bytes"]) {
            assert.equal(
              events[key],
              parts.reduce((sum: number, p: Record<string, number>) => sum + p[key], 0),
              key,
            );
          }
          assert.ok(events.total_bytes > 0);
          assert.equal(events.estimated_rows, 3000);
          assert.equal(row("events_other").estimated_rows, 0);
          assert.equal(row("accounts").estimated_rows, null);
          for (const part of parts) {
            assert.deepEqual([part.kind, part.partition_of], ["partition", "app.events"]);
            assert.ok(sizes.indexOf(events) < sizes.indexOf(part), "the whole ranks above a part");
          }

          const fks = await json(
            project,
            "schema_introspect.ts",
            ["--section", "foreign_keys"],
            shapes,
          );
          assert.deepEqual(
            fks.tables.flatMap((t: { name: string; foreign_keys: { name: string }[] }) =>
              t.foreign_keys.map((k) => `${t.name}.${k.name}`)
            ),
            ["events.events_account_id_fkey", "refunds.refunds_event_fk"],
            "once, where declared (not on each partition)",
          );
          const missing = await list(project, "missing_fk_indexes.ts", [], shapes);
          assert.deepEqual(
            missing.map((r: { constraint_name: string; suggestion: string }) => [
              r.constraint_name,
              r.suggestion,
            ]),
            [
              ["events_account_id_fkey", "CREATE INDEX ON app.events (account_id);"],
              [
                "refunds_event_fk",
                "CREATE INDEX CONCURRENTLY ON app.refunds (event_id, happened);",
              ],
            ],
          );
          assert.match(missing[0].note, /partitioned table: CONCURRENTLY is refused/);
          assert.equal(missing[1].note, null);
          // What is suggested runs, and then the keys count as indexed.
          for (const r of missing) await cluster.sql(r.suggestion, "shapes");
          assert.deepEqual(await list(project, "missing_fk_indexes.ts", [], shapes), []);
        },
      );

      await t.step("index_health: a partitioned table is judged as a whole", async () => {
        for (let i = 0; i < 6; i++) {
          await cluster.sql("select count(*) from app.events where amount > 5", "shapes");
        }
        await waitFor(async () => {
          const [r] = await cluster.sql(
            `select min(seq_scan) as scans from pg_stat_user_tables
              where relname in ('events_2025', 'events_2026')`,
            "shapes",
          );
          return Number(r?.scans) >= 6;
        }, "statistics of the partitions");
        // Each partition holds fewer than 2,000 rows; together they hold 3,000.
        const findings = await findingsOf(project, ["--min-rows", "2000"], shapes);
        const missingIndex = findings.filter((r: { check: string }) => r.check === "missing_index");
        assert.deepEqual(
          missingIndex.map((r: { schema: string; table: string }) => `${r.schema}.${r.table}`),
          ["app.events"],
        );
        assert.equal(missingIndex[0].live_rows, 3000);
        assert.ok(missingIndex[0].seq_scan >= 12, "its partitions' scans added up");
      });

      await t.step(
        "table_sizes: largest first, numbers as numbers, hostile limit refused",
        async () => {
          const doc = await json(project, "table_sizes.ts", ["3"]);
          const rows = listRows(doc);
          assert.equal(rows.length, 3);
          // The total is every table the catalog has, not the rows shown.
          const [{ n }] = await cluster.sql(
            `select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
              where c.relkind in ('r', 'p', 'm') and not c.relispartition
                and s.nspname not in ('pg_catalog', 'information_schema')
                and s.nspname !~ '^pg_(toast|temp_)'`,
            "diag",
          );
          assert.ok(Number(n) > 3);
          assert.deepEqual([doc.total, doc.truncated, doc.limit], [n, true, 3]);
          const table = await runSkillScript("table_sizes.ts", ["--limit", "3"], {
            env: project.env,
          });
          assert.equal(table.code, 0, table.stderr);
          assert.equal(
            table.stdout.trim().split("\n").at(-1),
            `(3 of ${n} rows shown; limit 3: --limit ${n} shows all)`,
          );
          assert.equal(table.stdout.trim().split("\n").length, 2 + 3 + 1);
          const whole = await json(project, "table_sizes.ts", ["--limit", String(n)]);
          assert.deepEqual([whole.rows.length, whole.total, whole.truncated], [n, n, false]);
          const csv = await runSkillScript("table_sizes.ts", ["2", "--csv"], { env: project.env });
          assert.equal(csv.stdout.trim().split("\n").length, 1 + 2);
          assert.match(csv.stderr, new RegExp(`2 of ${n} rows shown; limit 2`));
          const twice = await runSkillScript("table_sizes.ts", ["2", "--limit", "3"], {
            env: project.env,
          });
          assert.equal(twice.code, 2);
          assert.match(twice.stderr, /Give the limit once, as \[limit\] or --limit N, not both/);
          assert.equal(rows[0].table, "big");
          assert.equal(typeof rows[0].total_bytes, "number");
          assert.ok(rows[0].total_bytes >= rows[1].total_bytes);
          assert.equal(
            rows[0].total_bytes,
            rows[0].table_bytes + rows[0].index_bytes + rows[0].toast_bytes,
          );
          for (const bad of ["1; drop table big", "0", "-5", "2.5", "99999999"]) {
            const result = await runSkillScript("table_sizes.ts", [bad], { env: project.env });
            assert.equal(result.code, 2, bad);
            assert.match(result.stderr, /limit must be|Unknown option "-5"/);
          }
          const [big] = await cluster.sql("select count(*)::int as n from public.big", "diag");
          assert.equal(big.n, 20000);
        },
      );

      await t.step("index_health: missing, unused, invalid and duplicate indexes", async () => {
        const findings = await findingsOf(project, ["--min-rows", "1000"]);
        const has = (check: string, pick: (r: Record<string, unknown>) => boolean) =>
          findings.some((r: Record<string, unknown>) => r.check === check && pick(r));
        assert.ok(has("missing_index", (r) => r.table === "big" && Number(r.seq_scan) >= 6));
        assert.ok(has("unused_index", (r) => r.index === "big_payload_idx"));
        assert.ok(
          !has("unused_index", (r) => String(r.index).endsWith("_pkey")),
          "no primary keys",
        );
        assert.ok(!has("unused_index", (r) => r.index === "customers_email_key"), "no unique");
        assert.ok(has("invalid_index", (r) => r.index === "dupvals_v_idx"));
        assert.ok(
          has(
            "duplicate_index",
            (r) => r.index === "orders_status_idx" && r.covered_by === "orders_status_created_idx",
          ),
        );
        assert.ok(
          has(
            "duplicate_index",
            (r) => r.index === "orders_amount_copy_idx" && r.covered_by === "orders_amount_idx",
          ),
        );
        assert.ok(
          !has("duplicate_index", (r) => r.index === "orders_amount_idx"),
          "only one of a pair",
        );
        assert.ok(!has("duplicate_index", (r) => r.index === "orders_status_created_idx"));
        // The limit is per check, and each check says what it left out.
        const all = await json(project, "index_health.ts", ["--min-rows", "1000", "10000"]);
        const count = (check: string): number => all[check].total;
        assert.equal(count("duplicate_index"), all.duplicate_index.rows.length);
        const one = await json(project, "index_health.ts", ["--min-rows", "1000", "--limit", "1"]);
        assert.ok(count("duplicate_index") >= 2);
        assert.deepEqual(
          [
            one.duplicate_index.rows.length,
            one.duplicate_index.total,
            one.duplicate_index.truncated,
          ],
          [1, count("duplicate_index"), true],
        );
        for (const check of ["missing_index", "unused_index", "invalid_index"]) {
          assert.equal(one[check].total, count(check), check);
          assert.equal(one[check].truncated, count(check) > 1, check);
        }
        const table = await runSkillScript("index_health.ts", ["1", "--min-rows", "1000"], {
          env: project.env,
        });
        assert.ok(
          table.stdout.includes(
            `== duplicate index (1 of ${count("duplicate_index")})\n`,
          ),
          table.stdout,
        );
        assert.ok(
          table.stdout.includes(
            `(1 of ${count("duplicate_index")} rows shown; limit 1: --limit ` +
              `${count("duplicate_index")} shows all)`,
          ),
        );
        const strict = await findingsOf(project, ["--min-rows", "50000"]);
        assert.ok(
          !strict.some((r: Record<string, unknown>) => r.check === "missing_index"),
          "tables below --min-rows are not candidates",
        );
      });

      await t.step(
        "missing_fk_indexes: exact leading columns count, anything else does not",
        async () => {
          const rows = await list(project, "missing_fk_indexes.ts");
          const names = rows.map((r: { constraint_name: string }) => r.constraint_name).sort();
          assert.deepEqual(names, ["orders_customer_id_fkey", "returns_order_id_fkey"]);
          const returns = rows.find((r: { constraint_name: string }) =>
            r.constraint_name === "returns_order_id_fkey"
          );
          assert.equal(
            returns.suggestion,
            "CREATE INDEX CONCURRENTLY ON sales.returns (order_id);",
          );
          assert.equal(returns.referenced_table, "sales.orders");
        },
      );

      await t.step("vacuum_analyze_status: never-analyzed tables first", async () => {
        const rows = await list(project, "vacuum_analyze_status.ts");
        const firstAnalyzed = rows.findIndex((r: { never_analyzed: boolean }) => !r.never_analyzed);
        assert.ok(firstAnalyzed > 0, "some never-analyzed tables come first");
        assert.ok(
          rows.slice(firstAnalyzed).every((r: { never_analyzed: boolean }) => !r.never_analyzed),
        );
        const customers = rows.find((r: { table: string }) => r.table === "customers");
        assert.equal(customers.never_analyzed, false);
        assert.ok(customers.last_analyze);
        const big = rows.find((r: { table: string }) => r.table === "big");
        assert.equal(big.never_analyzed, true);
        assert.equal(big.last_analyze, null);
      });

      await t.step("roles_overview: attributes and memberships", async () => {
        const rows = await list(project, "roles_overview.ts");
        const alice = rows.find((r: { role: string }) => r.role === "alice");
        assert.deepEqual(
          { login: alice.login, limit: alice.connection_limit, of: alice.member_of },
          { login: true, limit: 3, of: ["analyst"] },
        );
        const analyst = rows.find((r: { role: string }) => r.role === "analyst");
        assert.deepEqual(analyst.members, ["alice"]);
        assert.equal(analyst.login, false);
        assert.ok(!rows.some((r: { role: string }) => r.role.startsWith("pg_")));
        const all = await list(project, "roles_overview.ts", ["--all"]);
        assert.ok(
          all.some((r: { role: string }) =>
            r.role === "pg_read_all_data" || r.role === "pg_monitor"
          ),
        );
      });

      await t.step("slow_queries and pg_stat_statements_top name the query", async () => {
        for (const script of ["slow_queries.ts", "pg_stat_statements_top.ts"]) {
          const rows = await list(project, script, ["50"]);
          const needle = rows.find((r: { query: string }) => /payload like/.test(r.query));
          assert.ok(needle, `${script} shows the needle query`);
          assert.ok(needle.calls >= 6);
          assert.equal(typeof needle.total_ms, "number");
        }
        const top = await list(project, "pg_stat_statements_top.ts", ["5"]);
        for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].total_ms >= top[i].total_ms);
      });

      await t.step("pg_stat_statements: an old extension version, and none at all", async () => {
        await cluster.sql("create database legacy");
        await cluster.sql("create extension pg_stat_statements version '1.7'", "legacy");
        // The needle ran in database diag: shown from legacy with --all-databases.
        const legacy = await list(project, "slow_queries.ts", ["50", "--all-databases"], {
          DB_URL: cluster.url({ database: "legacy" }),
        });
        assert.ok(
          legacy.some((r: { query: string; database: string }) =>
            /payload like/.test(r.query) && r.database === "diag"
          ),
        );
        const none = await runSkillScript("slow_queries.ts", [], {
          env: { DB_URL: cluster.url({ database: "postgres" }) },
        });
        assert.equal(none.code, 1);
        assert.match(
          none.stderr,
          /pg_stat_statements is loaded by the server but not created in database "postgres"; run CREATE EXTENSION pg_stat_statements; in that database/,
        );
      });

      await t.step("explain_analyze: a DELETE's real plan, every row left in place", async () => {
        const unasked = await runSkillScript("explain_analyze.ts", [
          "delete from public.big where id <= 500",
        ], { env: project.env });
        assert.equal(unasked.code, 2, "a data change under ANALYZE needs --write");
        const result = await runSkillScript("explain_analyze.ts", [
          "--write",
          "delete from public.big where id <= 500",
        ], {
          env: { ...project.env, DB_CONFIRM: "YES" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /Delete on big/);
        assert.match(result.stdout, /actual time=.* rows=500(\.00)? /);
        assert.match(result.stdout, /Buffers: /);
        const [big] = await cluster.sql("select count(*)::int as n from public.big", "diag");
        assert.equal(big.n, 20000);
      });

      await t.step("explain_analyze: --json plan, --no-analyze runs nothing", async () => {
        const plan = await json(project, "explain_analyze.ts", [
          "select * from public.big where id = 7",
        ]);
        assert.equal(plan[0].Plan["Actual Rows"], 1);
        const planned = await runSkillScript("explain_analyze.ts", [
          "--no-analyze",
          "insert into public.big values (0, 'planned only')",
        ], { env: project.env });
        assert.equal(planned.code, 0, planned.stderr);
        assert.match(planned.stdout, /Insert on big/);
        assert.ok(!/actual/.test(planned.stdout));
        const [big] = await cluster.sql("select count(*)::int as n from public.big", "diag");
        assert.equal(big.n, 20000);
      });

      await t.step("explain_analyze: $n bound from --param, and counted", async () => {
        const plan = await json(project, "explain_analyze.ts", [
          "select * from public.big where id = $1",
          "--param",
          "7",
        ]);
        assert.equal(plan[0].Plan["Actual Rows"], 1);
        for (
          const [args, pattern] of [
            [[], /Statement 1 uses \$1 but 0 --param values were given/],
            [
              ["--param", "1", "--param", "2"],
              /2 --param values were given but .* only \$1\.\.\$1/,
            ],
          ] as [string[], RegExp][]
        ) {
          const result = await runSkillScript("explain_analyze.ts", [
            "delete from public.big where id = $1",
            ...args,
          ], { env: project.env });
          assert.equal(result.code, 2, args.join(" "));
          assert.match(result.stderr, pattern);
        }
      });

      await t.step(
        "explain_analyze: more than one statement is refused, nothing runs",
        async () => {
          const result = await runSkillScript("explain_analyze.ts", [
            "select 1; delete from public.big",
          ], { env: project.env });
          assert.equal(result.code, 2);
          assert.match(result.stderr, /Give exactly one statement to explain; the text holds 2/);
          const [big] = await cluster.sql("select count(*)::int as n from public.big", "diag");
          assert.equal(big.n, 20000);
        },
      );

      await t.step(
        "explain_analyze: the parser decides; --no-analyze can never become ANALYZE",
        async () => {
          const refusals: [string[], RegExp][] = [
            [["--no-analyze", "(analyze) delete from public.big"], /does not parse/],
            [["--no-analyze", "explain analyze delete from public.big"], /the text is EXPLAIN/],
            [["vacuum public.big"], /EXPLAIN takes SELECT, .*; the text is VACUUM/],
            [
              ["select pg_terminate_backend(pg_backend_pid())"],
              /pg_terminate_backend\(\) .*EXPLAIN ANALYZE would run for real/,
            ],
          ];
          for (const [args, pattern] of refusals) {
            const result = await runSkillScript("explain_analyze.ts", args, { env: project.env });
            assert.equal(result.code, 2, args.join(" "));
            assert.match(result.stderr, pattern, args.join(" "));
          }
          const [big] = await cluster.sql("select count(*)::int as n from public.big", "diag");
          assert.equal(big.n, 20000);
          const planned = await runSkillScript("explain_analyze.ts", [
            "--no-analyze",
            "select pg_terminate_backend(pg_backend_pid())",
          ], { env: project.env });
          assert.equal(planned.code, 0, planned.stderr);
          assert.match(planned.stdout, /Result/);
        },
      );

      await t.step("diagnostics are read-only with polite timeouts", async () => {
        const info = await json(project, "connection_info.ts");
        assert.equal(info.default_transaction_read_only, "on");
        assert.equal(info.statement_timeout, "30s");
        assert.equal(info.lock_timeout, "2s");
        const slow = await runSkillScript("explain_analyze.ts", ["select pg_sleep(2)"], {
          env: { ...project.env, DB_STATEMENT_TIMEOUT_MS: "200" },
        });
        assert.equal(slow.code, 1);
        assert.match(
          slow.stderr,
          /cancelled \(SQLSTATE 57014: canceling statement due to statement timeout\); the statement timeout is 200 ms/,
        );
      });
    } finally {
      await project.remove();
      await cluster.stop();
    }
  });
}
