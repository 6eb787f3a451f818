#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/**
 * Runs psql on the resolved connection, read-only unless --write (confirmed
 * as run_sql --write is), with every other argument passed through, `-X`
 * added so that no ~/.psqlrc changes the output, the password in the
 * environment, and the SSL fallback decided before psql starts.
 */
import { confirmAction } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { findClientTools } from "../lib/cli/client_tools.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import { probeForTools } from "../lib/connection/script_sessions.ts";
import { describeServer, describeSource } from "../lib/connection/target.ts";
import { DIAGNOSTIC_TIMEOUTS_MS, resolveTarget } from "../lib/connection/resolve.ts";
import {
  psqlConnectionArgument,
  runToolInteractive,
  toolEnvironment,
  toolPath,
  withPrivatePassfile,
} from "../lib/tools/client_tools.ts";

const usage =
  `Usage: psql_with_ssl_fallback.ts [--write] [--profile NAME] [--database NAME] [psql arguments...]

Runs psql against the profile named by --profile, else DB_URL, else DB_PROFILE
(default "local"). Only the options below are read, and only before the first
other argument (or a --); everything from there goes to psql unchanged. -X is
added so that a ~/.psqlrc cannot change the output. The password reaches psql
through the environment, never the command line.

Read-only by default: psql starts with default_transaction_read_only = on and
the diagnostic timeouts (statement_timeout ${DIAGNOSTIC_TIMEOUTS_MS.statement_timeout} ms, lock_timeout ${DIAGNOSTIC_TIMEOUTS_MS.lock_timeout} ms, unless
DB_STATEMENT_TIMEOUT_MS / DB_LOCK_TIMEOUT_MS say otherwise) in PGOPTIONS,
after your own PGOPTIONS so that they win; a write fails with SQLSTATE 25006.
When the profile has a reader role (readonly_role.ts), psql connects as it, and
the server itself refuses writes. Without one, read-only is a promise psql
keeps only until told otherwise: SET default_transaction_read_only = off (or
BEGIN READ WRITE, or \connect with options) inside psql lifts it.

psql connects where the profile says: its connection arguments (-d, -h, -p,
-U, a database or user name, a conninfo such as service=NAME) are refused, a
usage error; use --profile and --database. The password reaches psql in a
password file of its own (removed when psql ends) that names this server only:
a \connect to another server inside psql gets no password. What psql does
after connecting is psql's: \connect as another role with a password the OS
user can read (~/.pgpass), \! (a shell command) and \setenv are not stopped,
so the reader role and read-only bind the session psql opens, not every
session it could open; and a reader can still PREPARE TRANSACTION (a lock
kept after psql ends, where max_prepared_transactions > 0), make temporary
tables, and change its own password. Behind a pooler that refuses or drops the
settings sent at connection, psql is not started read-only (run_sql.ts
applies them per transaction). Of the libpq variables in the
environment only PGOPTIONS (see above), PGTZ and PGDATESTYLE reach psql:
PGSERVICE, PGPASSFILE, PGSSLCERT and the rest would change where or as whom
it connects.
--write lifts it: psql connects as the profile's own user, may write, and
keeps the timeouts. That needs the same confirmation as run_sql.ts --write:
type YES on a terminal, or set DB_CONFIRM=YES without one.

When the profile has sslmode = false and the server demands SSL, a probe
connection finds that out before psql starts, and psql runs once, with SSL;
set DB_AUTO_UPDATE_SSLMODE=1 to save sslmode = true, otherwise the command that
would is printed. The exit status is psql's own (1 for an SQL error with -c, 3
for an error in a script run with ON_ERROR_STOP, 2 when the connection fails);
anything that stops psql from connecting here (a missing profile, an
unreachable server, psql not installed, no confirmation) also exits 2.

Options:
  --write           allow writes (see above)
  --help            this text, when it comes first (-h alone too; otherwise
                    -h is psql's host option)
  all of psql's     see psql --help

Example:
  ./scripts/psql_with_ssl_fallback.ts -v ON_ERROR_STOP=1 -c "select 1;"
  DB_CONFIRM=YES ./scripts/psql_with_ssl_fallback.ts --write -f fix.sql`;

await runScript("psql_with_ssl_fallback", async () => {
  const { values, positionals } = parseCli({
    name: "psql_with_ssl_fallback",
    usage,
    passthrough: true,
    options: { write: { type: "boolean" } },
  }, Deno.args);
  const write = values.write === true;
  const chooser = psqlConnectionArgument(positionals);
  if (chooser !== undefined) {
    throw new UsageError(
      `psql's "${chooser.slice(0, 80)}" would choose another connection than the profile's; ` +
        `connect with --profile NAME or --database NAME (before psql's arguments) instead`,
    );
  }
  let psql: string, tools, sslmode, target;
  try {
    // Read-only is a diagnostic session: the reader role when there is one, read-only, timeouts.
    target = await resolveTarget({
      session: write ? "explain" : "diagnostic",
      userSearchPath: true,
    });
    if (write) {
      await confirmAction(
        `Run psql with writes allowed on database "${target.database}" at ` +
          `${describeServer(target)} (${describeSource(target)}) as "${target.user}"?`,
      );
    }
    tools = await findClientTools(target);
    psql = toolPath(tools, "psql");
    // A probe connection decides the SSL fallback and shows whether the startup settings hold.
    const probe = await probeForTools(target);
    sslmode = probe.sslmode;
    if (!probe.startupSettingsHold) {
      const why = `the server at ${describeServer(target)} refuses or drops the settings sent ` +
        `at connection (a pooler such as PgBouncer in transaction mode?), so psql would run ` +
        `without them`;
      if (!write) {
        throw new SkillError(
          `${why}: without read-only and the timeouts; run psql on the server itself (a ` +
            `profile without the pooler), or use run_sql.ts, which gives each transaction them`,
          2,
        );
      }
      note(`note: ${why}: without the timeouts`);
    }
  } catch (error) {
    // Whatever stops psql from connecting ends as psql ends then: status 2.
    if (error instanceof SkillError && error.exitCode === 1) throw new SkillError(error.message, 2);
    throw error;
  }
  const env = toolEnvironment(target, tools, { sslmode });
  if (!write && !target.reader) {
    // The weaker guard, said where an agent reads it: nothing on the server holds psql to it.
    note(
      `note: psql runs read-only as "${target.user}", which the profile's own role may ` +
        `undo (SET default_transaction_read_only = off); readonly_role.ts creates a reader ` +
        `role the server holds to it`,
    );
  }
  const code = await withPrivatePassfile(
    env,
    target,
    (env) => runToolInteractive(psql, ["-X", ...positionals], env),
  );
  if (!write && (code === 1 || code === 3)) {
    // psql printed the error itself; this says what a refused write needs.
    note(
      "note: psql ran read-only; a statement refused with SQLSTATE 25006 (read-only " +
        "transaction) needs --write",
    );
  }
  return code;
});
