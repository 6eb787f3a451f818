/**
 * postgres.toml edits keep the user's file: comments, blank lines, order,
 * unknown keys and other sections stay byte for byte; only the one value
 * changes; the file is replaced whole with mode 0600; an edit that cannot be
 * verified writes nothing.
 */
import assert from "node:assert/strict";
import {
  parseConfigText,
  parseSslSwitch,
  profileSettings,
  readToml,
  setReaderKeys,
  updateTomlFile,
} from "../../lib/config/profiles_file.ts";
import { setTomlValue } from "../../lib/config/toml_edit.ts";
import { SkillError } from "../../lib/core/errors.ts";

const ORIGINAL = `# Team database profiles
# (this comment must survive)

[configuration]
schema_version = 1   # do not touch

[migrations]
path = "db/migrations"

[database]
host = "localhost"
port = 5432
sslmode = false # default: plain

[database.local]
user = "me"      # my user
password = "p#ss" # a hash inside the string
database = "app"
custom_key = "kept"

# Staging lives elsewhere
[database.staging]
url = "postgresql://u@staging/app"
sslmode = false   # will change
`;

Deno.test("replacing a value keeps its trailing comment and everything else", () => {
  const updated = setTomlValue(ORIGINAL, ["database", "staging"], "sslmode", true);
  assert.equal(
    updated,
    ORIGINAL.replace("sslmode = false   # will change", "sslmode = true   # will change"),
  );
});

Deno.test("a string value containing # is replaced whole", () => {
  const updated = setTomlValue(ORIGINAL, ["database", "local"], "password", "new");
  assert.equal(
    updated,
    ORIGINAL.replace('password = "p#ss" # a hash', 'password = "new" # a hash'),
  );
});

Deno.test("a new key goes after the section's last entry, before comments of the next", () => {
  const updated = setTomlValue(ORIGINAL, ["database", "local"], "sslmode", true);
  assert.equal(
    updated,
    ORIGINAL.replace('custom_key = "kept"\n', 'custom_key = "kept"\nsslmode = true\n'),
  );
  const config = setTomlValue(
    ORIGINAL,
    ["configuration"],
    "pg_bin_path",
    "/usr/lib/postgresql/16/bin",
  );
  assert.equal(
    config,
    ORIGINAL.replace(
      "schema_version = 1   # do not touch\n",
      'schema_version = 1   # do not touch\npg_bin_path = "/usr/lib/postgresql/16/bin"\n',
    ),
  );
});

Deno.test("a missing section is appended; CRLF files stay CRLF", () => {
  const updated = setTomlValue(ORIGINAL, ["database", "prod"], "sslmode", true);
  assert.equal(updated, ORIGINAL.replace(/\n$/, "") + "\n\n[database.prod]\nsslmode = true\n");
  const crlf = ORIGINAL.replaceAll("\n", "\r\n");
  assert.equal(
    setTomlValue(crlf, ["database", "staging"], "sslmode", true),
    ORIGINAL.replace("sslmode = false   # will change", "sslmode = true   # will change")
      .replaceAll("\n", "\r\n"),
  );
});

Deno.test("quoted and spaced table headers are recognised", () => {
  const text = '[ database . "local" ]\nuser = "x"\n';
  assert.equal(
    setTomlValue(text, ["database", "local"], "sslmode", false),
    '[ database . "local" ]\nuser = "x"\nsslmode = false\n',
  );
});

Deno.test("updateTomlFile writes the whole file with mode 0600", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/postgres.toml`;
  try {
    await Deno.writeTextFile(path, ORIGINAL, { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    await updateTomlFile(path, ["database", "staging"], "sslmode", true);
    assert.equal(
      await Deno.readTextFile(path),
      ORIGINAL.replace("sslmode = false   # will change", "sslmode = true   # will change"),
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(leftovers, ["postgres.toml"], "no temporary file left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file that starts with a byte order mark loads, and keeps it when edited", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/postgres.toml`;
  try {
    const withBom = `\uFEFF${ORIGINAL.replaceAll("\n", "\r\n")}`; // as Windows Notepad saves it
    await Deno.writeTextFile(path, withBom);
    const { data, bom } = await readToml(path);
    assert.equal(bom, true);
    assert.equal((data.configuration as { schema_version: number }).schema_version, 1);
    await updateTomlFile(path, ["database", "staging"], "sslmode", true);
    assert.equal(
      await Deno.readTextFile(path),
      withBom.replace("sslmode = false   # will change", "sslmode = true   # will change"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an edit that cannot be verified, or a file that does not parse, writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/postgres.toml`;
  try {
    // A profile made of dotted keys has no [database.local] header to edit.
    const dotted = '[configuration]\nschema_version = 1\n[database]\nlocal.host = "x" # keep\n';
    await Deno.writeTextFile(path, dotted);
    await assert.rejects(updateTomlFile(path, ["database", "local"], "sslmode", true), SkillError);
    assert.equal(await Deno.readTextFile(path), dotted);
    const broken = "[configuration\nschema_version = 1\n";
    await Deno.writeTextFile(path, broken);
    await assert.rejects(
      updateTomlFile(path, ["configuration"], "pg_bin_path", "/x"),
      /not valid TOML at line 1/,
    );
    assert.equal(await Deno.readTextFile(path), broken);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file holding TOML dates and arrays of tables is edited like any other", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/postgres.toml`;
  try {
    const text = "[configuration]\nschema_version = 1\nreviewed = 2026-11-30T08:00:00Z # by ops\n" +
      '[[audit]]\nat = 2026-01-02\n[database.local]\nhost = "x"\n';
    await Deno.writeTextFile(path, text);
    await updateTomlFile(path, ["database", "local"], "sslmode", true);
    assert.equal(
      await Deno.readTextFile(path),
      text.replace('host = "x"\n', 'host = "x"\nsslmode = true\n'),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sslmode switch spellings", () => {
  for (const word of ["true", "TRUE", "require", "yes", "on", "1", "enable"]) {
    assert.equal(parseSslSwitch(word), true, word);
  }
  for (const word of ["false", "disable", "no", "off", "0", "Disabled"]) {
    assert.equal(parseSslSwitch(word), false, word);
  }
  for (const word of ["prefer", "verify-full", "", "maybe"]) {
    assert.equal(parseSslSwitch(word), undefined, word);
  }
});

Deno.test("reader keys: validated like the other profile keys, never [database] defaults", () => {
  const load = (text: string) => ({ path: "/p/postgres.toml", ...parseConfigText(text) });
  const head = "[configuration]\nschema_version = 1\n";
  const good = load(
    `${head}[database]\nuser = "app"\n[database.local]\nreadonly_user = "app_reader"\n` +
      `readonly_password = "s3cret"\n[database.other]\nreadonly_url = "postgresql://r:p@"\n`,
  );
  assert.deepEqual(profileSettings(good, "local"), {
    user: "app",
    readonly_user: "app_reader",
    readonly_password: "s3cret",
  });
  assert.equal(profileSettings(good, "other").readonly_url, "postgresql://r:p@");
  const refusals: [string, RegExp][] = [
    [
      `${head}[database.local]\nreadonly_user = "r"\nreadonly_password = 914275\n`,
      /"readonly_password" must be a string in \[database\.local\] in "\/p\/postgres\.toml", got a number$/,
    ],
    [
      `${head}[database.local]\nreadonly_url = ["postgresql://r:p@"]\n`,
      /"readonly_url" must be a string .*, got an array$/,
    ],
    [
      `${head}[database]\nreadonly_user = "shared"\n[database.local]\nuser = "app"\n`,
      /"readonly_user" is set in \[database\] in "\/p\/postgres\.toml", where it would be every profile's default; move it into the table of the profile/,
    ],
    [
      `${head}[database.local]\nreadonly_password = "x"\n`,
      /"readonly_password" is set without "readonly_user" in \[database\.local\]/,
    ],
    [
      `${head}[database.local]\nreadonly_user = "r"\nreadonly_url = "postgresql://r@"\n`,
      /Both "readonly_url" and "readonly_user" are set in \[database\.local\]/,
    ],
  ];
  for (const [text, pattern] of refusals) {
    assert.throws(() => profileSettings(load(text), "local"), pattern, text);
    assert.throws(
      () => profileSettings(load(text), "local"),
      (error: Error) => !/914275|s3cret/.test(error.message),
    );
  }
});

Deno.test("setReaderKeys saves the reader keys and puts back what was there", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/postgres.toml`;
  try {
    await Deno.writeTextFile(path, ORIGINAL, { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const before = await setReaderKeys(path, "local", {
      readonly_user: "me_reader",
      readonly_password: "generated",
    });
    assert.deepEqual(before, {});
    assert.equal(
      await Deno.readTextFile(path),
      ORIGINAL.replace(
        'custom_key = "kept"\n',
        'custom_key = "kept"\nreadonly_user = "me_reader"\nreadonly_password = "generated"\n',
      ),
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const replaced = await setReaderKeys(path, "local", {
      readonly_user: "me_reader",
      readonly_password: "newer",
    });
    assert.deepEqual(replaced, { readonly_user: "me_reader", readonly_password: "generated" });
    await setReaderKeys(path, "local", {});
    assert.equal(await Deno.readTextFile(path), ORIGINAL);
    await assert.rejects(setReaderKeys(path, "gone", { readonly_user: "x" }), /No profile "gone"/);
    assert.equal(await Deno.readTextFile(path), ORIGINAL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
