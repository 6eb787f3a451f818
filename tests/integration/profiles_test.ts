/**
 * Everything that creates or changes postgres.toml: the schema migration,
 * sslmode updates, the bootstrap. Tests compare whole files before and after.
 */
import { pathExists } from "../../lib/config/files.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../support/cluster.ts";
import {
  baseEnv,
  makeProject,
  runSkillScript,
  skillCommandLine,
  withoutPsql,
} from "../support/run.ts";
import { Terminal } from "../support/terminal.ts";

const TRUE_SPELLINGS = [
  '"true"',
  '"TRUE"',
  '"require"',
  '"required"',
  '"yes"',
  '"on"',
  '"1"',
  "1",
  '"enable"',
  '"Enabled"',
];
const FALSE_SPELLINGS = ['"false"', '"disable"', '"disabled"', '"no"', '"OFF"', '"0"', "0"];
const LIBPQ_MODES = ["prefer", "allow", "verify-ca", "verify-full"];

function legacyFile(): { text: string; expected: (pgBinPath: string) => string } {
  const header = "# Our team's database profiles.\n# Keep this comment.\n\n";
  const defaults = '[database]\nhost = "db.internal" # shared host\nport = 5432\nuser = "app"\n' +
    'database = "app"\nsslmode = "prefer" # the old default\n\n';
  let body = "";
  let expectedBody = "";
  TRUE_SPELLINGS.forEach((spelling, i) => {
    body += `[database.yes_${i}]\nsslmode = ${spelling} # was ${spelling.replaceAll('"', "")}\n\n`;
    expectedBody += `[database.yes_${i}]\nsslmode = true # was ${spelling.replaceAll('"', "")}\n\n`;
  });
  FALSE_SPELLINGS.forEach((spelling, i) => {
    body += `[database.no_${i}]\nsslmode = ${spelling}\n\n`;
    expectedBody += `[database.no_${i}]\nsslmode = false\n\n`;
  });
  LIBPQ_MODES.forEach((mode, i) => {
    body +=
      `[database.mode_${i}]\nurl = "postgresql://u@h${i}/db?application_name=x"\nsslmode = "${mode}" # strict\n\n`;
    expectedBody +=
      `[database.mode_${i}]\nurl = "postgresql://u@h${i}/db?application_name=x&sslmode=${mode}"\n# strict\n\n`;
  });
  body += '[database.inherits]\ndescription = "takes the default"\nextra_key = [1, 2]\n';
  const expectedInherits =
    '[database.inherits]\ndescription = "takes the default"\nextra_key = [1, 2]\nurl = "postgresql://?sslmode=prefer"\n';
  const migrations = '\n[migrations]\npath = "db/migrations" # ours\n';
  return {
    text: header + defaults + body + migrations,
    expected: (pgBinPath) =>
      header + `[configuration]\nschema_version = 1\npg_bin_path = "${pgBinPath}"\n\n` +
      defaults.replace(
        'sslmode = "prefer" # the old default',
        "sslmode = false # the old default",
      ) +
      expectedBody + expectedInherits + migrations,
  };
}

Deno.test("migrate_toml_schema: every sslmode spelling, comments and keys kept", async (t) => {
  const legacy = legacyFile();
  const project = await makeProject(legacy.text);
  try {
    await t.step("--dry-run says what would change and writes nothing", async () => {
      const result = await runSkillScript("migrate_toml_schema.ts", ["--dry-run", "--json"], {
        env: project.env,
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.from_version, 0);
      assert.equal(report.result, "dry run: nothing written");
      assert.ok(report.changes.includes('[database.mode_3]: sslmode "verify-full" moved into url'));
      assert.equal(await project.readToml(), legacy.text);
    });

    await t.step("no client tools: fails clearly and changes nothing", async () => {
      const result = await runSkillScript("migrate_toml_schema.ts", [], {
        env: project.env,
        wrapper: await withoutPsql(),
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /No PostgreSQL client tools \(psql\) found to set \[configuration\] pg_bin_path/,
      );
      assert.equal(await project.readToml(), legacy.text);
    });

    await t.step("the migration: exactly the expected file, mode 0600", async () => {
      const result = await runSkillScript("migrate_toml_schema.ts", ["--json"], {
        env: project.env,
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      const pgBinPath = report.changes.find((c: string) =>
        c.includes("pg_bin_path")
      ).match(/"(.*)"/)[1];
      assert.equal(await project.readToml(), legacy.expected(pgBinPath));
      assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);
    });

    await t.step("the migrated file resolves: moved modes come back from the url", async () => {
      const resolve = async (profile: string) => {
        const result = await runSkillScript("resolve_db_url.ts", ["--json"], {
          env: { ...project.env, DB_PROFILE: profile },
        });
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout).DB_SSLMODE;
      };
      assert.equal(await resolve("mode_3"), "verify-full");
      assert.equal(await resolve("inherits"), "prefer");
      assert.equal(await resolve("yes_0"), "require");
      assert.equal(await resolve("no_6"), "disable");
    });

    await t.step("a file at version 1 is left unchanged and says so", async () => {
      const before = await project.readToml();
      const result = await runSkillScript("migrate_toml_schema.ts", [], { env: project.env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /already at schema version 1; nothing changed/);
      assert.equal(await project.readToml(), before);
    });

    await t.step("a newer version is refused; a broken file is never rewritten", async () => {
      const newer = "[configuration]\nschema_version = 2\n";
      await project.writeToml(newer);
      const refused = await runSkillScript("migrate_toml_schema.ts", [], { env: project.env });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /schema_version = 2, newer than this skill knows \(1\)/);
      assert.equal(await project.readToml(), newer);
      const broken = '[database.local\nsslmode = "require"\n';
      await project.writeToml(broken);
      const parseError = await runSkillScript("migrate_toml_schema.ts", [], { env: project.env });
      assert.equal(parseError.code, 1);
      assert.match(parseError.stderr, /not valid TOML at line 1/);
      assert.equal(await project.readToml(), broken);
      const nonsense = '[database.local]\nsslmode = "sometimes"\n';
      await project.writeToml(nonsense);
      const bad = await runSkillScript("migrate_toml_schema.ts", [], { env: project.env });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /sslmode "sometimes" in \[database\.local\] .* is not an SSL mode/);
      assert.equal(await project.readToml(), nonsense);
    });
  } finally {
    await project.remove();
  }
});

Deno.test("a write to postgres.toml warns while git does not ignore it", async () => {
  const project = await makeProject(
    '[configuration]\nschema_version = 1\n\n[database.local]\nhost = "h"\nport = 5432\n' +
      'user = "u"\ndatabase = "d"\n',
  );
  try {
    await Deno.remove(`${project.root}/.git`, { recursive: true });
    const init = await new Deno.Command("git", { args: ["init", "-q", project.root] }).output();
    assert.ok(init.success);
    const warned = await runSkillScript("update_sslmode.ts", ["local", "true"], {
      env: project.env,
    });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /postgres\.toml" holds passwords and is not git-ignored; add \.skills\/postgres\/postgres\.toml to your project's \.gitignore/,
    );
    await Deno.writeTextFile(`${project.root}/.gitignore`, ".skills/postgres/postgres.toml\n");
    const quiet = await runSkillScript("update_sslmode.ts", ["local", "false"], {
      env: project.env,
    });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
  } finally {
    await project.remove();
  }
});

/** A monorepo with settings in the places people keep them, and places a scan must skip. */
async function monorepo(root: string): Promise<void> {
  const write = async (path: string, text: string | Uint8Array) => {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof text === "string") await Deno.writeTextFile(full, text);
    else await Deno.writeFile(full, text);
  };
  await write(
    "apps/api/.env",
    "# API\nDATABASE_URL=postgresql://api_user:api-secret@localhost:5432/api_dev?sslmode=disable\n",
  );
  await write("apps/api/.env.production", "DATABASE_URL=${PROD_DATABASE_URL}\n");
  await Deno.mkdir(`${root}/apps/api/sql/changes`, { recursive: true });
  await write(
    "services/worker/docker-compose.yml",
    "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: worker\n" +
      '      POSTGRES_PASSWORD: "worker-secret"\n      POSTGRES_DB: jobs\n  app:\n    environment:\n' +
      "      - DB_HOST=db\n      - DB_PORT=5432\n      - DB_PASSWORD=${DB_PASSWORD}\n",
  );
  await write(
    "packages/shared/src/db.ts",
    "export const url = process.env.DATABASE_URL;\nconst host = { PGHOST: process.env.PGHOST };\n",
  );
  await write("node_modules/dep/.env", "DATABASE_URL=postgresql://dep:dep@deps/db\n");
  await write(".git/config", "DATABASE_URL=postgresql://git:git@git/db\n");
  await write("dist/app.js", "const u = 'postgresql://dist:dist@dist/db';\n");
  await write("apps/api/blob.json", new TextEncoder().encode("postgresql://bin:bin@bin/db\0\0"));
  await write(
    "apps/api/big.env",
    "DATABASE_URL=postgresql://big:big@big/db\n" + "x".repeat(600_000),
  );
}

Deno.test("bootstrap_profile --scan: candidates from a monorepo, skipped places skipped", async () => {
  const project = await makeProject();
  try {
    await monorepo(project.root);
    const result = await runSkillScript("bootstrap_profile.ts", ["--scan", "--json"], {
      env: project.env,
    });
    assert.equal(result.code, 0, result.stderr);
    const candidates = JSON.parse(result.stdout);
    assert.deepEqual(candidates, [
      {
        source: "apps/api/.env",
        project: "api",
        fields: {
          host: "localhost",
          port: 5432,
          database: "api_dev",
          user: "api_user",
          password: "********",
          sslmode: "disable",
        },
      },
      {
        source: "services/worker/docker-compose.yml",
        project: "worker",
        fields: { user: "worker", password: "********", database: "jobs", host: "db", port: 5432 },
      },
    ]);
    assert.ok(!result.stdout.includes("secret"), "passwords are not printed");
    const table = await runSkillScript("bootstrap_profile.ts", ["--scan"], { env: project.env });
    assert.match(table.stdout, /# from apps\/api\/\.env\n\[database\.api\]\nhost = "localhost"/);
    assert.match(table.stdout, /sslmode = false\nproject = "api"/);
  } finally {
    await project.remove();
  }
});

Deno.test("bootstrap_profile --candidate N: a scan's candidate saved without a terminal", async () => {
  const project = await makeProject();
  try {
    await monorepo(project.root);
    const out = await runSkillScript("bootstrap_profile.ts", ["--candidate", "3"], {
      env: project.env,
    });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /--candidate must be from 1 to 2, got "3"/);
    const saved = await runSkillScript("bootstrap_profile.ts", [
      "--candidate",
      "2",
      "--profile",
      "jobs",
      "--port",
      "6543",
      "--save",
      "--json",
    ], { env: project.env });
    assert.equal(saved.code, 0, saved.stderr);
    assert.ok(!saved.stdout.includes("worker-secret"), "the candidate's password is not printed");
    const toml = await project.readToml();
    // The candidate's fields, an option over one of them, and its password kept.
    assert.match(
      toml,
      /\[database\.jobs\]\nhost = "db"\nport = 6543\ndatabase = "jobs"\nuser = "worker"\npassword = "worker-secret"\n/,
    );
  } finally {
    await project.remove();
  }
});

Deno.test("bootstrap_profile without a terminal or options: exit 2, nothing written", async () => {
  const project = await makeProject();
  try {
    const result = await runSkillScript("bootstrap_profile.ts", [], { env: project.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /No terminal to ask on; give the answers as options/);
    assert.deepEqual([...Deno.readDirSync(`${project.root}/.skills/postgres`)], []);
  } finally {
    await project.remove();
  }
});

Deno.test("bootstrap_profile on a terminal: scan, pick, save; then fields, hidden password, test", async (t) => {
  const cluster = await startCluster();
  const project = await makeProject();
  const command = await skillCommandLine("bootstrap_profile.ts");
  const env = { ...baseEnv(), ...project.env };
  try {
    await monorepo(project.root);
    await cluster.sql("create role tester login password 'typed-secret-77'");

    await t.step("answering no to save writes nothing and prints a one-off DB_URL", async () => {
      const term = new Terminal(command, env);
      await term.expect(/Scan the project for existing connection settings\? \[Y\/n\]/);
      await term.type("n\n");
      await term.expect(/Profile name .*\[local\]: /);
      await term.type("\n");
      await term.expect(/Connection URL/);
      await term.type("postgresql://someone@db.example.com:6432/shop\n");
      await term.expect(/Host \[db\.example\.com\]: /);
      await term.type("\n");
      await term.expect(/Port \[6432\]: /);
      await term.type("\n");
      await term.expect(/Database \[shop\]: /);
      await term.type("\n");
      await term.expect(/User \[someone\]: /);
      await term.type("\n");
      await term.expect(/Password \(not shown; empty for none\): /);
      await term.type("\n");
      await term.expect(/Does the server require SSL\? \[y\/N\]/);
      await term.type("y\n");
      await term.expect(/Test the connection now\? \[Y\/n\]/);
      await term.type("n\n");
      await term.expect(/Save profile "local" to .*\? \[Y\/n\]/);
      await term.type("n\n");
      const { code, output } = await term.finish();
      assert.equal(code, 0, output);
      assert.match(
        output,
        /DB_URL='postgresql:\/\/someone@db\.example\.com:6432\/shop\?sslmode=require'/,
      );
      assert.deepEqual([...Deno.readDirSync(`${project.root}/.skills/postgres`)], [], "no TOML");
      assert.ok(!(await pathExists(`${project.root}/AGENTS.md`)));
      assert.ok(!(await pathExists(`${project.root}/.gitignore`)));
    });

    await t.step(
      "scan, pick a candidate, save with migrations folder, AGENTS.md, .gitignore",
      async () => {
        const term = new Terminal(command, env);
        await term.expect(/Scan the project for existing connection settings\? \[Y\/n\]/);
        await term.type("y\n");
        await term.expect(/Folder to scan \[.*\]: /);
        await term.type("\n");
        await term.expect(/# from services\/worker\/docker-compose\.yml/);
        await term.expect(/Start from candidate \(1-2, empty for none\): /);
        await term.type("1\n");
        await term.expect(/Profile name .*\[local\]: /);
        await term.type("\n");
        await term.expect(/Connection URL/);
        await term.type("\n");
        await term.expect(/Host \[localhost\]: /);
        await term.type("\n");
        await term.expect(/Port \[5432\]: /);
        await term.type("\n");
        await term.expect(/Database \[api_dev\]: /);
        await term.type("\n");
        await term.expect(/User \[api_user\]: /);
        await term.type("\n");
        await term.expect(/Test the connection now\?/);
        await term.type("n\n");
        await term.expect(/Save profile "local"/);
        await term.type("y\n");
        await term.expect(
          /Migrations folder \(relative to the project root\) \[db\/migrations\]: /,
        );
        await term.type("\n");
        await term.expect(/Create the folder "db\/migrations"\? \[Y\/n\]/);
        await term.type("y\n");
        await term.expect(
          /AGENTS\.md does not exist; create it to record DB_MIGRATIONS_PATH=db\/migrations\? \[y\/N\]/,
        );
        await term.type("y\n");
        await term.expect(/Add \.skills\/postgres\/postgres\.toml to \.gitignore\? \[Y\/n\]/);
        await term.type("y\n");
        const { code, output } = await term.finish();
        assert.equal(code, 0, output);
        assert.ok(!output.includes("api-secret"), "the password from the scan is never shown");
        const toml = await project.readToml();
        assert.match(toml, /^# Postgres skill profiles\./);
        assert.ok(
          toml.endsWith(
            '[database.local]\nhost = "localhost"\nport = 5432\ndatabase = "api_dev"\nuser = "api_user"\n' +
              'password = "api-secret"\nproject = "api"\nsslmode = false\n',
          ),
          toml,
        );
        assert.match(toml, /\[configuration\]\nschema_version = 1\npg_bin_path = ".+"\n/);
        assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);
        assert.ok((await Deno.stat(`${project.root}/db/migrations`)).isDirectory);
        assert.match(
          await Deno.readTextFile(`${project.root}/AGENTS.md`),
          /^DB_MIGRATIONS_PATH=db\/migrations$/m,
        );
        assert.equal(
          await Deno.readTextFile(`${project.root}/.gitignore`),
          ".skills/postgres/postgres.toml\n",
        );
      },
    );

    await t.step(
      "fields, a password typed without echo, a real test, a searched migrations path",
      async () => {
        const before = await project.readToml();
        const commented = "# kept: my own note\n" + before;
        await project.writeToml(commented);
        const term = new Terminal(command, env);
        await term.expect(/Scan the project for existing connection settings\? \[y\/N\]/);
        await term.type("\n");
        await term.expect(/Profile name .*: /);
        await term.type("dev\n");
        await term.expect(/Connection URL/);
        await term.type("\n");
        await term.expect(/Host \[localhost\]: /);
        await term.type("127.0.0.1\n");
        await term.expect(/Port \[5432\]: /);
        await term.type(`${cluster.port}\n`);
        await term.expect(/Database: /);
        await term.type("postgres\n");
        await term.expect(/User: /);
        await term.type("tester\n");
        await term.expect(/Password \(not shown; empty for none\): /);
        // A typing slip on a two-byte character: Backspace takes the whole character back.
        await term.type("typed-secret-7\u00e9\x7f7\n");
        await term.expect(/Test the connection now\? \[Y\/n\]/);
        await term.type("\n");
        await term.expect(/Connection test: ok \(no SSL\)/);
        await term.expect(/Save profile "dev"/);
        await term.type("y\n");
        await term.expect(/Migrations folder .*\[db\/migrations\]: /);
        await term.type("sql/changes\n");
        await term.expect(/"sql\/changes" does not exist; search the project for it\? \[Y\/n\]/);
        await term.type("y\n");
        await term.expect(/1\) apps\/api\/sql\/changes/);
        await term.expect(/Use one of them \(1-1, empty for none\): /);
        await term.type("1\n");
        await term.expect(
          /Record DB_MIGRATIONS_PATH=apps\/api\/sql\/changes in AGENTS\.md\? \[Y\/n\]/,
        );
        await term.type("y\n");
        const { code, output } = await term.finish();
        assert.equal(code, 0, output);
        assert.ok(!output.includes("typed-secret-77"), "the typed password was not echoed");
        assert.equal(
          await project.readToml(),
          commented + '\n[database.dev]\nhost = "127.0.0.1"\nport = ' + cluster.port +
            '\ndatabase = "postgres"\nuser = "tester"\npassword = "typed-secret-77"\n' +
            'migrations_path = "apps/api/sql/changes"\n',
        );
        assert.match(
          await Deno.readTextFile(`${project.root}/AGENTS.md`),
          /^DB_MIGRATIONS_PATH=apps\/api\/sql\/changes$/m,
        );
        const check = await runSkillScript("test_connection.ts", ["--json"], {
          env: { ...project.env, DB_PROFILE: "dev" },
        });
        assert.equal(check.code, 0, check.stderr);
        assert.equal(JSON.parse(check.stdout).user, "tester");
      },
    );

    await t.step("options: --save refuses to replace a profile without --yes", async () => {
      const before = await project.readToml();
      const result = await runSkillScript("bootstrap_profile.ts", [
        "--profile",
        "dev",
        "--url",
        `postgresql://tester@127.0.0.1:${cluster.port}/postgres`,
        "--save",
      ], { env: project.env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Profile "dev" exists .* pass --yes to replace/);
      assert.equal(await project.readToml(), before);
      const replaced = await runSkillScript("bootstrap_profile.ts", [
        "--profile",
        "dev",
        "--url",
        `postgresql://tester@127.0.0.1:${cluster.port}/template1`,
        "--save",
        "--yes",
        "--test",
      ], { env: { ...project.env, PGPASSWORD: "typed-secret-77" } });
      assert.equal(replaced.code, 0, replaced.stderr);
      assert.equal(
        await project.readToml(),
        before.replace(
          'database = "postgres"\nuser = "tester"',
          'database = "template1"\nuser = "tester"',
        ),
      );
    });

    await t.step("option values that would end up in files are checked first", async () => {
      const before = await project.readToml();
      const outside = join(project.root, "..", "outside-of-project");
      for (
        const [path, pattern] of [
          ["../../outside-of-project", /is not inside the project root/],
          ["db/migrations\nDB_MIGRATIONS_PATH=/etc", /holds a space, a line break/],
          ["db/my migrations", /holds a space/],
          ["/etc/migrations", /is not inside the project root/],
        ] as const
      ) {
        const result = await runSkillScript("bootstrap_profile.ts", [
          "--profile",
          "checked",
          "--url",
          `postgresql://tester@127.0.0.1:${cluster.port}/postgres`,
          "--migrations-path",
          path,
          "--agents-md",
          "--save",
          "--yes",
        ], { env: project.env });
        assert.equal(result.code, 2, path);
        assert.match(result.stderr, pattern, path);
      }
      for (const port of ["99999", "0", "54x"]) {
        const result = await runSkillScript("bootstrap_profile.ts", [
          "--profile",
          "checked",
          "--host",
          "127.0.0.1",
          "--port",
          port,
          "--database",
          "postgres",
          "--user",
          "tester",
          "--save",
        ], { env: project.env });
        assert.equal(result.code, 2, port);
        assert.match(
          result.stderr,
          new RegExp(`--port has an invalid port "${port}"; give a number from 1 to 65535`),
        );
      }
      assert.equal(await project.readToml(), before, "nothing saved");
      assert.ok(!(await pathExists(outside)), "no folder made outside the project");
      const agents = await Deno.readTextFile(join(project.root, "AGENTS.md")).catch(() => "");
      assert.ok(!agents.includes("/etc"), "nothing written into AGENTS.md");
    });
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("a profiles file others can read is warned about, with the chmod that fixes it", async () => {
  const project = await makeProject([
    "[configuration]",
    "schema_version = 1",
    'pg_bin_path = "/nowhere"',
    "",
    "[database.local]",
    'url = "postgresql://app:secret@db.internal:5432/app"',
    "",
  ].join("\n"));
  try {
    const warning = (stderr: string) =>
      stderr.split("\n").filter((line) => line.includes("holds passwords"));
    for (const [mode, who] of [[0o644, "every user of this machine"], [0o640, "its group"]]) {
      await Deno.chmod(project.tomlPath, mode as number);
      // One that connects (it resolves the profile) and one that never does: both read the file.
      for (const script of ["resolve_db_url.ts", "migration_path.ts"]) {
        const result = await runSkillScript(script, ["--json"], { env: project.env });
        assert.equal(result.code, 0, result.stderr);
        const lines = warning(result.stderr);
        assert.equal(lines.length, 1, `${script}, mode ${mode.toString(8)}: ${result.stderr}`);
        assert.equal(
          lines[0],
          `warning: "${project.tomlPath}" holds passwords and can be read by ${who} (mode ` +
            `0${(mode as number).toString(8)}); make it private: chmod 600 ${project.tomlPath}`,
        );
        JSON.parse(result.stdout); // stdout holds the result alone
      }
    }
    await Deno.chmod(project.tomlPath, 0o600);
    const quiet = await runSkillScript("resolve_db_url.ts", [], { env: project.env });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.deepEqual(warning(quiet.stderr), []);
    assert.equal((await Deno.stat(project.tomlPath)).mode! & 0o777, 0o600);
  } finally {
    await project.remove();
  }
});

Deno.test("check_deps saves the real binaries' folder as pg_bin_path, never Debian's wrapper", async () => {
  const project = await makeProject("[configuration]\nschema_version = 1\n\n[database]\n");
  try {
    const result = await runSkillScript("check_deps.ts", ["--json"], { env: project.env });
    assert.equal(result.code, 0, result.stderr);
    const saved = (await project.readToml()).match(/^pg_bin_path = "([^"]+)"$/m)?.[1];
    assert.ok(saved, await project.readToml());
    assert.equal(JSON.parse(result.stdout).pg_bin_path.path, saved);
    // The folder holds psql itself, not a link to a script that picks one.
    const real = await Deno.realPath(join(saved, "psql"));
    assert.equal(real.split("/").at(-1), "psql", real);
    const head = new TextDecoder().decode((await Deno.readFile(real)).subarray(0, 2));
    assert.notEqual(head, "#!", `${real} is a program, not a script`);
    const wrapper = await Deno.realPath("/usr/bin/psql").catch(() => undefined);
    if (wrapper?.endsWith("/pg_wrapper")) {
      // Debian's layout (this machine's): the newest version folder is what the wrapper runs.
      const majors = [...Deno.readDirSync("/usr/lib/postgresql")]
        .map((entry) => Number(entry.name)).filter((major) => Number.isInteger(major))
        .filter((major) => {
          try {
            return Deno.statSync(`/usr/lib/postgresql/${major}/bin/psql`).isFile;
          } catch {
            return false;
          }
        });
      assert.ok(saved !== "/usr/bin", "not the wrapper's folder");
      assert.equal(saved, `/usr/lib/postgresql/${Math.max(...majors)}/bin`);
      const psqlRow = JSON.parse(result.stdout).tools.find((row: { tool: string }) =>
        row.tool === "psql"
      );
      assert.equal(psqlRow.path, `${saved}/psql`);
    }
  } finally {
    await project.remove();
  }
});
