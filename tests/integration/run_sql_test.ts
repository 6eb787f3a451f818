/**
 * run_sql.ts against a real server: every allowed path and every refusal,
 * with a canary table checked after each attempt to get around the
 * read-only default. Three layers, each tested on its own: the parser's
 * refusal (nothing is even sent), the READ ONLY transaction, and the
 * server's own refusal to turn a transaction read-write once it has begun.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster } from "../support/cluster.ts";
import { pgbouncerPath, startPgBouncer } from "../support/pgbouncer.ts";
import { activeSession, waitFor } from "../support/wait.ts";
import { startProxy } from "../support/proxy.ts";
import {
  baseEnv,
  isOneLineError,
  runInTerminal,
  runSkillScript,
  skillCommandLine,
  spawnSkillScript,
} from "../support/run.ts";

const CANARY = [{ id: 1, v: "a" }, { id: 2, v: "b" }, { id: 3, v: "c" }];

async function canary(cluster: Cluster): Promise<unknown[]> {
  return await cluster.sql("select id, v from canary order by id");
}

Deno.test("run_sql: reads, refusals, writes, structure changes", async (t) => {
  const cluster = await startCluster({ settings: { log_statement: "'all'" } });
  const env = { DB_URL: cluster.url() };
  const run = (args: string[], extra: Record<string, string> = {}, stdin?: string) =>
    runSkillScript("run_sql.ts", args, { env: { ...env, ...extra }, stdin });
  try {
    await cluster.sql(`
      create table canary (id int primary key, v text not null);
      insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
      create function writer() returns setof canary language sql
        as $$ delete from canary returning * $$;
      create function sneaky() returns int language plpgsql as $$
        begin
          perform set_config('transaction_read_only', 'off', true);
          delete from canary;
          return 1;
        end $$;`);

    await t.step("reads: a table, several statements, bound values never spliced", async () => {
      const result = await run([
        "select id, v from canary order by id; select $1::text as echoed",
        "--param",
        "x'); drop table canary; --",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /id \| v\n-+\+-+\n +1 \| a\n +2 \| b\n +3 \| c\n\(3 rows\)/);
      assert.match(result.stdout, /echoed\n-+\nx'\); drop table canary; --\n\(1 row\)/);
      assert.deepEqual(await canary(cluster), CANARY);
    });

    await t.step("the SQL from -f FILE and from stdin", async () => {
      const file = join(cluster.dir, "q.sql");
      await Deno.writeTextFile(file, "-- a report\nselect count(*) as n from canary;\n");
      const fromFile = await run(["-f", file, "--json"]);
      assert.equal(JSON.parse(fromFile.stdout).results[0].rows[0].n, 3);
      const fromStdin = await run(["-", "--json"], {}, "select 7 as seven");
      assert.equal(JSON.parse(fromStdin.stdout).results[0].rows[0].seven, 7);
    });

    await t.step("--json: exact values, each statement with its command", async () => {
      const result = await run([
        "--json",
        "select 9007199254740993::bigint as big, 1.50::numeric as n, array[1, 2] as a; " +
        "show server_encoding",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /\{"big":9007199254740993,"n":1\.50,"a":\[1,2\]\}/);
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.mode, "read-only");
      assert.equal(doc.role, cluster.superuser);
      assert.equal(doc.transaction, "rolled back");
      assert.deepEqual(doc.results.map((r: { command: string }) => r.command), [
        "SELECT 1",
        "SHOW",
      ]);
      assert.deepEqual(doc.results[1].rows, [{ server_encoding: "UTF8" }]);
    });

    await t.step("--csv as COPY writes it; --ndjson; both refuse a second result", async () => {
      const csv = await run([
        "--csv",
        `select 1 as id, '' as empty, null as nothing, 'a,b' as comma, 'say "hi"' as quote,
                true as flag, array[1, 2] as arr`,
      ]);
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(
        csv.stdout,
        'id,empty,nothing,comma,quote,flag,arr\n1,"",,"a,b","say ""hi""",t,"{1,2}"\n',
      );
      const ndjson = await run(["--ndjson", "select g, g * 1.5 as h from generate_series(1, 3) g"]);
      assert.equal(
        ndjson.stdout,
        '{"g":1,"h":1.5}\n{"g":2,"h":3.0}\n{"g":3,"h":4.5}\n',
      );
      const two = await run(["--csv", "select 1 as a; select 2 as b"]);
      assert.equal(two.code, 1);
      assert.match(
        two.stderr,
        /--csv holds the rows of one statement, and statement 2 returns rows too/,
      );
    });

    await t.step("--csv: the server's COPY and the row path write the same bytes", async () => {
      const values = `select v, $1::text as tricky from (values ('plain'), (''), (null), ('\\.'),
        (E'two\\nlines'), ('a "quote"'), ('é, ü')) as t(v)`;
      const tricky = 'x,"y"';
      // A bound value forces the row path; the same query without one goes through COPY.
      const rowPath = await run(["--csv", values, "--param", tricky]);
      const copyPath = await run(["--csv", values.replace("$1::text", `'x,"y"'::text`)]);
      assert.equal(rowPath.code, 0, rowPath.stderr);
      assert.equal(copyPath.code, 0, copyPath.stderr);
      assert.equal(rowPath.stdout, copyPath.stdout);
      const alone = "select v from (values ('\\.'), ('')) as t(v)";
      const aloneRows = await run([
        "--csv",
        alone.replace("select v", "select v || $1 as v"),
        "--param",
        "",
      ]);
      assert.equal(aloneRows.stdout, (await run(["--csv", alone])).stdout);
      assert.match(
        copyPath.stdout,
        /^v,tricky\nplain,"x,""y"""\n"","x,""y"""\n,"x,""y"""\n\\\.,/,
      );
    });

    await t.step("control characters from the server never reach a terminal raw", async () => {
      const sql = `select E'\\x1b[2J\\x1b[31mred\\x07' as "col\x1b[0m"`;
      const table = await run([sql]);
      assert.equal(table.code, 0, table.stderr);
      const raw = [...table.stdout].filter((c) => c !== "\n" && (c < " " || c === "\x7f"));
      assert.deepEqual(raw, [], JSON.stringify(table.stdout));
      assert.match(table.stdout, /\\x1b\[2J\\x1b\[31mred\\x07/);
      const json = await run(["--json", sql]);
      assert.equal(
        JSON.parse(json.stdout).results[0].rows[0]["col\x1b[0m"],
        "\x1b[2J\x1b[31mred\x07",
      );
      const failed = await run(
        ["--ddl", `do $$ begin raise exception E'bad\\x1b[2J news'; end $$`],
        {
          DB_CONFIRM: "YES",
        },
      );
      assert.equal(failed.code, 1);
      assert.ok(!failed.stderr.includes("\x1b"), JSON.stringify(failed.stderr));
      assert.match(failed.stderr, /bad\\x1b\[2J news/);
    });

    await t.step("--max-rows caps the table and says how to get the rest", async () => {
      const result = await run(["select g from generate_series(1, 500) g"]);
      assert.equal(result.stdout.trim().split("\n").length, 2 + 200 + 1);
      assert.match(
        result.stdout,
        /\(200 of 500 rows shown; --max-rows 0 shows all, --csv or --ndjson stream all; a LIMIT in the query reads only what is shown\)/,
      );
      const all = await run(["--max-rows", "0", "select g from generate_series(1, 500) g"]);
      assert.match(all.stdout, /\(500 rows\)/);
      const missing = await run(["select * from no_such_table"]);
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /\(SQLSTATE 42P01\); find_objects\.ts NAME says in which schema/,
      );
      const bad = await run(["--max-rows", "abc", "select 1"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--max-rows must be a whole number of at least 0, got "abc"/);
    });

    await t.step(
      "--max-rows caps --json too: truncated, omitted; --ndjson stays whole",
      async () => {
        const sql = "select g from generate_series(1, 500) g; select 1 as one";
        const capped = JSON.parse((await run(["--json", sql])).stdout);
        const [big, small] = capped.results;
        assert.deepEqual(
          big.rows.map((r: { g: number }) => r.g),
          [...Array(200)].map((_, i) => i + 1),
        );
        assert.deepEqual(
          [big.row_count, big.truncated, big.omitted, big.command],
          [500, true, 300, "SELECT 500"],
        );
        assert.deepEqual([small.rows, small.truncated, small.omitted], [[{ one: 1 }], false, 0]);
        const three = JSON.parse((await run(["--json", "--max-rows", "3", sql])).stdout).results[0];
        assert.deepEqual([three.rows.length, three.omitted, three.truncated], [3, 497, true]);
        const whole = JSON.parse((await run(["--json", "--max-rows", "0", sql])).stdout).results[0];
        assert.deepEqual([whole.rows.length, whole.omitted, whole.truncated], [500, 0, false]);
        const ndjson = await run(["--ndjson", "select g from generate_series(1, 500) g"]);
        assert.equal(ndjson.stdout.trim().split("\n").length, 500);
      },
    );

    await t.step("layer 1, the parser: refused before anything is sent", async () => {
      const attempts: [string, RegExp][] = [
        ["commit; delete from canary", /transaction control/],
        ["with d as (delete from canary returning *) select * from d", /changes data/],
        ["explain analyze delete from canary", /changes data/],
        ["prepare p as delete from canary; execute p", /changes data/],
        ["do $$ begin delete from canary; end $$", /DO block.*--ddl/],
        ["set transaction read write; delete from canary", /SET or RESET of transaction/],
        ["select set_config('default_transaction_read_only', 'off', false)", /set_config/],
        ["select pg_terminate_backend(pg_backend_pid())", /pg_terminate_backend/],
        ["copy canary to program 'cat'", /COPY to or from a program/],
        ["select * from canary for update", /changes data/],
        ["select 1; truncate canary", /Statement 2, TRUNCATE \(canary\), changes data/],
      ];
      for (const [sql, pattern] of attempts) {
        const result = await run([sql], { DB_APPLICATION_NAME: "refused_attempt" });
        assert.equal(result.code, 2, sql);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.match(result.stderr, pattern, sql);
        assert.deepEqual(await canary(cluster), CANARY, sql);
      }
      assert.doesNotMatch(await cluster.log(), /refused_attempt/, "no attempt even connected");
    });

    await t.step("layer 2, the READ ONLY transaction: a writing function in FROM", async () => {
      const result = await run(["select * from writer()"]);
      assert.equal(result.code, 1);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(
        result.stderr,
        /Statement 1, SELECT, failed: The server refused a write in this read-only session: cannot execute DELETE in a read-only transaction; nothing was changed/,
      );
      assert.deepEqual(await canary(cluster), CANARY);
    });

    await t.step("layer 3, the server: no turning the transaction read-write", async () => {
      const result = await run(["select sneaky()"]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /transaction read-write mode must be set before any query/);
      assert.deepEqual(await canary(cluster), CANARY);
    });

    await t.step("--write needs a confirmation; without one nothing connects", async () => {
      const result = await run(["--write", "delete from canary"], {
        DB_APPLICATION_NAME: "unconfirmed",
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Not confirmed: .*needs confirmation; .*DB_CONFIRM=YES/);
      assert.deepEqual(await canary(cluster), CANARY);
      assert.doesNotMatch(await cluster.log(), /unconfirmed/);
    });

    await t.step("--write: a change with its tag, committed", async () => {
      const result = await run(
        ["--write", "update canary set v = v || '!' where id = $1", "--param", "2"],
        { DB_CONFIRM: "YES" },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "UPDATE 1\n");
      assert.deepEqual(await canary(cluster), [CANARY[0], { id: 2, v: "b!" }, CANARY[2]]);
      await cluster.sql("update canary set v = 'b' where id = 2");
    });

    await t.step("all or nothing, each statement exactly once", async () => {
      const result = await run(
        ["--write", "insert into canary values (10, 'new'); insert into canary values (1, 'dup')"],
        { DB_CONFIRM: "YES" },
      );
      assert.equal(result.code, 1);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(
        result.stderr,
        /Statement 2, INSERT \(canary\), failed: .*duplicate key .*\(SQLSTATE 23505\); the transaction was rolled back, nothing was changed/,
      );
      assert.deepEqual(await canary(cluster), CANARY);
      const sent = (await cluster.log()).match(/insert into canary values \(10, 'new'\)/g) ?? [];
      assert.equal(sent.length, 1, "the first insert was sent once");
    });

    await t.step("--write is not enough for a structure change", async () => {
      const result = await run(["--write", "alter table canary add column x int"], {
        DB_CONFIRM: "YES",
      });
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /ALTER TABLE \(canary\), changes structure: run again with --ddl/,
      );
    });

    await t.step(
      "--ddl: in one transaction; CONCURRENTLY and VACUUM alone, outside one",
      async () => {
        const made = await run(
          ["--ddl", "create table made (a int); insert into made values (1)"],
          {
            DB_CONFIRM: "YES",
          },
        );
        assert.equal(made.code, 0, made.stderr);
        assert.equal(made.stdout, "CREATE TABLE\nINSERT 0 1\n");
        const index = await run(
          ["--ddl", "--json", "create index concurrently made_a on made (a)"],
          {
            DB_CONFIRM: "YES",
          },
        );
        assert.equal(index.code, 0, index.stderr);
        assert.equal(JSON.parse(index.stdout).transaction, "none (ran outside a transaction)");
        const [valid] = await cluster.sql(
          "select indisvalid from pg_index where indexrelid = 'made_a'::regclass",
        );
        assert.equal(valid.indisvalid, true);
        const vacuum = await run(["--write", "vacuum made"], { DB_CONFIRM: "YES" });
        assert.equal(vacuum.code, 0, vacuum.stderr);
        assert.equal(vacuum.stdout, "VACUUM\n");
        assert.match(vacuum.stderr, /ran outside a transaction \(VACUUM cannot run inside one\)/);
      },
    );

    await t.step("notices go to stderr, results to stdout", async () => {
      const result = await run(
        ["--ddl", "do $$ begin raise notice 'hello %', 42; end $$; select 1 as one"],
        { DB_CONFIRM: "YES" },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /NOTICE: {2}hello 42/);
      assert.doesNotMatch(result.stdout, /hello/);
    });

    await t.step("on a terminal the prompt names each statement; YES runs it", async () => {
      const command = await skillCommandLine("run_sql.ts", [
        "--write",
        "update canary set v = 'z' where id = 3; select 1 as one",
      ]);
      const result = await runInTerminal(command, "YES\n", { ...baseEnv(), ...env });
      assert.equal(result.code, 0, result.output);
      assert.match(
        result.output,
        /1\. UPDATE \(canary\)\s+2\. SELECT\s+in one transaction\? Type YES/,
      );
      assert.deepEqual(await canary(cluster), [CANARY[0], CANARY[1], { id: 3, v: "z" }]);
      await cluster.sql("update canary set v = 'c' where id = 3");
    });

    await t.step(
      "the prompt names data changes in CTEs and what acts outside the transaction",
      async () => {
        const command = await skillCommandLine("run_sql.ts", [
          "--write",
          "with d as (delete from canary where id = 3 returning *) select pg_cancel_backend(0)",
        ]);
        const result = await runInTerminal(command, "no\n", { ...baseEnv(), ...env });
        assert.equal(result.code, 1, result.output);
        assert.match(
          result.output,
          /1\. SELECT \(canary\), with DELETE FROM canary; outside the transaction: pg_cancel_backend\(\) \(it signals another session\)/,
        );
        assert.deepEqual(await canary(cluster), CANARY);
      },
    );

    await t.step("Ctrl-C cancels the statement on the server and exits 130", async () => {
      const running = await spawnSkillScript("run_sql.ts", ["select pg_sleep(60)"], {
        env: { ...env, DB_APPLICATION_NAME: "run_sql_interrupted" },
      });
      await activeSession(cluster, "run_sql_interrupted", "pg_sleep");
      running.child.kill("SIGINT");
      const result = await running.result;
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stderr, /Interrupted; the statement was cancelled on the server/);
      assert.match(
        await cluster.log(),
        /run_sql_interrupted ERROR: {2}canceling statement due to user request/,
      );
    });

    await t.step(
      "a second Ctrl-C, while the cancel cannot reach the server, closes the connection",
      async () => {
        // Cancel requests come on a connection of their own: the proxy refuses those.
        const proxy = startProxy(cluster);
        try {
          const running = await spawnSkillScript("run_sql.ts", ["select pg_sleep(60)"], {
            env: { DB_URL: proxy.url(), DB_APPLICATION_NAME: "run_sql_abandoned" },
          });
          await activeSession(cluster, "run_sql_abandoned", "pg_sleep");
          proxy.refuseNew(true);
          running.child.kill("SIGINT");
          // The first Ctrl-C's cancel request was turned away: the statement still runs.
          await waitFor(() => Promise.resolve(proxy.refused() > 0), "the cancel request refused");
          running.child.kill("SIGINT");
          const result = await running.result;
          assert.equal(result.code, 130, result.stderr);
          assert.match(
            result.stderr,
            /^run_sql: Interrupted twice: the connection was closed without waiting for the server, so whether the statement took effect is unknown/,
          );
          assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
        } finally {
          await proxy.stop();
        }
      },
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test({
  name: "run_sql behind PgBouncer in transaction mode behaves as without it",
  ignore: pgbouncerPath() === undefined,
  async fn(t) {
    const cluster = await startCluster();
    const bouncer = await startPgBouncer(cluster);
    const direct = { DB_URL: cluster.url() };
    const pooled = { DB_URL: bouncer.url() };
    const run = (args: string[], env: Record<string, string>) =>
      runSkillScript("run_sql.ts", args, { env: { ...env, DB_CONFIRM: "YES" } });
    try {
      await cluster.sql(`
        create table canary (id int primary key, v text not null);
        insert into canary values (1, 'a'), (2, 'b'), (3, 'c');`);

      await t.step("the pooler refuses startup settings; each transaction gets them", async () => {
        const settings = "show statement_timeout; show lock_timeout; show transaction_read_only; " +
          "select now()::text ~ '^\\d{4}-' as iso_dates";
        const through = await run(["--json", settings], pooled);
        assert.equal(through.code, 0, through.stderr);
        const rows = JSON.parse(through.stdout).results.map((r: { rows: unknown[] }) => r.rows[0]);
        assert.deepEqual(rows, [
          { statement_timeout: "30s" },
          { lock_timeout: "2s" },
          { transaction_read_only: "on" },
          { iso_dates: true },
        ]);
        assert.match(await bouncer.log(), /unsupported startup parameter: options/);
      });

      await t.step("explain_analyze's reads run read-only through the pooler too", async () => {
        // BEGIN there is READ ONLY itself: default_transaction_read_only cannot travel in the
        // startup packet, and set after BEGIN it would not make that transaction read-only.
        await cluster.sql("create sequence pooled_seq");
        const moved = await runSkillScript("explain_analyze.ts", ["select nextval('pooled_seq')"], {
          env: pooled,
        });
        assert.equal(moved.code, 1, moved.stdout);
        assert.match(moved.stderr, /SQLSTATE 25006/);
        const [sequence] = await cluster.sql("select is_called from pooled_seq");
        assert.equal(sequence.is_called, false);
      });

      await t.step("reads print the same through the pooler", async () => {
        const query = ["select id, v from canary order by id; select 1.50::numeric as n"];
        const a = await run(query, direct);
        const b = await run(query, pooled);
        assert.equal(b.code, 0, b.stderr);
        assert.equal(b.stdout, a.stdout);
        const csv = await run(["--csv", "select id, v from canary order by id"], pooled);
        assert.equal(csv.stdout, "id,v\n1,a\n2,b\n3,c\n");
      });

      await t.step("a write commits, all or nothing holds, a failure is one line", async () => {
        const write = await run(["--write", "update canary set v = 'B' where id = 2"], pooled);
        assert.equal(write.code, 0, write.stderr);
        assert.equal(write.stdout, "UPDATE 1\n");
        const half = await run(
          ["--write", "insert into canary values (9, 'x'); insert into canary values (1, 'dup')"],
          pooled,
        );
        assert.equal(half.code, 1);
        assert.ok(isOneLineError(half.stderr), half.stderr);
        assert.match(
          half.stderr,
          /Statement 2, INSERT \(canary\), failed: .*23505.*nothing was changed/,
        );
        assert.deepEqual(await canary(cluster), [CANARY[0], { id: 2, v: "B" }, CANARY[2]]);
        const failing = await run(["select 1 / 0"], pooled);
        assert.equal(failing.code, 1);
        assert.match(failing.stderr, /division by zero \(SQLSTATE 22012\)/);
        const after = await run(["select count(*) as n from canary"], pooled);
        assert.match(after.stdout, /^n\n-+\n *3\n/, "the pool is usable after a failure");
      });

      await t.step("read-only holds through the pooler", async () => {
        const result = await run([
          "select set_config('search_path', 'x', false); delete from canary",
        ], pooled);
        assert.equal(result.code, 2);
        assert.deepEqual((await canary(cluster)).length, 3);
      });

      await t.step(
        "session state that would stay on a shared server connection is refused",
        async () => {
          for (
            const [args, what] of [
              [["prepare leaked as select 1"], /leaves PREPARE on the server connection/],
              [["deallocate all"], /DEALLOCATE/],
              [["--write", "select pg_advisory_lock(1)"], /a session-level lock/],
              [["--write", "set search_path = x; update canary set v = v"], /SET or RESET of/],
              [
                ["--write", "set session characteristics as transaction read only"],
                /session characteristics/,
              ],
              [
                ["--write", "update pg_settings set setting = '55MB' where name = 'work_mem'"],
                /pg_settings/,
              ],
              [["--ddl", "create temp table canary (id int)"], /a temporary object/],
              [
                ["--ddl", "do $$ begin perform pg_advisory_lock(4242); end $$"],
                /a session-level lock\) in the DO block/,
              ],
            ] as [string[], RegExp][]
          ) {
            const result = await run(args, { ...pooled, DB_CONFIRM: "YES" });
            assert.equal(result.code, 2, `${args}: ${result.stdout}`);
            assert.match(result.stderr, what);
            assert.ok(isOneLineError(result.stderr), result.stderr);
          }
          // A SET in a read-only run is rolled back with its transaction: allowed.
          const read = await run(
            ["set search_path = public; select count(*) as n from canary"],
            pooled,
          );
          assert.equal(read.code, 0, read.stderr);
        },
      );
    } finally {
      await bouncer.stop();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "behind a pooler that drops or outranks the startup settings, the skill's still hold",
  ignore: pgbouncerPath() === undefined,
  async fn(t) {
    const cluster = await startCluster();
    const refusing = await startPgBouncer(cluster);
    const dropping = await startPgBouncer(cluster, { ignoreOptions: true });
    try {
      await cluster.sql(`
        create table canary (id int primary key, v text not null);
        insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
        create role mallory login;
        grant create on schema public to mallory;
        set role mallory;
        create function public.planted(a oid, b integer) returns boolean
          language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
        create operator public.= (leftarg = oid, rightarg = integer, function = public.planted);
        reset role;`);
      const settings = "show statement_timeout; show lock_timeout; show transaction_read_only";
      const expected = [
        { statement_timeout: "30s" },
        { lock_timeout: "2s" },
        { transaction_read_only: "on" },
      ];
      const shown = async (env: Record<string, string>) => {
        const result = await runSkillScript("run_sql.ts", ["--json", settings], { env });
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout).results.map((r: { rows: unknown[] }) => r.rows[0]);
      };
      // The URL's options try to lift every guard; at startup the skill's come after them.
      const lifting = "?options=" + encodeURIComponent(
        "-c statement_timeout=0 -c lock_timeout=0 -c search_path=public " +
          "-c default_transaction_read_only=off",
      );
      const cases: [string, Record<string, string>][] = [
        ["a pooler that drops them", { DB_URL: dropping.url() }],
        ["a pooler that drops them, options in the URL", { DB_URL: dropping.url() + lifting }],
        ["a pooler that refuses them, options in the URL", { DB_URL: refusing.url() + lifting }],
        ["a pooler that refuses them, PGOPTIONS", {
          DB_URL: refusing.url(),
          PGOPTIONS: "-c statement_timeout=0 -c search_path=public",
        }],
      ];
      for (const [what, env] of cases) {
        await t.step(`${what}: read-only, the timeouts, pg_catalog names`, async () => {
          assert.deepEqual(await shown(env), expected);
          for (const script of ["table_sizes.ts", "index_health.ts", "find_objects.ts"]) {
            const args = script === "find_objects.ts" ? ["canary", "--json"] : ["--json"];
            const result = await runSkillScript(script, args, { env });
            assert.equal(result.code, 0, `${script}: ${result.stderr}`);
          }
          const write = await runSkillScript("run_sql.ts", ["delete from canary"], { env });
          assert.notEqual(write.code, 0);
          assert.deepEqual(await canary(cluster), CANARY);
        });
      }

      await t.step("psql is not started where its settings would be dropped", async () => {
        const env = { DB_URL: dropping.url() };
        const result = await runSkillScript(
          "psql_with_ssl_fallback.ts",
          ["-c", "delete from canary"],
          { env },
        );
        assert.equal(result.code, 2, result.stderr);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.match(result.stderr, /refuses or drops the settings .* without read-only/);
        assert.deepEqual(await canary(cluster), CANARY);
      });
    } finally {
      await dropping.stop();
      await refusing.stop();
      await cluster.stop();
    }
  },
});
