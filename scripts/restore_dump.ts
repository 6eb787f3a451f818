#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net --allow-run
/** Restores a dump file (plain SQL or pg_dump's custom format) into the profile's database. */
import { confirmAction } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { resolveUserPath } from "../lib/cli/input.ts";
import { runScript } from "../lib/cli/run.ts";
import { findClientTools } from "../lib/cli/client_tools.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import {
  checkPlainFile,
  type FileCommand,
  isPlainSql,
  planRestore,
  restoreFile,
  type RestoreSqlCheck,
} from "../lib/tools/dump.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { describeServer, describeSource } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: restore_dump.ts <file> [--no-single-transaction] [--json]

Restores <file> into the database of the profile (--profile, DB_URL or
DB_PROFILE); --database NAME restores into another database of that server
instead, with the same credentials (a fresh copy made with createdb, say).
A file ending in .sql is plain SQL; anything else is read as pg_dump's custom
format: pg_restore writes it out as SQL, without owners and privileges, and
that SQL is checked and run exactly as a .sql file is. psql runs it, stopping
at the first error. By default the whole restore runs in one transaction, so a
failure halfway leaves the database as it was; --no-single-transaction turns
that off for dumps that cannot run in one transaction (then what ran before an
error stays). A failed restore is never started again.
It changes a database, so it names the target and asks you to type YES on a
terminal, or needs DB_CONFIRM=YES without one. On a terminal, a restore that
takes a while shows its progress.
The SQL is checked first, read as psql reads it (statements by PostgreSQL's
parser), and refused before anything is asked when it holds:
  - psql meta-commands (\\connect, \\!, \\copy, \\set ...): none runs, since psql
    reads the SQL under \\restrict (psql 13.22, 14.19, 15.14, 16.10, 17.6 and
    later, and 18; an older psql is refused). pg_dump's and pg_restore's own
    \\restrict and \\unrestrict lines are the exception, and such a dump restores
    as it is.
  - a change of standard_conforming_strings (the restore pins it on, so that
    psql splits the SQL where the check did).
  - BEGIN, COMMIT or ROLLBACK of its own, which would keep what ran before an
    error: refused unless --no-single-transaction.
The restore hands psql only the SQL that was checked: a file changed since, or
an archive for which pg_restore writes other SQL, stops it before the first
block that differs. In one transaction, the server is asked after the SQL
whether that transaction is still the restore's own; if the SQL ended it some
way the check could not see, the failure says what stays.
A data-only dump (data_dump.ts, pg_dump --data-only) goes into tables that exist
already, with its rows as they were: triggers and foreign-key checks are turned
off while it runs (session_replication_role = replica), so triggers do not fire
a second time and tables may come in any order. That needs a superuser, or on
PostgreSQL 15+ a role granted SET on session_replication_role; any other role
restores with them on, and a failure says so.

Options:
  --no-single-transaction   run statements one by one (see above)
  --json                    the report as JSON
  --help                    this text

Example:
  ./scripts/restore_dump.ts ./schema_local_20240101_120000.dump`;

/** `\connect at line 3, \! at line 5`: the first few, and how many more. */
function listed(commands: FileCommand[]): string {
  const shown = commands.slice(0, 3).map(({ command, line }) => `${command} at line ${line}`);
  const more = commands.length - shown.length;
  return shown.join(", ") + (more > 0 ? ` and ${more} more` : "");
}

/**
 * Refuses (a usage error) what the check of a dump's SQL found that cannot be
 * restored. `subject` names that SQL: the file, or what pg_restore writes for
 * an archive (which no edit of a file fixes).
 */
function refuse(
  subject: string,
  check: RestoreSqlCheck,
  options: { singleTransaction: boolean; archive: boolean },
): void {
  const { singleTransaction, archive } = options;
  const named = subject[0].toUpperCase() + subject.slice(1);
  const untrusted = "pg_dump never writes that into an archive, so check where it came from";
  const fix = (edit: string) => archive ? untrusted : edit;
  if (check.nulLine !== undefined) {
    throw new UsageError(
      `${named} has a NUL byte at line ${check.nulLine}, which psql cannot read (it drops ` +
        `the rest of that line); ${fix("fix the file")}`,
    );
  }
  // Without one transaction SQL that could not be followed is left to psql's \restrict.
  if (check.metaCommands.length && (singleTransaction || check.unchecked === undefined)) {
    const connect = check.metaCommands.some(({ command }) => /^\\c(onnect)?$/.test(command));
    throw new UsageError(
      `${named} holds psql meta-commands (${listed(check.metaCommands)}), which a restore ` +
        `never runs (psql reads it under \\restrict); ${fix("remove them")}` +
        (connect
          ? "; to restore into another database, name it with --database (or --profile)"
          : ""),
    );
  }
  if (singleTransaction && check.unchecked !== undefined) {
    throw new UsageError(
      `${named} cannot be checked for transaction control (${check.unchecked}); ` +
        `${archive ? "restore it" : "fix it, or restore it"} with --no-single-transaction`,
    );
  }
  if (check.lexingChanges.length) {
    throw new UsageError(
      `${named} changes how the rest of it is read (${listed(check.lexingChanges)}: ` +
        `standard_conforming_strings, or a client_encoding such as SJIS in which a character ` +
        `can take a quote), which the restore keeps as the check read it; ` +
        fix(
          "remove that statement (SET standard_conforming_strings = on and the client_encoding " +
            "pg_dump writes are fine)",
        ),
    );
  }
  if (check.variables.length) {
    throw new UsageError(
      `${named} refers to psql variables (${listed(check.variables)}), which psql fills in ` +
        `even under \\restrict, so the server would run text the check never read; ` +
        fix("write the value itself"),
    );
  }
  const control = check.transactionControl[0];
  if (singleTransaction && control) {
    throw new UsageError(
      `${named} has transaction control of its own (${control.command} at line ` +
        `${control.line}), so it cannot be restored all or nothing: its COMMIT would keep ` +
        `what ran before an error; ${archive ? `${untrusted}; ` : ""}to restore it statement by ` +
        `statement (what runs before an error stays), use --no-single-transaction`,
    );
  }
}

await runScript("restore_dump", async () => {
  const { positionals, values, format } = parseCli({
    name: "restore_dump",
    usage,
    formats: ["json"],
    positionals: { min: 1, max: 1 },
    options: { "no-single-transaction": { type: "boolean" } },
  }, Deno.args);
  const file = resolveUserPath(positionals[0]);
  try {
    if (!(await Deno.stat(file)).isFile) throw new Error("not a file");
  } catch {
    throw new SkillError(`No dump file at "${file}"; check the path`);
  }
  const singleTransaction = values["no-single-transaction"] !== true;
  let check: RestoreSqlCheck | undefined;
  if (isPlainSql(file)) {
    // Before a profile is even read: the file alone decides.
    check = await checkPlainFile(file);
    refuse(`"${file}"`, check, { singleTransaction, archive: false });
  }
  const target = await resolveTarget();
  const plan = await planRestore(target, file, {
    singleTransaction,
    check,
    tools: await findClientTools(target),
  });
  if (!check) refuse(plan.source.name, plan.check, { singleTransaction, archive: true });
  const how = [
    isPlainSql(file) ? "plain SQL, with psql" : "with pg_restore",
    ...(plan.dataOnly ? [`data only, triggers ${plan.skipTriggers ? "off" : "on"}`] : []),
  ].join("; ");
  const what = `restore "${file}" (${how}) into database "${target.database}" at ` +
    `${describeServer(target)} (${describeSource(target)})`;
  note(`About to ${what}`);
  await confirmAction(`${what[0].toUpperCase()}${what.slice(1)}?`);
  const report = await restoreFile(target, plan);
  printOutput(renderRecord({ ...report }, format));
});
