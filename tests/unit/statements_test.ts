/**
 * SQL classified by PostgreSQL's own parser (lib/sql/statements.ts): what each
 * run needs, and every way a read-only run could be bypassed, refused before
 * anything is sent.
 */
import assert from "node:assert/strict";
import { UsageError } from "../../lib/core/errors.ts";
import { parseStatements, planRun, type RunPlan } from "../../lib/sql/statements.ts";

type Flags = { params?: number; write?: boolean; ddl?: boolean };

async function plan(sql: string, flags: Flags = {}): Promise<RunPlan> {
  return planRun(await parseStatements(sql), {
    params: flags.params ?? 0,
    write: flags.write ?? false,
    ddl: flags.ddl ?? false,
  });
}

async function refusal(sql: string, flags: Flags = {}): Promise<string> {
  try {
    await plan(sql, flags);
  } catch (error) {
    assert.ok(error instanceof UsageError, `a usage error for ${sql}, got ${error}`);
    return error.message;
  }
  throw new Error(`not refused: ${sql}`);
}

Deno.test("plain reads run read-only", async () => {
  for (
    const sql of [
      "select 1",
      "select * from orders where id = 1; select 2",
      "values (1), (2)",
      "table orders",
      "show search_path",
      "set search_path = app, public",
      "select set_config('search_path', 'app', true)",
      "explain delete from canary",
      "explain (analyze false) delete from canary",
      "copy canary to stdout",
      "copy (select * from canary) to stdout with (format csv)",
      "prepare q as select * from canary; execute q",
      "declare c cursor for select 1; fetch 1 from c; close c",
      "with t as (select 1 as a) select * from t",
    ]
  ) {
    assert.deepEqual(await plan(sql), { mode: "read-only", outsideTransaction: false }, sql);
  }
});

Deno.test("data changes need --write, wherever they hide", async () => {
  const cases: [string, RegExp][] = [
    ["insert into canary values (1)", /Statement 1, INSERT \(canary\), changes data/],
    [
      "with d as (delete from canary returning *) select * from d",
      /SELECT \(canary\), with DELETE FROM canary, changes data/,
    ],
    ["select 1; update canary set v = 'x'", /Statement 2, UPDATE \(canary\), changes data/],
    [
      "explain analyze delete from canary",
      /EXPLAIN \(canary\), with DELETE FROM canary, changes data/,
    ],
    ["explain (analyze, buffers) insert into canary values (1)", /changes data/],
    [
      "prepare p as delete from canary; execute p",
      /Statement 1, PREPARE \(canary\), with DELETE FROM canary, changes data/,
    ],
    ["select * from canary for update", /changes data/],
    [
      "merge into canary c using (select 1 as id) s on c.id = s.id when matched then delete",
      /MERGE/,
    ],
    ["truncate canary", /TRUNCATE \(canary\), changes data/],
    ["select nextval('canary_id_seq')", /nextval\(\) \(it moves a sequence/],
    ["select pg_terminate_backend(42)", /pg_terminate_backend\(\)/],
    ["select pg_cancel_backend(42)", /pg_cancel_backend\(\)/],
    ["select * from dblink('dbname=x', 'delete from canary') as t(x text)", /dblink\(\)/],
    ["select lo_import('/etc/passwd')", /lo_import\(\)/],
    ["select pg_read_file('/etc/passwd')", /pg_read_file\(\)/],
    ["select pg_catalog.pg_advisory_lock(1)", /pg_advisory_lock\(\)/],
    ["select pg_stat_reset()", /pg_stat_reset\(\)/],
    ["select pg_stat_reset_single_table_counters(1)", /pg_stat_reset_single_table_counters/],
    ["select pg_stat_statements_reset()", /pg_stat_statements_reset\(\)/],
    ["select pg_log_backend_memory_contexts(42)", /pg_log_backend_memory_contexts\(\)/],
    ["set transaction read write", /SET or RESET of transaction/],
    ["set session characteristics as transaction read write", /SET or RESET of session/],
    ["set default_transaction_read_only = off", /default_transaction_read_only/],
    ["reset all", /RESET ALL/],
    ["set role postgres", /SET or RESET of role/],
    ["set statement_timeout = 0", /SET or RESET of statement_timeout/],
    ["set local lock_timeout = 0", /SET or RESET of lock_timeout/],
    ["reset idle_in_transaction_session_timeout", /idle_in_transaction_session_timeout/],
    ["select set_config('statement_timeout', '0', false)", /set_config of statement_timeout/],
    ["select query_to_xml('select 1', true, false, '')", /query_to_xml\(\) \(it runs SQL/],
    ["select * from ts_stat('select v::tsvector from canary')", /ts_stat\(\)/],
    ["select (42).pg_terminate_backend", /pg_terminate_backend\(\) in attribute notation/],
    ["select ('/etc/hostname'::text).pg_read_file", /pg_read_file\(\) in attribute notation/],
    ["select c.pg_cancel_backend from canary c", /pg_cancel_backend\(\) in attribute notation/],
    ["set session authorization postgres", /session_authorization/],
    [
      "select set_config('transaction_read_only', 'off', true)",
      /set_config of transaction_read_only/,
    ],
    ["select set_config($1, 'off', true)", /set_config of a computed setting/],
    ["savepoint s", /transaction control/],
    ["vacuum canary", /VACUUM \(canary\), changes data/],
    ["analyze canary", /ANALYZE \(canary\), changes data/],
  ];
  for (const [sql, pattern] of cases) {
    const params = sql.includes("$1") ? 1 : 0;
    const message = await refusal(sql, { params });
    assert.match(message, pattern, sql);
    assert.match(message, /run again with --write/, sql);
    await plan(sql, { params, write: true }); // allowed with the flag
  }
});

Deno.test("structure changes and opaque code need --ddl", async () => {
  const cases: [string, RegExp][] = [
    ["create table t (a int)", /CREATE TABLE \(t\), changes structure/],
    ["drop table canary", /DROP TABLE \(canary\)/],
    ["alter table canary add column x int", /ALTER TABLE \(canary\)/],
    ["select * into copy_of_canary from canary", /changes structure/],
    ["create index on canary (v)", /CREATE INDEX \(canary\)/],
    ["grant select on canary to public", /GRANT/],
    ["revoke select on canary from public", /Statement 1, REVOKE \(canary\)/],
    ["do $$ begin delete from canary; end $$", /DO, uses a DO block/],
    ["call cleanup()", /CALL/],
    ["copy canary to program 'cat'", /COPY \(canary\), uses COPY to or from a program/],
    ["copy canary to '/tmp/out'", /COPY to or from a server file/],
    ["copy canary from program 'id'", /COPY \(canary\), uses COPY to or from a program/],
    ["copy canary from '/tmp/in'", /COPY to or from a server file/],
    ["execute not_prepared_here", /EXECUTE of "not_prepared_here"/],
    ["create function f() returns int language sql as 'select 1'", /CREATE FUNCTION \(f\)/],
  ];
  for (const [sql, pattern] of cases) {
    const message = await refusal(sql, { write: true });
    assert.match(message, pattern, sql);
    assert.match(message, /run again with --ddl/, sql);
    assert.equal((await plan(sql, { ddl: true })).mode, "ddl", sql);
  }
});

Deno.test("never through run_sql: transaction control of its own, COPY FROM STDIN", async () => {
  for (
    const sql of [
      "commit; delete from canary",
      "begin; select 1",
      "select 1; rollback",
      "start transaction read write",
      "end",
      "prepare transaction 'x'",
    ]
  ) {
    assert.match(await refusal(sql, { ddl: true }), /is refused: transaction control/, sql);
  }
  assert.match(await refusal("copy canary from stdin", { ddl: true }), /COPY FROM STDIN/);
});

Deno.test("statements that cannot run in a transaction must be the whole input", async () => {
  for (
    const sql of [
      "create index concurrently i on canary (v)",
      "drop index concurrently i",
      "reindex (concurrently) table canary",
      "vacuum canary",
      "create database other",
      "alter system set work_mem = '8MB'",
    ]
  ) {
    const flags = { write: true, ddl: !sql.startsWith("vacuum") };
    assert.equal((await plan(sql, flags)).outsideTransaction, true, sql);
    assert.match(await refusal(`${sql}; select 1`, flags), /must be the whole input/, sql);
  }
  assert.equal((await plan("analyze canary", { write: true })).outsideTransaction, false);
});

Deno.test("parameters, syntax errors, empty input, exact statement text", async () => {
  assert.match(await refusal("select $2::int"), /uses \$2 but 0 --param values were given/);
  assert.match(
    await refusal("select 1", { params: 1 }),
    /1 --param values were given but the SQL uses no/,
  );
  assert.match(await refusal("select 1 from", {}), /does not parse at line 1: syntax error/);
  assert.match(await refusal("select 1;\nselect from where"), /does not parse at line 2/);
  assert.match(await refusal("-- nothing here"), /holds no statement/);
  const statements = await parseStatements("select 'é;' as x;\n  select 2 -- two\n;");
  assert.deepEqual(statements.map((s) => s.text), ["select 'é;' as x", "select 2 -- two"]);
  assert.deepEqual(statements.map((s) => s.plainQuery), [true, true]);
});

Deno.test("each statement knows the line it starts on", async () => {
  const statements = await parseStatements(
    "-- header\nselect 1;\n\n  /* note */ select 'é\nx';\nselect 3",
  );
  assert.deepEqual(statements.map((s) => s.line), [2, 4, 6]);
});

Deno.test("a leading byte order mark is skipped, as psql skips it", async () => {
  const statements = await parseStatements("\uFEFF-- saved by Notepad\nselect 1;\nselect 2");
  assert.deepEqual(statements.map((s) => [s.text, s.line]), [["select 1", 2], ["select 2", 3]]);
});

Deno.test("commands are named as PostgreSQL names them", async () => {
  const cases: [string, string][] = [
    ["security label on table canary is 'x'", "SECURITY LABEL"],
    ["create rule r as on insert to canary do nothing", "CREATE RULE"],
    ["create aggregate a (int) (sfunc = int4pl, stype = int)", "CREATE AGGREGATE"],
    ["create text search configuration c (copy = simple)", "CREATE TEXT SEARCH CONFIGURATION"],
    ["drop materialized view mv", "DROP MATERIALIZED VIEW"],
    ["drop foreign data wrapper w", "DROP FOREIGN DATA WRAPPER"],
    ["create tablespace t location '/x'", "CREATE TABLESPACE"],
    ["set constraints all deferred", "SET CONSTRAINTS"],
    ["create event trigger e on ddl_command_start execute function f()", "CREATE EVENT TRIGGER"],
    ["lock table canary", "LOCK TABLE"],
    ["alter materialized view mv rename to mv2", "ALTER MATERIALIZED VIEW"],
  ];
  for (const [sql, command] of cases) {
    const [statement] = await parseStatements(sql);
    assert.equal(statement.command, command, sql);
  }
});

Deno.test("a NUL byte is refused; PREPARE's and a function's own $n need no --param", async () => {
  assert.match(await refusal("select 1 as a\0; delete from canary"), /NUL byte at line 1/);
  assert.match(await refusal("select 1;\n\0 delete from canary"), /NUL byte at line 2/);
  assert.deepEqual(await plan("prepare p(int) as select $1 + 1; execute p(41)"), {
    mode: "read-only",
    outsideTransaction: false,
  });
  await plan("create function f(int) returns int language sql return $1 + 1", { ddl: true });
});

Deno.test("code the statement brings is read: DO blocks and function bodies", async () => {
  const [block] = await parseStatements(
    "do $$ begin perform pg_terminate_backend(42); execute format('drop table %I', 't'); end $$",
  );
  assert.deepEqual(block.escapes, [
    "pg_terminate_backend() (it signals another session) in the DO block",
  ]);
  assert.deepEqual(block.unseen, ["EXECUTE of SQL built at run time in the DO block"]);
  const [fn] = await parseStatements(
    "create function f() returns void language plpgsql as $$ begin " +
      "execute 'copy (select 1) to program ''x'''; end $$",
  );
  assert.deepEqual(fn.escapes, [
    "COPY to or from a program (it runs on the server) in the function's body",
  ]);
  const [plain] = await parseStatements(
    "do $$ begin if not exists (select 1 from pg_tables) then create table t (id int); end if; end $$",
  );
  assert.deepEqual([plain.escapes, plain.unseen], [[], []]);
});

Deno.test("a call that acts outside the transaction is refused without inviting it", async () => {
  const message = await refusal("select pg_terminate_backend(pid) from pg_stat_activity");
  assert.match(message, /acts outside the transaction, so a read-only run refuses it: only if the/);
  assert.match(message, /user asked for exactly that, run again with --write/);
});

Deno.test("functions bound by other statements, FDW programs, session state, code in code", async () => {
  const [subscript] = await parseStatements(
    "do $$ declare a int[]; begin a[pg_terminate_backend(1)::int] := 1; end $$",
  );
  assert.match(subscript.escapes[0], /pg_terminate_backend\(\) .* in the DO block/);
  for (
    const sql of [
      "create operator public.### (function = pg_catalog.pg_terminate_backend, leftarg = int, " +
      "rightarg = bigint)",
      "create aggregate a(int) (sfunc = pg_cancel_backend, stype = int)",
      "create cast (int as text) with function pg_cancel_backend(int)",
      "create function f(int) returns bool language internal as 'pg_terminate_backend'",
    ]
  ) {
    const [statement] = await parseStatements(sql);
    assert.match(statement.escapes[0] ?? "", /signals another session/, sql);
  }
  const [fdw] = await parseStatements(
    "create foreign table ft (a text) server fs options (program 'id')",
  );
  assert.match(fdw.escapes[0], /runs a program on the server/);
  const [flip] = await parseStatements(
    "do $$ begin perform set_config('standard_conforming_strings', 'off', true); " +
      "perform set_config('search_path', 'evil', false); end $$",
  );
  assert.deepEqual(flip.pinnedChanges.map((c) => c.name), ["standard_conforming_strings"]);
  assert.ok(flip.refusals.length > 0);
  assert.match(flip.outlivesTransaction[0].what, /search_path for the session in the DO block/);
  for (
    const [sql, what] of [
      ["set session characteristics as transaction read only", /session characteristics/],
      ["update pg_settings set setting = '1' where name = 'work_mem'", /pg_settings/],
      ["create temp table t (a int)", /temporary object/],
    ]
  ) {
    const [statement] = await parseStatements(sql as string);
    assert.match(statement.outlivesTransaction[0]?.what ?? "", what as RegExp, sql as string);
  }
  const [dropped] = await parseStatements("create temp table t (a int) on commit drop");
  assert.deepEqual(dropped.outlivesTransaction, []);
});

Deno.test("a function that acts beyond the transaction, renamed or moved, still counts as it", async () => {
  for (
    const sql of [
      "alter function dblink_exec(text, text) rename to harmless",
      "alter routine public.dblink_exec(text) set schema hidden",
      "alter function pg_terminate_backend(int) rename to tidy",
    ]
  ) {
    const [statement] = await parseStatements(sql);
    assert.ok(statement.escapes.some((e) => /renamed or moved/.test(e)), sql);
    assert.ok(statement.readOnlyRefusals.length > 0, sql);
  }
  const [plain] = await parseStatements("alter function my_report(int) rename to my_summary");
  assert.deepEqual(plain.escapes, [], "an ordinary function is an ordinary rename");
});

Deno.test("what a statement writes, reads and calls, a function body's included", async () => {
  const [cte] = await parseStatements(
    `with d as (delete from app.a returning *) select nextval('s'), c.*, (c).f from canary c, d`,
  );
  assert.deepEqual(cte.writes, ["app.a"]);
  assert.deepEqual(cte.reads, ["canary", "app.a"]);
  assert.deepEqual(cte.calls, [
    { name: "nextval", attribute: false },
    { name: "f", attribute: true },
  ]);
  const [body] = await parseStatements(
    `create function trg() returns trigger language plpgsql as $$ begin ` +
      `insert into audit select * from v; perform "Mixed"(new.id); return new; end $$`,
  );
  assert.deepEqual(body.writes, ["audit"]);
  assert.deepEqual(body.reads, ["audit", "v"]);
  assert.deepEqual(body.calls, [
    { name: "Mixed", attribute: false },
    { name: "id", attribute: true },
  ]);
  const [sqlBody] = await parseStatements(
    `create function k() returns bool language sql as 'update t set v = 1; select g()'`,
  );
  assert.deepEqual(sqlBody.writes, ["t"]);
  assert.deepEqual(sqlBody.calls, [{ name: "g", attribute: false }]);
});
