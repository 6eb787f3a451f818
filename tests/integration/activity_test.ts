/**
 * Live sessions on a real server, with the situations made for real: sleeping
 * queries, a session idle in a transaction, a chain of lock waits, cancels and
 * terminations confirmed on a terminal or with DB_CONFIRM=YES, and refusals that
 * leave their target untouched.
 */
import assert from "node:assert/strict";
import {
  checkChosen,
  checkTargets,
  sessionsRunning,
  signalBackends,
} from "../../lib/reports/backends.ts";
import { SkillError } from "../../lib/core/errors.ts";
import type { PgSession } from "../../lib/connection/session.ts";
import { startCluster } from "../support/cluster.ts";
import {
  baseEnv,
  makeProject,
  runInTerminal,
  runSkillScript,
  skillCommandLine,
  tomlWithProfiles,
} from "../support/run.ts";
import { waitFor } from "../support/wait.ts";
import { listRows } from "../support/lists.ts";

Deno.test("live sessions: activity, long queries, locks, cancel, terminate", async (t) => {
  const cluster = await startCluster();
  const project = await makeProject();
  const sessions: PgSession[] = [];
  const open = async () => {
    const s = await cluster.session("app");
    sessions.push(s);
    return s;
  };
  const states = async (pid: number) =>
    (await cluster.sql(`select state, query from pg_stat_activity where pid = ${pid}`))[0];
  try {
    await cluster.sql("create database app");
    await cluster.sql(
      "create table t (id int primary key, v int); insert into t values (1, 0), (2, 0);" +
        "create role weak login password 'weak-pw';",
      "app",
    );
    await project.writeToml(tomlWithProfiles({
      local: {
        host: cluster.host,
        port: cluster.port,
        user: cluster.superuser,
        password: cluster.password,
        database: "app",
      },
      weak: {
        host: cluster.host,
        port: cluster.port,
        user: "weak",
        password: "weak-pw",
        database: "app",
      },
    }));
    const env = project.env;
    const json = async (
      script: string,
      args: string[] = [],
      extra: Record<string, string> = {},
    ) => {
      const result = await runSkillScript(script, [...args, "--json"], {
        env: { ...env, ...extra },
      });
      assert.equal(result.code, 0, `${script}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    };

    // A sleeping query, a session idle in a transaction, and a chain of waits.
    const sleeper = await open();
    const sleeping = sleeper.query("select pg_sleep(60) /* sleeper */");
    sleeping.catch(() => {});
    const holder = await open(); // A
    await holder.simpleQuery("begin; update t set v = v + 1 where id = 1");
    const middle = await open(); // B: holds row 2, waits for A on row 1
    await middle.simpleQuery("begin; update t set v = v + 1 where id = 2");
    const middleWait = middle.simpleQuery("update t set v = v + 1 where id = 1");
    middleWait.catch(() => {});
    const last = await open(); // C: waits for B on row 2
    const lastWait = last.simpleQuery("update t set v = v + 1 where id = 2");
    lastWait.catch(() => {});
    await waitFor(async () => {
      const [row] = await cluster.sql(
        "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'",
      );
      return Number(row.n) >= 2;
    }, "two sessions waiting on locks");
    await waitFor(async () => {
      const [row] = await cluster.sql(
        "select count(*)::int as n from pg_stat_activity where query like '%/* sleeper */' " +
          "and now() - query_start > interval '1.1 s'",
      );
      return Number(row.n) === 1;
    }, "the sleeper running for over a second");

    await t.step(
      "activity_overview: active, waiting and idle-in-transaction sessions",
      async () => {
        const rows = listRows(await json("activity_overview.ts"));
        const byPid = new Map(rows.map((r: { pid: number }) => [r.pid, r]));
        const a = byPid.get(holder.backendPid) as Record<string, unknown>;
        assert.equal(a.state, "idle in transaction");
        assert.ok((a.xact_seconds as number) > 0);
        const b = byPid.get(middle.backendPid) as Record<string, unknown>;
        assert.equal(b.state, "active");
        assert.equal(b.wait_event_type, "Lock");
        assert.equal(
          (byPid.get(sleeper.backendPid) as Record<string, unknown>).wait_event,
          "PgSleep",
        );
        assert.match(
          String((byPid.get(sleeper.backendPid) as Record<string, unknown>).query),
          /pg_sleep\(60\)/,
        );
        for (let i = 1; i < rows.length; i++) {
          assert.ok(rows[i - 1].xact_seconds >= rows[i].xact_seconds, "oldest transaction first");
        }
        assert.ok(
          !rows.some((r: { application: string }) => r.application === "codex-postgres-skill"),
          "not itself",
        );
        // A limit keeps the oldest and counts the rest exactly.
        const one = await json("activity_overview.ts", ["1"]);
        assert.deepEqual(listRows(one).map((r) => r.pid), [rows[0].pid]);
        assert.ok(rows.length >= 3);
        assert.deepEqual([one.total, one.truncated, one.limit], [rows.length, true, 1]);
      },
    );

    await t.step("long_running_queries: the threshold separates old from new", async () => {
      const rows = listRows(await json("long_running_queries.ts", ["0.01"]));
      assert.ok(rows.some((r: { pid: number }) => r.pid === sleeper.backendPid));
      assert.ok(rows.every((r: { running_seconds: number }) => r.running_seconds >= 0.6));
      const none = listRows(await json("long_running_queries.ts", ["5"]));
      assert.ok(!none.some((r: { pid: number }) => r.pid === sleeper.backendPid));
      const empty = await runSkillScript("long_running_queries.ts", ["1000"], { env });
      assert.match(empty.stdout, /\(0 rows\)/);
      assert.match(empty.stderr, /no other session's query has run longer than 1000 minutes;/);
      const bad = await runSkillScript("long_running_queries.ts", ["five"], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /minutes must be a number/);
    });

    await t.step("locks_overview: the chain A blocks B blocks C", async () => {
      const rows = listRows(await json("locks_overview.ts"));
      const bByA = rows.find((r: Record<string, unknown>) =>
        r.blocked_pid === middle.backendPid && r.blocking_pid === holder.backendPid
      );
      const cByB = rows.find((r: Record<string, unknown>) =>
        r.blocked_pid === last.backendPid && r.blocking_pid === middle.backendPid
      );
      assert.ok(bByA, JSON.stringify(rows));
      assert.ok(cByB, JSON.stringify(rows));
      assert.equal(bByA.blocking_state, "idle in transaction");
      assert.equal(bByA.blocking_is_waiting, false);
      assert.equal(cByB.blocking_is_waiting, true, "B is itself waiting: a chain");
      // Qualified: diagnostic sessions resolve names in pg_catalog only.
      assert.equal(bByA.relation, "public.t");
      assert.match(bByA.lock_mode, /Share|Exclusive/);
      assert.match(bByA.blocked_query, /update t set v = v \+ 1 where id = 1/);
      assert.match(bByA.blocking_query, /update t set v = v \+ 1 where id = 1/);
      const table = await runSkillScript("locks_overview.ts", [], { env });
      assert.match(table.stdout, /blocked_pid \| blocked_user/);
      assert.match(table.stdout, new RegExp(`\\(${rows.length} rows\\)\n$`));
      // Cut at one row: the first one, the exact total, and a line that says so.
      const one = await json("locks_overview.ts", ["--limit", "1"]);
      assert.deepEqual([one.rows[0].blocked_pid, one.total, one.truncated], [
        rows[0].blocked_pid,
        rows.length,
        true,
      ]);
      const cut = await runSkillScript("locks_overview.ts", ["1"], { env });
      assert.equal(
        cut.stdout.trim().split("\n").at(-1),
        `(1 of ${rows.length} rows shown; limit 1: --limit ${rows.length} shows all)`,
      );
    });

    await t.step("refusals: bad PID, unknown PID, own session, no confirmation", async () => {
      for (const bad of ["abc", "0", "-3", "12.5"]) {
        const result = await runSkillScript("cancel_backend.ts", [bad], {
          env: { ...env, DB_CONFIRM: "YES" },
        });
        assert.equal(result.code, 2, bad);
      }
      const unknown = await runSkillScript("terminate_backend.ts", ["999999"], {
        env: { ...env, DB_CONFIRM: "YES" },
      });
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /No session with PID 999999 on this server; nothing was signalled/,
      );
      const unconfirmed = await runSkillScript("cancel_backend.ts", [String(sleeper.backendPid)], {
        env,
      });
      assert.equal(unconfirmed.code, 1);
      assert.match(unconfirmed.stderr, /Not confirmed: .* type YES, or set DB_CONFIRM=YES/);
      const wrongWord = await runSkillScript("terminate_backend.ts", [String(sleeper.backendPid)], {
        env: { ...env, DB_CONFIRM: "yes" },
      });
      assert.equal(wrongWord.code, 1, "only YES confirms");
      // The script's own session: refused by the same check the scripts use.
      const own = await cluster.session("app");
      try {
        await assert.rejects(
          checkTargets(own, [own.backendPid]),
          (e: unknown) =>
            e instanceof SkillError &&
            /this script's own session; nothing was signalled/.test(e.message),
        );
      } finally {
        await own.close();
      }
      assert.equal((await states(sleeper.backendPid)).state, "active", "the sleeper is untouched");
    });

    await t.step("cancel not permitted for a weaker role: reported, query untouched", async () => {
      const result = await runSkillScript("cancel_backend.ts", [
        String(sleeper.backendPid),
        "--json",
      ], {
        env: { ...env, DB_PROFILE: "weak", DB_CONFIRM: "YES" },
      });
      assert.equal(result.code, 1);
      assert.equal(JSON.parse(result.stdout)[0].result, "not permitted");
      assert.equal((await states(sleeper.backendPid)).state, "active");
    });

    await t.step("the server's own processes are refused, not reported gone", async () => {
      const [checkpointer] = await cluster.sql(
        "select pid from pg_stat_activity where backend_type = 'checkpointer'",
      );
      const result = await runSkillScript("terminate_backend.ts", [String(checkpointer.pid)], {
        env: { ...env, DB_CONFIRM: "YES" },
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`PID ${checkpointer.pid} is the server's checkpointer, not a client session`),
      );
      const [still] = await cluster.sql(
        `select count(*)::int as n from pg_stat_activity where pid = ${checkpointer.pid}`,
      );
      assert.equal(still.n, 1, "the checkpointer runs on");
      const weak = await runSkillScript(
        "cancel_backend.ts",
        [String(sleeper.backendPid), "--json"],
        {
          env: { ...env, DB_PROFILE: "weak", DB_CONFIRM: "YES" },
        },
      );
      const [outcome] = JSON.parse(weak.stdout);
      assert.deepEqual(Object.keys(outcome), [
        "pid",
        "action",
        "result",
        "reason",
        "user",
        "database",
        "query",
      ]);
      assert.match(outcome.reason, /permission denied|must be a (superuser|member)/i);
    });

    await t.step("query_action without a terminal or --pid only lists", async () => {
      // Found anywhere in the query; * and ? are wildcards, % and _ literal.
      const result = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "SLEEP(60)",
        "--json",
      ], { env: { ...env, DB_CONFIRM: "YES" } });
      assert.equal(result.code, 0, result.stderr);
      const pattern = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "select pg_sleep(60)*",
        "--json",
      ], { env });
      assert.deepEqual(listRows(JSON.parse(pattern.stdout)).map((r: { pid: number }) => r.pid), [
        sleeper.backendPid,
      ]);
      const wildcard = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "pg?sleep(6*)",
        "--json",
      ], { env });
      assert.deepEqual(
        listRows(JSON.parse(wildcard.stdout)).map((r: { pid: number }) => r.pid),
        [sleeper.backendPid],
        "? and * are wildcards",
      );
      for (const literal of ["pg_sleep(60)", "PG_SLEEP"]) {
        const found = await runSkillScript("query_action.ts", [
          "cancel",
          "--query",
          literal,
          "--json",
        ], { env });
        assert.deepEqual(
          listRows(JSON.parse(found.stdout)).map((r: { pid: number }) => r.pid),
          [sleeper.backendPid],
          `${literal}: _ is literal, the text found anywhere`,
        );
      }
      const underscore = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "pgxsleep",
        "--json",
      ], { env });
      assert.deepEqual(listRows(JSON.parse(underscore.stdout)), [], "no _ wildcard");
      const rows = listRows(JSON.parse(result.stdout));
      assert.deepEqual(rows.map((r: { pid: number }) => r.pid), [sleeper.backendPid]);
      assert.match(result.stderr, /nothing was signalled; to cancel, pass the PIDs with --pid/);
      const byUser = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "sleep(60)",
        "--user",
        "weak",
      ], {
        env,
      });
      assert.match(byUser.stdout, /\(0 rows\)/);
      assert.equal((await states(sleeper.backendPid)).state, "active");
      const stranger = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "sleep(60)",
        "--pid",
        String(holder.backendPid),
      ], { env: { ...env, DB_CONFIRM: "YES" } });
      assert.equal(stranger.code, 1);
      assert.match(stranger.stderr, /not among the sessions whose query matches "sleep\(60\)"/);
      const unconfirmed = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "sleep(60)",
        "--pid",
        String(sleeper.backendPid),
      ], { env });
      assert.equal(unconfirmed.code, 1);
      assert.match(unconfirmed.stderr, /Not confirmed/);
      assert.equal((await states(sleeper.backendPid)).state, "active");
    });

    await t.step(
      "cancel_backend: the query fails with a cancel error, the session lives on",
      async () => {
        const result = await runSkillScript("cancel_backend.ts", [
          String(sleeper.backendPid),
          "--json",
        ], {
          env: { ...env, DB_CONFIRM: "YES" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout)[0].result, "signalled");
        await assert.rejects(sleeping, /canceling statement due to user request/);
        const after = await sleeper.query("select 'alive' as s");
        assert.equal(after.rows[0].s, "alive");
      },
    );

    await t.step("query_action with --pid and DB_CONFIRM=YES cancels exactly those", async () => {
      const first = sleeper.query("select pg_sleep(60) /* first */");
      first.catch(() => {});
      const other = await open();
      const second = other.query("select pg_sleep(60) /* second */");
      second.catch(() => {});
      await waitFor(
        async () => (await states(other.backendPid))?.state === "active",
        "second sleeper",
      );
      const result = await runSkillScript("query_action.ts", [
        "cancel",
        "--query",
        "/* first */",
        "--pid",
        String(sleeper.backendPid),
        "--json",
      ], { env: { ...env, DB_CONFIRM: "YES" } });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        JSON.parse(result.stdout).map((r: { pid: number; result: string }) => [r.pid, r.result]),
        [[
          sleeper.backendPid,
          "signalled",
        ]],
      );
      await assert.rejects(first, /canceling statement/);
      assert.equal((await states(other.backendPid)).state, "active", "the other sleeper runs on");
      await other.close().catch(() => {});
    });

    await t.step(
      "what was confirmed is what is signalled: a session moved on is left alone",
      async () => {
        const mover = await open();
        const seen = mover.query("select pg_sleep(60) /* seen */");
        seen.catch(() => {});
        await waitFor(
          async () => /\/\* seen \*\//.test(String((await states(mover.backendPid))?.query ?? "")),
          "the seen query",
        );
        const checker = await cluster.session("app");
        try {
          const [confirmed] = await checkTargets(checker, [mover.backendPid]);
          // Between the confirmation and the signal, the session runs another query.
          await cluster.sql(`select pg_cancel_backend(${mover.backendPid})`);
          await assert.rejects(seen, /canceling statement/);
          const next = mover.query("select pg_sleep(60) /* next */");
          next.catch(() => {});
          await waitFor(
            async () =>
              /\/\* next \*\//.test(String((await states(mover.backendPid))?.query ?? "")),
            "the next query",
          );
          const [cancel] = await signalBackends(checker, [confirmed], {
            action: "cancel",
            sameQuery: true,
          });
          assert.deepEqual([cancel.result, cancel.reason], [
            "moved on",
            "it runs another query than the one confirmed; nothing was sent",
          ]);
          // The PID now names another session (a session that ended, its PID reused).
          const reused = { ...confirmed, backend_start: "2000-01-01 00:00:00+00" };
          const [terminate] = await signalBackends(checker, [reused], {
            action: "terminate",
            sameQuery: false,
          });
          assert.deepEqual([terminate.result, terminate.reason], [
            "moved on",
            "the PID belongs to another session now; nothing was sent",
          ]);
          assert.equal((await states(mover.backendPid)).state, "active", "the next query runs on");
          // Still the session confirmed: terminating it is what was asked, whatever it runs now.
          const [ended] = await signalBackends(checker, [confirmed], {
            action: "terminate",
            sameQuery: false,
          });
          assert.equal(ended.result, "terminated");
          await assert.rejects(next);
        } finally {
          await checker.close();
        }
      },
    );

    await t.step("query_action signals only the query it listed, not the next one", async () => {
      const mover = await open();
      const listedQuery = mover.query("select pg_sleep(60) /* listed */");
      listedQuery.catch(() => {});
      const queryOf = async () => String((await states(mover.backendPid))?.query ?? "");
      await waitFor(async () => /listed/.test(await queryOf()), "the listed query");
      const checker = await cluster.session("app");
      try {
        const { sessions } = await sessionsRunning(checker, { text: "/* listed */", limit: 10 });
        assert.ok(sessions.has(mover.backendPid));
        // The user picks after the session moved on to another query.
        await cluster.sql(`select pg_cancel_backend(${mover.backendPid})`);
        await assert.rejects(listedQuery, /canceling statement/);
        const other = mover.query("select pg_sleep(60) /* other */");
        other.catch(() => {});
        await waitFor(async () => /other/.test(await queryOf()), "the other query");
        const targets = await checkChosen(checker, {
          pids: [mover.backendPid],
          matching: sessions,
          text: "/* listed */",
        });
        assert.match(targets[0].query, /listed/, "the query shown is the one listed");
        const [outcome] = await signalBackends(checker, targets, {
          action: "cancel",
          sameQuery: true,
        });
        assert.equal(outcome.result, "moved on");
        assert.equal((await states(mover.backendPid)).state, "active", "the other query runs on");
        await cluster.sql(`select pg_cancel_backend(${mover.backendPid})`);
        await assert.rejects(other);
      } finally {
        await checker.close();
      }
    });

    await t.step("query_action on a terminal: pick the PID, type YES", async () => {
      const sleepingAgain = sleeper.query("select pg_sleep(60) /* interactive */");
      sleepingAgain.catch(() => {});
      await waitFor(
        async () => /interactive/.test((await states(sleeper.backendPid))?.query as string),
        "query",
      );
      const command = await skillCommandLine("query_action.ts", [
        "cancel",
        "--query",
        "interactive",
      ]);
      const result = await runInTerminal(command, `${sleeper.backendPid}\nYES\n`, {
        ...baseEnv(),
        ...env,
      });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /PIDs to cancel \(space-separated, "all", empty to quit\)/);
      assert.match(result.output, /Type YES to confirm/);
      assert.match(result.output, new RegExp(`${sleeper.backendPid} \\| cancel \\| signalled`));
      await assert.rejects(sleepingAgain, /canceling statement/);
    });

    await t.step("terminate_backend ends the session; its transaction is rolled back", async () => {
      const result = await runSkillScript("terminate_backend.ts", [String(holder.backendPid)], {
        env: { ...env, DB_CONFIRM: "YES" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`${holder.backendPid} \\| terminate \\| terminated`));
      assert.equal(await states(holder.backendPid), undefined);
      await middleWait; // B got row 1 once A's transaction was rolled back
      await middle.simpleQuery("commit");
      await lastWait;
      const rows = await cluster.sql("select id, v from t order by id", "app");
      assert.deepEqual(rows, [{ id: 1, v: 1 }, { id: 2, v: 2 }]);
      const gone = await runSkillScript("cancel_backend.ts", [String(holder.backendPid)], {
        env: { ...env, DB_CONFIRM: "YES" },
      });
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /No session with PID/);
    });
  } finally {
    for (const s of sessions) await s.close().catch(() => {});
    await project.remove();
    await cluster.stop();
  }
});
