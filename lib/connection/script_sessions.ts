/**
 * A script's sessions: open one for the resolved target and persist a needed
 * SSL fallback as the profile allows, run the SQL of `sql/` (a report over
 * sessions sharing one snapshot), explain the server's errors in one line, and
 * always close. `connect.ts` decides how to connect and writes nothing; this
 * module is the caller that persists `sslmode`.
 *
 * @module
 */
import { type Environment, processEnvironment } from "../core/environment.ts";
import { note, shellQuote } from "../core/text.ts";
import { SkillError } from "../core/errors.ts";
import { updateTomlFile } from "../config/profiles_file.ts";
import { type OpenedSession, openSession, probeServer, type ServerProbe } from "./connect.ts";
import {
  ConnectionLostError,
  isPermissionDenied,
  NoAnswerError,
  PgServerError,
  type PgSession,
  type QueryOutcome,
  type QueryResult,
  type RowBatch,
} from "./session.ts";
import {
  type ConnectionTarget,
  describeReaderSession,
  describeServer,
  type SslMode,
} from "./target.ts";
import { loadSql } from "../sql/sql_files.ts";

/**
 * After a successful SSL retry on a TOML profile: with
 * `DB_AUTO_UPDATE_SSLMODE=1`, write `sslmode = true` into the profile;
 * otherwise print the exact command that would (on stderr).
 */
export async function rememberSslFallback(
  target: ConnectionTarget,
  env: Environment = processEnvironment(),
): Promise<void> {
  if (target.source !== "toml" || !target.tomlPath || !target.profile) return;
  if (env.DB_AUTO_UPDATE_SSLMODE === "1") {
    await updateTomlFile(target.tomlPath, ["database", target.profile], "sslmode", true);
    note(
      `note: the server demands SSL; saved sslmode = true for profile "${target.profile}" ` +
        `in "${target.tomlPath}"`,
    );
    return;
  }
  const script = new URL("../../scripts/update_sslmode.ts", import.meta.url).pathname;
  note(
    `note: the server demands SSL, so this connection used SSL; to remember it run: ` +
      `DB_PROJECT_ROOT=${shellQuote(target.projectRoot ?? "")} ${shellQuote(script)} ` +
      `${target.profile} true`,
  );
}

/**
 * Opens a session for a script and persists (or reports) a used SSL
 * fallback: the usual entry point. Close the session when done.
 */
export async function connect(target: ConnectionTarget): Promise<OpenedSession> {
  const opened = await openSession(target);
  if (opened.sslFallbackUsed) await rememberSslFallback(target);
  return opened;
}

/**
 * Probes the server before a client tool (psql, pg_dump ...) runs, and
 * persists a needed SSL fallback, so the tool runs exactly once with the
 * right sslmode.
 */
export async function probeForTools(target: ConnectionTarget): Promise<ServerProbe> {
  const probe = await probeServer(target);
  if (probe.sslFallbackUsed) await rememberSslFallback(target);
  return probe;
}

/**
 * The sslmode to hand a client tool: for a profile with the SSL fallback, a
 * probe connection (startup, authentication, one read of its settings) decides
 * it before the tool starts, so the tool runs exactly once.
 */
export async function sslModeForTools(target: ConnectionTarget): Promise<SslMode> {
  return target.sslFallback ? (await probeForTools(target)).sslmode : target.sslmode;
}

/**
 * Connects (as {@linkcode connect}), runs `work` with the session and always
 * closes it: the shape of every script that queries. A server error becomes
 * one line that names the SQLSTATE and what to change.
 */
export async function withSession<T>(
  target: ConnectionTarget,
  work: (session: PgSession, opened: OpenedSession) => Promise<T>,
): Promise<T> {
  const opened = await connect(target);
  const { session } = opened;
  try {
    return await work(session, opened);
  } catch (error) {
    throw explainQueryError(error, target);
  } finally {
    await session.close();
  }
}

/** Runs the query of `sql/<name>.sql` with bound `params` in a session of its own. */
export async function querySqlFile(
  target: ConnectionTarget,
  name: string,
  params: unknown[] = [],
): Promise<QueryResult> {
  const sql = await loadSql(name);
  return await withSession(target, (session) => session.query(sql, params));
}

/** One query of a report: the `sql/` file and its bound parameters. */
export interface SqlFileQuery {
  /** The file's name in `sql/`, without `.sql`, as {@linkcode loadSql} takes it. */
  name: string;
  /** The values bound to `$1`, `$2` ..., in order. */
  params: unknown[];
}

const SNAPSHOT_ID = /^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$/;

/**
 * Sessions that all read one snapshot, taking statements as they come: see
 * {@linkcode withSnapshotSessions}.
 */
export interface SnapshotSessions {
  /**
   * Runs the query of `sql/<name>.sql` with bound `params` on the next free
   * session; `prepared`: planned once per session (a query run batch after batch).
   */
  query(name: string, params: unknown[], options?: { prepared?: boolean }): Promise<QueryResult>;
  /**
   * Streams the rows of `sql/<name>.sql` a batch at a time from a cursor on
   * the next free session, which is held until the last batch is read.
   */
  batches(
    name: string,
    params: unknown[],
    options?: { batchRows?: number },
  ): AsyncGenerator<RowBatch, QueryOutcome>;
}

/**
 * Runs `work` with up to `sessions` sessions (default 2) that all read one
 * snapshot: a read-only REPEATABLE READ transaction exported by the first
 * and imported by the others, as pg_dump's parallel workers do. The first
 * starts at once; the others join while it works and take the next
 * statement waiting. When another session cannot be had (connection limit,
 * a pooler that cannot share snapshots), the first does all the work.
 * `setup`: `sql/` files every session runs first, within its transaction
 * (e.g. pin_search_path: unqualified names resolve in pg_catalog first, so
 * nothing in a user's schema is called). A server error becomes one line (as {@linkcode withSession});
 * every session is closed at the end.
 */
export async function withSnapshotSessions<T>(
  target: ConnectionTarget,
  options: { sessions?: number; setup?: string[] },
  work: (sessions: SnapshotSessions) => Promise<T>,
): Promise<T> {
  const texts = new Map<string, Promise<string>>();
  const text = (name: string) => {
    let loaded = texts.get(name);
    if (!loaded) texts.set(name, loaded = loadSql(name));
    return loaded;
  };
  const idle: PgSession[] = [];
  const waiting: ((session: PgSession) => void)[] = [];
  const release = (session: PgSession) => {
    const next = waiting.shift();
    if (next) next(session);
    else idle.push(session);
  };
  const acquire = () => idle.pop() ?? new Promise<PgSession>((resolve) => waiting.push(resolve));
  const pool: SnapshotSessions = {
    async query(name, params, queryOptions = {}) {
      const sql = await text(name);
      const session = await acquire();
      try {
        return await session.query(sql, params, {
          ...(queryOptions.prepared ? { prepared: `skill_${name}` } : {}),
        });
      } finally {
        release(session);
      }
    },
    async *batches(name, params, batchOptions = {}) {
      const sql = await text(name);
      const session = await acquire();
      try {
        return yield* session.batches(sql, params, batchOptions);
      } finally {
        release(session);
      }
    },
  };
  const { session: first, sslFallbackUsed } = await connect(target);
  const helpers: PgSession[] = [];
  let joining: Promise<void>[] = [];
  try {
    const prepare = async (session: PgSession) => {
      for (const name of options.setup ?? []) await session.query(await text(name));
    };
    await first.transaction("begin isolation level repeatable read read only");
    const snapshot = String((await first.query(await text("export_snapshot"))).rows[0].snapshot);
    await prepare(first);
    const sameWay: ConnectionTarget = sslFallbackUsed
      ? { ...target, sslmode: "require", sslFallback: false }
      : target;
    const joinIn = async () => {
      if (!SNAPSHOT_ID.test(snapshot)) return;
      let helper: PgSession;
      try {
        helper = (await openSession(sameWay)).session;
      } catch {
        return; // The first session carries on alone.
      }
      helpers.push(helper);
      try {
        await helper.transaction("begin isolation level repeatable read read only");
        // SET TRANSACTION SNAPSHOT takes no bind parameter; the id was checked above.
        await helper.query(`set transaction snapshot '${snapshot}'`);
        await prepare(helper);
      } catch {
        return;
      }
      release(helper);
    };
    joining = Array.from({ length: Math.max(0, (options.sessions ?? 2) - 1) }, joinIn);
    release(first);
    return await work(pool);
  } catch (error) {
    throw explainQueryError(error, target);
  } finally {
    await Promise.all(joining);
    await Promise.all([first, ...helpers].map((session) => session.close()));
  }
}

/**
 * Runs the queries of one report over up to `sessions` sessions at once
 * (a second session joins while the first is already working), all reading
 * one snapshot ({@linkcode withSnapshotSessions}). Each query runs exactly
 * once; results come back in the order asked.
 */
export async function querySqlFiles(
  target: ConnectionTarget,
  queries: SqlFileQuery[],
  options: { sessions?: number } = {},
): Promise<QueryResult[]> {
  const sessions = Math.max(1, Math.min(options.sessions ?? 2, queries.length));
  return await withSnapshotSessions(
    target,
    { sessions },
    (pool) => Promise.all(queries.map((q) => pool.query(q.name, q.params))),
  );
}

/**
 * One clear line for an error raised while a statement ran: the server's
 * message and SQLSTATE, with what to change for timeouts, read-only refusals
 * and ended sessions; a lost connection says so. Anything else is returned
 * as it is.
 */
export function explainQueryError(error: unknown, target: ConnectionTarget): unknown {
  if (error instanceof NoAnswerError) {
    return new SkillError(
      `No answer from ${describeServer(target)} for ${error.limitMs / 1000} s while a statement ` +
        `ran (its statement timeout, ${target.parameters.statement_timeout} ms, plus the connect ` +
        `timeout for the answer to arrive), so it was cancelled and the connection closed; ` +
        `the server or something between stopped answering, or a function lifted the ` +
        `statement timeout: check, then run it again`,
    );
  }
  if (error instanceof ConnectionLostError) {
    return new SkillError(
      `The connection to ${describeServer(target)} was lost while the statement ran ` +
        `(${error.message}); check that the server is up, then run it again`,
    );
  }
  if (!(error instanceof PgServerError)) return error;
  const limits = target.parameters;
  switch (error.code) {
    case "57014":
      return new SkillError(
        `The statement was cancelled (SQLSTATE 57014: ${error.message}); the statement timeout ` +
          `is ${limits.statement_timeout ?? "the server's"} ms, raise DB_STATEMENT_TIMEOUT_MS ` +
          `if it must run longer`,
      );
    case "55P03":
      return new SkillError(
        `Gave up waiting for a lock after the lock timeout (${
          limits.lock_timeout ?? "server setting"
        } ms): another session holds it (locks_overview.ts shows which, and since when); ` +
          `retry later or raise DB_LOCK_TIMEOUT_MS`,
      );
    case "25006":
      return new SkillError(
        `The server refused a write in this read-only session: ${error.message}`,
      );
    case "57P01":
    case "57P02":
    case "57P03":
    case "57P05":
    case "25P03":
      return new SkillError(
        `The server ended this session: ${error.message} (SQLSTATE ${error.code}); ` +
          `check why (pg_terminate_backend, a restart, a timeout), then run it again`,
      );
    default:
      return new SkillError(
        `The server reported an error: ${error.message} (SQLSTATE ${error.code})` +
          (error.hint ? `; hint: ${error.hint}` : (LOOKUP_HINTS[error.code] ?? "")) +
          (isPermissionDenied(error) && target.reader ? `; ${describeReaderSession(target)}` : ""),
      );
  }
}

/** What to run next for a name the server did not find (when it gives no hint of its own). */
const LOOKUP_HINTS: Record<string, string> = {
  "42P01": "; find_objects.ts NAME says in which schema a table or view of that name is",
  "42703": "; describe_table.ts TABLE lists its columns",
  "42883": "; find_objects.ts NAME --kind function lists the functions of that name",
};
