/**
 * The migration hazards: every rule raised by a statement that triggers it
 * and not by its safe form (from PostgreSQL's parse tree alone); then, on a
 * real server, the locks each statement is said to take are the locks it
 * does take (read from pg_locks inside a transaction that is rolled back).
 */
import assert from "node:assert/strict";
import { type Hazard, locksOf, migrationHazards, RULES } from "../../lib/migrations/hazards.ts";
import { parseStatements } from "../../lib/sql/statements.ts";
import { FIXTURE, SAFE, TIMEOUT, TRIGGERS, TYPES } from "../support/hazard_corpus.ts";

const columnType = (table: string, column: string) => TYPES[`${table}.${column}`];

import { startCluster } from "../support/cluster.ts";
import { connect } from "../../lib/connection/script_sessions.ts";
import { resolveTarget } from "../../lib/connection/resolve.ts";
import { makeProject, runSkillScript } from "../support/run.ts";

async function hazardsOf(sql: string, before = ""): Promise<Hazard[]> {
  return migrationHazards(await parseStatements(sql, { tree: true }), {
    columnType,
    before: before ? await parseStatements(before, { tree: true }) : [],
  });
}

Deno.test("each rule is raised by what triggers it, and by nothing else", async () => {
  const seen = new Set<string>();
  for (const [rule, sql, table] of TRIGGERS) {
    const hazards = await hazardsOf(TIMEOUT + sql);
    assert.deepEqual(hazards.map((h) => h.rule), [rule], sql);
    assert.equal(hazards[0].table, table || null, sql);
    assert.equal(hazards[0].line, 2, "the statement's own line");
    assert.ok(hazards[0].effect.length > 0 && hazards[0].safe.length > 0);
    seen.add(rule);
  }
  const multi = [
    "lock-timeout-missing",
    "locks-held-together",
    "validate-under-lock",
  ];
  for (const rule of Object.keys(RULES)) {
    assert.ok(seen.has(rule) || multi.includes(rule), `no trigger for ${rule}`);
  }
});

Deno.test("the safe forms raise nothing", async () => {
  for (const sql of SAFE) assert.deepEqual(await hazardsOf(TIMEOUT + sql), [], sql);
});

Deno.test("rules about a file's transaction: lock_timeout, locks held together, validation", async () => {
  const bare = await hazardsOf(
    "alter table orders add column a int;\nalter table orders add column b int",
  );
  assert.deepEqual(bare.map((h) => [h.rule, h.statement, h.table, h.lock]), [
    ["lock-timeout-missing", 1, "orders", "ACCESS EXCLUSIVE"],
  ]);
  assert.deepEqual(
    await hazardsOf("set lock_timeout = 0;\nalter table orders add column a int")
      .then((h) => h.map((x) => x.rule)),
    ["lock-timeout-missing"],
    "0 is no timeout",
  );
  const together = await hazardsOf(
    TIMEOUT + "alter table orders add column a int;\nalter table customers add column b int",
  );
  assert.deepEqual(together.map((h) => [h.rule, h.statement, h.table]), [
    ["locks-held-together", 3, "customers"],
  ]);
  // The NOT NULL route in one file: the validation scans under ADD CONSTRAINT's lock.
  const oneFile = await hazardsOf(
    TIMEOUT +
      "alter table orders add constraint s check (status is not null) not valid;\n" +
      "alter table orders validate constraint s;\n" +
      "alter table orders alter column status set not null",
  );
  assert.deepEqual(oneFile.map((h) => h.rule), ["validate-under-lock"]);
  // Two pending files share migration_apply's one transaction: still under the lock.
  const validate = TIMEOUT + "alter table orders validate constraint s;\n" +
    "alter table orders alter column status set not null;\nalter table orders drop constraint s";
  const adding = TIMEOUT +
    "alter table orders add constraint s check (status is not null) not valid";
  assert.deepEqual((await hazardsOf(validate, adding)).map((h) => h.rule), ["validate-under-lock"]);
  // A step that runs alone ends that transaction; a file applied and released before is gone.
  assert.deepEqual(
    await hazardsOf(validate, adding + ";\ncreate index concurrently on customers (id)"),
    [],
  );
  // A check added in an earlier run is not in the statements: SET NOT NULL cannot be cleared.
  assert.deepEqual((await hazardsOf(validate)).map((h) => h.rule), ["set-not-null-scans"]);
  // lock_timeout set through set_config counts; a step alone holds no lock for what follows.
  assert.deepEqual(
    await hazardsOf(
      "select set_config('lock_timeout', '2s', false);\nalter table orders add column a int",
    ),
    [],
  );
  assert.deepEqual(
    (await hazardsOf(TIMEOUT + "vacuum full orders;\nalter table customers add column z int"))
      .map((h) => h.rule),
    ["vacuum-full"],
  );
  // IF NOT EXISTS may find the table there, in use; a table of another schema is another table.
  assert.deepEqual(
    (await hazardsOf(
      TIMEOUT + "create table if not exists orders (id int);\n" +
        "alter table orders add column token uuid default gen_random_uuid()",
    )).map((h) => h.rule),
    ["add-column-volatile-default"],
  );
  assert.deepEqual(
    (await hazardsOf(
      TIMEOUT + "create table archive.orders (id int);\n" +
        "alter table orders alter column amount type bigint",
    )).map((h) => h.rule),
    ["column-type-rewrite"],
  );
  // Without the validated check, SET NOT NULL scans; a table from an earlier file is new.
  assert.deepEqual(
    (await hazardsOf(TIMEOUT + "alter table orders alter column status set not null")).map((h) =>
      h.rule
    ),
    ["set-not-null-scans"],
  );
  assert.deepEqual(
    await hazardsOf(TIMEOUT + "create index on fresh (id)", "create table fresh (id int)"),
    [],
  );
  // Without the column's type at hand, a type change is a rewrite until shown otherwise.
  const unknown = migrationHazards(
    await parseStatements(TIMEOUT + "alter table orders alter column note type varchar(50)", {
      tree: true,
    }),
  );
  assert.deepEqual(unknown.map((h) => h.rule), ["column-type-rewrite"]);
});

Deno.test("the locks each statement is said to take are those the server takes", async () => {
  const cluster = await startCluster();
  try {
    await cluster.sql(FIXTURE);
    Deno.env.set("DB_URL", cluster.url());
    const target = await resolveTarget({ session: "plain" });
    Deno.env.delete("DB_URL");
    const { session } = await connect(target);
    try {
      const cases = [...TRIGGERS.map(([, sql]) => sql), ...SAFE.slice(0, -1)];
      for (const sql of cases) {
        const [statement] = await parseStatements(sql, { tree: true });
        if (statement.outsideTransaction) continue; // CONCURRENTLY, VACUUM: no transaction
        const said = Object.fromEntries(locksOf(statement).map((l) => [l.table, l.lock]));
        await session.transaction("begin");
        try {
          // By oid: a table renamed by the statement is still the table it locked.
          const { rows: oids } = await session.query(
            "select t, to_regclass(t)::oid::text as oid from unnest($1::text[]) t",
            [Object.keys(said)],
          );
          const names = Object.fromEntries(oids.map((r) => [String(r.oid), String(r.t)]));
          await session.simpleQuery(sql);
          const { rows: locked } = await session.query(
            `select l.relation::text as oid, l.mode from pg_locks l
              where l.pid = pg_backend_pid() and l.locktype = 'relation'`,
          );
          const rows = locked.filter((r) => names[String(r.oid)] !== undefined)
            .map((r) => ({ table: names[String(r.oid)], mode: r.mode }));
          const strength = [
            "RowExclusiveLock",
            "ShareUpdateExclusiveLock",
            "ShareLock",
            "ShareRowExclusiveLock",
            "ExclusiveLock",
            "AccessExclusiveLock",
          ];
          const held: Record<string, string> = {};
          for (const row of rows) {
            const table = String(row.table);
            const mode = String(row.mode);
            if (!held[table] || strength.indexOf(mode) > strength.indexOf(held[table])) {
              held[table] = mode;
            }
          }
          const words = (mode: string) =>
            mode.replace(/Lock$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
          for (const [table, lock] of Object.entries(said)) {
            assert.equal(held[table] && words(held[table]), lock, `${sql}: ${table}`);
          }
        } finally {
          await session.transaction("rollback");
        }
      }
    } finally {
      await session.close();
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("every rule has its line in references/migration_hazards.md", async () => {
  const text = await Deno.readTextFile(
    new URL("../../references/migration_hazards.md", import.meta.url),
  );
  for (const rule of Object.keys(RULES)) {
    assert.match(text, new RegExp(`^\\| \`${rule}\` +\\|`, "m"), rule);
  }
});

Deno.test("migration_add says the hazards of what it adds; migration_status lists each file's", async () => {
  const project = await makeProject();
  try {
    const run = (script: string, args: string[]) =>
      runSkillScript(script, args, { env: project.env });
    const first = await run("migration_add.ts", [
      "create table notes (id int primary key, body text);\n" +
      "create index notes_body on notes (body);",
      "--json",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout).hazards, [], "a new table: nothing to say");
    const second = await run("migration_add.ts", [
      "alter table orders add column token uuid default gen_random_uuid();",
      "--json",
    ]);
    assert.equal(second.code, 0, second.stderr);
    const added = JSON.parse(second.stdout);
    assert.deepEqual(added.hazards.map((h: Hazard) => [h.rule, h.statement, h.table]), [
      ["add-column-volatile-default", 3, "orders"],
      ["lock-timeout-missing", 3, "orders"],
    ]);
    const table = await run("migration_add.ts", ["create index on notes (id);"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^hazards$/m, "the new table, made earlier in the file: no hazard");
    // The next file is a transaction of its own, after the first: notes is new there too.
    const folder = `${project.root}/db/migrations`;
    await Deno.writeTextFile(
      `${folder}/1_prerelease.sql`,
      "set lock_timeout = '2s';\ncreate index notes_more on notes (body);\n" +
        "alter table orders add constraint orders_fk foreign key (customer_id) " +
        "references customers (id);\n",
    );
    const status = await run("migration_status.ts", ["--json"]);
    assert.equal(status.code, 0, status.stderr);
    const hazards = JSON.parse(status.stdout).hazards;
    assert.deepEqual(
      hazards.map((h: Hazard & { file: string }) => [h.file, h.line, h.rule, h.table, h.lock]),
      [
        ["prerelease.sql", 4, "add-column-volatile-default", "orders", "ACCESS EXCLUSIVE"],
        ["prerelease.sql", 4, "lock-timeout-missing", "orders", "ACCESS EXCLUSIVE"],
        ["1_prerelease.sql", 3, "foreign-key-without-not-valid", "orders", "SHARE ROW EXCLUSIVE"],
      ],
    );
  } finally {
    await project.remove();
  }
});

Deno.test("migration_apply's check measures the tables it locks on the database", async () => {
  const cluster = await startCluster();
  const project = await makeProject();
  try {
    await cluster.sql(FIXTURE);
    await cluster.sql(
      "insert into orders select g, 1, 'x', 1, 'new' from generate_series(2, 5000) g",
    );
    await cluster.sql("analyze orders");
    Deno.env.set("DB_URL", cluster.url());
    const target = await resolveTarget({ session: "plain" });
    Deno.env.delete("DB_URL");
    // A reader in a transaction: its ACCESS SHARE does not conflict with CREATE INDEX's SHARE.
    const { session: reader } = await connect(target);
    try {
      await reader.transaction("begin");
      await reader.query("select count(*) from orders");
      const folder = `${project.root}/db/migrations`;
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeTextFile(
        `${folder}/prerelease.sql`,
        "create index orders_customer on orders (customer_id);\ncreate table fresh (id int);\n",
      );
      const env = { ...project.env, DB_URL: cluster.url() };
      const check = await runSkillScript("migration_apply.ts", ["--json"], { env });
      assert.equal(check.code, 0, check.stderr);
      const tables = JSON.parse(check.stdout).tables;
      assert.equal(tables.length, 1, JSON.stringify(tables));
      const [orders] = tables;
      assert.equal(orders.table, "orders");
      assert.equal(orders.existed, true);
      assert.equal(orders.lock_taken, "SHARE", "read from pg_locks inside the check");
      assert.equal(orders.sessions_holding, 1, "the reader");
      assert.equal(orders.sessions_waiting, 0);
      assert.ok(orders.oldest_holder_seconds >= 0);
      assert.equal(orders.estimated_rows, 5000);
      const [{ bytes }] = await cluster.sql(
        "select pg_total_relation_size('orders')::int8 as bytes",
      );
      assert.equal(orders.size_bytes, Number(bytes));
      assert.match(
        check.stderr,
        /orders \([^)]*, ~5000 rows\): the run takes SHARE, which blocks its writes \(reads go on\); 1 other session holds a lock on it now/,
      );
      const [{ n }] = await cluster.sql(
        "select count(*)::int as n from pg_class where relname in ('orders_customer', 'fresh')",
      );
      assert.equal(n, 0, "a check changes nothing");
      // A partitioned table: its partitions' rows and sizes, and the lock on each of them.
      await cluster.sql(`
        create table journal (id int, at date not null) partition by range (at);
        create table journal_2025 partition of journal for values from ('2025-01-01') to ('2026-01-01');
        create table journal_2026 partition of journal for values from ('2026-01-01') to ('2027-01-01');
        insert into journal select g, date '2025-01-01' + g % 700 from generate_series(1, 3000) g;
        analyze journal;`);
      await Deno.writeTextFile(`${folder}/prerelease.sql`, "create index on journal (at);\n");
      // The reader's transaction reads one partition: a user of the partitioned table.
      await reader.query("select count(*) from journal_2025");
      const parted = JSON.parse(
        (await runSkillScript("migration_apply.ts", ["--json"], { env })).stdout,
      ).tables;
      const ledger = parted.find((t: { table: string }) => t.table === "journal");
      assert.equal(ledger.partitions, 2);
      assert.equal(ledger.estimated_rows, 3000);
      assert.equal(ledger.lock_taken, "SHARE");
      assert.equal(ledger.sessions_holding, 1, "the reader of a partition");
      const [{ sum }] = await cluster.sql(
        `select sum(pg_total_relation_size(relid))::int8 as sum from pg_partition_tree('journal')
          where isleaf`,
      );
      assert.equal(ledger.size_bytes, Number(sum));
      // A concurrent build on it is refused before anything runs, with the form that works.
      await Deno.writeTextFile(
        `${folder}/prerelease.sql`,
        "create index concurrently on journal (at);\n",
      );
      const refused = await runSkillScript("migration_apply.ts", [], { env });
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /CREATE INDEX CONCURRENTLY on "journal", which is partitioned: .*ON ONLY/,
      );
    } finally {
      await reader.transaction("rollback").catch(() => {});
      await reader.close();
    }
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("on a database, a type change is judged by the column's type now", async () => {
  const cluster = await startCluster();
  const project = await makeProject();
  try {
    await cluster.sql(FIXTURE);
    const folder = `${project.root}/db/migrations`;
    await Deno.mkdir(folder, { recursive: true });
    await Deno.writeTextFile(
      `${folder}/prerelease.sql`,
      "set lock_timeout = '2s';\nalter table orders alter column note type varchar(50);\n",
    );
    await Deno.writeTextFile(
      `${folder}/1_prerelease.sql`,
      "set lock_timeout = '2s';\nalter table orders alter column amount type bigint;\n",
    );
    const env = { ...project.env, DB_URL: cluster.url() };
    const check = await runSkillScript("migration_apply.ts", ["--json"], { env });
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(
      JSON.parse(check.stdout).hazards.map((h: Hazard & { file: string }) => [h.file, h.rule]),
      [["1_prerelease.sql", "column-type-rewrite"]],
      "varchar(20) to varchar(50) rewrites nothing; numeric to bigint does",
    );
    assert.match(check.stderr, /hazard: 1_prerelease\.sql line 2: column-type-rewrite on orders/);
    // Without a database the widening cannot be told, and says why.
    const status = await runSkillScript("migration_status.ts", ["--json"], { env: project.env });
    const rules = JSON.parse(status.stdout).hazards;
    assert.deepEqual(rules.map((h: Hazard) => h.rule), [
      "column-type-rewrite",
      "column-type-rewrite",
    ]);
    assert.match(rules[0].effect, /unless it only widens the column .*not known here/);
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("a table's schema and name are kept as written, a dot in a quoted name too", async () => {
  const [statement] = await parseStatements(
    'alter table "odd.name" add column a int references app.customers (id)',
    { tree: true },
  );
  assert.deepEqual(
    locksOf(statement).map(({ schema, name, lock }) => [schema, name, lock]),
    [[null, "odd.name", "ACCESS EXCLUSIVE"], ["app", "customers", "SHARE ROW EXCLUSIVE"]],
  );
});

Deno.test("lock-timeout-missing says whom a queued lock stalls: a concurrent build stalls no write", async () => {
  const build = await hazardsOf("create index concurrently orders_a on orders (customer_id)");
  assert.deepEqual(build.map((h) => [h.rule, h.lock]), [
    ["lock-timeout-missing", "SHARE UPDATE EXCLUSIVE"],
  ]);
  assert.match(build[0].effect, /reads and writes go on/);
  assert.match(build[0].safe, /INVALID index: DROP INDEX CONCURRENTLY it first/);
  const then = await hazardsOf(
    "create index concurrently orders_a on orders (customer_id);\n" +
      "alter table orders add column a int",
  );
  assert.deepEqual(then.map((h) => [h.rule, h.statement, h.lock]), [
    ["lock-timeout-missing", 1, "SHARE UPDATE EXCLUSIVE"],
    ["lock-timeout-missing", 2, "ACCESS EXCLUSIVE"],
  ]);
  assert.match(then[1].effect, /every query on it that comes after it, reads too/);
});
