/**
 * The reader role: a role that may read every table and the server's
 * statistics and change nothing, which read-only sessions connect as (see
 * `resolve.ts`), so that the server refuses what no parser can see (a
 * function that terminates a session, writes a file or runs a program).
 *
 * What a role can do beyond reading, checked in the catalog; making a reader
 * or giving it a new password in one transaction, the password sent as a
 * SCRAM-SHA-256 verifier computed here (as psql's `\password` does), so the
 * plain password never reaches the server or its log; and the one line that
 * warns when a read-only run connects as a role that can do more.
 *
 * @module
 */
import { SkillError, UsageError } from "../core/errors.ts";
import { CommitLostError, commitTransaction } from "./transactions.ts";
import type { ConnectionTarget } from "./target.ts";
import { PgServerError, type PgSession } from "./session.ts";
import { loadSql } from "../sql/sql_files.ts";
import { programReads, programReason } from "./program_reads.ts";

/** What a default reader's name adds to the profile's user: `app` -> `app_reader`. */
export const READER_SUFFIX = "_reader";

/** The longest role name PostgreSQL keeps (NAMEDATALEN - 1 bytes). */
const MAX_ROLE_BYTES = 63;

/**
 * A role name for a reader as typed (`--role`): letters, digits and
 * underscores, not starting with a digit, at most 63 bytes, and not `pg_...`
 * (PostgreSQL keeps those for its own roles). Anything else is a usage error
 * naming `what`. The name is still quoted by the server wherever it is used.
 */
export function parseRoleName(text: string, what = "--role"): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text) || text.length > MAX_ROLE_BYTES) {
    throw new UsageError(
      `${what} "${text}" is not a role name this script makes; use letters, digits and ` +
        `underscores, not starting with a digit, at most ${MAX_ROLE_BYTES} characters`,
    );
  }
  if (text.startsWith("pg_")) {
    throw new UsageError(
      `${what} "${text}" starts with "pg_", which PostgreSQL keeps for its own roles; ` +
        `choose another name`,
    );
  }
  return text;
}

/** The reader's name when none is given: the profile's user and {@linkcode READER_SUFFIX}. */
export function defaultReaderName(profileUser: string): string {
  return profileUser.slice(0, MAX_ROLE_BYTES - READER_SUFFIX.length) + READER_SUFFIX;
}

/** What the catalog says a role may do beyond reading. */
export interface RoleCheck {
  /** The role's name. */
  role: string;
  /** It may log in (LOGIN). */
  login: boolean;
  /** Those of SUPERUSER, REPLICATION, BYPASSRLS, CREATEROLE it has. */
  attributes: string[];
  /**
   * The predefined roles it is a member of, directly or through other roles,
   * that act beyond reading: pg_signal_backend, pg_read_server_files,
   * pg_write_server_files, pg_execute_server_program, pg_write_all_data,
   * pg_maintain, and pg_read_all_data (it reads pg_authid's password hashes).
   */
  memberOf: string[];
  /**
   * Where it may create objects (schemas, itself or through PUBLIC, and "the
   * database"): a function it puts on another role's search_path runs as that role.
   */
  createsIn: string[];
}

/** The role named `role` as {@linkcode RoleCheck}, or undefined when it does not exist. */
export async function checkRole(session: PgSession, role: string): Promise<RoleCheck | undefined> {
  return await roleCheck(session, role);
}

/**
 * What the role an open session runs as (its current_user) may do beyond
 * reading: the check a read-only run makes before trusting the server to
 * refuse for it. Pass the result to {@linkcode readOnlyRoleWarning}.
 */
export async function checkSessionRole(session: PgSession): Promise<RoleCheck> {
  const check = await roleCheck(session, null);
  if (!check) throw new SkillError("The session's own role is missing from pg_roles");
  return check;
}

async function roleCheck(session: PgSession, role: string | null): Promise<RoleCheck | undefined> {
  const { rows } = await session.query(await loadSql("reader_role_powers"), [role]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    role: String(row.role),
    login: row.login === true,
    attributes: (row.attributes as string[]).map(String),
    memberOf: (row.member_of as string[]).map(String),
    createsIn: (row.creates_in as string[]).map(String),
  };
}

/**
 * Where every role (PUBLIC) may create objects (schemas, as public on a
 * database from before PostgreSQL 15, and "the database"), each with the
 * REVOKE that ends it, quoted by the server. While there is any, no role is
 * only a reader.
 */
export async function publicCreatePlaces(
  session: PgSession,
): Promise<{ place: string; revoke: string }[]> {
  const { rows } = await session.query(await loadSql("public_create_schemas"));
  return rows.map((row) => ({ place: String(row.place), revoke: String(row.revoke) }));
}

/**
 * What a role can do beyond reading, as words that follow its name ("is a
 * superuser", "has REPLICATION and is a member of pg_signal_backend"), or
 * undefined for a reader.
 */
export function beyondReading(check: RoleCheck): string | undefined {
  if (check.attributes.includes("SUPERUSER")) return "is a superuser";
  const parts: string[] = [];
  if (check.attributes.length) parts.push(`has ${listed(check.attributes)}`);
  if (check.memberOf.length) parts.push(`is a member of ${listed(check.memberOf)}`);
  if (check.createsIn.length) {
    parts.push(`may create objects in ${listed(check.createsIn.map(place))}`);
  }
  return parts.length ? parts.join(" and ") : undefined;
}

function place(name: string): string {
  return name === "the database" ? name : `schema ${name}`;
}

function listed(words: string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/**
 * The one line (for stderr) a read-only run prints when its role can do more
 * than read, naming what and what to do: the profile's reader role, or the
 * role a profile without one (or a DB_URL) connects as. Undefined when the
 * role is a reader.
 */
export function readOnlyRoleWarning(
  check: RoleCheck,
  target: ConnectionTarget,
): string | undefined {
  const beyond = beyondReading(check);
  if (beyond === undefined) return undefined;
  if (target.reader) {
    return `warning: the reader role "${check.role}" (${target.reader.key} of profile ` +
      `"${target.profile}") ${beyond}, so the server will not refuse everything a read-only ` +
      `run must not do; revoke that, or make another reader with readonly_role.ts --role NAME`;
  }
  return `warning: this read-only run connects as "${check.role}", which ${beyond}: the ` +
    `server will not refuse what the parser cannot see (inside functions, views, policies); ` +
    `make a reader role for read-only work with readonly_role.ts`;
}

/** A new password: 24 random bytes, base64url (32 characters, safe in URLs and TOML). */
export function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return base64(bytes).replaceAll("+", "-").replaceAll("/", "_");
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** PostgreSQL's default SCRAM iteration count (scram_iterations). */
const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password`
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802 and
 * 7677), computed as libpq's PQencryptPasswordConn does: the password
 * SASLprep-ed (used as it is when SASLprep refuses it), a random 16-byte
 * salt, PBKDF2-HMAC-SHA-256. Given to CREATE/ALTER ROLE ... PASSWORD, the
 * server stores it as it is and never sees the password.
 */
export async function scramVerifier(
  password: string,
  options: { iterations?: number; salt?: Uint8Array } = {},
): Promise<string> {
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const encoder = new TextEncoder();
  const material = await crypto.subtle.importKey(
    "raw",
    encoder.encode(await prepared(password)),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const salted = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    material,
    256,
  );
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    salted,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const clientKey = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode("Client Key"));
  const storedKey = await crypto.subtle.digest("SHA-256", clientKey);
  const serverKey = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode("Server Key"));
  return `SCRAM-SHA-256$${iterations}:${base64(salt)}$` +
    `${base64(new Uint8Array(storedKey))}:${base64(new Uint8Array(serverKey))}`;
}

/** The password as SCRAM hashes it: ASCII as it is, else SASLprep-ed when SASLprep takes it. */
async function prepared(password: string): Promise<string> {
  if (![...password].some((char) => char.charCodeAt(0) > 0x7f)) return password;
  const { default: saslprep } = await import("@mongodb-js/saslprep");
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}

/** Options for {@linkcode changeReader}. */
export interface ReaderChangeOptions {
  /** A session as the profile's own user, outside a transaction. */
  session: PgSession;
  /** Where the session goes: a COMMIT whose answer is lost is looked up there. */
  target: ConnectionTarget;
  /** The role's name (see {@linkcode parseRoleName}). */
  role: string;
  /** Make the role and its grants, or only give an existing role a new password. */
  action: "create" | "reset-password";
  /**
   * Keeps the new password where it will be found (the profile). Called
   * inside the transaction, after every statement succeeded and before
   * COMMIT, so that when it fails nothing is made; returns how to take it
   * back, used when COMMIT fails.
   */
  keep(password: string): Promise<() => Promise<void>>;
}

/** What {@linkcode changeReader} did. */
export interface ReaderChange {
  /** The predefined roles granted (pg_read_all_stats, pg_stat_scan_tables; none for a new password). */
  granted: string[];
  /** The schemas whose tables, views and sequences it may read (SELECT was granted). */
  schemas: string[];
  /** The role whose future tables, sequences and schemas it may read (default privileges). */
  defaultPrivilegesOf?: string;
  /**
   * The relations the profile's user could grant but that were left out,
   * because reading them runs a program on the server, each with why
   * (`public.ft: is a foreign table whose option program runs ...`).
   */
  leftOut: string[];
}

/**
 * Makes a reader role, or gives one a new password, in one transaction: a
 * generated password, sent only as its SCRAM verifier; the statements built
 * by the server (`sql/reader_create_statements.sql`,
 * `sql/reader_password_statement.sql`) and each run once; the password kept
 * (`keep`) before COMMIT. A failure before COMMIT rolls everything back and
 * says nothing was made; a COMMIT whose answer is lost is looked up on the
 * server (`commitTransaction`): aborted takes the saved keys back, unknown
 * says so and how to find out. Prints nothing.
 */
export async function changeReader(options: ReaderChangeOptions): Promise<ReaderChange> {
  const { session, role, action } = options;
  const password = generatePassword();
  const verifier = await scramVerifier(password);
  const change: ReaderChange = { granted: [], schemas: [], leftOut: [] };
  const nothing = action === "create" ? "nothing was made" : "the password was not changed";
  let undo: () => Promise<void>;
  await session.transaction("begin");
  try {
    // The statements are built and run as the profile's role: with pg_catalog first, a
    // function someone put in public is not what format() or unnest() call.
    await session.query(await loadSql("pin_search_path"));
    if (action === "create") {
      // A foreign table whose read runs a program (file_fdw's) is never the reader's to read:
      // a READ ONLY transaction does not stop the program.
      const programs = await programReads(session);
      for (const read of programs) {
        const line = `${read.relation}: ${programReason(read)}`;
        if (read.grantable && !change.leftOut.some((l) => l.startsWith(`${read.relation}: `))) {
          change.leftOut.push(line);
        }
      }
      const { rows } = await session.query(await loadSql("reader_create_statements"), [
        role,
        verifier,
        programs.map((read) => read.oid),
      ]);
      for (const row of rows) {
        await session.query(String(row.statement));
        const detail = String(row.detail);
        if (row.step === 3) change.granted = detail.split(", ");
        if (row.step === 5) change.schemas.push(detail);
        if (row.step === 6) change.defaultPrivilegesOf = detail;
      }
    } else {
      const { rows } = await session.query(await loadSql("reader_password_statement"), [
        role,
        verifier,
      ]);
      await session.query(String(rows[0].statement));
    }
    undo = await options.keep(password);
  } catch (error) {
    await session.transaction("rollback").catch(() => {});
    throw notMade(error, { role, action, nothing });
  }
  try {
    await commitTransaction(session, options.target);
  } catch (error) {
    if (error instanceof CommitLostError && error.outcome === "unknown") {
      throw new SkillError(
        `${error.message}; the new password stays saved, so if it committed, role "${role}" ` +
          `works with it: check with roles_overview.ts, and if the role ${
            action === "create" ? "is missing" : "refuses the password"
          }, run this again`,
      );
    }
    const putBack = await undo().then(
      () => "the profile's reader keys were put back as they were",
      () =>
        "the profile's reader keys could not be put back: set readonly_user and " +
        "readonly_password as they were by hand",
    );
    if (error instanceof CommitLostError) throw new SkillError(`${error.message}; ${putBack}`);
    const failed = notMade(error, { role, action, nothing });
    throw failed instanceof SkillError ? new SkillError(`${failed.message}; ${putBack}`) : failed;
  }
  return change;
}

/** The one line for a failure before COMMIT: what failed, and that nothing was made. */
function notMade(
  error: unknown,
  context: { role: string; action: ReaderChangeOptions["action"]; nothing: string },
): unknown {
  const doing = context.action === "create"
    ? `create role "${context.role}"`
    : `set a new password for role "${context.role}"`;
  if (error instanceof PgServerError) {
    const fix = error.code === "42501"
      ? `; the profile's user must be a superuser, or have CREATEROLE (on PostgreSQL 16 and ` +
        `later also ADMIN OPTION on the roles granted and on the reader)`
      : error.code === "42710"
      ? `; it exists now: run this again to check it`
      : "";
    return new SkillError(
      `Could not ${doing}: ${error.message} (SQLSTATE ${error.code}); rolled back, ` +
        `${context.nothing}${fix}`,
    );
  }
  if (error instanceof SkillError) {
    return new SkillError(`${error.message}; rolled back, ${context.nothing}`, error.exitCode);
  }
  return error;
}

/** SECURITY DEFINER functions a role may call: their code runs with their owners' rights. */
export interface DefinerFunctions {
  /** The first of them, `schema.name(argument types) (owner)`, by signature. */
  functions: string[];
  /** How many there are in all. */
  total: number;
}

/**
 * The SECURITY DEFINER functions outside pg_catalog that `role` may execute
 * and does not own (at most `limit` named): what they do is bounded by their
 * owners' privileges, not the role's, so a reader role does not stop it.
 */
export async function definerFunctions(
  session: PgSession,
  options: { role: string; limit: number },
): Promise<DefinerFunctions> {
  const { rows } = await session.query(await loadSql("reader_security_definer"), [
    options.role,
    options.limit,
  ]);
  return {
    functions: rows.map((r) => `${r.function} (${r.owner})`),
    total: Number(rows[0]?.total ?? 0),
  };
}
