/**
 * Controlling server sessions (cancel a query, terminate a session), shared by
 * cancel_backend.ts, terminate_backend.ts and query_action.ts: which PIDs may
 * be signalled, sending the signal, and reporting truthfully what happened.
 *
 * @module
 */
import { escapeControl } from "../core/text.ts";
import { type OutputFormat } from "../output/render.ts";
import { SkillError, UsageError } from "../core/errors.ts";
import { withSession } from "../connection/script_sessions.ts";
import { printOutput, renderRows } from "../output/render.ts";
import type { ConnectionTarget } from "../connection/target.ts";
import { isPermissionDenied, type PgSession, type QueryResult } from "../connection/session.ts";
import { likePattern } from "../sql/like_pattern.ts";
import { loadSql } from "../sql/sql_files.ts";

/** What to do to a session. */
export type SignalAction = "cancel" | "terminate";

/** A session as pg_stat_activity shows it. */
export interface BackendInfo {
  /** The server process id of the session. */
  pid: number;
  /** The role it is logged in as; null for a process that has none. */
  user: string | null;
  /** The database it is connected to; null for a process connected to none. */
  database: string | null;
  /** `client backend`, `checkpointer` ...; null when the caller may not see it. */
  backend_type: string | null;
  /** `active`, `idle`, `idle in transaction` ...; null when the server shows none. */
  state: string | null;
  /** Its current or last query, whitespace collapsed, cut to 200 characters; "" for none. */
  query: string;
  /** True for the caller's own session. */
  is_self: boolean;
  /** When the session started, to the microsecond: a PID reused later has another. */
  backend_start: string | null;
  /** When its current or last query started: another query has another. */
  query_start: string | null;
}

/** What happened to one PID. */
export interface SignalOutcome {
  /** The PID of the session. */
  pid: number;
  /** What was sent, or tried. */
  action: SignalAction;
  /**
   * signalled; terminated (seen gone afterwards); already gone; not permitted;
   * moved on (its PID is another session's now, or it runs another query than
   * the one confirmed: nothing was sent); refused (the server sent no signal,
   * though the process is there: see `reason`).
   */
  result: "signalled" | "terminated" | "already gone" | "not permitted" | "moved on" | "refused";
  /** The server's own words when it refused or did not permit it, else null. */
  reason: string | null;
  /** The session's role, as {@linkcode BackendInfo.user} showed it before the signal. */
  user: string | null;
  /** The session's database, as {@linkcode BackendInfo.database} showed it before the signal. */
  database: string | null;
  /** The session's query, as {@linkcode BackendInfo.query} showed it before the signal. */
  query: string;
}

/** Parses a PID argument: a positive integer, else a usage error. */
export function parsePid(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 2 ** 31 - 1) {
    throw new UsageError(`PID must be a positive integer, got "${text}"`);
  }
  return Number(text);
}

/** The session with this PID, or undefined when the server has none. */
export async function findBackend(
  session: PgSession,
  pid: number,
): Promise<BackendInfo | undefined> {
  const { rows } = await session.query(await loadSql("backend_session"), [pid]);
  return rows[0] as unknown as BackendInfo | undefined;
}

/**
 * The sessions to signal, checked before anything is sent: each PID must be a
 * session of this server and not the caller's own. One bad PID refuses all.
 */
export async function checkTargets(session: PgSession, pids: number[]): Promise<BackendInfo[]> {
  const targets: BackendInfo[] = [];
  for (const pid of pids) {
    const info = await findBackend(session, pid);
    if (!info) {
      throw new SkillError(
        `No session with PID ${pid} on this server; nothing was signalled ` +
          `(list sessions with activity_overview.ts)`,
      );
    }
    if (info.is_self) {
      throw new SkillError(`PID ${pid} is this script's own session; nothing was signalled`);
    }
    // Without the privilege to see it (pg_read_all_stats) the type is null: the server decides.
    if (info.backend_type !== null && info.backend_type !== "client backend") {
      throw new SkillError(
        `PID ${pid} is the server's ${escapeControl(info.backend_type)}, not a client session; ` +
          `only client sessions can be cancelled or terminated, nothing was signalled`,
      );
    }
    targets.push(info);
  }
  return targets;
}

/** A session whose running query matched, as listed: what the user chooses from. */
export interface MatchingSession {
  /** The server process id of the session. */
  pid: number;
  /** When the session started, as listed. */
  backend_start: string | null;
  /** When the query listed started. */
  query_start: string | null;
  /** The query as listed (whitespace collapsed, cut to 300 characters). */
  query: string;
}

/**
 * The other sessions whose running query holds `text` (`*` and `?` as
 * wildcards, matched anywhere in the query), of `user` when given, up to
 * `limit`: the rows to show (with the total), and each session as listed.
 */
export async function sessionsRunning(
  session: PgSession,
  options: { text: string; user?: string; limit: number },
): Promise<{ shown: QueryResult; sessions: Map<number, MatchingSession> }> {
  const result = await session.query(await loadSql("query_action_matches"), [
    likePattern(options.text, { match: "anywhere" }),
    options.user ?? null,
    options.limit,
  ]);
  const sessions = new Map(result.rows.map((r) => [r.pid as number, {
    pid: r.pid as number,
    backend_start: r.backend_start as string | null,
    query_start: r.query_start as string | null,
    query: String(r.query ?? ""),
  }]));
  const hidden = new Set(["backend_start", "query_start"]);
  const shown: QueryResult = {
    ...result,
    columns: result.columns.filter((c) => !hidden.has(c.name)),
    rows: result.rows.map(({ backend_start: _b, query_start: _q, ...row }) => row),
  };
  return { shown, sessions };
}

/**
 * The sessions `pids` names, checked as {@linkcode checkTargets} does and
 * each among `matching` (the sessions whose query matched `text`): one that
 * is not refuses all, before anything is sent. Each keeps the session and
 * query start times of the list, so that a session that moved on to another
 * query since it was listed is not signalled ({@linkcode signalBackends}).
 */
export async function checkChosen(
  session: PgSession,
  options: { pids: number[]; matching: Map<number, MatchingSession>; text: string },
): Promise<BackendInfo[]> {
  const stranger = options.pids.find((pid) => !options.matching.has(pid));
  if (stranger !== undefined) {
    await checkTargets(session, [stranger]); // says "no such session" or "own session" first
    throw new SkillError(
      `PID ${stranger} is not among the sessions whose query matches "${options.text}"; ` +
        `nothing was signalled`,
    );
  }
  const targets = await checkTargets(session, [...new Set(options.pids)]);
  return targets.map((target) => {
    const listed = options.matching.get(target.pid)!;
    return {
      ...target,
      backend_start: listed.backend_start,
      query_start: listed.query_start,
      query: listed.query,
    };
  });
}

/**
 * Sends `action` to each session, if it is still the one confirmed (the same
 * session, not a later one given its PID; with `sameQuery`, still running the
 * query shown: checked in the statement that signals), and reports
 * truthfully: a refused signal is "not permitted", a session gone before the
 * signal is "already gone", one that changed is "moved on", a terminated
 * session seen gone within a few seconds is "terminated".
 */
export async function signalBackends(
  session: PgSession,
  targets: BackendInfo[],
  options: { action: SignalAction; sameQuery: boolean },
): Promise<SignalOutcome[]> {
  const { action, sameQuery } = options;
  const sql = await loadSql("signal_backend");
  const outcomes: SignalOutcome[] = [];
  for (const target of targets) {
    const base = {
      pid: target.pid,
      action,
      user: target.user,
      database: target.database,
      query: target.query,
    };
    let result: SignalOutcome["result"];
    let reason: string | undefined;
    const noticesBefore = session.notices.length;
    try {
      const { rows } = await session.query(sql, [
        target.pid,
        action,
        target.backend_start,
        sameQuery ? target.query_start : null,
      ]);
      const now = rows.length ? undefined : await findBackend(session, target.pid);
      if (rows[0]?.signalled) {
        result = "signalled";
      } else if (!rows.length && !now) {
        result = "already gone";
      } else if (!rows.length) {
        result = "moved on";
        reason = now!.backend_start !== target.backend_start
          ? "the PID belongs to another session now; nothing was sent"
          : "it runs another query than the one confirmed; nothing was sent";
      } else {
        // The process is there and got no signal: say what the server said.
        result = "refused";
        reason = session.notices.slice(noticesBefore).map((n) => n.message).join("; ") ||
          "the server sent no signal";
      }
    } catch (error) {
      if (isPermissionDenied(error)) {
        result = "not permitted";
        reason = (error as Error).message;
      } else throw error;
    }
    if (result === "signalled" && action === "terminate" && await gone(session, target.pid)) {
      result = "terminated";
    }
    outcomes.push({ ...base, result, reason: reason ?? null });
  }
  return outcomes;
}

async function gone(session: PgSession, pid: number): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    if (!(await findBackend(session, pid))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** One line saying what is about to be done to a session, for the confirmation. */
export function describeTarget(action: SignalAction, target: BackendInfo): string {
  const what = action === "cancel" ? "Cancel the query of" : "Terminate";
  const query = target.query.length > 80 ? `${target.query.slice(0, 77)}...` : target.query;
  return `${what} session ${target.pid} (${target.user ?? "?"} on ${target.database ?? "?"}, ` +
    `${target.state ?? target.backend_type ?? "?"}: ${query})?`;
}

/**
 * Cancels or terminates one session: checks the PID, has `confirm` asked (with
 * the line naming the session; it throws to refuse), signals, and returns the
 * outcome.
 */
export async function signalOne(
  target: ConnectionTarget,
  { pid, action, confirm }: {
    pid: number;
    action: SignalAction;
    confirm: (question: string) => Promise<void>;
  },
): Promise<SignalOutcome[]> {
  return await withSession(target, async (session) => {
    const targets = await checkTargets(session, [pid]);
    await confirm(describeTarget(action, targets[0]));
    // Cancelling is about the query the user saw; terminating, about the session.
    return await signalBackends(session, targets, { action, sameQuery: action === "cancel" });
  });
}

/** Prints the outcomes and returns the exit status: 0 when every session was signalled. */
export function reportOutcomes(outcomes: SignalOutcome[], format: OutputFormat): number {
  const columns = ["pid", "action", "result", "reason", "user", "database", "query"];
  const rows = outcomes.map((o) =>
    Object.fromEntries(columns.map((c) => [c, o[c as keyof SignalOutcome]]))
  );
  printOutput(renderRows({ columns, rows }, format));
  return outcomes.every((o) => o.result === "signalled" || o.result === "terminated") ? 0 : 1;
}
