#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run=git
/**
 * Makes the profile's reader role, the role read-only sessions connect as, and
 * saves it in the profile; or checks an existing one; or gives it a new password.
 */
import { askYesNo, canAsk, confirmAction, confirmedInAdvance } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import { loadConfig, profileSettings, setReaderKeys } from "../lib/config/profiles_file.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { replaceableTarget } from "../lib/config/files.ts";
import {
  beyondReading,
  changeReader,
  checkRole,
  checkSessionRole,
  defaultReaderName,
  definerFunctions,
  parseRoleName,
  publicCreatePlaces,
  READER_SUFFIX,
} from "../lib/connection/reader_role.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { type ProgramRead, programReads, programReason } from "../lib/connection/program_reads.ts";
import { loadSql } from "../lib/sql/sql_files.ts";
import { type ConnectionTarget, describeServer, describeSource } from "../lib/connection/target.ts";
import { readerRoleName, resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: readonly_role.ts [--role NAME] [--reset-password] [--save] [--json]

Makes a reader role for the profile named by DB_PROFILE (default "local"): a
role that may read every table and see the server's statistics, and nothing
more. Read-only work (run_sql.ts without --write/--ddl, explain_analyze.ts of a
read, the diagnostic scripts) then connects as it, so the server itself refuses
what a read-only run must not do, even inside a function no parser can see
into; except in a SECURITY DEFINER function, which runs with its owner's
rights whoever calls it: the report lists those the reader may call
(security_definer, and a note on stderr), to revoke where they are not needed. --write, --ddl, migrations, dumps, restores, cancel and
terminate keep the profile's own user.

The role: LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION,
NOBYPASSRLS, a generated password; member of pg_read_all_stats and
pg_stat_scan_tables (what the diagnostic scripts read: it sees every
session's query text, so a password written into a query is visible to it);
USAGE on the existing schemas and SELECT on their tables, views and sequences
(those the profile's user may grant), and default privileges so that what the
profile's user creates later is readable too (what other roles create later
needs a GRANT of theirs).
Never SELECT on a foreign table whose options (its own, its server's or its
wrapper's) run a program on the server (file_fdw's program: the command runs
whenever the table is read, in a READ ONLY transaction too), nor on a view,
parent table or table with a policy that reads one (as the catalog shows):
the report lists them under left_out. The default privileges cannot leave out
a foreign table made later, so one made later with a program option becomes
readable (the report says so under later_foreign_tables): read-only runs
refuse reading it, and a check of the role refuses it until its SELECT is
revoked.
Not pg_read_all_data: it reads the system catalogs whole, pg_authid's password
hashes among them, with which a reader could log in as someone else. The
profile's user must be a superuser or have CREATEROLE (on PostgreSQL 16 and
later also ADMIN OPTION on those two). Not pg_monitor either: its
pg_read_all_settings shows the settings only superusers see (a standby's
primary_conninfo holds the replication password).

Everything happens in one transaction, after confirmation (type YES on a
terminal, or set DB_CONFIRM=YES): the statements are built by the server, the
password is sent only as a SCRAM-SHA-256 verifier (never in the server's log),
and readonly_user and readonly_password are written into [database.<profile>]
(comments and other keys kept, mode 0600) before COMMIT: when that fails,
nothing is made. Saving needs approval (asked on a terminal, or --save), since a
generated password kept nowhere is lost; it is never printed. Then the script
logs in as the reader to check it.

No reader is made, nor given a new password, while every role (PUBLIC) may
create objects somewhere in the database (schema public, on a database made
before PostgreSQL 15): a reader could put a function there that the profile's
user then runs as itself. The refusal names the REVOKE that ends it.

An existing role is checked, not changed: it must be able to log in, and must
not be a superuser, have REPLICATION, BYPASSRLS or CREATEROLE, or be a member
of pg_signal_backend, pg_read_server_files, pg_write_server_files,
pg_execute_server_program, pg_write_all_data, pg_maintain or pg_read_all_data,
nor able to create objects in a schema, nor able to read a relation whose
read runs a program (exit 1 naming which, and the REVOKE). No reader is made
while PUBLIC may read such a relation (the refusal names the REVOKE). --reset-password gives it a new password and saves it, as above.
With DB_URL (no profile to save into) only an existing role can be checked.

To remove a reader: drop owned by <role>; drop role <role>; (as the profile's
user), then remove readonly_user and readonly_password from the profile.

Options:
  --role NAME        the reader's name (default: the profile's readonly_user,
                     else the profile's user followed by "${READER_SUFFIX}")
  --reset-password   give the existing role a new password and save it
  --save             save the keys in the profile without asking (only with
                     the user's approval)
  --json             one JSON object: the role, what was done and saved
  --help             this text

Example:
  DB_CONFIRM=YES ./scripts/readonly_role.ts --save`;

/** What the default privileges cannot leave out, said in the report. */
const LATER_FOREIGN_TABLES = "readable through the default privileges, one with a program " +
  "option too (PostgreSQL's default privileges cannot leave them out): read-only runs refuse " +
  "reading it, and this script's check of the role then names the REVOKE";

/** How many SECURITY DEFINER functions the report names (the note says how many there are). */
const DEFINERS_LISTED = 20;

await runScript("readonly_role", async () => {
  const { values, format } = parseCli({
    name: "readonly_role",
    usage,
    formats: ["json"],
    options: {
      role: { type: "string" },
      "reset-password": { type: "boolean" },
      save: { type: "boolean" },
    },
  }, Deno.args);
  const typed = values.role === undefined ? undefined : parseRoleName(values.role);
  const reset = values["reset-password"] === true;
  const target = await resolveTarget();
  const profile = target.source === "toml" && target.profile && target.tomlPath
    ? { name: target.profile, path: target.tomlPath }
    : undefined;
  const named = profile
    ? readerRoleName(
      profileSettings(await loadConfig(profile.path), profile.name),
      `profile "${profile.name}"`,
    )
    : undefined;
  const role = typed ?? named ?? defaultName(target.user);
  if (role === target.user) {
    throw new UsageError(
      `The reader must be another role than the profile's user "${role}"; choose one with ` +
        `--role NAME`,
    );
  }
  const where = `database "${target.database}" at ${describeServer(target)}`;

  const outcome = await withSession(target, async (session) => {
    const existing = await checkRole(session, role);
    if (existing) {
      const beyond = beyondReading(existing);
      const unchanged = reset ? "its password was not changed" : "nothing was changed";
      if (beyond) {
        throw new SkillError(
          `Role "${role}" exists and ${beyond}, so it is no reader; ${unchanged}: choose ` +
            `another name with --role NAME`,
        );
      }
      if (!existing.login) {
        throw new SkillError(
          `Role "${role}" exists but may not log in (NOLOGIN), so it cannot be a reader; ` +
            `${unchanged}: choose another name with --role NAME`,
        );
      }
      // A role that may read a relation whose read runs a program (file_fdw's) runs programs on
      // the server, read-only or not: flagged whenever the grant was made.
      const programs = await programReads(session, { role });
      if (programs.length) {
        throw new SkillError(
          `Role "${role}" exists and may read ${programList(programs)}, so it is no reader ` +
            `(a read-only transaction does not stop the program); ${unchanged}: with the ` +
            `user's approval run run_sql.ts --ddl "${revokes(programs)}", then run this again`,
        );
      }
      if (!reset) return { status: "exists" as const };
    } else if (reset) {
      throw new SkillError(
        `Role "${role}" does not exist on ${where}; run without --reset-password to create it`,
      );
    }
    if (!profile) {
      throw new SkillError(
        `${describeSource(target)} is a one-off connection with no profile to keep the ` +
          `generated password in, so nothing was done; save a profile (bootstrap_profile.ts), ` +
          `then run this with DB_PROFILE`,
      );
    }
    // Asked before anything is made, so that a refusal leaves nothing behind.
    await replaceableTarget(profile.path);
    if (values.save !== true && !canAsk()) {
      const confirmed = confirmedInAdvance();
      throw new SkillError(
        `Saving readonly_user and readonly_password in profile "${profile.name}" needs ` +
          `approval, and the generated password is kept nowhere else; nothing was done: add ` +
          `--save${confirmed ? "" : " and set DB_CONFIRM=YES"} once the user agreed, or run it ` +
          `on a terminal`,
      );
    }
    const open = await publicCreatePlaces(session);
    if (open.length) {
      throw new SkillError(
        `Every role (PUBLIC) may create objects in ${
          open.map((o) => o.place).join(", ")
        } of ${where}, so a reader ` +
          `could put a function there that the profile's user then runs as itself; nothing was ` +
          `done: with the user's approval take that from PUBLIC first (PostgreSQL 15's default), ` +
          `e.g. run_sql.ts --ddl "${open.map((o) => o.revoke).join("; ")}", then run this again`,
      );
    }
    const everyone = await programReads(session, { role: "public" });
    if (everyone.length) {
      throw new SkillError(
        `Every role (PUBLIC) may read ${programList(everyone)} on ${where}, so a reader could ` +
          `run that program; nothing was done: with the user's approval run run_sql.ts --ddl ` +
          `"${revokes(everyone)}", then run this again`,
      );
    }
    // Read before the change: the session may not outlive its COMMIT.
    const [prepared] = (await session.query(await loadSql("settings_named"), [[
      "max_prepared_transactions",
    ]])).rows;
    const action = existing ? "reset-password" as const : "create" as const;
    await confirmAction(
      action === "create"
        ? `Create role "${role}" (LOGIN, a generated password, member of pg_read_all_stats, with ` +
          `SELECT on the tables your user may grant) on ${where}?`
        : `Give role "${role}" a new generated password on ${where} (the old one stops working)?`,
    );
    const save = values.save === true ||
      await askYesNo(
        `Save readonly_user and readonly_password in profile "${profile.name}" of ` +
          `"${profile.path}"${named && named !== role ? ` (in place of "${named}")` : ""}?`,
        true,
      );
    if (!save) {
      throw new SkillError(
        `Not saved, so nothing was done: a generated password kept nowhere would be lost; ` +
          `run it again and agree to save it`,
      );
    }
    const change = await changeReader({
      session,
      target,
      role,
      action,
      keep: async (password) => {
        const before = await setReaderKeys(profile.path, profile.name, {
          readonly_user: role,
          readonly_password: password,
        });
        return async () => void await setReaderKeys(profile.path, profile.name, before);
      },
    });
    return {
      status: action === "create" ? "created" as const : "password reset" as const,
      change,
      preparable: Number(prepared?.setting ?? 0),
    };
  });

  if (outcome.status !== "exists" && (outcome.preparable ?? 0) > 0) {
    note(
      `note: max_prepared_transactions is ${outcome.preparable} on ${describeServer(target)}, ` +
        `so a reader may PREPARE TRANSACTION and its locks outlive its session (and a restart) ` +
        `until someone runs ROLLBACK PREPARED; set it to 0 where nothing uses two-phase commit`,
    );
  }
  const inProfile = profile !== undefined && (outcome.status !== "exists" || named === role);
  if (inProfile) await checkLogin(role, outcome.status);
  else if (profile) {
    note(
      `note: profile "${profile.name}" does not name role "${role}"; to use it for read-only ` +
        `work, run this again with --reset-password (a new password, saved in the profile)`,
    );
  }
  const change = "change" in outcome ? outcome.change : undefined;
  // What the reader may call that runs with another role's rights: its privileges do not bound it.
  const definers = await withSession(
    target,
    (session) => definerFunctions(session, { role, limit: DEFINERS_LISTED }),
  );
  if (definers.total) {
    note(
      `note: role "${role}" may call ${definers.total} SECURITY DEFINER function` +
        `${definers.total === 1 ? "" : "s"}, which run with their owners' rights, not the ` +
        `reader's (e.g. ${definers.functions[0]}): a read-only run that calls one is bounded by ` +
        `what that function does; where the application does not need them, with the user's ` +
        `approval, REVOKE EXECUTE ON FUNCTION ... FROM PUBLIC (security_definer lists them)`,
    );
  }
  printOutput(renderRecord({
    role,
    status: outcome.status,
    database: target.database,
    server: describeServer(target),
    ...(change?.granted.length ? { granted: change.granted } : {}),
    ...(change?.schemas.length ? { schemas: change.schemas } : {}),
    ...(change?.leftOut.length ? { left_out: change.leftOut } : {}),
    ...(change?.defaultPrivilegesOf ? { default_privileges_of: change.defaultPrivilegesOf } : {}),
    ...(change?.defaultPrivilegesOf ? { later_foreign_tables: LATER_FOREIGN_TABLES } : {}),
    ...(definers.total
      ? {
        security_definer: definers.total > definers.functions.length
          ? [...definers.functions, `... ${definers.total - definers.functions.length} more`]
          : definers.functions,
      }
      : {}),
    ...(profile ? { profile: profile.name, path: profile.path } : {}),
    ...(outcome.status !== "exists" ? { saved: ["readonly_user", "readonly_password"] } : {}),
    ...(profile ? { profile_names_it: inProfile } : {}),
    ...(inProfile ? { login_checked: true } : {}),
  }, format));
});

/** `public.ft (is a foreign table whose option program runs ...)`, for each relation once. */
function programList(reads: ProgramRead[]): string {
  const seen = new Map<string, ProgramRead>();
  for (const read of reads) if (!seen.has(read.relation)) seen.set(read.relation, read);
  return [...seen.values()].map((read) => `${read.relation} (which ${programReason(read)})`)
    .join(", ");
}

/** The REVOKEs, built by the server, that take the reads away; each once. */
function revokes(reads: ProgramRead[]): string {
  const found = [...new Set(reads.map((read) => read.revoke).filter(Boolean))];
  return found.length ? found.join("; ") : "revoke select on table <each> from <whoever holds it>";
}

/** The default name, `<profile user>_reader`, when it is a name this script makes. */
function defaultName(profileUser: string): string {
  try {
    return parseRoleName(defaultReaderName(profileUser));
  } catch {
    throw new UsageError(
      `The profile's user "${profileUser}" gives no usable default reader name; choose one ` +
        `with --role NAME`,
    );
  }
}

/**
 * Logs in as the profile's reader, as read-only work will, and checks that
 * the session is that role and can do no more than read.
 */
async function checkLogin(role: string, status: string): Promise<void> {
  let reader: ConnectionTarget;
  try {
    reader = await resolveTarget({ session: "diagnostic" });
  } catch (error) {
    throw new SkillError(
      `Role "${role}" is ${status}, but the profile no longer resolves: ${
        (error as Error).message
      }`,
    );
  }
  const done = status === "exists" ? "exists and the profile names it" : `was ${status} and saved`;
  const check = await withSession(reader, (session) => checkSessionRole(session)).catch(
    (error) => {
      throw new SkillError(
        `Role "${role}" ${done}, but logging in as it failed: ${(error as Error).message}` +
          (status === "exists" ? "; run with --reset-password to give it a new password" : ""),
      );
    },
  );
  const beyond = beyondReading(check);
  if (check.role !== role || beyond) {
    throw new SkillError(
      `Role "${role}" ${done}, but the reader's session runs as "${check.role}"` +
        (beyond ? `, which ${beyond}` : "") + `; check readonly_user in ${describeSource(reader)}`,
    );
  }
}
