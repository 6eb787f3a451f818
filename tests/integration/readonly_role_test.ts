/**
 * The reader role on real servers: readonly_role.ts end to end (confirmation,
 * approval to save, the role and its grants in the catalog, the profile file
 * kept, re-runs, new passwords, no password in any output or in the server's
 * log), the sessions that connect as it, and the proof that matters: as the
 * reader, the server itself refuses what a read-only run must not do, even
 * sent straight through the session layer past every parser check, with a
 * canary table and a victim session checked after each attempt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../lib/connection/connect.ts";
import {
  beyondReading,
  changeReader,
  checkRole,
  checkSessionRole,
  defaultReaderName,
  parseRoleName,
  readOnlyRoleWarning,
  scramVerifier,
} from "../../lib/connection/reader_role.ts";
import { type ConnectionTarget } from "../../lib/connection/target.ts";
import { profileTarget } from "../../lib/connection/resolve.ts";
import { PgServerError, type PgSession } from "../../lib/connection/session.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import {
  baseEnv,
  isOneLineError,
  makeProject,
  type Project,
  runInTerminal,
  runSkillScript,
  skillCommandLine,
  spawnSkillScript,
} from "../support/run.ts";
import { startProxy } from "../support/proxy.ts";
import { waitFor } from "../support/wait.ts";

Deno.test("role names: letters, digits and underscores, never pg_...", () => {
  assert.equal(parseRoleName("app_reader"), "app_reader");
  assert.equal(parseRoleName("Mixed_1"), "Mixed_1");
  for (const bad of ["", "1abc", "a-b", "a b", "x'; drop role postgres; --", "a".repeat(64)]) {
    assert.throws(() => parseRoleName(bad), UsageError, bad);
  }
  assert.throws(() => parseRoleName("pg_reader"), /starts with "pg_"/);
  assert.equal(defaultReaderName("app"), "app_reader");
  assert.equal(defaultReaderName("u".repeat(63)).length, 63);
});

Deno.test("beyondReading names what a role can do besides reading", () => {
  const reader = { role: "r", login: true, attributes: [], memberOf: [], createsIn: [] };
  assert.equal(beyondReading(reader), undefined);
  assert.equal(
    beyondReading({ ...reader, createsIn: ["public", "the database"] }),
    "may create objects in schema public and the database",
  );
  assert.equal(
    beyondReading({ ...reader, attributes: ["SUPERUSER", "REPLICATION"] }),
    "is a superuser",
  );
  assert.equal(
    beyondReading({
      ...reader,
      attributes: ["REPLICATION", "BYPASSRLS"],
      memberOf: ["pg_signal_backend"],
    }),
    "has REPLICATION and BYPASSRLS and is a member of pg_signal_backend",
  );
});

const TOML_TAIL = "# the end, kept\n";

function profileToml(cluster: Cluster, user: string, password: string): string {
  return [
    "# Team profiles (this comment must survive)",
    "[configuration]",
    "schema_version = 1",
    "",
    "[database]",
    "sslmode = false # plain",
    "",
    "[database.local]",
    `host = "${cluster.host}"`,
    `port = ${cluster.port}`,
    `user = "${user}" # the owner`,
    `password = "${password}"`,
    'database = "postgres"',
    'custom_key = "kept"',
    "",
    TOML_TAIL,
  ].join("\n");
}

/** The reader keys the profile file holds, read as TOML. */
async function savedReader(
  project: Pick<Project, "readToml">,
): Promise<{ user?: string; password?: string }> {
  const { parse } = await import("smol-toml");
  const data = parse(await project.readToml()) as {
    database: { local: { readonly_user?: string; readonly_password?: string } };
  };
  return {
    user: data.database.local.readonly_user,
    password: data.database.local.readonly_password,
  };
}

/** The file without the two reader lines: what it was before they were saved. */
function withoutReaderLines(text: string): string {
  return text.split("\n").filter((line) => !/^readonly_(user|password) = /.test(line)).join("\n");
}

async function roleRow(cluster: Cluster, role: string): Promise<Record<string, unknown>> {
  const [row] = await cluster.sql(
    `select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
            rolinherit, rolpassword,
            array(select b.rolname::text from pg_auth_members m join pg_roles b on b.oid = m.roleid
                  where m.member = r.oid order by 1) as direct,
            array(select p from unnest(array['pg_signal_backend', 'pg_read_server_files',
                    'pg_write_server_files', 'pg_execute_server_program']) p
                  where pg_has_role(r.oid, p, 'MEMBER')) as dangerous
     from pg_authid r where rolname = '${role}'`,
  );
  return row;
}

/** A plain session as `user` with `password` over TCP, for checking a password. */
async function loginAs(cluster: Cluster, user: string, password: string): Promise<PgSession> {
  const target = profileTarget(
    { host: cluster.host, port: cluster.port, user, password, database: "postgres" },
    { describe: "the test's login" },
  );
  return (await openSession(target)).session;
}

for (const major of ["system", "13"]) {
  Deno.test(`readonly_role.ts end to end on PostgreSQL ${major}`, async (t) => {
    const cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
      settings: { log_statement: "'all'", max_prepared_transactions: "3" },
    });
    const project = await makeProject();
    try {
      // A profile whose user owns the application's tables and may create roles, as an
      // application owner often does; a table it does not own; a victim of another role.
      await cluster.sql(`
        create role owner login createrole password 'owner-pw';
        create role victim login password 'victim-pw';
        create schema shop authorization owner;
        set role owner;
        create table shop.canary (id int primary key, v text not null);
        insert into shop.canary values (1, 'a'), (2, 'b');
        create table shop.notes (v text);
        create sequence shop.ids;
        reset role;
        create table public.admins_only (secret text);
        insert into public.admins_only values ('s');
        create function public.kill(pid int) returns boolean language sql
          as $$ select pg_terminate_backend(pid) $$;`);
      const original = profileToml(cluster, "owner", "owner-pw");
      await project.writeToml(original);
      const env = project.env;
      const run = (args: string[], extra: Record<string, string> = {}) =>
        runSkillScript("readonly_role.ts", args, { env: { ...env, ...extra } });

      const reader = "owner_reader";
      const outputs: string[] = [];
      const passwords: string[] = [];

      await t.step({
        name: "while PUBLIC may create in a schema (before 15), no reader is made",
        ignore: cluster.major >= 15,
        fn: async () => {
          const refused = await run(["--save"], { DB_CONFIRM: "YES" });
          assert.equal(refused.code, 1, refused.stdout);
          assert.match(
            refused.stderr,
            /PUBLIC\) may create objects in public .*revoke create on schema public from public/,
          );
          assert.ok(isOneLineError(refused.stderr), refused.stderr);
          assert.deepEqual(await roleRow(cluster, reader).catch(() => undefined), undefined);
          await cluster.sql("revoke create on schema public from public");
        },
      });

      await t.step(
        "without confirmation, or without approval to save, nothing is made",
        async () => {
          const unconfirmed = await run(["--save"]);
          assert.equal(unconfirmed.code, 1, unconfirmed.stderr);
          assert.ok(isOneLineError(unconfirmed.stderr), unconfirmed.stderr);
          assert.match(
            unconfirmed.stderr,
            /Not confirmed: Create role "owner_reader" .*DB_CONFIRM=YES/,
          );
          const unsaved = await run([], { DB_CONFIRM: "YES" });
          assert.equal(unsaved.code, 1, unsaved.stderr);
          assert.match(unsaved.stderr, /needs approval.*add --save once the user agreed/);
          outputs.push(unconfirmed.stdout, unconfirmed.stderr, unsaved.stdout, unsaved.stderr);
          assert.equal(await roleRow(cluster, reader), undefined);
          assert.equal(await project.readToml(), original);
        },
      );

      await t.step("on a terminal: YES, then no to saving, makes nothing", async () => {
        const command = await skillCommandLine("readonly_role.ts");
        const result = await runInTerminal(command, "YES\nn\n", { ...baseEnv(), ...env });
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, /Create role "owner_reader" .*Type YES to confirm/);
        assert.match(result.output, /Save readonly_user and readonly_password in profile "local"/);
        assert.match(result.output, /Not saved, so nothing was done/);
        outputs.push(result.output);
        assert.equal(await roleRow(cluster, reader), undefined);
        assert.equal(await project.readToml(), original);
      });

      let password = "";
      await t.step("creates the reader, saves it in the profile and logs in as it", async () => {
        const created = await run(["--save", "--json"], { DB_CONFIRM: "YES" });
        assert.equal(created.code, 0, created.stderr);
        outputs.push(created.stdout, created.stderr);
        const report = JSON.parse(created.stdout);
        assert.equal(report.role, reader);
        assert.equal(report.status, "created");
        assert.match(
          created.stderr,
          /max_prepared_transactions is 3 .* a reader may PREPARE TRANSACTION/,
          "a lock a reader can keep is said",
        );
        assert.deepEqual(report.saved, ["readonly_user", "readonly_password"]);
        assert.equal(report.login_checked, true);
        const row = await roleRow(cluster, reader);
        assert.deepEqual(
          [row.rolcanlogin, row.rolsuper, row.rolcreatedb, row.rolcreaterole, row.rolreplication],
          [true, false, false, false, false],
        );
        assert.equal(row.rolbypassrls, false);
        assert.equal(row.rolinherit, true);
        assert.deepEqual(row.dangerous, []);
        assert.match(String(row.rolpassword), /^SCRAM-SHA-256\$4096:/);
        // Never pg_read_all_data: it would read pg_authid's password hashes.
        assert.deepEqual(row.direct, ["pg_read_all_stats", "pg_stat_scan_tables"]);
        assert.deepEqual(report.granted, ["pg_read_all_stats", "pg_stat_scan_tables"]);
        assert.equal(report.default_privileges_of, "owner");

        const saved = await savedReader(project);
        assert.equal(saved.user, reader);
        password = saved.password!;
        assert.match(password, /^[A-Za-z0-9_-]{32}$/);
        const text = await project.readToml();
        assert.equal(withoutReaderLines(text), original);
        assert.ok(text.includes(`custom_key = "kept"\nreadonly_user = "${reader}"\n`), text);
        assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);

        const session = await loginAs(cluster, reader, password);
        try {
          const { rows } = await session.query(
            "select current_user::text as who, (select count(*) from shop.canary) as n",
          );
          assert.deepEqual(rows, [{ who: reader, n: 2 }]);
          // What the profile's user may not grant stays unreadable: no pg_read_all_data,
          // which would read pg_authid's password hashes too.
          const admins = await session.query("select secret from public.admins_only").then(
            () => "read",
            (error) => (error as PgServerError).code,
          );
          assert.equal(admins, "42501");
        } finally {
          await session.close();
        }
      });

      await t.step({
        name: "what the owner creates later is readable too",
        fn: async () => {
          await cluster.sql("set role owner; create table shop.later (x int); reset role;");
          const [row] = await cluster.sql(
            `select has_table_privilege('${reader}', 'shop.later', 'select') as can`,
          );
          assert.equal(row.can, true);
        },
      });

      await t.step("re-running says it exists and changes nothing", async () => {
        // A function that runs with its owner's (a superuser's) rights, callable by every role.
        await cluster.sql(
          "create function public.sd_probe(int) returns int language sql security definer " +
            "as 'select 1'",
        );
        const before = await roleRow(cluster, reader);
        const text = await project.readToml();
        const again = await run(["--json"]);
        assert.equal(again.code, 0, again.stderr);
        outputs.push(again.stdout, again.stderr);
        const report = JSON.parse(again.stdout);
        assert.deepEqual(report.security_definer, [
          `public.sd_probe(integer) (${cluster.superuser})`,
        ]);
        assert.match(again.stderr, /may call 1 SECURITY DEFINER function, which run with/);
        assert.equal(report.status, "exists");
        assert.equal(report.profile_names_it, true);
        assert.equal(report.login_checked, true);
        assert.equal(report.saved, undefined);
        assert.deepEqual(await roleRow(cluster, reader), before);
        assert.equal(await project.readToml(), text);
      });

      await t.step(
        "--reset-password gives a new password that works; the old one fails",
        async () => {
          const reset = await run(["--reset-password", "--save", "--json"], { DB_CONFIRM: "YES" });
          assert.equal(reset.code, 0, reset.stderr);
          outputs.push(reset.stdout, reset.stderr);
          assert.equal(JSON.parse(reset.stdout).status, "password reset");
          const fresh = (await savedReader(project)).password!;
          assert.notEqual(fresh, password);
          const session = await loginAs(cluster, reader, fresh);
          await session.close();
          await assert.rejects(
            loginAs(cluster, reader, password),
            /Password authentication failed/,
          );
          passwords.push(password, fresh);
          password = fresh;
        },
      );

      await t.step(
        "read-only sessions connect as the reader, writes as the profile's user",
        async () => {
          const who = await runSkillScript(
            "run_sql.ts",
            ["select current_user::text as u, session_user::text as s", "--json"],
            { env },
          );
          assert.equal(who.code, 0, who.stderr);
          outputs.push(who.stdout, who.stderr);
          assert.deepEqual(JSON.parse(who.stdout).results[0].rows, [{ u: reader, s: reader }]);
          const write = await runSkillScript(
            "run_sql.ts",
            ["--write", "insert into shop.notes values (session_user) returning v", "--json"],
            { env: { ...env, DB_CONFIRM: "YES" } },
          );
          assert.equal(write.code, 0, write.stderr);
          outputs.push(write.stdout, write.stderr);
          assert.deepEqual(JSON.parse(write.stdout).results[0].rows, [{ v: "owner" }]);
          // test_connection.ts checks both: the profile's user and its reader.
          const tested = await runSkillScript("test_connection.ts", ["--json"], { env });
          assert.equal(tested.code, 0, tested.stderr);
          outputs.push(tested.stdout, tested.stderr);
          const report = JSON.parse(tested.stdout);
          assert.equal(report.user, "owner");
          assert.equal(report.reader_user, reader);

          // A diagnostic script waits behind a lock while its session is looked up (describe_table
          // measures the table, so it waits; table_sizes estimates a locked one and goes on).
          const locker = await cluster.session();
          try {
            await locker.simpleQuery("begin; lock table shop.canary in access exclusive mode");
            const app = `reader-test-${crypto.randomUUID()}`;
            const sizes = await spawnSkillScript("describe_table.ts", ["shop.canary", "--json"], {
              env: { ...env, DB_APPLICATION_NAME: app, DB_LOCK_TIMEOUT_MS: "60000" },
            });
            let usename = "";
            await waitFor(async () => {
              const rows = await cluster.sql(
                `select usename::text from pg_stat_activity where application_name = '${app}'`,
              );
              usename = rows.length ? String(rows[0].usename) : "";
              return usename !== "";
            }, "describe_table.ts's session");
            await locker.simpleQuery("rollback");
            const done = await sizes.result;
            assert.equal(done.code, 0, done.stderr);
            outputs.push(done.stdout, done.stderr);
            assert.equal(usename, reader);
          } finally {
            await locker.close();
          }
        },
      );

      await t.step("a refusal by the server says the reader role was in use", async () => {
        const victim = await loginAs(cluster, "victim", "victim-pw");
        try {
          const refused = await runSkillScript(
            "run_sql.ts",
            [`select kill(${victim.backendPid})`],
            { env },
          );
          assert.equal(refused.code, 1, refused.stderr);
          outputs.push(refused.stdout, refused.stderr);
          assert.ok(isOneLineError(refused.stderr), refused.stderr);
          assert.match(
            refused.stderr,
            new RegExp(
              `SQLSTATE 42501.*ran as the reader role "${reader}" \\(readonly_user of profile ` +
                `"local"\\).*--write and --ddl run as the profile's user "owner"`,
            ),
          );
          assert.deepEqual((await victim.query("select 1 as alive")).rows, [{ alive: 1 }]);
        } finally {
          await victim.close();
        }
      });

      await t.step("a role that can do more than read is never called a reader", async () => {
        await cluster.sql(`
          create role mighty login; grant pg_signal_backend to mighty;
          create role middle; grant pg_execute_server_program to middle;
          create role indirect login; grant middle to indirect;
          create role copier login replication bypassrls;
          create role group_only;`);
        const cases: [string, RegExp][] = [
          ["postgres", /Role "postgres" exists and is a superuser, so it is no reader/],
          ["mighty", /exists and is a member of pg_signal_backend, so it is no reader/],
          ["indirect", /exists and is a member of pg_execute_server_program/],
          ["copier", /exists and has REPLICATION and BYPASSRLS/],
          ["group_only", /exists but may not log in \(NOLOGIN\)/],
        ];
        const text = await project.readToml();
        for (const [role, pattern] of cases) {
          for (const args of [["--role", role], ["--role", role, "--reset-password", "--save"]]) {
            const refused = await run(args, { DB_CONFIRM: "YES" });
            assert.equal(refused.code, 1, `${role}: ${refused.stderr}`);
            outputs.push(refused.stdout, refused.stderr);
            assert.ok(isOneLineError(refused.stderr), refused.stderr);
            assert.match(refused.stderr, pattern);
          }
        }
        assert.equal(await project.readToml(), text);
      });

      await t.step("a profile's user that may not create roles leaves nothing made", async () => {
        await cluster.sql("create role plain login password 'plain-pw'");
        const other = await makeProject(profileToml(cluster, "plain", "plain-pw"));
        try {
          const before = await other.readToml();
          const refused = await runSkillScript("readonly_role.ts", ["--save"], {
            env: { ...other.env, DB_CONFIRM: "YES" },
          });
          assert.equal(refused.code, 1, refused.stderr);
          assert.match(
            refused.stderr,
            /Could not create role "plain_reader": permission denied to create role \(SQLSTATE 42501\); rolled back, nothing was made/,
          );
          assert.equal(await roleRow(cluster, "plain_reader"), undefined);
          assert.equal(await other.readToml(), before);
        } finally {
          await other.remove();
        }
      });

      await t.step("a COMMIT that loses its answer is looked up on the server", async () => {
        const proxy = startProxy(cluster);
        const through = await makeProject(
          profileToml({ ...cluster, port: proxy.port }, "owner", "owner-pw"),
        );
        try {
          const before = await through.readToml();
          const runThrough = (role: string) =>
            runSkillScript("readonly_role.ts", ["--role", role, "--save", "--json"], {
              env: { ...through.env, DB_CONFIRM: "YES" },
            });
          proxy.fault("lose-commit");
          const lost = await runThrough("lost_reader");
          assert.equal(proxy.struck(), 1);
          assert.equal(lost.code, 1, lost.stderr);
          outputs.push(lost.stdout, lost.stderr);
          assert.ok(isOneLineError(lost.stderr), lost.stderr);
          assert.match(
            lost.stderr,
            /lost during COMMIT.*as aborted: nothing was changed; the profile's reader keys were put back as they were/,
          );
          assert.equal(await roleRow(cluster, "lost_reader"), undefined);
          assert.equal(await through.readToml(), before);

          proxy.fault("lose-commit-answer");
          const committed = await runThrough("late_reader");
          assert.equal(proxy.struck(), 2);
          assert.equal(committed.code, 0, committed.stderr);
          outputs.push(committed.stdout, committed.stderr);
          assert.equal(JSON.parse(committed.stdout).login_checked, true);
          assert.equal((await roleRow(cluster, "late_reader")).rolcanlogin, true);
          const saved = await savedReader(through);
          assert.equal(saved.user, "late_reader");
          passwords.push(saved.password!);
        } finally {
          await through.remove();
          await proxy.stop();
        }
      });

      await t.step(
        "DB_URL: an existing role is checked; nothing is made without a profile",
        async () => {
          const url = { DB_URL: cluster.url({ user: "owner", password: "owner-pw" }) };
          const check = await run(["--role", reader, "--json"], url);
          assert.equal(check.code, 0, check.stderr);
          outputs.push(check.stdout, check.stderr);
          assert.equal(JSON.parse(check.stdout).status, "exists");
          const refused = await run(["--role", "new_reader", "--save"], {
            ...url,
            DB_CONFIRM: "YES",
          });
          assert.equal(refused.code, 1, refused.stderr);
          assert.match(refused.stderr, /one-off connection with no profile to keep the generated/);
          assert.equal(await roleRow(cluster, "new_reader"), undefined);
        },
      );

      await t.step("no password in any output, nor in the server's log", async () => {
        const log = await cluster.log();
        assert.match(log, /create role owner_reader with login .* password 'SCRAM-SHA-256\$/);
        assert.equal(passwords.length, 3);
        for (const text of [...outputs, log]) {
          for (const secret of passwords) {
            assert.ok(!text.includes(secret), "a reader password appears in output or the log");
          }
        }
      });
    } finally {
      await project.remove();
      await cluster.stop();
    }
  });
}

/** A target as read-only work resolves it for a profile with a reader. */
function readerTarget(cluster: Cluster, reader: string, password: string): ConnectionTarget {
  const target = profileTarget({
    host: cluster.host,
    port: cluster.port,
    user: "app",
    password: "app-pw",
    database: "postgres",
    readonly_user: reader,
    readonly_password: password,
  }, {
    // As run_sql's reader sessions: the role's own search_path finds the tables.
    session: "diagnostic",
    userSearchPath: true,
    profile: { name: "local", tomlPath: "/nowhere/postgres.toml", projectRoot: "/nowhere" },
  });
  assert.equal(target.user, reader);
  assert.deepEqual(target.reader, { key: "readonly_user", profileUser: "app" });
  assert.equal(target.parameters.default_transaction_read_only, "on");
  return target;
}

for (const major of testMajors()) {
  Deno.test(`as the reader, the server refuses what must not run (PostgreSQL ${major})`, async (t) => {
    const cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
    });
    const sessions: PgSession[] = [];
    try {
      const [{ dblink }] = await cluster.sql(
        "select exists (select from pg_available_extensions where name = 'dblink') as dblink",
      );
      await cluster.sql(`
        create role app login password 'app-pw';
        create table canary (id int primary key, v text not null);
        insert into canary values (1, 'a'), (2, 'b'), (3, 'c');
        alter table canary owner to app;
        create function kill(pid int) returns boolean language sql security invoker
          as $$ select pg_terminate_backend(pid) $$;
        ${dblink ? "create extension dblink;" : ""}
        -- As readonly_role.ts requires first (PostgreSQL 15's default).
        revoke create on schema public from public;`);
      const [{ lo }] = await cluster.sql("select lo_from_bytea(0, 'secret') as lo");

      // The reader, made as readonly_role.ts makes it (superuser profile, so 16+ may grant).
      const adminTarget: ConnectionTarget = {
        host: cluster.dir,
        port: cluster.port,
        user: cluster.superuser,
        database: "postgres",
        sslmode: "disable",
        sslFallback: false,
        connectTimeoutSeconds: 10,
        parameters: { application_name: "reader-test" },
        source: "DB_URL",
      };
      const admin = (await openSession(adminTarget)).session;
      sessions.push(admin);
      let password = "";
      await changeReader({
        session: admin,
        target: adminTarget,
        role: "app_reader",
        action: "create",
        keep: (generated) => {
          password = generated;
          return Promise.resolve(() => Promise.resolve());
        },
      });
      const target = readerTarget(cluster, "app_reader", password);
      const reader = (await openSession(target)).session;
      sessions.push(reader);
      const victim = await loginAs(cluster, "app", "app-pw");
      sessions.push(victim);
      const pid = victim.backendPid;

      await t.step("the reader reads the tables, as readonly_role.ts made it", async () => {
        assert.deepEqual(
          (await reader.query("select id from canary order by id")).rows.map((r) => r.id),
          [1, 2, 3],
        );
      });

      await t.step("the reader is a reader; a superuser is named as more", async () => {
        const check = await checkSessionRole(reader);
        assert.equal(check.role, "app_reader");
        assert.equal(beyondReading(check), undefined);
        assert.equal(readOnlyRoleWarning(check, target), undefined);
        const admins = await checkSessionRole(admin);
        assert.match(
          readOnlyRoleWarning(admins, { ...target, reader: undefined })!,
          /connects as "postgres", which is a superuser: .*readonly_role\.ts/,
        );
        assert.equal(await checkRole(admin, "nobody_here"), undefined);
        assert.equal((await reader.query("select count(*) as n from canary")).rows[0].n, 3);
      });

      const touched = join(cluster.dir, "touched");
      const exported = join(cluster.dir, "exported");
      const probes: [string, string, string][] = [
        ["a direct call", `select pg_terminate_backend(${pid})`, "42501"],
        ["a cancel", `select pg_cancel_backend(${pid})`, "42501"],
        [
          "SQL run from a string",
          `select query_to_xml('select pg_terminate_backend(${pid})', true, false, '')`,
          "42501",
        ],
        [
          "ts_stat's query",
          `select * from ts_stat('select to_tsvector(pg_terminate_backend(${pid})::text)')`,
          "42501",
        ],
        ["attribute notation", `select (${pid}).pg_terminate_backend`, "42501"],
        ["a server file", `select ('/etc/hostname'::text).pg_read_file`, "42501"],
        ["a server folder", `select pg_ls_dir('.')`, "42501"],
        ["lo_export", `select lo_export(${lo}, '${exported}')`, "42501"],
        ["a program", `copy (select 1) to program 'touch ${touched}'`, "42501"],
        ["a replication slot", `select pg_create_physical_replication_slot('s')`, "42501"],
        ["a reload", `select pg_reload_conf()`, "42501"],
        ["another role", `set role app`, "42501"],
        ["a user function no parser sees into", `select kill(${pid})`, "42501"],
        ["password hashes", `select rolname, rolpassword from pg_authid`, "42501"],
      ];
      if (dblink) {
        probes.push(
          [
            "dblink without a password",
            `select dblink_exec('dbname=postgres', 'delete from canary')`,
            "2F003",
          ],
          [
            "dblink as itself",
            `select dblink_exec('host=${cluster.host} port=${cluster.port} dbname=postgres ` +
            `user=app_reader password=${password}', 'delete from canary')`,
            "42501",
          ],
        );
      }

      const intact = async (what: string) => {
        assert.deepEqual(
          (await cluster.sql("select id, v from canary order by id")).map((r) => r.id),
          [1, 2, 3],
          `${what}: the canary changed`,
        );
        assert.deepEqual((await victim.query("select 1 as alive")).rows, [{ alive: 1 }], what);
        const [row] = await cluster.sql(
          `select (select count(*) from pg_stat_activity where pid = ${pid}) as victim,
                  (select count(*) from pg_replication_slots) as slots`,
        );
        assert.deepEqual(row, { victim: 1, slots: 0 }, what);
        for (const file of [touched, exported]) {
          assert.equal(await Deno.stat(file).then(() => true, () => false), false, file);
        }
      };

      for (const [what, sql, code] of probes) {
        await t.step(`refused by the server: ${what}`, async () => {
          const error = await reader.query(sql).then(() => undefined, (e) => e);
          assert.ok(error instanceof PgServerError, `${what}: ${error ?? "it ran"}`);
          assert.equal(error.code, code, `${what}: ${error.message}`);
          await intact(what);
        });
      }

      await t.step("refused by the server: a write outside a read-only transaction", async () => {
        await reader.simpleQuery("begin read write");
        const error = await reader.query("delete from canary").then(() => undefined, (e) => e);
        await reader.simpleQuery("rollback");
        assert.ok(error instanceof PgServerError, String(error));
        assert.equal(error.code, "42501", error.message);
        await intact("delete from canary");
      });

      await t.step(
        "refused by the server: a function planted where others would run it",
        async () => {
          // Outside a read-only transaction too: the reader logs in with its own password.
          await reader.simpleQuery("begin read write");
          const error = await reader.query(
            "create function public.array_remove(a text[], e text) returns text[] language sql " +
              "as 'select a'",
          ).then(() => undefined, (e) => e);
          await reader.simpleQuery("rollback");
          assert.ok(error instanceof PgServerError, String(error));
          assert.equal(error.code, "42501", error.message);
        },
      );
    } finally {
      for (const session of sessions) await session.close();
      await cluster.stop();
    }
  });
}

Deno.test("scramVerifier computes what the server stores for the same salt", async () => {
  const cluster = await startCluster();
  try {
    const password = "pässwörd-Ω with spaces";
    await cluster.sql(
      `set password_encryption = 'scram-sha-256'; create role hashed password '${password}'`,
    );
    const [{ stored }] = await cluster.sql(
      "select rolpassword as stored from pg_authid where rolname = 'hashed'",
    );
    const [, iterations, salt] = String(stored).match(/^SCRAM-SHA-256\$(\d+):([^$]+)\$/)!;
    const saltBytes = Uint8Array.from(atob(salt), (c) => c.charCodeAt(0));
    assert.equal(
      await scramVerifier(password, { iterations: Number(iterations), salt: saltBytes }),
      stored,
    );
  } finally {
    await cluster.stop();
  }
});
