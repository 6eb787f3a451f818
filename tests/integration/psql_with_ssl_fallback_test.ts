/**
 * psql_with_ssl_fallback.ts against real servers: the SSL retry never runs a
 * statement twice, SQL errors keep psql's exit status and are not retried, the
 * password never appears in a process's arguments, pg_bin_path handling, and
 * psql missing from the machine.
 */
import assert from "node:assert/strict";
import { freePort, startCluster } from "../support/cluster.ts";
import {
  baseEnv,
  isOneLineError,
  makeProject,
  runInTerminal,
  runSkillScript,
  skillCommandLine,
  spawnSkillScript,
  tomlWithProfiles,
  withoutPsql,
} from "../support/run.ts";
import { watchFamily } from "../support/processes.ts";
import { psqlConnectionArgument } from "../../lib/tools/client_tools.ts";

Deno.test("psqlConnectionArgument finds what would choose psql's connection", () => {
  const refused: [string[], string][] = [
    [["-d", "x"], "-d"],
    [["-dx"], "-dx"],
    [["-Atd", "x"], "-Atd"],
    [["-hlocalhost"], "-hlocalhost"],
    [["-p", "5432"], "-p"],
    [["-U", "postgres"], "-U"],
    [["--host=h"], "--host=h"],
    [["--ho", "h"], "--ho"],
    [["--db=x"], "--db=x"],
    [["--u", "x"], "--u"],
    [["-c", "select 1", "template1"], "template1"],
    [["-At", "postgresql://u@h/db"], "postgresql://u@h/db"],
    [["service=x"], "service=x"],
    [["-At", "--", "x"], "x"],
  ];
  for (const [args, expected] of refused) {
    assert.equal(psqlConnectionArgument(args), expected, JSON.stringify(args));
  }
  const allowed = [
    ["-At", "-c", "select 1"],
    ["-Atc", "-d"],
    ["-v", "ON_ERROR_STOP=1", "-f", "-U"],
    ["--command", "-h", "--set=x=1", "--variable", "-p"],
    ["-c-d"],
    ["--echo-all", "-X", "-l", "--csv", "--help=commands"],
  ];
  for (const args of allowed) assert.equal(psqlConnectionArgument(args), undefined, args.join(" "));
});

const SCRIPT = "psql_with_ssl_fallback.ts";

Deno.test("psql_with_ssl_fallback on a plain and an SSL-only server", async (t) => {
  const plain = await startCluster({ ssl: "off", settings: { log_statement: "'all'" } });
  const sslOnly = await startCluster({ ssl: "only" });
  const password = "very-secret-password-4711";
  const pristine = tomlWithProfiles({
    local: { host: plain.host, port: plain.port, user: "tester", password, database: "postgres" },
    secure: {
      host: sslOnly.host,
      port: sslOnly.port,
      user: "tester",
      password,
      database: "postgres",
    },
  });
  const project = await makeProject(pristine);
  const env = project.env;
  try {
    for (const cluster of [plain, sslOnly]) {
      await cluster.sql(`create role tester login password '${password}'`);
      await cluster.sql("create table t (id int); grant all on t to tester");
    }

    await t.step("passes arguments through and adds -X", async () => {
      const home = await Deno.makeTempDir();
      await Deno.writeTextFile(`${home}/.psqlrc`, "\\echo PSQLRC-WAS-READ\n");
      const result = await runSkillScript(SCRIPT, ["-At", "-c", "select 40 + 2"], {
        env: { ...env, HOME: home },
      });
      await Deno.remove(home, { recursive: true });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "42\n");
      assert.ok(!result.stdout.includes("PSQLRC-WAS-READ"));
    });

    await t.step("session settings reach psql: application_name and timeouts", async () => {
      const result = await runSkillScript(SCRIPT, [
        "-At",
        "-c",
        "select current_setting('application_name'), current_setting('statement_timeout'), current_setting('lock_timeout')",
      ], { env: { ...env, DB_STATEMENT_TIMEOUT_MS: "1234", DB_LOCK_TIMEOUT_MS: "567" } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "codex-postgres-skill|1234ms|567ms\n");
      const named = await runSkillScript(SCRIPT, ["-At", "-c", "show application_name"], {
        env: { ...env, DB_APPLICATION_NAME: "my-agent" },
      });
      assert.equal(named.stdout, "my-agent\n");
    });

    await t.step("SSL retry: a row inserted before a failure is there exactly once", async () => {
      const result = await runSkillScript(SCRIPT, [
        "--write",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        "insert into t values (1)",
        "-c",
        "select 1/0",
      ], { env: { ...env, DB_PROFILE: "secure", DB_CONFIRM: "YES" } });
      assert.equal(result.code, 1, "psql's own exit status for a failed -c");
      assert.match(result.stderr, /division by zero/);
      assert.match(result.stderr, /the server demands SSL, so this connection used SSL/);
      const rows = await sslOnly.sql("select count(*)::int as n from t");
      assert.equal(rows[0].n, 1);
    });

    await t.step("SSL retry with a script file: ON_ERROR_STOP exit 3, one row", async () => {
      await sslOnly.sql("truncate t");
      const file = await Deno.makeTempFile({ suffix: ".sql" });
      await Deno.writeTextFile(file, "insert into t values (2);\nselect no_such_column from t;\n");
      const result = await runSkillScript(
        SCRIPT,
        ["--write", "-v", "ON_ERROR_STOP=1", "-f", file],
        {
          env: { ...env, DB_PROFILE: "secure", DB_CONFIRM: "YES" },
        },
      );
      await Deno.remove(file);
      assert.equal(result.code, 3);
      assert.match(result.stderr, /column "no_such_column" does not exist/);
      const rows = await sslOnly.sql("select array_agg(id)::text as ids from t");
      assert.equal(rows[0].ids, "{2}");
    });

    await t.step("dumps follow the same rule: SSL decided before pg_dump starts", async () => {
      const out = await Deno.makeTempDir();
      try {
        const result = await runSkillScript("schema_dump.ts", ["secure.sql"], {
          env: { ...env, DB_PROFILE: "secure" },
          cwd: out,
        });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /the server demands SSL, so this connection used SSL/);
        assert.match(await Deno.readTextFile(`${out}/secure.sql`), /CREATE TABLE public\.t/);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    });

    await t.step("plain server: an SQL error is reported once, with no retry", async () => {
      const executions = async () =>
        (await plain.log()).match(/statement: insert into t values \(1\)/g)?.length ?? 0;
      const executionsBefore = await executions();
      const result = await runSkillScript(SCRIPT, [
        "--write",
        "-c",
        "insert into t values (1)",
        "-c",
        "select 1/0",
      ], { env: { ...env, DB_CONFIRM: "YES" } });
      assert.equal(result.code, 1);
      assert.equal(result.stderr.match(/division by zero/g)?.length, 1);
      assert.ok(!/SSL/i.test(result.stderr), `no SSL noise: ${result.stderr}`);
      const rows = await plain.sql("select count(*)::int as n from t");
      assert.equal(rows[0].n, 1);
      assert.equal(await executions() - executionsBefore, 1, "the insert ran once");
    });

    await t.step("read-only by default: a write is refused by the server (25006)", async () => {
      const before = (await plain.sql("select count(*)::int as n from t"))[0].n;
      // The user's own PGOPTIONS come first, so they cannot turn it off.
      for (const pgOptions of [undefined, "-c default_transaction_read_only=off"]) {
        const result = await runSkillScript(SCRIPT, [
          "-v",
          "VERBOSITY=verbose",
          "-c",
          "insert into t values (99)",
        ], { env: { ...env, ...(pgOptions ? { PGOPTIONS: pgOptions } : {}) } });
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /ERROR: {2}25006: /, "SQLSTATE read_only_sql_transaction");
        assert.match(result.stderr, /note: psql ran read-only; .* needs --write/);
        assert.match(result.stderr, /note: psql runs read-only as "tester", which .* may undo/);
      }
      assert.equal((await plain.sql("select count(*)::int as n from t"))[0].n, before);
      const settings = await runSkillScript(SCRIPT, [
        "-At",
        "-c",
        "select current_setting('default_transaction_read_only'), " +
        "current_setting('statement_timeout'), current_setting('lock_timeout'), current_user",
      ], { env: { ...env, PGOPTIONS: "-c default_transaction_read_only=off -c work_mem=1MB" } });
      assert.equal(settings.code, 0, settings.stderr);
      assert.equal(settings.stdout, "on|30s|2s|tester\n");
    });

    await t.step("--write without a terminal is refused unless DB_CONFIRM=YES", async () => {
      const before = (await plain.sql("select count(*)::int as n from t"))[0].n;
      const args = ["--write", "-At", "-c", "insert into t values (7) returning id"];
      const refused = await runSkillScript(SCRIPT, args, { env });
      assert.equal(refused.code, 2, refused.stderr);
      assert.ok(isOneLineError(refused.stderr), refused.stderr);
      assert.match(refused.stderr, /Not confirmed: .*set DB_CONFIRM=YES/);
      assert.equal((await plain.sql("select count(*)::int as n from t"))[0].n, before);
      const confirmed = await runSkillScript(SCRIPT, args, { env: { ...env, DB_CONFIRM: "YES" } });
      assert.equal(confirmed.code, 0, confirmed.stderr);
      assert.equal(confirmed.stdout, "7\nINSERT 0 1\n");
      assert.equal(
        (await plain.sql("select count(*)::int as n from t"))[0].n,
        (before as number) + 1,
      );
    });

    await t.step("--write on a terminal asks, and YES lets psql write", async () => {
      const command = await skillCommandLine(SCRIPT, [
        "--write",
        "-At",
        "-c",
        "insert into t values (8) returning id * 10",
      ]);
      const result = await runInTerminal(command, "YES\n", { ...baseEnv(), ...env, PAGER: "cat" });
      assert.equal(result.code, 0, result.output);
      assert.match(
        result.output,
        /Run psql with writes allowed on database "postgres" at .* as "tester"\? Type YES/,
      );
      assert.match(result.output, /^80\r?$/m);
      const no = await runInTerminal(
        await skillCommandLine(SCRIPT, ["--write", "-c", "insert into t values (9)"]),
        "no\n",
        { ...baseEnv(), ...env, PAGER: "cat" },
      );
      assert.equal(no.code, 2, no.output);
      assert.match(no.output, /Not confirmed \(the answer was not YES\)/);
      assert.equal((await plain.sql("select count(*)::int as n from t where id = 9"))[0].n, 0);
    });

    await t.step("the reader role reads; --write connects as the profile's user", async () => {
      await plain.sql(
        `create role tester_reader login password '${password}'; grant select on t to tester_reader`,
      );
      await project.writeToml(tomlWithProfiles({
        local: {
          host: plain.host,
          port: plain.port,
          user: "tester",
          password,
          database: "postgres",
          readonly_user: "tester_reader",
          readonly_password: password,
        },
      }));
      try {
        const read = await runSkillScript(SCRIPT, ["-At", "-c", "select current_user"], { env });
        assert.equal(read.stdout, "tester_reader\n", read.stderr);
        assert.doesNotMatch(read.stderr, /may undo/, "the server holds a reader: nothing to say");
        // Even with read-only lifted inside psql, the server refuses the reader's write.
        const lifted = await runSkillScript(SCRIPT, [
          "-v",
          "VERBOSITY=verbose",
          "-c",
          "set default_transaction_read_only = off",
          "-c",
          "insert into t values (10)",
        ], { env });
        assert.equal(lifted.code, 1);
        assert.match(lifted.stderr, /ERROR: {2}42501: permission denied/);
        const write = await runSkillScript(
          SCRIPT,
          ["--write", "-At", "-c", "select current_user"],
          {
            env: { ...env, DB_CONFIRM: "YES" },
          },
        );
        assert.equal(write.stdout, "tester\n", write.stderr);
      } finally {
        await project.writeToml(pristine);
      }
    });

    await t.step(
      "own flags lead; --profile and --database choose, the rest is psql's",
      async () => {
        await sslOnly.sql("create database side_db");
        const result = await runSkillScript(SCRIPT, [
          "--profile=secure",
          "--database",
          "side_db",
          "--",
          "-At",
          "-c",
          "select current_database()",
        ], { env: { ...env, DB_PROFILE: "local" } });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "side_db\n");
        // After psql's first argument nothing is ours: psql itself rejects --write there.
        const late = await runSkillScript(SCRIPT, ["-At", "--write", "-c", "select 1"], { env });
        assert.equal(late.code, 1, late.stderr);
        assert.match(late.stderr, /psql: .*--write/);
        const backslash = await runSkillScript(SCRIPT, ["-c", "select 1"], {
          env: { ...env, PGOPTIONS: "-c work_mem=1MB\\" },
        });
        assert.equal(backslash.code, 2, backslash.stderr);
        assert.ok(isOneLineError(backslash.stderr), backslash.stderr);
        assert.match(backslash.stderr, /PGOPTIONS .* ends with a backslash/);
      },
    );

    await t.step("inherited libpq variables cannot move psql elsewhere", async () => {
      const dir = await Deno.makeTempDir();
      try {
        // libpq ranks a service file above PGHOST/PGDATABASE: it would win if inherited.
        await Deno.writeTextFile(
          `${dir}/pg_service.conf`,
          `[elsewhere]\nhost=127.0.0.1\nport=${await freePort()}\ndbname=template1\n`,
        );
        const result = await runSkillScript(SCRIPT, ["-At", "-c", "select current_database()"], {
          env: {
            ...env,
            PGSERVICE: "elsewhere",
            PGSERVICEFILE: `${dir}/pg_service.conf`,
            PGGSSENCMODE: "require",
            PGSSLCERT: `${dir}/missing.crt`,
            PGPASSFILE: `${dir}/missing.pgpass`,
            PGTZ: "Asia/Tokyo",
          },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "postgres\n");
        const zone = await runSkillScript(SCRIPT, ["-At", "-c", "show timezone"], {
          env: { ...env, PGSERVICE: "elsewhere", PGTZ: "Asia/Tokyo" },
        });
        assert.equal(zone.stdout, "Asia/Tokyo\n", "PGTZ shapes output and is kept");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("psql's own connection arguments are refused, read-only or not", async () => {
      for (
        const args of [["-d", "template1"], ["--user=postgres"], ["-c", "select 1", "service=x"]]
      ) {
        for (const write of [[], ["--write"]]) {
          const result = await runSkillScript(SCRIPT, [...write, ...args], {
            env: { ...env, DB_CONFIRM: "YES" },
          });
          assert.equal(result.code, 2, result.stderr);
          assert.ok(isOneLineError(result.stderr), result.stderr);
          assert.match(
            result.stderr,
            /would choose another connection .*--profile NAME or --database/,
          );
        }
      }
    });

    await t.step("\\connect inside psql takes the password to no other server", async () => {
      // A server that asks every client for its password in clear text, and keeps what comes.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      const received: Uint8Array[] = [];
      const serving = (async () => {
        for await (const conn of listener) {
          (async () => {
            const buffer = new Uint8Array(8192);
            const first = await conn.read(buffer);
            if (first === null) return conn.close();
            received.push(buffer.slice(0, first));
            if (first === 8) { // SSLRequest: no SSL here
              await conn.write(new TextEncoder().encode("N"));
              const n = await conn.read(buffer);
              if (n === null) return conn.close();
              received.push(buffer.slice(0, n));
            }
            await conn.write(new Uint8Array([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // cleartext
            const answer = await conn.read(buffer).catch(() => null);
            if (answer !== null) received.push(buffer.slice(0, answer));
            conn.close();
          })().catch(() => {});
        }
      })().catch(() => {});
      try {
        const result = await runSkillScript(SCRIPT, [
          "-c",
          `\\getenv p PGPASSWORD`,
          "-c",
          "\\echo password:[:p]",
          "-c",
          `\\c "host=127.0.0.1 port=${port} user=tester dbname=postgres"`,
        ], { env });
        assert.match(result.stdout, /password:\[:p\]|password:\[\]/);
        assert.ok(!result.stdout.includes(password) && !result.stderr.includes(password));
        assert.ok(received.length > 0, "psql did try the other server");
        const seen = new TextDecoder().decode(
          new Uint8Array(received.flatMap((chunk) => [...chunk])),
        );
        assert.ok(!seen.includes(password), "the other server got the password");
        // The profile's own server still gets it: the read-only session ran.
        const own = await runSkillScript(SCRIPT, ["-At", "-c", "select 1"], { env });
        assert.equal(own.stdout, "1\n", own.stderr);
      } finally {
        listener.close();
        await serving;
      }
    });

    await t.step("the password is in no process's arguments while psql runs", async () => {
      const running = await spawnSkillScript(SCRIPT, ["-c", "select pg_sleep(1.5)"], {
        env: { ...env, DB_PROFILE: "secure" },
      });
      const seen = (await watchFamily(running.child.pid, running.result))
        .filter((c) => /(^|\/)psql -X/.test(c));
      const result = await running.result;
      assert.equal(result.code, 0, result.stderr);
      assert.ok(seen.length > 0, "psql was seen running");
      assert.deepEqual(seen.filter((c) => c.includes(password)), [], "no password in arguments");
      assert.ok(seen.every((c) => c.includes("-c select pg_sleep(1.5)")));
    });

    await t.step("pg_bin_path is written when missing, whole file otherwise intact", async () => {
      await project.writeToml(pristine);
      const before = pristine;
      const result = await runSkillScript(SCRIPT, ["-At", "-c", "select 1"], { env });
      assert.equal(result.code, 0, result.stderr);
      const saved = result.stderr.match(/saved pg_bin_path = "([^"]+)"/)?.[1];
      assert.ok(saved, result.stderr);
      assert.equal(
        await project.readToml(),
        before.replace("schema_version = 1\n", `schema_version = 1\npg_bin_path = "${saved}"\n`),
      );
      assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);
      await project.writeToml(before);
    });

    await t.step(
      "a wrong pg_bin_path is reported and never overwritten without asking",
      async () => {
        const before = pristine;
        const wrong = before.replace(
          "schema_version = 1\n",
          'schema_version = 1\npg_bin_path = "/nowhere/bin"\n',
        );
        await project.writeToml(wrong);
        const result = await runSkillScript(SCRIPT, ["-At", "-c", "select 7"], { env });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "7\n");
        assert.match(result.stderr, /pg_bin_path "\/nowhere\/bin" .* has no psql/);
        assert.equal(await project.readToml(), wrong);
        await project.writeToml(before);
      },
    );

    await t.step("a wrong pg_bin_path is replaced when the user agrees on a terminal", async () => {
      const wrong = pristine.replace(
        "schema_version = 1\n",
        'schema_version = 1\npg_bin_path = "/nowhere/bin" # keep this comment\n',
      );
      await project.writeToml(wrong);
      const command = await skillCommandLine(SCRIPT, ["-At", "-c", "select 8"]);
      // `script` gives the wrapper a real terminal; "y" answers its question.
      const result = await runInTerminal(command, "y\n", { ...baseEnv(), ...env, PAGER: "cat" });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /Replace pg_bin_path with "([^"]+)"\? \[y\/N\]/);
      const chosen = result.output.match(/Replace pg_bin_path with "([^"]+)"/)![1];
      assert.equal(
        await project.readToml(),
        wrong.replace('"/nowhere/bin" # keep', `"${chosen}" # keep`),
      );
      assert.match(result.output, /^8\r?$/m);
      await project.writeToml(pristine);
    });

    await t.step("a connection that cannot be made exits 2, as --help says", async () => {
      const unreachable = await runSkillScript(SCRIPT, ["-c", "select 1"], {
        env: { DB_URL: `postgresql://u@127.0.0.1:${freePort()}/postgres`, PGPASSWORD: "x" },
      });
      assert.equal(unreachable.code, 2, unreachable.stderr);
      assert.match(unreachable.stderr, /Connection refused/);
      const noProfile = await runSkillScript(SCRIPT, ["-c", "select 1"], {
        env: { ...env, DB_PROFILE: "nosuch" },
      });
      assert.equal(noProfile.code, 2, noProfile.stderr);
      assert.match(noProfile.stderr, /No profile "nosuch"/);
    });

    await t.step("psql not installed: one clear line with the install command", async () => {
      const wrapper = await withoutPsql();
      const result = await runSkillScript(SCRIPT, ["-c", "select 1"], {
        env,
        wrapper,
      });
      assert.equal(result.code, 2, `as --help says: ${result.stderr}`);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, /psql is not installed or not found; install them with: /);
      const deps = await runSkillScript("check_deps.ts", [], {
        env,
        wrapper,
      });
      assert.equal(deps.code, 1);
      assert.match(deps.stderr, /Missing required: psql/);
    });
  } finally {
    await project.remove();
    await Promise.all([plain.stop(), sslOnly.stop()]);
  }
});
