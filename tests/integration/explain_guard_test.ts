/**
 * explain_analyze.ts against the database's own code, tried as an attacker
 * would on each major: a data change under ANALYZE runs triggers (on
 * partitions and through foreign-key cascades too), rules, defaults,
 * generated columns, check and domain constraints and the views it reads,
 * none of which its text shows; each is read from the catalog first and
 * ANALYZE refused (exit 2, nothing run) when it acts outside the transaction
 * or cannot be seen into. A read keeps the reader role and the read-only
 * transaction whatever decorates it (nextval, FOR UPDATE), so the server
 * refuses. Sequences a data change moves are named. A canary table, a victim
 * session and a sequence are checked after every attempt.
 */
import assert from "node:assert/strict";
import { CANARY, victim } from "../support/victim.ts";
import { startCluster, testMajors } from "../support/cluster.ts";
import { isOneLineError, makeProject, runSkillScript, tomlWithProfiles } from "../support/run.ts";

for (const major of testMajors()) {
  Deno.test(`explain_analyze.ts reads the database's code first (PostgreSQL ${major})`, async (t) => {
    const cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
      settings: { log_statement: "'all'" },
    });
    const project = await makeProject();
    const victimSession = await victim(cluster);
    const pid = victimSession.pid;
    const asSuperuser = { DB_URL: cluster.url() };
    const explain = (args: string[], env: Record<string, string> = asSuperuser) =>
      runSkillScript("explain_analyze.ts", args, { env: { ...project.env, ...env } });
    // A data change under ANALYZE runs only with --write, once the user agreed.
    const change = (sql: string) =>
      explain(["--write", sql], { ...asSuperuser, DB_CONFIRM: "YES" });
    const intact = async (what: string) => {
      assert.deepEqual(
        await cluster.sql("select id, v from canary order by id"),
        CANARY,
        `canary after ${what}`,
      );
      assert.ok(await victimSession.alive(), `victim after ${what}`);
      assert.deepEqual(
        await cluster.sql("select last_value::int as n, is_called from s1"),
        [{ n: 1, is_called: false }],
        `s1 after ${what}`,
      );
    };
    const conninfo = `host=${cluster.dir} port=${cluster.port} user=${cluster.superuser} ` +
      `password=${cluster.password} dbname=postgres`;
    try {
      await cluster.sql(`
        create extension dblink;
        create table canary (id int primary key, v text not null);
        insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
        create sequence s1;
        create table audit (id int, at text);
        create function killvictim() returns bool language sql
          as 'select pg_terminate_backend(${pid})';
        create function remote_delete() returns trigger language plpgsql as $$
          begin perform dblink_exec('${conninfo}', 'delete from canary'); return new; end $$;
        create function calls_kill() returns trigger language plpgsql as $$
          begin perform killvictim(); return new; end $$;
        create function runs_text() returns trigger language plpgsql as $$
          begin execute 'select pg_' || 'terminate_backend(${pid})'; return new; end $$;
        create function audit_row() returns trigger language plpgsql as $$
          begin insert into audit values (new.id, tg_table_name); return new; end $$;
        create function kill_check(int) returns bool language sql immutable
          as 'select pg_terminate_backend(${pid})';
        -- A function in C that is not built in: dblink's code, bound under a name of one's own.
        create function my_exec(text, text) returns text language c
          as '$libdir/dblink', 'dblink_exec';

        -- B1: a trigger reaching another session; a default that signals one.
        create table ttrig (id int);
        create trigger ttrig_remote after insert on ttrig
          for each row execute function remote_delete();
        create table tdef (id int, k bool default killvictim());

        -- The class: statement triggers, partitions, cascades, rules, checks, generated columns,
        -- domains, views read, SQL built at run time, C.
        create table tstmt (id int);
        create trigger tstmt_kill after insert on tstmt
          for each statement execute function calls_kill();
        create table tpart (id int) partition by range (id);
        create table tpart_1 partition of tpart for values from (0) to (100);
        create trigger tpart_1_kill before insert on tpart_1
          for each row execute function calls_kill();
        create table tparent (id int primary key);
        insert into tparent values (1);
        create table tchild (parent int references tparent on delete cascade);
        insert into tchild values (1);
        create trigger tchild_remote after delete on tchild
          for each row execute function remote_delete();
        create table trule (id int);
        create rule trule_kill as on insert to trule do also select killvictim();
        create table tcheck (id int check (kill_check(id)));
        create table tgen (id int, g bool generated always as (kill_check(id)) stored);
        create domain killing int check (kill_check(value));
        create table tdomain (id killing);
        create view v_kill as select id, killvictim() as k from canary;
        create table tview (id int);
        create table ttext (id int);
        create trigger ttext_run before insert on ttext
          for each row execute function runs_text();
        create table tc (id int, x text default my_exec('${conninfo}', 'delete from canary'));

        -- Allowed: a trigger that only writes a row elsewhere; a serial column.
        create table tallowed (id serial, v text);
        create trigger tallowed_audit after insert on tallowed
          for each row execute function audit_row();
        create table tseq (v bigint);
        revoke create on schema public from public;`);

      await t.step(
        "B1: a trigger that reaches another database: refused, nothing run",
        async () => {
          // Without --write, no data change runs under ANALYZE at all.
          const unasked = await explain(["insert into ttrig values (1)"]);
          assert.equal(unasked.code, 2, unasked.stdout + unasked.stderr);
          assert.match(unasked.stderr, /changes data: .*--no-analyze .* --write \(a confirmation/);
          await intact("a data change without --write");
          const unconfirmed = await explain(["--write", "insert into tallowed(v) values ('x')"]);
          assert.equal(unconfirmed.code, 1, unconfirmed.stdout + unconfirmed.stderr);
          assert.match(unconfirmed.stderr, /Not confirmed: .*DB_CONFIRM=YES/);
          const result = await change("insert into ttrig values (1)");
          assert.equal(result.code, 2, result.stdout + result.stderr);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(
            result.stderr,
            /trigger ttrig_remote on ttrig runs remote_delete\(\), which uses dblink_exec\(\).*--no-analyze/,
          );
          await intact("a dblink trigger");
          const planned = await explain(["--no-analyze", "insert into ttrig values (1)"]);
          assert.equal(planned.code, 0, planned.stderr);
          assert.match(planned.stdout, /Insert on ttrig/);
          await intact("a dblink trigger, planned only");
        },
      );

      await t.step("B1: a column default that signals a session: refused", async () => {
        const result = await change("insert into tdef(id) values (1)");
        assert.equal(result.code, 2, result.stdout + result.stderr);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.match(result.stderr, /the default of tdef\.k .*pg_terminate_backend\(\)/);
        await intact("a killing default");
      });

      await t.step("the class: every kind of unseen code is read first", async () => {
        for (
          const [sql, pattern] of [
            [
              "insert into tstmt values (1)",
              /trigger tstmt_kill on tstmt runs calls_kill\(\), which calls killvictim\(\), which uses pg_terminate_backend\(\)/,
            ],
            ["insert into tpart values (1)", /trigger tpart_1_kill on tpart_1 .*killvictim/],
            ["delete from tparent", /trigger tchild_remote on tchild .*dblink_exec/],
            ["insert into trule values (1)", /rule trule_kill on trule .*pg_terminate_backend/],
            ["insert into tcheck values (1)", /check constraint tcheck_id_check on tcheck/],
            [
              "insert into tgen(id) values (1)",
              /generated column tgen\.g.*kill_check\(integer\).*pg_terminate_backend/,
            ],
            ["insert into tdomain values (1)", /constraint killing_check of domain killing/],
            ["insert into tview select id from v_kill", /view v_kill .*pg_terminate_backend/],
            [
              "with x as (insert into tview select 1 where killvictim()) select 1",
              /the statement calls killvictim\(\), which uses pg_terminate_backend/,
            ],
            ["insert into ttext values (1)", /EXECUTE of SQL built at run time.*no check can/],
            ["insert into tc(id) values (1)", /my_exec\(text,text\), a function in c, which no/],
          ] as [string, RegExp][]
        ) {
          const result = await change(sql);
          assert.equal(result.code, 2, `${sql}: ${result.stdout}${result.stderr}`);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(result.stderr, pattern, `${sql}: ${result.stderr}`);
          assert.match(result.stderr, /use --no-analyze/, sql);
          await intact(sql);
        }
        // Refused before the statement was sent: the server never ran one of them.
        const log = await cluster.log();
        assert.ok(!/EXPLAIN \(ANALYZE, BUFFERS\) insert into tdef/.test(log), "never sent");
      });

      await t.step("allowed: a trigger that only writes a row, rolled back", async () => {
        const result = await change("insert into tallowed(v) values ('x')");
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /Insert on tallowed/);
        assert.match(result.stdout, /Trigger tallowed_audit/);
        assert.deepEqual(await cluster.sql("select count(*)::int as n from tallowed"), [{ n: 0 }]);
        assert.deepEqual(await cluster.sql("select count(*)::int as n from audit"), [{ n: 0 }]);
        // B5: the serial column's sequence moved, and the note says so.
        assert.match(
          result.stderr,
          /sequences the run moved stay moved .*public\.tallowed_id_seq \(unused -> 1\)/,
        );
        await intact("an allowed trigger");
      });

      await t.step("B5: a data change that moves a sequence says which", async () => {
        const result = await change("insert into tseq values (setval('s1', 1000))");
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /public\.s1 \(unused -> 1000\)/);
        await cluster.sql("alter sequence s1 restart with 1");
        await intact("a setval in an insert");
      });

      await t.step(
        "a read with nextval or setval stays read-only: the server refuses",
        async () => {
          for (const sql of ["select setval('s1', 1000)", "select nextval('s1') from canary"]) {
            const result = await explain([sql]);
            assert.equal(result.code, 1, `${sql}: ${result.stdout}${result.stderr}`);
            assert.ok(isOneLineError(result.stderr), result.stderr);
            assert.match(result.stderr, /SQLSTATE 25006.*--no-analyze/);
            await intact(sql);
          }
        },
      );

      await t.step("B2: with a reader role, nextval or FOR UPDATE keep it", async () => {
        await project.writeToml(tomlWithProfiles({
          local: {
            host: cluster.host,
            port: cluster.port,
            user: cluster.superuser,
            password: cluster.password,
            database: "postgres",
          },
        }));
        const made = await runSkillScript("readonly_role.ts", ["--save"], {
          env: { ...project.env, DB_CONFIRM: "YES" },
        });
        assert.equal(made.code, 0, made.stderr);
        const asProfile = { DB_PROFILE: "local" };
        for (
          const sql of [
            "select * from v_kill",
            "select nextval('s1'), * from v_kill",
            "select c.*, v.* from canary c, v_kill v for update of c",
            "select setval('s1', 1000)",
          ]
        ) {
          const result = await explain([sql], asProfile);
          assert.equal(result.code, 1, `${sql}: ${result.stdout}${result.stderr}`);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          // Refused by the server, to the reader: a signal it may not send or a write in a
          // read-only transaction.
          assert.match(result.stderr, /SQLSTATE (42501|25006)/, sql);
          await intact(sql);
        }
        const plain = await explain(["select * from canary for update"], asProfile);
        assert.equal(plain.code, 1, plain.stderr);
        assert.match(plain.stderr, /SQLSTATE 25006.*FOR UPDATE, FOR SHARE.*--no-analyze/);
        const planned = await explain(["--no-analyze", "select nextval('s1'), * from v_kill"], {
          DB_PROFILE: "local",
        });
        assert.equal(planned.code, 0, planned.stderr);
        await intact("reads as the reader");
      });
    } finally {
      await victimSession.close();
      await cluster.stop();
      await project.remove();
    }
  });
}
