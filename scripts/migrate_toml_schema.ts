#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-run=git
/** Brings postgres.toml to the current schema version, keeping everything else as it is. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { editTomlFile, SCHEMA_VERSION } from "../lib/config/profiles_file.ts";
import { findProjectRoot, tomlPathFor } from "../lib/config/project_root.ts";
import { planMigration } from "../lib/config/profiles_upgrade.ts";
import { editTomlText } from "../lib/config/toml_edit.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { findToolDir } from "../lib/tools/client_tools.ts";

const usage = `Usage: migrate_toml_schema.ts [--dry-run] [--json]

Upgrades <project-root>/.skills/postgres/postgres.toml to schema version ${SCHEMA_VERSION}:
  - adds [configuration] schema_version = ${SCHEMA_VERSION};
  - makes every sslmode a boolean (true/false, require/disable, yes/no, on/off,
    1/0, quoted or not); a libpq mode that is neither (prefer, allow, verify-ca,
    verify-full) moves into that profile's url as ?sslmode=...;
  - sets [configuration] pg_bin_path to the folder of the client tools found
    (PATH, /usr/lib/postgresql/*/bin, Homebrew, Postgres.app, Windows), and
    fails, changing nothing, when none are found.
Only those values change: comments, blank lines, order and every other key
stay; the file is replaced whole with mode 0600. A file already at version
${SCHEMA_VERSION} is left unchanged; a newer one is refused.

Options:
  --dry-run   say what would change, write nothing
  --json      the result as JSON
  --help      this text

Example:
  ./scripts/migrate_toml_schema.ts --dry-run`;

await runScript("migrate_toml_schema", async () => {
  const { values, format } = parseCli({
    name: "migrate_toml_schema",
    usage,
    connects: false,
    formats: ["json"],
    options: { "dry-run": { type: "boolean" } },
  }, Deno.args);
  const path = tomlPathFor(findProjectRoot().path);
  const plan = await editTomlFile(path, (text, data) => {
    const plan = planMigration(path, data, findToolDir("psql"));
    const updated = plan.edits.length ? editTomlText(path, text, plan.edits) : undefined;
    return { text: values["dry-run"] ? undefined : updated, result: plan };
  });
  const changed = plan.edits.length > 0;
  printOutput(renderRecord({
    path,
    from_version: plan.fromVersion,
    to_version: SCHEMA_VERSION,
    result: !changed
      ? `already at schema version ${SCHEMA_VERSION}; nothing changed`
      : values["dry-run"]
      ? "dry run: nothing written"
      : "migrated",
    changes: format === "json" ? plan.changes : plan.changes.join("\n"),
  }, format));
});
