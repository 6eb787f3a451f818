#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write
/** Appends SQL to the latest pending migration and records a dated CHANGELOG.md entry. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { readInputText } from "../lib/cli/input.ts";
import { runScript } from "../lib/cli/run.ts";
import { parseStatements } from "../lib/sql/statements.ts";
import { addToLatestPending } from "../lib/migrations/add.ts";
import { resolveMigrationsFolder } from "../lib/migrations/folder.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { hazardText, isAloneStep } from "../lib/migrations/hazards.ts";

const usage = `Usage: migration_add.ts "<sql>" [--message TEXT] [--profile NAME] [--json]
       migration_add.ts -f FILE [--message TEXT] ...
       migration_add.ts - [--message TEXT] ...     (the SQL from stdin)

Appends the SQL, once PostgreSQL's parser accepts it, to the latest pending
migration in the migrations folder (see migration_path.ts): the highest of
prerelease.sql, 1_prerelease.sql, 2_prerelease.sql ..., or a new prerelease.sql
when there is none (the folder is created when missing). Then adds a dated entry
to CHANGELOG.md (created when missing) naming the file, the message and the
objects the SQL changes. Each file is written whole or not at all; if the
changelog cannot be written the migration is put back as it was.
It never writes, renames or deletes anything whose name ends in "released"
(any case), nor anything outside the migrations folder (symlinks included).
Statements that run only outside a transaction are added with a note:
migration_apply.ts runs CREATE/DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY
and VACUUM as steps of their own, and refuses the rest (CREATE DATABASE ...). The report lists the hazards of what was added, judged
within the file it joins (one transaction) after the earlier pending files:
the lock each statement takes, a rewrite or scan under it, code it may break,
and the safe form (references/migration_hazards.md; migration_status.ts lists
them for every pending file). They are said, not refused: the SQL is written.

Options:
  -f, --file FILE     read the SQL from FILE
  -m, --message TEXT  what the change is for, in the changelog entry
  --profile NAME      the profile whose migrations_path counts
  --json              the report as JSON
  --help              this text

Example:
  ./scripts/migration_add.ts "create index orders_customer_idx on orders (customer_id)" --message "faster customer lookups"`;

await runScript("migration_add", async () => {
  const { positionals, values, format } = parseCli({
    name: "migration_add",
    usage,
    connects: false,
    formats: ["json"],
    positionals: { min: 0, max: 1 },
    options: {
      file: { type: "string", short: "f" },
      message: { type: "string", short: "m" },
      profile: { type: "string" },
    },
  }, Deno.args);
  const sql = await readInputText({
    argument: positionals[0],
    file: values.file,
    what: "SQL",
  });
  for (const statement of await parseStatements(sql, { tree: true })) {
    if (isAloneStep(statement)) {
      note(
        `note: statement ${statement.index} (${statement.command}) runs outside a ` +
          `transaction: migration_apply.ts runs it as a step of its own`,
      );
    } else if (statement.outsideTransaction || statement.refusals.length) {
      note(
        `warning: statement ${statement.index} (${statement.command}) cannot run in a ` +
          `migration; migration_apply.ts will refuse the file until that changes`,
      );
    }
  }
  const folder = await resolveMigrationsFolder(values.profile);
  const report = await addToLatestPending(folder.absolute, sql, {
    message: values.message,
  });
  const { hazards, ...rest } = report;
  printOutput(renderRecord(
    format === "json" ? { ...report } : {
      ...rest,
      // For people, one line each: where, the rule and what it does, the safe form.
      hazards: hazards.map((h) => hazardText(h)),
    },
    format,
  ));
});
