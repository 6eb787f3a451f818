#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read
/**
 * Shows the pending and released migrations, what is wrong with CHANGELOG.md,
 * and objects changed in several pending files on one day.
 */
import { parseCli, runScript } from "../lib/cli.ts";
import { parseChangelog } from "../lib/changelog.ts";
import {
  CHANGELOG,
  changelogFindings,
  compactionCandidates,
  describeChanges,
  listMigrations,
  parsePending,
  pendingHazards,
  readChangelog,
  resolveMigrationsFolder,
} from "../lib/migration_folder.ts";
import { printOutput, renderSections } from "../lib/render.ts";

const usage = `Usage: migration_status.ts [--profile NAME] [--json]

Reads the migrations folder (see migration_path.ts) and shows, in sections:
  pending      prerelease.sql, 1_prerelease.sql, 2_prerelease.sql ... in the
               order they apply, each with its last change, statement count and
               the objects it changes (found by PostgreSQL's parser), or why it
               does not parse
  released     files and folders whose names end in "released" (any case);
               the skill never writes, renames or deletes them
  changelog    what CHANGELOG.md lacks or keeps too long: a pending file
               changed on a day with no dated entry naming it, entries left for
               released migrations (naming no pending file, or dated before the
               latest release), undated entries
  compaction   objects changed in more than one pending file on the same day:
               candidates to merge into one file (ask before merging)
  hazards      what each pending statement will do to a database in use, from
               PostgreSQL's parse tree: the rule (references/
               migration_hazards.md explains each), the table, the lock it
               takes there, the effect (a rewrite, a scan under the lock,
               writes blocked, running code broken) and the safe form
Nothing is written. A pending name that links out of the folder or to a
released item (a symlink, or a hard link to a released file) is refused.

Options:
  --profile NAME   the profile whose migrations_path counts
  --json           one JSON object: section -> rows
  --help           this text

Example:
  ./scripts/migration_status.ts`;

await runScript("migration_status", async () => {
  const { values, format } = parseCli({
    name: "migration_status",
    usage,
    connects: false,
    formats: ["json"],
    options: { profile: { type: "string" } },
  }, Deno.args);
  const folder = await resolveMigrationsFolder(values.profile as string | undefined);
  const { pending, released } = await listMigrations(folder.absolute);
  const parsed = await parsePending(pending);
  const changelogText = await readChangelog(folder.absolute);
  const entries = parseChangelog(changelogText ?? "");
  const findings = changelogFindings(pending, released, entries);
  if (pending.length && changelogText === undefined) {
    findings.unshift({
      problem: "no dated entry",
      file: null,
      line: null,
      detail: `${CHANGELOG} is missing; create it with an entry per change (migration_add.ts does)`,
    });
  }
  printOutput(renderSections({
    pending: {
      columns: ["file", "modified", "statements", "objects", "error"],
      rows: parsed.map((file) => ({
        file: file.name,
        modified: file.modified,
        statements: file.statements.length,
        objects: describeChanges(file.statements),
        error: file.error ?? null,
      })),
    },
    released: { columns: ["name", "kind"], rows: released.map((r) => ({ ...r })) },
    changelog: {
      columns: ["problem", "file", "line", "detail"],
      rows: findings.map((f) => ({ ...f })),
    },
    compaction: {
      columns: ["object", "date", "files"],
      rows: compactionCandidates(parsed, entries).map((c) => ({ ...c })),
    },
    hazards: {
      columns: ["file", "line", "rule", "table", "lock", "effect", "safe"],
      rows: pendingHazards(parsed).map((h) => ({
        file: h.file,
        line: h.line,
        rule: h.rule,
        table: h.table,
        lock: h.lock,
        effect: h.effect,
        safe: h.safe,
      })),
    },
  }, format));
});
