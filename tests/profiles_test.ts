/**
 * Everything that creates or changes postgres.toml: the schema migration,
 * sslmode updates, the bootstrap. Tests compare whole files before and after.
 */
import assert from "node:assert/strict";
import { makeProject, runSkillScript } from "./support/run.ts";

/** Hides every psql on this machine inside a mount namespace, for one command. */
const HIDE_PSQL = [
  "unshare",
  "-rm",
  "sh",
  "-c",
  [
    "mount -t tmpfs none /usr/lib/postgresql 2>/dev/null || true",
    "for f in /usr/bin/psql /usr/local/bin/psql; do [ -e $f ] && mount --bind /dev/null $f; done",
    'exec "$@"',
  ].join("; "),
  "sh",
];

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
        wrapper: HIDE_PSQL,
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
