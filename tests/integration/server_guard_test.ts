/**
 * The server as the guard, tried as an attacker would: every statement goes
 * to the server alone (the extended protocol, which refuses a second
 * statement whatever our parser thought), the lexing settings are pinned and
 * watched, a rolled-back migration check refuses what a rollback cannot undo,
 * a COMMIT whose answer is lost is reported as the server records it, and a
 * server that stops answering ends the script. A canary table and a victim
 * session are checked after every attempt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../lib/connection/connect.ts";
import { PgServerError } from "../../lib/connection/session.ts";
import { resolveTarget } from "../../lib/connection/resolve.ts";
import { CANARY, victim } from "../support/victim.ts";
import { type Cluster, startCluster } from "../support/cluster.ts";
import { startProxy } from "../support/proxy.ts";
import { waitFor } from "../support/wait.ts";
import { isOneLineError, makeProject, runSkillScript } from "../support/run.ts";

async function canary(cluster: Cluster, database = "postgres"): Promise<unknown[]> {
  return await cluster.sql("select id, v from canary order by id", database);
}

Deno.test("the server is the guard: one statement per message, pinned lexing", async (t) => {
  const cluster = await startCluster({ settings: { log_statement: "'all'" } });
  const target = { DB_URL: cluster.url() };
  const run = (script: string, args: string[], env: Record<string, string> = {}) =>
    runSkillScript(script, args, { env: { ...target, ...env } });
  const victimSession = await victim(cluster);
  const kill = `pg_terminate_backend(${victimSession.pid})`;
  const intact = async (what: string) => {
    assert.deepEqual(await canary(cluster), CANARY, `canary after ${what}`);
    assert.ok(await victimSession.alive(), `victim after ${what}`);
  };
  try {
    await cluster.sql(`
      create table canary (id int primary key, v text not null);
      insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
      create function lexing_off() returns int language plpgsql as $$
        begin
          perform set_config('standard_conforming_strings', 'off', false);
          return 1;
        end $$;`);

    await t.step(
      "past the parser, the server refuses a second statement in any message",
      async () => {
        const { session } = await openSession(await resolveTargetFor(cluster));
        try {
          for (
            const send of [
              () => session.query(`select 1; delete from canary`),
              () => session.copyOut(`copy (select 1) to stdout; delete from canary`, () => {}),
              async () => {
                for await (const _ of session.batches(`select 1; delete from canary`)) {
                  // drained
                }
              },
            ]
          ) {
            await assert.rejects(send(), (error: unknown) => {
              assert.ok(error instanceof PgServerError, String(error));
              assert.equal(error.code, "42601"); // cannot insert multiple commands
              return true;
            });
          }
        } finally {
          await session.close();
        }
        await intact("two statements in one message");
      },
    );

    await t.step(
      "standard_conforming_strings off by PGOPTIONS or the database: still on",
      async () => {
        // With the setting off, the server would read 'a\'' as the string a' and then call
        // pg_terminate_backend; the skill's parser reads one string. Pinned, both read one string.
        const hidden = `select 'a\\'', ${kill} --' as s`;
        await cluster.sql(`create database other`);
        await cluster.sql(`alter database other set standard_conforming_strings = off`);
        for (
          const [what, env] of [
            ["PGOPTIONS", { PGOPTIONS: "-c standard_conforming_strings=off" }],
            ["ALTER DATABASE ... SET", { DB_URL: cluster.url({ database: "other" }) }],
          ] as [string, Record<string, string>][]
        ) {
          for (const format of [[], ["--csv"], ["--json"]]) {
            const result = await run("run_sql.ts", [...format, hidden], env);
            assert.equal(result.code, 0, `${what} ${format}: ${result.stderr}`);
            assert.match(result.stdout, /pg_terminate_backend/, `${what}: the call is text`);
            await intact(`${what} ${format.join(" ")}`);
          }
        }
      },
    );

    await t.step(
      "SQL that changes the pinned settings is refused before anything is sent",
      async () => {
        for (
          const sql of [
            `set standard_conforming_strings = off; select 'a\\'', ${kill} --'`,
            `reset standard_conforming_strings`,
            `select set_config('standard_conforming_strings', 'off', false)`,
            `set client_encoding = 'SJIS'`,
            `set names 'BIG5'`,
          ]
        ) {
          for (const flags of [[], ["--write"], ["--ddl"]]) {
            const result = await run("run_sql.ts", [...flags, sql], { DB_CONFIRM: "YES" });
            assert.equal(result.code, 2, `${sql} ${flags}: ${result.stdout}${result.stderr}`);
            assert.match(result.stderr, /pins so that its parser reads statements as the server/);
            assert.ok(isOneLineError(result.stderr), result.stderr);
          }
        }
        await intact("changes of the pinned settings");
      },
    );

    await t.step(
      "a function that turns the setting off stops the run before the next statement",
      async () => {
        const sql = `select lexing_off(); select 'a\\'', ${kill} --'`;
        const readOnly = await run("run_sql.ts", [sql]);
        assert.equal(readOnly.code, 1, readOnly.stderr);
        assert.match(readOnly.stderr, /standard_conforming_strings is "off", not "on"/);
        assert.match(readOnly.stderr, /nothing more was sent/);
        const write = await run("run_sql.ts", [
          "--write",
          `delete from canary where id = 1; select lexing_off(); select 'a\\'' ; delete from canary --'`,
        ], { DB_CONFIRM: "YES" });
        assert.equal(write.code, 1, write.stderr);
        assert.match(write.stderr, /rolled back, nothing was changed/);
        await intact("a function turning the setting off");
        // Neither hidden statement ever reached the server.
        const log = await cluster.log();
        assert.ok(!log.includes(`${kill} --'\n`), "the hidden call was never sent");
        assert.ok(!log.includes(`; delete from canary --'`), "the hidden delete was never sent");
      },
    );

    await t.step(
      "read-only: SQL run from a string, calls in attribute notation: refused",
      async () => {
        const file = join(cluster.dir, "exported");
        const probes = [
          `select query_to_xml('select ${kill}', true, false, '')`,
          `select query_to_xml(format('select %s(%s)', 'pg_terminate_backend', ${victimSession.pid}), true, false, '')`,
          `select * from ts_stat('select to_tsvector(${kill}::text)')`,
          `select ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ${kill}::text::tsquery')`,
          `select (${victimSession.pid}).pg_terminate_backend`,
          `select ('/etc/hostname'::text).pg_read_file`,
          `select x.pg_terminate_backend from (select ${victimSession.pid}) as x`,
          `select lo_export(lo_from_bytea(0, 'x'), '${file}')`,
          `select pg_create_physical_replication_slot('probe_slot')`,
          `select pg_reload_conf()`,
          `select * from dblink_exec('dbname=postgres', 'delete from canary')`,
          `with x as (select pg_cancel_backend(${victimSession.pid})) select 1`,
        ];
        for (const sql of probes) {
          for (const [script, args] of [["run_sql.ts", []], ["explain_analyze.ts", []]] as const) {
            const result = await run(script, [...args, sql]);
            assert.equal(result.code, 2, `${script} ${sql}: ${result.stdout}`);
            assert.ok(isOneLineError(result.stderr), result.stderr);
          }
          await intact(sql);
        }
        await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
        assert.deepEqual(await cluster.sql("select count(*)::int as n from pg_replication_slots"), [
          {
            n: 0,
          },
        ]);
        // Refused before anything was sent: the server never saw one of them.
        const log = await cluster.log();
        for (const sql of probes) assert.ok(!log.includes(sql), `never sent: ${sql}`);
      },
    );

    await t.step(
      "the skill's own SQL after the user's runs whatever search_path they set",
      async () => {
        await cluster.sql(`
        create function public.pg_current_xact_id_if_assigned() returns xid8 language plpgsql as $$
          begin insert into canary values (99, 'planted'); return null; end $$;
        create type public.text as enum ('planted');`);
        try {
          const result = await run("run_sql.ts", [
            "--write",
            "set search_path = public, pg_catalog; update canary set v = v where id = 1",
          ], { DB_CONFIRM: "YES" });
          assert.equal(result.code, 0, result.stderr);
          await intact("a search_path that shadows the skill's own functions");
        } finally {
          await cluster.sql(
            "drop function public.pg_current_xact_id_if_assigned(); drop type public.text",
          );
        }
      },
    );

    await t.step("COPY ... TO STDOUT prints what the server writes, as psql does", async () => {
      const result = await run("run_sql.ts", [
        "copy (select * from canary order by id) to stdout",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "1\ta\n2\tb\n3\tc\n");
      const csv = await run("run_sql.ts", [
        "copy (select * from canary order by id) to stdout with csv header",
      ]);
      assert.equal(csv.stdout, "id,v\n1,a\n2,b\n3,c\n");
      const json = await run("run_sql.ts", ["--json", "copy canary to stdout"]);
      assert.equal(json.code, 2, json.stdout);
      assert.ok(isOneLineError(json.stderr), json.stderr);
    });
  } finally {
    await victimSession.close();
    await cluster.stop();
  }
});

/** A diagnostic target for the cluster's superuser, as a script would resolve it. */
async function resolveTargetFor(cluster: Cluster) {
  const previous = Deno.env.get("DB_URL");
  Deno.env.set("DB_URL", cluster.url());
  try {
    return await resolveTarget({ session: "explain" });
  } finally {
    if (previous === undefined) Deno.env.delete("DB_URL");
    else Deno.env.set("DB_URL", previous);
  }
}

Deno.test("a migration check refuses what a rollback cannot undo, and says what stays", async (t) => {
  const cluster = await startCluster();
  const project = await makeProject();
  const folder = join(project.root, "db", "migrations");
  await Deno.mkdir(folder, { recursive: true });
  const env = { ...project.env, DB_URL: cluster.url() };
  const check = () => runSkillScript("migration_apply.ts", ["--json"], { env });
  const victimSession = await victim(cluster);
  const marker = join(cluster.dir, "touched-by-program");
  try {
    await cluster.sql(`
      create table canary (id int primary key, v text not null);
      insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
      create sequence counter;
      create function lexing_off() returns int language plpgsql as $$
        begin
          perform set_config('standard_conforming_strings', 'off', false);
          return 1;
        end $$;`);
    const pending = (sql: string) => Deno.writeTextFile(join(folder, "prerelease.sql"), sql);

    await t.step("a program, a signal: refused, nothing run", async () => {
      for (
        const [sql, pattern] of [
          [`create table t1 (id int);\ncopy (select 1) to program 'touch ${marker}';`, /program/],
          [`select pg_terminate_backend(${victimSession.pid});`, /pg_terminate_backend/],
          [
            `create table t2 (id int);\nselect (${victimSession.pid}).pg_terminate_backend;`,
            /attribute notation/,
          ],
          [
            `do $$ begin perform pg_terminate_backend(${victimSession.pid}); end $$;`,
            /pg_terminate_backend\(\) .* in the DO block/,
          ],
          [
            `do $$ begin execute 'copy (select 1) to program ''touch ${marker}'''; end $$;`,
            /COPY to or from a program .* in the DO block/,
          ],
          [
            `create function pg_temp.kill(p int) returns boolean language sql\n` +
            `  as 'select pg_terminate_backend(p)';\nselect pg_temp.kill(${victimSession.pid});`,
            /pg_terminate_backend\(\) .* in the function's body/,
          ],
          [
            `create function kill2(p int) returns boolean language plpgsql as $$\n` +
            `  declare ok boolean; begin ok := pg_terminate_backend(p); return ok; end $$;\n` +
            `select kill2(${victimSession.pid});`,
            /pg_terminate_backend\(\) .* in the function's body/,
          ],
          [`load 'auto_explain';`, /LOAD/],
          [`checkpoint;`, /CHECKPOINT/],
          [
            `do $$ declare a int[]; begin a[pg_terminate_backend(${victimSession.pid})::int] := 1; ` +
            `end $$;`,
            /pg_terminate_backend\(\) .* in the DO block/,
          ],
          [
            `create operator public.### (function = pg_catalog.pg_terminate_backend, ` +
            `leftarg = int, rightarg = bigint);\nselect ${victimSession.pid} ### 0::bigint;`,
            /bound by CREATE OPERATOR/,
          ],
          [
            `create extension if not exists file_fdw;\ncreate server fs foreign data wrapper ` +
            `file_fdw;\ncreate foreign table ft (a text) server fs options (program 'touch ` +
            `${marker}');\nselect * from ft;`,
            /runs a program on the server/,
          ],
        ] as [string, RegExp][]
      ) {
        await pending(sql);
        const result = await check();
        assert.equal(result.code, 1, result.stdout);
        assert.match(result.stderr, pattern);
        assert.match(result.stderr, /outside the transaction.*nothing was run/);
        assert.ok(isOneLineError(result.stderr), result.stderr);
      }
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
      assert.ok(await victimSession.alive());
      assert.deepEqual(await canary(cluster), CANARY);
    });

    await t.step("sequences it moves are named, as moved", async () => {
      await pending(
        `create table t3 (id serial primary key);\ninsert into t3 default values;\n` +
          `select setval('counter', 41);\n`,
      );
      const result = await check();
      assert.equal(result.code, 0, result.stderr);
      const moved = JSON.parse(result.stdout).moved_sequences;
      assert.deepEqual(moved, [{ name: "public.counter", before: null, after: "41" }]);
      assert.match(
        result.stderr,
        /nothing was changed but sequences.*public\.counter unused -> 41/,
      );
      assert.equal((await cluster.sql("select last_value::int as v from counter"))[0].v, 41);
      assert.deepEqual(await cluster.sql("select to_regclass('t3') is null as gone"), [{
        gone: true,
      }]);
    });

    await t.step("what a rollback leaves, and code it cannot see into, are said", async () => {
      await pending(
        `analyze canary;\n` +
          `do $$ begin execute format('create table %I (id int)', 'made_at_run_time'); end $$;\n`,
      );
      const result = await check();
      assert.equal(result.code, 0, result.stderr);
      const doc = JSON.parse(result.stdout);
      assert.deepEqual(doc.not_undone, [
        "prerelease.sql line 1: ANALYZE (the planner statistics it updates stay updated)",
      ]);
      assert.deepEqual(doc.unseen, [
        "prerelease.sql line 2: EXECUTE of SQL built at run time in the DO block",
      ]);
      assert.match(result.stderr, /A rollback does not undo: prerelease\.sql line 1: ANALYZE/);
      assert.match(result.stderr, /Not seen into, so not checked .*: prerelease\.sql line 2/);
      assert.deepEqual(
        await cluster.sql("select to_regclass('made_at_run_time') is null as gone"),
        [
          { gone: true },
        ],
      );
    });

    await t.step(
      "deferred constraints are checked as COMMIT would; triggers that ran are named",
      async () => {
        await cluster.sql(`
        create table audit (v text);
        create function audit_it() returns trigger language plpgsql as $$
          begin insert into audit values (new.v); return new; end $$;
        create trigger canary_audit after insert on canary for each row execute function audit_it();`);
        await pending(
          `create table dp (id int primary key);\n` +
            `create table dc (pid int references dp deferrable initially deferred);\n` +
            `insert into dc values (1);\n`,
        );
        const deferred = await check();
        assert.equal(deferred.code, 1, deferred.stdout);
        assert.match(deferred.stderr, /Checking deferred constraints .* failed: .*foreign key/);
        await pending(`insert into canary values (7, 'x');\n`);
        const fired = await check();
        assert.equal(fired.code, 0, fired.stderr);
        assert.deepEqual(JSON.parse(fired.stdout).triggers_run, ["canary_audit on canary"]);
        assert.match(
          fired.stderr,
          /Not seen into.*the database's own trigger canary_audit on canary/,
        );
        assert.deepEqual(await canary(cluster), CANARY);
        await cluster.sql(
          "drop trigger canary_audit on canary; drop function audit_it(); drop table audit",
        );
        // The database's own function the file calls, and its event trigger on DDL: a check
        // cannot read them, and names them (one could create a replication slot).
        await cluster.sql(`
          create function touch_slot() returns int language sql as 'select 1';
          create function on_ddl() returns event_trigger language plpgsql as
            $$ begin null; end $$;
          create event trigger watch_ddl on ddl_command_end execute function on_ddl();`);
        await pending(`select touch_slot();\ncreate table evt (id int);\n`);
        const code = await check();
        assert.equal(code.code, 0, code.stderr);
        assert.deepEqual(JSON.parse(code.stdout).database_code, [
          "event trigger watch_ddl",
          "function touch_slot()",
        ]);
        assert.match(code.stderr, /Not seen into.*function touch_slot\(\)/);
        await cluster.sql(
          "drop event trigger watch_ddl; drop function on_ddl(); drop function touch_slot()",
        );
      },
    );

    await t.step("temporary tables named like catalogs do not fool the lookups", async () => {
      await pending(
        `create table looked_up (id int);\n` +
          `create temp table pg_class (oid oid, relkind "char");\n` +
          `set search_path = pg_temp, public;\n`,
      );
      const result = await check();
      assert.equal(result.code, 0, result.stderr);
      const verified = JSON.parse(result.stdout).verified;
      assert.deepEqual(
        verified.find((v: { name: string }) => v.name === "looked_up"),
        { kind: "table", name: "looked_up", expected: "present", found: "table", ok: true },
      );
    });

    await t.step("lexing turned off by a function stops the check, nothing committed", async () => {
      await pending(
        `select lexing_off();\nselect 'a\\'' ; insert into canary values (9, $$z$$) --';\n`,
      );
      const result = await check();
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /standard_conforming_strings is "off"/);
      const applied = await runSkillScript("migration_apply.ts", ["--apply"], {
        env: { ...env, DB_CONFIRM: "YES" },
      });
      assert.equal(applied.code, 1, applied.stdout);
      assert.match(applied.stderr, /rolled back/);
      assert.deepEqual(await canary(cluster), CANARY);
    });
  } finally {
    await victimSession.close();
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("a COMMIT whose answer is lost is reported as the server records it", async (t) => {
  const cluster = await startCluster();
  const proxy = startProxy(cluster);
  const project = await makeProject();
  try {
    await cluster.sql(`create table t (id int primary key)`);
    const write = (id: number) =>
      runSkillScript("run_sql.ts", ["--write", `insert into t values (${id})`], {
        env: { DB_URL: proxy.url(), DB_CONFIRM: "YES" },
      });
    const ids = async () => (await cluster.sql("select id from t order by id")).map((r) => r.id);

    await t.step("lost before the server saw it: aborted, nothing changed", async () => {
      proxy.fault("lose-commit");
      const result = await write(1);
      proxy.fault("none");
      assert.equal(proxy.struck(), 1);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /lost during COMMIT.*records transaction \d+ as aborted/);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.deepEqual(await ids(), []);
    });

    await t.step("lost on its way back: committed, and said so", async () => {
      proxy.fault("lose-commit-answer");
      const result = await write(2);
      proxy.fault("none");
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /INSERT 0 1/);
      assert.match(result.stderr, /lost during COMMIT; asked afterwards, the server records/);
      assert.deepEqual(await ids(), [2]);
    });

    await t.step(
      "and when the server cannot be asked: unknown, with the check to run",
      async () => {
        // The script reconnects to ask; the proxy refuses it from the moment the fault strikes.
        proxy.refuseAfterStrike(true);
        proxy.fault("lose-commit-answer");
        const result = await write(3);
        proxy.refuseAfterStrike(false);
        proxy.refuseNew(false);
        proxy.fault("none");
        assert.equal(result.code, 1, result.stdout);
        assert.match(result.stderr, /whether transaction (\d+) committed is unknown/);
        assert.match(result.stderr, /select pg_xact_status\('\d+'\)/);
        assert.doesNotMatch(result.stderr, /nothing was changed/);
        assert.deepEqual(await ids(), [2, 3]);
      },
    );

    await t.step("nothing changed here, but a sequence moved: unknown, not harmless", async () => {
      // Called once before: the next calls use the values already logged, and assign no
      // transaction id, so the server has nothing to look up.
      await cluster.sql("create sequence moved; select nextval('moved')");
      proxy.fault("lose-commit-answer");
      const struck = proxy.struck();
      // Two statements: one transaction, and its COMMIT is what the proxy loses.
      const result = await runSkillScript(
        "run_sql.ts",
        ["--write", "select nextval('moved'); select 1"],
        { env: { DB_URL: proxy.url(), DB_CONFIRM: "YES" } },
      );
      proxy.fault("none");
      assert.equal(proxy.struck(), struck + 1, "the COMMIT's answer was lost");
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        /this database recorded no change, but the statements also acted outside/,
      );
      assert.match(result.stderr, /nextval/);
      assert.doesNotMatch(result.stderr, /so nothing was changed/);
    });

    await t.step("migration_apply --apply: the same truth", async () => {
      const folder = join(project.root, "db", "migrations");
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeTextFile(join(folder, "prerelease.sql"), "create table applied (id int);\n");
      proxy.fault("lose-commit-answer");
      const result = await runSkillScript("migration_apply.ts", ["--apply"], {
        env: { ...project.env, DB_URL: proxy.url(), DB_CONFIRM: "YES" },
      });
      proxy.fault("none");
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /committed \(the connection was lost during COMMIT; the server/);
      assert.deepEqual(await cluster.sql("select to_regclass('applied') is not null as made"), [{
        made: true,
      }]);
    });
  } finally {
    await proxy.stop();
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("a read-only run's time limit holds even when a function lifts the server's", async () => {
  const cluster = await startCluster();
  try {
    await cluster.sql(`
      create function lift() returns int language plpgsql as $$
        begin
          perform set_config('statement_timeout', '0', false);
          return 1;
        end $$;`);
    const result = await runSkillScript("run_sql.ts", ["select lift(); select pg_sleep(30)"], {
      env: { DB_URL: cluster.url(), DB_STATEMENT_TIMEOUT_MS: "300", PGCONNECT_TIMEOUT: "1" },
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /No answer from .* for 1\.3 s while a statement ran/);
    // The cancel request went with it: the sleep does not go on without us.
    await waitFor(
      async () =>
        (await cluster.sql(
          `select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`,
        ))[0].n === 0,
      "the sleeping statement to end",
      { timeoutMs: 5000 },
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("a server that stops answering after authentication ends the script", async () => {
  const cluster = await startCluster();
  const proxy = startProxy(cluster);
  try {
    const env = { DB_URL: proxy.url(), DB_STATEMENT_TIMEOUT_MS: "300", PGCONNECT_TIMEOUT: "1" };
    for (const script of ["test_connection.ts", "run_sql.ts"]) {
      const args = script === "run_sql.ts" ? ["select 1"] : [];
      // Silent from the skill's first statement on: the read of the session's settings.
      proxy.fault("silent-after-auth");
      const result = await runSkillScript(script, args, { env });
      assert.equal(result.code, 1, `${script}: ${result.stdout}`);
      assert.match(result.stderr, /accepted the login, then gave no answer for 1\.3 s/);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      // Silent once connected: the script's own statement gets no answer.
      proxy.fault("silent-after-first-statement");
      const later = await runSkillScript(script, args, { env });
      assert.equal(later.code, 1, `${script}: ${later.stdout}`);
      assert.match(later.stderr, /No answer from .* for 1\.3 s while a statement ran/);
      assert.ok(isOneLineError(later.stderr), later.stderr);
    }
  } finally {
    await proxy.stop();
    await cluster.stop();
  }
});
