/**
 * Doctor's checks of connections and activity: the connection slots in use,
 * sessions idle in a transaction, long queries, prepared transactions left
 * waiting, and sessions blocked on a lock.
 *
 * @module
 */
import {
  type Check,
  grade,
  itemsOf,
  listed,
  NEEDS_STATS,
  plural,
  round,
  totalOf,
} from "./check.ts";

/** A session named by its pid, role and database: `pid 4242 (app@shop)`. */
function sessionName(row: Record<string, unknown>): string {
  return `pid ${row.pid} (${row.user ?? "?"}@${row.database ?? "?"})`;
}

/**
 * Sessions (or transactions) older than the warning threshold, graded by the
 * oldest; other users' need pg_read_all_stats unless `seesAll`. The SQL takes
 * the threshold in seconds and a row limit, lists the longest first and counts
 * them all (total).
 */
function sessionCheck(options: {
  name: string;
  threshold: string;
  about: string;
  sql: string;
  secondsColumn: string;
  one: string;
  many: string;
  action: string;
  seesAll?: boolean;
  see?: string;
  object: (row: Record<string, unknown>) => string;
}): Check {
  return {
    name: options.name,
    threshold: options.threshold,
    about: options.about,
    see: options.see,
    async run(context) {
      if (!context.readsAllStats && !options.seesAll) {
        return { status: "skipped", summary: NEEDS_STATS };
      }
      const { warning } = context.thresholds[options.threshold];
      const rows = await context.query(options.sql, [warning * 60, listed(context)]);
      if (rows.length === 0) {
        return { status: "ok", value: 0, summary: `no ${options.many} over ${warning} minutes` };
      }
      const total = totalOf(rows);
      const longest = Math.max(...rows.map((r) => Number(r[options.secondsColumn]))) / 60;
      return {
        status: grade(context, options.threshold, longest),
        value: round(longest, 2),
        summary: `${plural(total, options.one, options.many)}; the longest ${
          round(longest, 2)
        } minutes`,
        action: options.action,
        items: itemsOf(rows, context.limit),
        objects: rows.map(options.object),
        total,
      };
    },
  };
}

/** `connections`: client sessions against the slots ordinary roles may use. */
export const connections: Check = {
  name: "connections",
  threshold: "connections",
  about: "client sessions against max_connections less the reserved slots",
  see: "activity_overview.ts",
  async run(context) {
    const [row] = await context.query("doctor_connections");
    const inUse = Number(row.in_use);
    const usable = Number(row.usable);
    const pct = usable > 0 ? (100 * inUse) / usable : 100;
    return {
      status: grade(context, "connections", pct),
      value: round(pct),
      summary: `${inUse} of ${usable} usable slots (max_connections ${row.max_connections}, ` +
        `${row.reserved} reserved)`,
      action: "find idle or leaked sessions (activity_overview.ts); use a connection pooler " +
        "(PgBouncer) rather than raising max_connections",
      // The role and database pairs holding the most sessions, with their counts.
      objects: row.busiest as string[],
      total: Number(row.pairs),
    };
  },
};

/** `idle_in_transaction`: sessions idle inside an open transaction. */
export const idleInTransaction: Check = sessionCheck({
  name: "idle_in_transaction",
  threshold: "idle-transaction",
  about: "sessions idle inside an open transaction",
  sql: "doctor_idle_transactions",
  secondsColumn: "idle_seconds",
  one: "session idle in a transaction",
  many: "sessions idle in a transaction",
  action: "end the transaction in the application; terminate_backend.ts ends the session; " +
    "idle_in_transaction_session_timeout ends such sessions automatically",
  see: "activity_overview.ts",
  object: sessionName,
});

/** `long_queries`: queries running longer than the threshold. */
export const longQueries: Check = sessionCheck({
  name: "long_queries",
  threshold: "long-query",
  about: "queries running longer than the threshold",
  sql: "long_running_queries",
  secondsColumn: "running_seconds",
  one: "query running",
  many: "queries running",
  action: "look at the plan (explain_analyze.ts); cancel_backend.ts stops one; " +
    "statement_timeout bounds them",
  see: "long_running_queries.ts",
  object: sessionName,
});

/** `prepared_transactions`: two-phase transactions left waiting. */
export const preparedTransactions: Check = sessionCheck({
  name: "prepared_transactions",
  threshold: "idle-transaction",
  about: "prepared (two-phase) transactions left waiting",
  sql: "doctor_prepared_transactions",
  secondsColumn: "waiting_seconds",
  one: "prepared transaction waiting",
  many: "prepared transactions waiting",
  // pg_prepared_xacts shows every role's.
  seesAll: true,
  action: "have the transaction manager finish them, or COMMIT PREPARED / ROLLBACK " +
    "PREPARED 'gid' by hand once you know which is right: they survive restarts",
  object: (row) => `${row.gid} (${row.owner}@${row.database})`,
});

/** `blocked_sessions`: sessions waiting for a lock another holds. */
export const blockedSessions: Check = {
  name: "blocked_sessions",
  threshold: "blocked",
  about: "sessions waiting for a lock another session holds",
  see: "locks_overview.ts",
  async run(context) {
    if (!context.readsAllStats) return { status: "skipped", summary: NEEDS_STATS };
    const rows = await context.query("locks_overview");
    const waiting = new Map<unknown, number>();
    for (const r of rows) waiting.set(r.blocked_pid, Number(r.blocked_seconds ?? 0));
    if (waiting.size === 0) return { status: "ok", value: 0, summary: "no blocked sessions" };
    const longest = Math.max(...waiting.values());
    return {
      status: grade(context, "blocked", longest),
      value: round(longest),
      summary: `${plural(waiting.size, "session")} waiting for a lock; the longest ` +
        `${round(longest)} seconds`,
      action: "see the chain with locks_overview.ts; end the blocking transaction " +
        "(cancel_backend.ts / terminate_backend.ts) if it is stuck",
      items: rows.slice(0, context.limit),
      objects: [...waiting.keys()].map((pid) => {
        const by = rows.filter((r) => r.blocked_pid === pid).map((r) => r.blocking_pid);
        return `pid ${pid} (waits for pid ${[...new Set(by)].join(", pid ")})`;
      }),
    };
  },
};
