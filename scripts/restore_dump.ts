#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net --allow-run
/** Restores a dump file (plain SQL or pg_dump's custom format) into the profile's database. */
import {
  confirmAction,
  note,
  parseCli,
  resolveUserPath,
  runScript,
  SkillError,
  UsageError,
} from "../lib/cli.ts";
import { isPlainSql, planRestore, restoreFile, transactionControlIn } from "../lib/dump.ts";
import { printOutput, renderRecord } from "../lib/render.ts";
import { describeServer, describeSource, resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: restore_dump.ts <file> [--no-single-transaction] [--json]

Restores <file> into the database of the profile named by DB_PROFILE (or DB_URL).
A file ending in .sql goes through psql, stopping at the first error; anything
else through pg_restore without owners and privileges, stopping at the first
error. By default the whole restore runs in one transaction, so a failure
halfway leaves the database as it was; --no-single-transaction turns that off
for dumps that cannot run in one transaction (then what ran before an error
stays). A .sql file with BEGIN, COMMIT or ROLLBACK of its own (found by
PostgreSQL's parser) cannot be all or nothing and is refused unless
--no-single-transaction is given. A failed restore is never started again.
It changes a database, so it names the target and asks you to type YES on a
terminal, or needs DB_CONFIRM=YES without one. On a terminal, a restore that
takes a while shows its progress.
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
  if (singleTransaction && isPlainSql(file)) {
    const control = await transactionControlIn(file);
    if (control.length) {
      throw new UsageError(
        `"${file}" has transaction control of its own (${control[0].command} at line ` +
          `${control[0].line}), so it cannot be restored all or nothing: its COMMIT would keep ` +
          `what ran before an error; to restore it statement by statement (what runs before ` +
          `an error stays), use --no-single-transaction`,
      );
    }
  }
  const target = await resolveTarget();
  const plan = await planRestore(target, file);
  const how = [
    isPlainSql(file) ? "plain SQL, with psql" : "with pg_restore",
    ...(plan.dataOnly ? [`data only, triggers ${plan.skipTriggers ? "off" : "on"}`] : []),
  ].join("; ");
  const what = `restore "${file}" (${how}) into database "${target.database}" at ` +
    `${describeServer(target)} (${describeSource(target)})`;
  note(`About to ${what}`);
  await confirmAction(`${what[0].toUpperCase()}${what.slice(1)}?`);
  const report = await restoreFile(target, file, { singleTransaction, plan });
  printOutput(renderRecord({ ...report }, format));
});
