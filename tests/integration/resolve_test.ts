/**
 * Connection resolution and every bad input: each gives one clear line on
 * stderr, a non-zero exit, no stack trace and no password.
 */
import assert from "node:assert/strict";
import { describeReaderSession, describeSource } from "../../lib/connection/target.ts";
import { parseConnectionUrl, targetUrl } from "../../lib/connection/url.ts";
import { profileTarget, resolveTarget } from "../../lib/connection/resolve.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { freePort, startCluster } from "../support/cluster.ts";
import { isOneLineError, makeProject, runSkillScript, tomlWithProfiles } from "../support/run.ts";

Deno.test("parseConnectionUrl follows libpq's URL rules", () => {
  assert.deepEqual(
    parseConnectionUrl(
      "postgresql://u%40x:p%3Aw@db.example.com:6543/my%20db?sslmode=verify-full&application_name=a+b",
    ),
    {
      user: "u@x",
      password: "p:w",
      host: "db.example.com",
      port: 6543,
      database: "my db",
      params: { sslmode: "verify-full", application_name: "a b" },
    },
  );
  assert.deepEqual(parseConnectionUrl("postgres://[::1]/x"), {
    host: "::1",
    database: "x",
    params: {},
  });
  assert.equal(
    parseConnectionUrl("postgresql:///db?host=/var/run/postgresql").host,
    "/var/run/postgresql",
  );
  assert.equal(parseConnectionUrl("postgresql://%2Ftmp%2Fsock/db").host, "/tmp/sock");
  for (
    const bad of [
      "mysql://x/y",
      "postgresql://h:99999/db",
      "postgresql://a,b/db",
      "postgresql://h/db?sslmode=maybe",
      "postgresql://h/db?frobnicate=1",
    ]
  ) {
    assert.throws(() => parseConnectionUrl(bad), UsageError, bad);
  }
});

Deno.test("every libpq parameter is implemented or refused by name", async () => {
  const parsed = parseConnectionUrl(
    "postgresql://u@db.example.com/d?hostaddr=10.0.0.5&sslmode=verify-full&sslrootcert=/r.crt" +
      "&sslcert=/c.crt&sslkey=/c.key&channel_binding=require&target_session_attrs=read-write" +
      "&gssencmode=disable&sslnegotiation=direct&connect_timeout=7&passfile=/p",
  );
  assert.deepEqual(parsed.params, {
    hostaddr: "10.0.0.5",
    sslmode: "verify-full",
    sslrootcert: "/r.crt",
    sslcert: "/c.crt",
    sslkey: "/c.key",
    channel_binding: "require",
    target_session_attrs: "read-write",
    gssencmode: "disable",
    sslnegotiation: "direct",
    connect_timeout: "7",
    passfile: "/p",
  });
  const refusals: [string, RegExp][] = [
    ["sslcrl=/x.crl", /unsupported parameter "sslcrl"; remove it/],
    ["keepalives=1", /unsupported parameter "keepalives"/],
    ["sslpassword=x", /unsupported parameter "sslpassword"/],
    ["channel_binding=always", /channel_binding "always"; use one of disable, prefer, require/],
    ["target_session_attrs=primary-ish", /target_session_attrs "primary-ish"; use one of any/],
    ["gssencmode=require", /gssencmode "require", but GSSAPI encryption is not supported/],
    ["hostaddr=db.internal", /hostaddr "db.internal"; hostaddr must be a numeric IP address/],
    ["sslnegotiation=direct", /sslnegotiation "direct" with sslmode "prefer"/],
    ["sslrootcert=system&sslmode=require", /sslrootcert "system" with sslmode "require"/],
    ["connect_timeout=soon", /connect_timeout must be a whole number of seconds/],
    ["connect_timeout=99999999999", /connect_timeout must be a whole number of seconds/],
  ];
  for (const [query, pattern] of refusals) {
    assert.throws(
      () => parseConnectionUrl(`postgresql://u@h/d?${query}`),
      (error: Error) => error instanceof UsageError && pattern.test(error.message),
      query,
    );
  }
  // sslrootcert=system alone means verify-full, as in libpq.
  Deno.env.set("DB_URL", "postgresql://u@h/d?sslrootcert=system");
  try {
    assert.equal((await resolveTarget()).sslmode, "verify-full");
  } finally {
    Deno.env.delete("DB_URL");
  }
});

Deno.test("targetUrl leaves the password out unless asked", () => {
  const target = {
    host: "h",
    port: 5432,
    user: "u",
    password: "s3cr&t",
    database: "d b",
    sslmode: "require" as const,
    sslFallback: false,
    connectTimeoutSeconds: 10,
    parameters: {},
    source: "DB_URL" as const,
  };
  assert.equal(targetUrl(target), "postgresql://u@h:5432/d%20b?sslmode=require");
  assert.equal(
    targetUrl(target, { withPassword: true }),
    "postgresql://u:s3cr%26t@h:5432/d%20b?sslmode=require",
  );
  assert.deepEqual(
    parseConnectionUrl(targetUrl(target, { withPassword: true })).password,
    "s3cr&t",
  );
  // What the connection uses travels with the URL, so psql sees the same.
  const full = targetUrl({
    ...target,
    hostaddr: "10.0.0.5",
    sslcert: "/c.crt",
    sslkey: "/c.key",
    channelBinding: "require",
    targetSessionAttrs: "primary",
    sslNegotiation: "direct",
    parameters: { options: "-c search_path=app" },
  });
  assert.deepEqual(parseConnectionUrl(full).params, {
    hostaddr: "10.0.0.5",
    sslmode: "require",
    sslcert: "/c.crt",
    sslkey: "/c.key",
    sslnegotiation: "direct",
    channel_binding: "require",
    target_session_attrs: "primary",
    options: "-c search_path=app",
  });
});

Deno.test("bad input: one clear line, right exit status, no stack, no password", async (t) => {
  const cluster = await startCluster();
  const password = "pw-that-must-not-leak-93";
  const project = await makeProject();
  const good = tomlWithProfiles({
    local: { host: cluster.host, port: cluster.port, user: "app", password, database: "postgres" },
    other: { host: cluster.host, port: cluster.port, user: "app", password, database: "postgres" },
  });
  async function expectFailure(
    toml: string | undefined,
    env: Record<string, string>,
    code: number,
    pattern: RegExp,
  ) {
    if (toml === undefined) await Deno.remove(project.tomlPath).catch(() => {});
    else await project.writeToml(toml);
    const result = await runSkillScript("test_connection.ts", [], {
      env: { ...project.env, ...env },
    });
    assert.equal(result.code, code, result.stderr);
    assert.ok(isOneLineError(result.stderr), `one line: ${result.stderr}`);
    assert.match(result.stderr, /^test_connection: /);
    assert.match(result.stderr, pattern);
    assert.ok(!result.stderr.includes(password), "no password");
    assert.equal(result.stdout, "");
  }
  try {
    await cluster.sql(`create role app login password '${password}'`);

    await t.step("no TOML", async () => {
      await expectFailure(
        undefined,
        {},
        1,
        /No postgres\.toml at ".*\.skills\/postgres\/postgres\.toml"; copy postgres\.toml\.example/,
      );
    });
    await t.step("TOML syntax error names line and column", async () => {
      await expectFailure(
        "[configuration]\nschema_version = 1\n[database.local\nhost = 1\n",
        {},
        1,
        /not valid TOML at line 3, column \d+/,
      );
    });
    await t.step("missing schema_version names migrate_toml_schema", async () => {
      await expectFailure(
        good.replace("schema_version = 1\n", ""),
        {},
        1,
        /no \[configuration\] schema_version.*migrate_toml_schema\.ts/,
      );
    });
    await t.step("newer schema_version is refused", async () => {
      await expectFailure(
        good.replace("schema_version = 1", "schema_version = 7"),
        {},
        1,
        /newer than this skill reads \(1\)/,
      );
    });
    await t.step("unknown profile lists the profiles", async () => {
      await expectFailure(
        good,
        { DB_PROFILE: "staging" },
        1,
        /No profile "staging" .* profiles: local, other/,
      );
    });
    await t.step("invalid profile name is a usage error", async () => {
      await expectFailure(
        good,
        { DB_PROFILE: "Prod-DB" },
        2,
        /Invalid profile name "Prod-DB" given to DB_PROFILE; use lowercase letters, digits and underscores/,
      );
    });
    await t.step("invalid profile name in the file", async () => {
      await expectFailure(
        good + '\n[database.BadName]\nhost = "x"\n',
        {},
        1,
        /Invalid profile name "BadName" in/,
      );
    });
    await t.step("missing required fields are all named", async () => {
      const toml = '[configuration]\nschema_version = 1\n\n[database.local]\npassword = "' +
        password + '"\n';
      await expectFailure(
        toml,
        {},
        1,
        /Profile "local" in ".*" is missing host, port, user, database/,
      );
    });
    await t.step("bad types are named", async () => {
      await expectFailure(
        good.replace(`port = ${cluster.port}`, 'port = "five"'),
        {},
        1,
        /"port" must be an integer from 1 to 65535/,
      );
      await expectFailure(
        good.replace("sslmode = false", 'sslmode = "prefer"'),
        {},
        1,
        /"sslmode" must be true or false .* url/,
      );
    });
    await t.step("a password of the wrong type is named, never shown", async () => {
      for (
        const value of ["123459", '["first-part", "second-part"]', "{ text = 'inline-secret' }"]
      ) {
        await project.writeToml(good.replace(`password = "${password}"`, `password = ${value}`));
        const result = await runSkillScript("test_connection.ts", [], { env: project.env });
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          /"password" must be a string in \[database\.local\] .*, got an? (number|array|table)/,
        );
        for (const secret of ["123459", "first-part", "second-part", "inline-secret"]) {
          assert.ok(!result.stderr.includes(secret), `${secret} in ${result.stderr}`);
        }
      }
    });
    await t.step("unreachable host", async () => {
      await expectFailure(
        good.replaceAll(`port = ${cluster.port}`, `port = ${freePort()}`),
        {},
        1,
        /Connection refused by 127\.0\.0\.1:\d+/,
      );
    });
    await t.step("wrong password", async () => {
      await expectFailure(
        good.replace(password, "wrong-password"),
        {},
        1,
        /Password authentication failed for user "app" at 127\.0\.0\.1:\d+; check the password in profile "local"/,
      );
    });
    await t.step("database that does not exist", async () => {
      await expectFailure(
        good.replace('database = "postgres"', 'database = "nope"'),
        {},
        1,
        /Database "nope" does not exist/,
      );
    });
    await t.step("a line break in a value is shown escaped, not cut off", async () => {
      await expectFailure(
        good,
        { DB_URL: "postgresql://app@bad%0Ahost.invalid/db" },
        1,
        /Cannot resolve host "bad\\x0ahost\.invalid"; check the host in DB_URL$/m,
      );
    });
    await t.step("bad DB_URL and bad timeouts are usage errors", async () => {
      await expectFailure(
        good,
        { DB_URL: `http://app:${password}@x/y` },
        2,
        /DB_URL must be a URL like postgresql:\/\//,
      );
      await expectFailure(
        good,
        { DB_STATEMENT_TIMEOUT_MS: "5s" },
        2,
        /DB_STATEMENT_TIMEOUT_MS must be a whole number from 0 to 2147483647, got "5s"/,
      );
      await expectFailure(
        good,
        { PGCONNECT_TIMEOUT: "-1" },
        2,
        /PGCONNECT_TIMEOUT must be a whole number of seconds from 0 to 2147483, got "-1"/,
      );
      // Out of range: caught before anything runs, not by the server or a timer later.
      for (
        const [name, value] of [
          ["PGCONNECT_TIMEOUT", "2147484"],
          ["PGCONNECT_TIMEOUT", "1e20"],
          ["DB_STATEMENT_TIMEOUT_MS", "99999999999"],
          ["DB_LOCK_TIMEOUT_MS", "2147483648"],
          ["DB_STATEMENT_TIMEOUT_MS", "1e20"],
        ]
      ) {
        await expectFailure(
          good,
          { [name]: value },
          2,
          new RegExp(`${name} must be a whole number`),
        );
      }
    });
    await t.step("an empty limit is refused by every script that takes one", async () => {
      // Each script with the positionals that come before its [limit].
      const scripts: [string, string[]][] = [
        ["table_sizes.ts", []],
        ["index_health.ts", []],
        ["slow_queries.ts", []],
        ["pg_stat_statements_top.ts", []],
        ["activity_overview.ts", []],
        ["missing_fk_indexes.ts", []],
        ["vacuum_analyze_status.ts", []],
        ["long_running_queries.ts", ["5"]],
        ["locks_overview.ts", []],
        ["roles_overview.ts", []],
        ["settings_overview.ts", []],
        ["replication_status.ts", []],
        ["find_objects.ts", ["orders"]],
        ["query_action.ts", ["cancel"]],
      ];
      for (const [script, before] of scripts) {
        for (const args of [[...before, ""], [...before, "--limit="]]) {
          const result = await runSkillScript(script, args, { env: project.env });
          assert.equal(result.code, 2, `${script} ${args}: ${result.stderr}`);
          assert.match(result.stderr, /limit must be a positive integer, got ""/, script);
        }
      }
    });
    await t.step("an unencoded @ in a URL's password: all of it is the password", async () => {
      await cluster.sql(`create role at_user login password 'p@ss@word'`);
      const url = `postgresql://at_user:p@ss@word@${cluster.host}:${cluster.port}/postgres`;
      const ok = await runSkillScript("test_connection.ts", ["--json"], { env: { DB_URL: url } });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).user, "at_user");
      const wrong = url.replace("p@ss@word", "p@ss@wrong");
      const result = await runSkillScript("test_connection.ts", [], { env: { DB_URL: wrong } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Password authentication failed for user "at_user"/);
      for (const piece of ["ss@wr", "wrong", "p@ss"]) assert.ok(!result.stderr.includes(piece));
    });
    await t.step("a password equal to common words leaves those words alone", async () => {
      await cluster.sql(`create role postgres_app login password 'postgres'`);
      await project.writeToml(
        good.replace('user = "app"', 'user = "postgres_app"').replace(password, "postgres")
          .replace('database = "postgres"', 'database = "nope"'),
      );
      const result = await runSkillScript("test_connection.ts", [], { env: project.env });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /Database "nope" does not exist .* profile "local" in ".*\.skills\/postgres\/postgres\.toml"/,
      );
    });
    await t.step("wrong password in DB_URL never echoes the URL's password", async () => {
      await expectFailure(
        undefined,
        { DB_URL: cluster.url({ user: "app", password: password + "x" }) },
        1,
        /Password authentication failed .* check the password in DB_URL/,
      );
    });
    await t.step("unknown flags and extra arguments are usage errors", async () => {
      await project.writeToml(good);
      const flag = await runSkillScript("test_connection.ts", ["--frobnicate"], {
        env: project.env,
      });
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /Unknown option "--frobnicate"; run with --help/);
      const extra = await runSkillScript("pg_version.ts", ["extra"], { env: project.env });
      assert.equal(extra.code, 2);
      assert.match(extra.stderr, /Unexpected argument "extra"/);
    });
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("profile resolution: [database] defaults, url overrides, odd paths quoted", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "pgskill it's a dir " });
  try {
    await Deno.mkdir(`${root}/.skills/postgres`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/.skills/postgres/postgres.toml`,
      [
        "[configuration]",
        "schema_version = 1",
        "[database]",
        'host = "default-host"',
        "port = 5433",
        'user = "default_user"',
        'database = "default_db"',
        "[database.local]",
        'password = "pw"',
        "[database.remote]",
        'host = "ignored-host"',
        'url = "postgresql://url_user:url%20pw@url-host:6000/url_db?sslmode=verify-full&sslrootcert=system"',
        "[database.secure]",
        "sslmode = true",
      ].join("\n") + "\n",
    );
    const resolve = async (env: Record<string, string>) => {
      const result = await runSkillScript("resolve_db_url.ts", ["--json", "--with-password"], {
        env: { DB_PROJECT_ROOT: root, ...env },
      });
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout);
    };
    await t.step("defaults from [database] fill a profile", async () => {
      const local = await resolve({});
      assert.equal(
        local.DB_URL,
        "postgresql://default_user:pw@default-host:5433/default_db?sslmode=disable",
      );
    });
    await t.step("a profile's url overrides host, port, user, password, database", async () => {
      const remote = await resolve({ DB_PROFILE: "remote" });
      assert.equal(
        remote.DB_URL,
        "postgresql://url_user:url%20pw@url-host:6000/url_db?sslmode=verify-full&sslrootcert=system",
      );
      assert.equal(remote.DB_SSLMODE, "verify-full");
    });
    await t.step("sslmode = true is require", async () => {
      assert.equal((await resolve({ DB_PROFILE: "secure" })).DB_SSLMODE, "require");
    });
    await t.step("shell assignments survive spaces and quotes in paths", async () => {
      const result = await runSkillScript("resolve_db_url.ts", [], {
        env: { DB_PROJECT_ROOT: root },
      });
      const shell = await new Deno.Command("bash", {
        args: ["-c", `eval "$1" && printf '%s' "$DB_TOML_PATH"`, "bash", result.stdout],
        stdout: "piped",
      }).output();
      assert.equal(
        new TextDecoder().decode(shell.stdout),
        `${root}/.skills/postgres/postgres.toml`,
      );
    });
    await t.step("without git or an override, the working directory is the root", async () => {
      const result = await runSkillScript("resolve_db_url.ts", ["--json"], { cwd: root });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        JSON.parse(result.stdout).DB_TOML_PATH,
        `${root}/.skills/postgres/postgres.toml`,
      );
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a profile's reader: diagnostic sessions connect as it, every other kind as its user", () => {
  const profile = { name: "local", tomlPath: "/p/postgres.toml", projectRoot: "/p" };
  const settings = {
    url: "postgresql://app:app-pw@db.example.com:6432/shop?sslmode=require&sslrootcert=/r.crt",
    readonly_user: "app_reader",
    readonly_password: "reader-pw",
  };
  const reader = profileTarget(settings, { session: "diagnostic", profile });
  assert.deepEqual(
    [reader.user, reader.password, reader.host, reader.port, reader.database, reader.sslmode],
    ["app_reader", "reader-pw", "db.example.com", 6432, "shop", "require"],
  );
  assert.equal(reader.sslrootcert, "/r.crt");
  assert.deepEqual(reader.reader, { key: "readonly_user", profileUser: "app" });
  assert.equal(
    describeSource(reader),
    'profile "local" in "/p/postgres.toml" (reader role from readonly_user)',
  );
  assert.match(
    describeReaderSession(reader)!,
    /ran as the reader role "app_reader" \(readonly_user of profile "local"\), which may only read; --write and --ddl run as the profile's user "app"/,
  );
  for (const session of ["plain", "explain", "migration", undefined] as const) {
    const own = profileTarget(settings, { session, profile });
    assert.deepEqual(
      [own.user, own.password, own.reader],
      ["app", "app-pw", undefined],
      String(session),
    );
    assert.equal(describeReaderSession(own), undefined);
  }
  const withoutReader = profileTarget({ ...settings, readonly_user: undefined }, {
    session: "diagnostic",
    profile,
  });
  assert.deepEqual([withoutReader.user, withoutReader.reader], ["app", undefined]);
});

Deno.test("readonly_url gives the reader's credentials only; the rest is the profile's", () => {
  const profile = { name: "local", tomlPath: "/p/postgres.toml", projectRoot: "/p" };
  const base = { host: "db", port: 5432, user: "app", database: "shop", sslmode: true };
  const target = (readonly_url: string) =>
    profileTarget({ ...base, readonly_url }, { session: "diagnostic", profile });
  const reader = target("postgresql://r%40x:p%3Aw@db:5432/shop?sslcert=/c.crt&sslkey=/c.key");
  assert.deepEqual(
    [reader.user, reader.password, reader.host, reader.database, reader.sslmode, reader.sslcert],
    ["r@x", "p:w", "db", "shop", "require", "/c.crt"],
  );
  assert.deepEqual(reader.reader, { key: "readonly_url", profileUser: "app" });
  assert.equal(target("postgresql://r@").password, undefined);
  const refusals: [string, RegExp][] = [
    ["postgresql://:pw@", /The readonly_url of profile "local" names no user/],
    ["postgresql://r:pw@elsewhere/shop", /names another host than the profile \("elsewhere"\)/],
    ["postgresql://r:pw@/other", /names another database than the profile \("other"\)/],
    ["postgresql://r:pw@db:6543", /names another port than the profile \("6543"\)/],
    ["postgresql://r:pw@?sslmode=disable", /has parameter "sslmode"; the reader connects with/],
    ["postgresql://r:pw@?options=-cx%3Dy", /has parameter "options"/],
  ];
  for (const [url, pattern] of refusals) {
    assert.throws(() => target(url), pattern, url);
    assert.throws(() => target(url), (error: Error) => !error.message.includes(":pw@"), url);
  }
  // Only diagnostic sessions read it: a broken readonly_url does not stop writes.
  assert.equal(
    profileTarget({ ...base, readonly_url: "postgresql://r@elsewhere" }, { profile }).user,
    "app",
  );
});

Deno.test("--profile and --database on a real server: flags win, credentials stay", async (t) => {
  const cluster = await startCluster();
  const password = "flag-pw-never-shown-61";
  const project = await makeProject(tomlWithProfiles({
    local: { host: cluster.host, port: cluster.port, user: "app", password, database: "postgres" },
    staging: {
      host: cluster.host,
      port: cluster.port,
      user: "app2",
      password,
      database: "postgres",
    },
  }));
  // Who and where a session is, from the server itself.
  async function whoAmI(args: string[], env: Record<string, string> = {}) {
    const result = await runSkillScript("run_sql.ts", [
      ...args,
      "--json",
      "select current_user as who, current_database() as db",
    ], { env: { ...project.env, ...env } });
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout).results[0].rows;
    return { who: rows[0].who as string, db: rows[0].db as string };
  }
  try {
    await cluster.sql(
      `create role app login password '${password}'; create role app2 login password '${password}'`,
    );
    // A name that would break any SQL it were spliced into: it must travel as a parameter.
    const odd = `other "db"; drop database postgres; --'`;
    await cluster.sql(`create database other_db owner app`);
    await cluster.sql(`create database "${odd.replaceAll('"', '""')}" owner app`);

    await t.step("a password file supplies what DB_URL leaves out, as libpq reads it", async () => {
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/pgpass`;
        // Comments and other servers' lines are skipped; the first line that matches wins;
        // an escaped colon belongs to the field.
        await Deno.writeTextFile(
          file,
          `# the skill's tests\n${cluster.host}:1:*:app2:wrong-port\n` +
            `*:${cluster.port}:postgres:app2:${password}\n*:*:*:app2:too-late\n` +
            `${cluster.host}:${cluster.port}:*:app\\:x:never\n`,
        );
        await Deno.chmod(file, 0o600);
        const url = `postgresql://app2@${cluster.host}:${cluster.port}/postgres?sslmode=disable`;
        const env = { DB_URL: url, PGPASSFILE: file, DB_PROJECT_ROOT: dir };
        assert.deepEqual(await whoAmI([], env), { who: "app2", db: "postgres" });
        // Readable by others: ignored, as libpq ignores it; the server then asks in vain.
        await Deno.chmod(file, 0o644);
        const result = await runSkillScript("run_sql.ts", ["select 1"], {
          env: { ...project.env, ...env },
        });
        assert.equal(result.code, 1, result.stderr);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.ok(!result.stderr.includes(password), "no password in the error");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("--database reaches another database with the profile's password", async () => {
      // No PGPASSWORD, no ~/.pgpass: only the profile knows the password.
      assert.deepEqual(await whoAmI(["--database", "other_db"]), { who: "app", db: "other_db" });
      assert.deepEqual(await whoAmI([`--database=${odd}`]), { who: "app", db: odd });
      assert.equal((await cluster.sql("select count(*)::int as n from pg_database"))[0].n, 5);
    });

    await t.step("--profile overrides DB_PROFILE, and wins over DB_URL", async () => {
      assert.deepEqual(await whoAmI([], { DB_PROFILE: "staging" }), {
        who: "app2",
        db: "postgres",
      });
      assert.deepEqual(await whoAmI(["--profile", "local"], { DB_PROFILE: "staging" }), {
        who: "app",
        db: "postgres",
      });
      const url = cluster.url({ user: "app", password, database: "other_db" });
      assert.deepEqual(await whoAmI([], { DB_URL: url }), { who: "app", db: "other_db" });
      assert.deepEqual(await whoAmI(["--profile", "staging"], { DB_URL: url }), {
        who: "app2",
        db: "postgres",
      });
    });

    await t.step("--database with DB_URL keeps the URL's credentials", async () => {
      const url = cluster.url({ user: "app2", password, database: "postgres" });
      assert.deepEqual(await whoAmI(["--database", "other_db"], { DB_URL: url }), {
        who: "app2",
        db: "other_db",
      });
    });

    await t.step("resolve_db_url and test_connection take the flags too", async () => {
      const resolved = await runSkillScript("resolve_db_url.ts", [
        "--profile",
        "staging",
        "--database",
        "other_db",
        "--json",
      ], { env: { ...project.env, DB_PROFILE: "local" } });
      assert.equal(resolved.code, 0, resolved.stderr);
      const json = JSON.parse(resolved.stdout);
      assert.equal(json.DB_PROFILE, "staging");
      assert.match(json.DB_URL, /^postgresql:\/\/app2@[^/]+\/other_db\?/);
      const tested = await runSkillScript("test_connection.ts", ["--database", "other_db"], {
        env: project.env,
      });
      assert.equal(tested.code, 0, tested.stderr);
    });

    await t.step("bad flags: one line, usage errors exit 2", async () => {
      const cases: [string[], number, RegExp][] = [
        [["--profile", "Staging"], 2, /Invalid profile name "Staging" given to --profile/],
        [["--profile", "nosuch"], 1, /No profile "nosuch" in .*; profiles: local, staging/],
        [["--database", ""], 2, /Invalid database name "" given to --database/],
        [["--database", "x".repeat(64)], 2, /give a name of 1 to 63 bytes/],
        [["--database"], 2, /Option "--database.*" needs a value/],
      ];
      for (const [args, code, pattern] of cases) {
        const result = await runSkillScript("table_sizes.ts", args, { env: project.env });
        assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
        assert.ok(isOneLineError(result.stderr), result.stderr);
        assert.match(result.stderr, pattern);
      }
      const missing = await runSkillScript("table_sizes.ts", ["--database", "no_such_db"], {
        env: project.env,
      });
      assert.equal(missing.code, 1, missing.stderr);
      assert.match(
        missing.stderr,
        /"no_such_db" does not exist .*check the name given to --database/,
      );
      assert.ok(
        !/check the database in profile/.test(missing.stderr),
        "the profile is not at fault",
      );
      assert.ok(!missing.stderr.includes(password));
    });

    await t.step("restore_dump --database restores into a fresh copy as the profile", async () => {
      await cluster.sql("create database fresh_copy owner app");
      const dir = await Deno.makeTempDir();
      const file = `${dir}/rows.sql`;
      await Deno.writeTextFile(
        file,
        "create table restored (id int primary key);\ninsert into restored values (1), (2);\n",
      );
      try {
        const result = await runSkillScript("restore_dump.ts", [file, "--database", "fresh_copy"], {
          env: { ...project.env, DB_CONFIRM: "YES" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /into database "fresh_copy" at /);
        assert.ok(!`${result.stdout}${result.stderr}`.includes(password));
        const rows = await cluster.sql("select count(*)::int as n from restored", "fresh_copy");
        assert.equal(rows[0].n, 2);
        const elsewhere = await cluster.sql(
          "select count(*)::int as n from pg_class where relname = 'restored'",
        );
        assert.equal(elsewhere[0].n, 0, "the profile's own database is untouched");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  } finally {
    await project.remove();
    await cluster.stop();
  }
});
