#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net
/**
 * Shows the pending and released migrations, what is wrong with CHANGELOG.md,
 * and objects changed in several pending files on one day.
 */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { parseChangelog } from "../lib/migrations/changelog.ts";
import {
  CHANGELOG,
  describeChanges,
  listMigrations,
  type ParsedPending,
  parsePending,
  pendingHazards,
  readChangelog,
  resolveMigrationsFolder,
} from "../lib/migrations/folder.ts";
import { changelogFindings, compactionCandidates } from "../lib/migrations/findings.ts";
import { printOutput, renderSections, type Sections } from "../lib/output/render.ts";

const usage = `Usage: migration_status.ts [--applied] [--profile NAME] [--json]

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
  applied      with --applied, on the profile's database (--profile, DB_URL or
               DB_PROFILE): for each pending file whether the database holds
               what it makes, read from the catalog (no tracking table):
               applied, not applied, partly (naming what is not as the file
               leaves it), or unknown (it makes nothing a lookup can confirm)
Nothing is written. A pending name that links out of the folder or to a
released item (a symlink, or a hard link to a released file) is refused.

Options:
  --applied        also read the profile's database: which files it holds
  --profile NAME   the profile whose migrations_path counts (and, with
                   --applied, whose database is read)
  --json           one JSON object: section -> rows
  --help           this text

Example:
  ./scripts/migration_status.ts`;

await runScript("migration_status", async () => {
  const { values, format } = parseCli({
    name: "migration_status",
    usage,
    formats: ["json"],
    options: { profile: { type: "string" }, applied: { type: "boolean" } },
  }, Deno.args);
  const folder = await resolveMigrationsFolder(values.profile);
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
  const applied = values.applied === true ? await appliedSection(parsed, values.profile) : {};
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
    ...applied,
  }, format));
});

/** The applied section: each pending file's state on the profile's database. */
async function appliedSection(
  parsed: ParsedPending[],
  profile: string | undefined,
): Promise<Sections> {
  // Loaded only here: without --applied nothing connects.
  const { appliedStates } = await import("../lib/migrations/run.ts");
  const { resolveTarget } = await import("../lib/connection/resolve.ts");
  const target = await resolveTarget({ profile, session: "diagnostic", userSearchPath: true });
  const states = await appliedStates(target, parsed);
  return {
    applied: {
      columns: ["file", "state", "not_as_left", "as_left"],
      rows: states.map((s) => ({ ...s })),
    },
  };
}
