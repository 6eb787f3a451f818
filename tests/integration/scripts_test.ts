/**
 * Every script of the foundation, run as a separate process with its own
 * shebang permissions against real servers, through real profiles.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../support/cluster.ts";
import {
  baseEnv,
  isOneLineError,
  makeProject,
  runSkillScript,
  SKILL_ROOT,
  tomlWithProfiles,
} from "../support/run.ts";

Deno.test("scripts against a plain server and an SSL-only server", async (t) => {
  const plain = await startCluster({ ssl: "off" });
  const sslOnly = await startCluster({ ssl: "only" });
  const project = await makeProject(tomlWithProfiles({
    local: {
      host: plain.host,
      port: plain.port,
      user: "app_user",
      password: "app pass:@/%",
      database: "app",
    },
    secure: {
      host: sslOnly.host,
      port: sslOnly.port,
      user: "app_user",
      password: "ssl-secret",
      database: "postgres",
    },
  }));
  const env = { ...project.env };
  try {
    await plain.sql("create database app");
    await plain.sql("create role app_user login password 'app pass:@/%'");
    await plain.sql("grant all on schema public to app_user", "app");
    await sslOnly.sql("create role app_user login password 'ssl-secret'");
    await t.step("test_connection: table and JSON", async () => {
      const table = await runSkillScript("test_connection.ts", [], { env });
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^status\s+\| ok$/m);
      assert.match(table.stdout, /^database\s+\| app$/m);
      assert.match(table.stdout, /^user\s+\| app_user$/m);
      const json = await runSkillScript("test_connection.ts", ["--json"], { env });
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.status, "ok");
      assert.equal(parsed.ssl, false);
      assert.equal(parsed.server, `127.0.0.1:${plain.port}`);
      assert.equal(typeof parsed.elapsed_ms, "number");
      assert.equal(json.stderr, "");
    });

    await t.step("pg_version: the server's own version", async () => {
      const result = await runSkillScript("pg_version.ts", ["--json"], { env });
      assert.equal(result.code, 0, result.stderr);
      const parsed = JSON.parse(result.stdout);
      const [row] = await plain.sql("select current_setting('server_version_num')::int as n");
      assert.equal(parsed.server_version_num, row.n);
      assert.equal(Math.floor(parsed.server_version_num / 10000), plain.major);
      assert.match(parsed.version, /^PostgreSQL \d+/);
    });

    await t.step("connection_info: identity, settings and session variables", async () => {
      const result = await runSkillScript("connection_info.ts", ["--json"], {
        env: {
          ...env,
          DB_APPLICATION_NAME: "info-test",
          DB_STATEMENT_TIMEOUT_MS: "4500",
          DB_LOCK_TIMEOUT_MS: "1200",
        },
      });
      assert.equal(result.code, 0, result.stderr);
      const info = JSON.parse(result.stdout);
      assert.equal(info.profile, "local");
      assert.equal(info.database, "app");
      assert.equal(info.user, "app_user");
      assert.equal(info.application_name, "info-test");
      assert.equal(info.statement_timeout, "4500ms");
      assert.equal(info.lock_timeout, "1200ms");
      assert.equal(info.server_port, plain.port);
      assert.equal(info.ssl, false);
      assert.equal(info.default_transaction_read_only, "on");
      const csv = await runSkillScript("connection_info.ts", ["--csv"], { env });
      assert.match(csv.stdout, /^field,value\ndatabase|^field,value\n/);
      assert.match(csv.stdout, /^database,app$/m);
    });

    await t.step(
      "PGOPTIONS reaches our sessions and psql's, beside the skill's timeouts",
      async () => {
        const options = {
          ...env,
          PGOPTIONS: "-c work_mem=7MB -c search_path=pg_catalog",
          DB_STATEMENT_TIMEOUT_MS: "4321",
        };
        const query = "select current_setting('work_mem') as w, " +
          "current_setting('search_path') as p, current_setting('statement_timeout') as t";
        const ours = await runSkillScript("run_sql.ts", ["--json", query], { env: options });
        assert.equal(ours.code, 0, ours.stderr);
        assert.deepEqual(JSON.parse(ours.stdout).results[0].rows, [
          { w: "7MB", p: "pg_catalog", t: "4321ms" },
        ]);
        const before = await project.readToml(); // psql's first run saves pg_bin_path
        const psql = await runSkillScript("psql_with_ssl_fallback.ts", ["-XAtc", query], {
          env: options,
        });
        await project.writeToml(before);
        assert.equal(psql.code, 0, psql.stderr);
        assert.equal(psql.stdout, "7MB|pg_catalog|4321ms\n");
      },
    );

    await t.step("application_name defaults to codex-postgres-skill", async () => {
      const result = await runSkillScript("connection_info.ts", ["--json"], { env });
      assert.equal(JSON.parse(result.stdout).application_name, "codex-postgres-skill");
    });

    await t.step("resolve_db_url: eval-able assignments without the password", async () => {
      const result = await runSkillScript("resolve_db_url.ts", [], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stdout.includes("app pass"), "no password by default");
      const shell = await new Deno.Command("bash", {
        args: [
          "-c",
          `eval "$1"; printf '%s\\n' "$DB_URL" "$DB_SSLMODE" "$DB_PROFILE" "$DB_URL_SOURCE" "$DB_TOML_PATH"`,
          "bash",
          result.stdout,
        ],
        stdout: "piped",
      }).output();
      const [url, sslmode, profile, source, tomlPath] = new TextDecoder().decode(shell.stdout)
        .split("\n");
      assert.equal(url, `postgresql://app_user@127.0.0.1:${plain.port}/app?sslmode=disable`);
      assert.equal(sslmode, "disable");
      assert.equal(profile, "local");
      assert.equal(source, "toml");
      assert.equal(tomlPath, project.tomlPath);
    });

    await t.step("resolve_db_url --with-password: psql connects with the URL", async () => {
      const result = await runSkillScript("resolve_db_url.ts", ["--with-password"], { env });
      const shell = await new Deno.Command("bash", {
        args: [
          "-c",
          `eval "$1"; psql -X -At "$DB_URL" -c 'select current_user'`,
          "bash",
          result.stdout,
        ],
        stdout: "piped",
        stderr: "piped",
        env: baseEnv(),
        clearEnv: true,
      }).output();
      assert.equal(new TextDecoder().decode(shell.stdout).trim(), "app_user");
    });

    await t.step("resolve_db_url: DB_URL one-off needs no TOML, --json", async () => {
      const url = plain.url({ database: "app", sslmode: "verify-full" });
      const result = await runSkillScript("resolve_db_url.ts", ["--json"], {
        env: { DB_URL: url, DB_PROJECT_ROOT: "/nonexistent" },
      });
      assert.equal(result.code, 0, result.stderr);
      const parsed = JSON.parse(result.stdout);
      assert.equal(parsed.DB_URL_SOURCE, "env");
      assert.equal(parsed.DB_SSLMODE, "verify-full");
      assert.equal(parsed.DB_PROFILE, "");
      assert.equal(parsed.DB_TOML_PATH, "");
      assert.ok(!result.stdout.includes(plain.password));
    });

    await t.step("test_connection with a one-off DB_URL and no TOML", async () => {
      const result = await runSkillScript("test_connection.ts", ["--json"], {
        env: { DB_URL: plain.url({ database: "app" }), DB_PROJECT_ROOT: "/nonexistent" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).database, "app");
    });

    await t.step(
      "SSL-only profile with sslmode = false: retry, then the exact command",
      async () => {
        const before = await project.readToml();
        const result = await runSkillScript("test_connection.ts", ["--json"], {
          env: { ...env, DB_PROFILE: "secure" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).ssl, true);
        const command = result.stderr.match(/to remember it run: (.*)$/m)?.[1];
        assert.ok(command, result.stderr);
        assert.equal(
          await project.readToml(),
          before,
          "nothing written without DB_AUTO_UPDATE_SSLMODE",
        );
        // The printed command works as printed.
        const ran = await new Deno.Command("bash", {
          args: ["-c", command],
          env: baseEnv(),
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(ran.code, 0, new TextDecoder().decode(ran.stderr));
        const after = await project.readToml();
        assert.equal(
          after,
          before.replace(
            /(\[database\.secure\]\n(?:.*\n)*?database = "postgres")\n/,
            "$1\nsslmode = true\n",
          ),
        );
        await project.writeToml(before);
      },
    );

    await t.step("DB_AUTO_UPDATE_SSLMODE=1 saves sslmode = true, keeping the rest", async () => {
      const before = await project.readToml();
      const result = await runSkillScript("test_connection.ts", [], {
        env: { ...env, DB_PROFILE: "secure", DB_AUTO_UPDATE_SSLMODE: "1" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /saved sslmode = true for profile "secure"/);
      const after = await project.readToml();
      const expected = before.replace(
        /(\[database\.secure\]\n(?:.*\n)*?database = "postgres")\n/,
        "$1\nsslmode = true\n",
      );
      assert.notEqual(expected, before);
      assert.equal(after, expected);
      assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);
      // Now the profile asks for SSL directly: no retry, no note.
      const again = await runSkillScript("test_connection.ts", [], {
        env: { ...env, DB_PROFILE: "secure" },
      });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stderr, "");
      await project.writeToml(before);
    });

    await t.step("update_sslmode: spellings, refusals, comments kept", async () => {
      const before = await project.readToml();
      const on = await runSkillScript("update_sslmode.ts", ["local", "require", "--json"], { env });
      assert.equal(on.code, 0, on.stderr);
      assert.deepEqual(
        { ...JSON.parse(on.stdout), path: undefined },
        { profile: "local", sslmode: true, previous: false, changed: true, path: undefined },
      );
      const text = await project.readToml();
      assert.ok(text.startsWith("# Test profiles\n"), "comment kept");
      assert.match(text, /\[database\.local\]\n(?:.*\n)*?sslmode = true\n/);
      const off = await runSkillScript("update_sslmode.ts", ["local", "disable"], { env });
      assert.equal(off.code, 0, off.stderr);
      assert.match(await project.readToml(), /\[database\.local\]\n(?:.*\n)*?sslmode = false\n/);
      const bad = await runSkillScript("update_sslmode.ts", ["local", "prefer"], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /sslmode must be true or false .* got "prefer"/);
      const unknown = await runSkillScript("update_sslmode.ts", ["nope", "true"], { env });
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /No profile "nope" .* profiles: local, secure/);
      await project.writeToml(before);
    });

    await t.step("check_deps: finds the client tools and saves pg_bin_path", async () => {
      const before = await project.readToml();
      const result = await runSkillScript("check_deps.ts", ["--json"], { env });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      const psql = report.tools.find((tool: { tool: string }) => tool.tool === "psql");
      assert.equal(psql.found, true);
      assert.match(psql.version, /^\d+/);
      assert.deepEqual(report.missing_required, []);
      const after = await project.readToml();
      const dir = report.pg_bin_path.path as string;
      assert.equal(
        after,
        before.replace("schema_version = 1\n", `schema_version = 1\npg_bin_path = "${dir}"\n`),
      );
      await project.writeToml(before);
    });

    await t.step("scripts run from the skill folder, a project folder and deno task", async () => {
      const denoDir = join(Deno.execPath(), "..");
      const direct = await new Deno.Command("./scripts/test_connection.ts", {
        cwd: SKILL_ROOT,
        env: { ...baseEnv(), ...env, PATH: `${denoDir}:/usr/bin:/bin` },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(direct.code, 0, new TextDecoder().decode(direct.stderr));
      const fromProject = await new Deno.Command(join(SKILL_ROOT, "scripts/test_connection.ts"), {
        cwd: project.root,
        env: { ...baseEnv(), PATH: `${denoDir}:/usr/bin:/bin` },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(fromProject.code, 0, new TextDecoder().decode(fromProject.stderr));
      const task = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--quiet",
          "--config",
          join(SKILL_ROOT, "deno.json"),
          "test_connection",
          "--json",
        ],
        cwd: project.root,
        env: { ...baseEnv(), PATH: `${denoDir}:/usr/bin:/bin` },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(task.code, 0, new TextDecoder().decode(task.stderr));
      assert.equal(JSON.parse(new TextDecoder().decode(task.stdout)).database, "app");
      const runA = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/test_connection.ts"],
        cwd: SKILL_ROOT,
        env: { ...baseEnv(), ...env },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(runA.code, 0, new TextDecoder().decode(runA.stderr));
    });

    await t.step("from the skill folder without an override: refused with the fix", async () => {
      const result = await runSkillScript("test_connection.ts", [], { cwd: SKILL_ROOT });
      assert.equal(result.code, 1);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, /inside the skill's own folder; .*DB_PROJECT_ROOT/);
    });

    await t.step("the project root is the git top level of the working directory", async () => {
      const nested = join(project.root, "src", "deep");
      await Deno.mkdir(nested, { recursive: true });
      const result = await runSkillScript("resolve_db_url.ts", ["--json"], { cwd: nested });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).DB_TOML_PATH, project.tomlPath);
      const viaProjectRoot = await runSkillScript("resolve_db_url.ts", ["--json"], {
        env: { PROJECT_ROOT: project.root },
      });
      assert.equal(JSON.parse(viaProjectRoot.stdout).DB_TOML_PATH, project.tomlPath);
    });
  } finally {
    await project.remove();
    await Promise.all([plain.stop(), sslOnly.stop()]);
  }
});

/**
 * A module of npm:pg, or of any npm package but the TOML parser and the
 * terminal-width table (one small ES module, about 1 ms to load after
 * smol-toml, measured), in Deno's debug log: the driver (or its Node
 * compatibility layer) was loaded.
 */
const DRIVER_LOADED =
  /registry\.npmjs\.org\/(?!smol-toml\/|get-east-asian-width\/)\S+\.(?:js|mjs|cjs)\b/;

Deno.test("npm:pg and its helpers load only in scripts that connect, when they do", async (t) => {
  const project = await makeProject(tomlWithProfiles({
    local: { host: "127.0.0.1", port: 1, user: "u", password: "secret-1", database: "d" },
  }));
  const debug = { denoFlags: ["-L", "debug"] };
  try {
    // [script, arguments, environment, expected exit status (null: either)]
    const cases: [string, string[], Record<string, string>, number | null][] = [
      ["test_connection.ts", ["--help"], {}, 0],
      ["test_connection.ts", ["--frobnicate"], {}, 2],
      ["table_sizes.ts", ["not-a-number"], {}, 2],
      ["schema_introspect.ts", [], { DB_PROJECT_ROOT: "/nonexistent-project" }, 1],
      ["test_connection.ts", [], { DB_URL: "postgresql://u@h/d?sslcrl=x" }, 2],
      ["resolve_db_url.ts", [], project.env, 0],
      ["check_deps.ts", [], project.env, null],
      ["update_sslmode.ts", ["local", "true"], project.env, 0],
      ["migrate_toml_schema.ts", [], project.env, 0],
    ];
    for (const [script, args, env, code] of cases) {
      await t.step(`${script} ${args.join(" ")}`.trim(), async () => {
        const result = await runSkillScript(script, args, { ...debug, env });
        if (code !== null) assert.equal(result.code, code, `${script}: ${result.stdout}`);
        assert.doesNotMatch(result.stderr, DRIVER_LOADED, `${script} loaded npm:pg`);
      });
    }
    await t.step("a script that connects loads it (the check can see it)", async () => {
      const result = await runSkillScript("test_connection.ts", [], { ...debug, env: project.env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, DRIVER_LOADED);
    });
  } finally {
    await project.remove();
  }
});

Deno.test("an installed skill finds its project from anywhere: copied or cloned, root or own folder", async (t) => {
  for (const kind of ["copied", "cloned"] as const) {
    await t.step(kind, async () => {
      const project = await makeProject(tomlWithProfiles({
        local: { host: "db.example.com", port: 5432, user: "app", database: "app" },
      }));
      const skill = join(project.root, ".skills", "postgres");
      try {
        for (const part of ["lib", "scripts", "sql", "deno.json", "deno.lock"]) {
          await new Deno.Command("cp", { args: ["-r", join(SKILL_ROOT, part), skill] }).output();
        }
        if (kind === "cloned") {
          await new Deno.Command("git", { args: ["init", "-q", skill] }).output();
        }
        const env = { ...baseEnv() };
        const expected = join(skill, "postgres.toml");
        const runs: [string, string[]][] = [
          [skill, [Deno.execPath(), "run", "-A", "./scripts/resolve_db_url.ts", "--json"]],
          [
            project.root,
            [
              Deno.execPath(),
              "run",
              "-A",
              "./.skills/postgres/scripts/resolve_db_url.ts",
              "--json",
            ],
          ],
          [
            project.root,
            [
              Deno.execPath(),
              "task",
              "-q",
              "--config",
              ".skills/postgres/deno.json",
              "resolve_db_url",
              "--json",
            ],
          ],
        ];
        for (const [cwd, [program, ...args]] of runs) {
          const out = await new Deno.Command(program, {
            args,
            cwd,
            env,
            clearEnv: true,
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, `${args.join(" ")} in ${cwd}: ${stderr}`);
          const result = JSON.parse(new TextDecoder().decode(out.stdout));
          assert.equal(result.DB_TOML_PATH, expected, `${args.join(" ")} in ${cwd}`);
        }
      } finally {
        await project.remove();
      }
    });
  }
});
