/**
 * The health checks of `doctor.ts`: what each measures (its SQL is its own
 * file in `sql/`), the thresholds that grade it (options with defaults), and
 * what to do about a finding. A check that cannot measure (an older server,
 * a missing privilege) is skipped with the reason, never reported ok.
 *
 * @module
 */
import { parseDecimal, UsageError } from "./cli.ts";
import { isPermissionDenied, PgServerError } from "./session.ts";

/** How a check came out. */
export type Status = "ok" | "warning" | "critical" | "skipped";

/** The order of severity, for `--fail-on` and for summaries. */
export const SEVERITY: Record<Status, number> = { skipped: 0, ok: 0, warning: 1, critical: 2 };

/** A threshold pair that grades a measured value. */
export interface ThresholdSpec {
  /** The option stem: `--<name>-warning`, `--<name>-critical`. */
  name: string;
  /** How values and thresholds are counted: `%`, `IDs`, `minutes`, `seconds`, `MiB`. */
  unit: string;
  /** Which way is worse. */
  worse: "above" | "below";
  /** The default warning threshold. */
  warning: number;
  /** The default critical threshold. */
  critical: number;
  /** Largest value accepted (percentages stop at 100). */
  max: number;
  /** What the threshold measures, for --help. */
  help: string;
}

/** Every threshold, with its default: the options of doctor.ts. */
export const THRESHOLDS: ThresholdSpec[] = [
  {
    name: "connections",
    unit: "%",
    worse: "above",
    warning: 70,
    critical: 90,
    max: 100,
    help: "connection slots in use (of those ordinary roles may use)",
  },
  {
    name: "cache-hit",
    unit: "%",
    worse: "below",
    warning: 99,
    critical: 95,
    max: 100,
    help: "table and index blocks found in shared buffers",
  },
  {
    name: "wraparound",
    unit: "IDs",
    worse: "above",
    warning: 1_000_000_000,
    critical: 1_500_000_000,
    max: 2_147_483_647,
    help: "age of the oldest transaction or multixact ID\n      (IDs wrap around at 2^31)",
  },
  {
    name: "sequence",
    unit: "%",
    worse: "above",
    warning: 75,
    critical: 90,
    max: 100,
    help: "share of a sequence's range, or of the column type it feeds, used",
  },
  {
    name: "idle-transaction",
    unit: "minutes",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 1_000_000,
    help: "a session idle inside an open transaction, or a prepared transaction waiting",
  },
  {
    name: "long-query",
    unit: "minutes",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 1_000_000,
    help: "a query running",
  },
  {
    name: "blocked",
    unit: "seconds",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 100_000_000,
    help: "a session waiting for a lock another session holds",
  },
  {
    name: "standby-lag",
    unit: "seconds",
    worse: "above",
    warning: 60,
    critical: 300,
    max: 100_000_000,
    help: "replay lag of a standby",
  },
  {
    name: "slot-wal",
    unit: "MiB",
    worse: "above",
    warning: 1024,
    critical: 10240,
    max: 100_000_000,
    help: "WAL a replication slot keeps from removal",
  },
  {
    name: "checkpoints-requested",
    unit: "%",
    worse: "above",
    warning: 50,
    critical: 90,
    max: 100,
    help: "share of checkpoints requested (WAL filled max_wal_size, or a CHECKPOINT)\n" +
      "      rather than timed, judged from 10 checkpoints on",
  },
];

/** Threshold values by name, after the options. */
export type Thresholds = Record<string, { warning: number; critical: number }>;

/**
 * The thresholds from `--<name>-warning` / `--<name>-critical` option values
 * (numbers, decimals allowed), defaults for the others; a warning must not be
 * past its critical.
 */
export function parseThresholds(values: Record<string, unknown>): Thresholds {
  const thresholds: Thresholds = {};
  for (const spec of THRESHOLDS) {
    const read = (level: "warning" | "critical") => {
      const option = `${spec.name}-${level}`;
      const text = values[option];
      return text === undefined ? spec[level] : parseDecimal(String(text), `--${option}`, spec);
    };
    const warning = read("warning");
    const critical = read("critical");
    const inOrder = spec.worse === "above" ? warning <= critical : warning >= critical;
    if (!inOrder) {
      throw new UsageError(
        `--${spec.name}-warning (${warning}) must be ${
          spec.worse === "above" ? "at most" : "at least"
        } --${spec.name}-critical (${critical})`,
      );
    }
    thresholds[spec.name] = { warning, critical };
  }
  return thresholds;
}

/** What one check found. */
export interface Finding {
  /** The check's name (`sequences`, `xid_wraparound` ...). */
  check: string;
  /** ok, warning, critical, or skipped with the reason in `summary`. */
  status: Status;
  /** The measured value (the worst one), in `unit`; null when nothing was measured. */
  value: number | null;
  /** The unit of `value` and `threshold`; `count` for a number of things; null without a value. */
  unit: string | null;
  /** The thresholds that graded it, in `unit`; null for a check with fixed grades. */
  threshold: { warning: number; critical: number } | null;
  /** The measurement in words. */
  summary: string;
  /** What to do; empty when all is well. */
  action: string;
  /** What the finding is about: the sessions, indexes, tables ... */
  items: Record<string, unknown>[];
}

/** A finding's value for a table: `95%`, `1,607 IDs`, `3` (a count); empty when unmeasured. */
export function valueText(finding: Finding): string {
  if (finding.value === null) return "";
  const value = finding.value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return finding.unit === "count"
    ? value
    : finding.unit === "%"
    ? `${value}%`
    : `${value} ${finding.unit}`;
}

/** A finding's thresholds for a table: `>= 70 / 90%` (warning / critical); empty when fixed. */
export function thresholdText(finding: Finding): string {
  if (!finding.threshold) return "";
  const name = CHECKS.find((c) => c.name === finding.check)?.threshold;
  const spec = THRESHOLDS.find((t) => t.name === name)!;
  const sign = spec.worse === "below" ? "<=" : ">=";
  const unit = spec.unit === "%" ? "%" : ` ${spec.unit}`;
  const n = (v: number) => v.toLocaleString("en-US");
  return `${sign} ${n(finding.threshold.warning)} / ${n(finding.threshold.critical)}${unit}`;
}

/** What a check may ask of the server. */
export interface CheckContext {
  /** Runs `sql/<name>.sql` with bound parameters and returns its rows. */
  query(name: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The server's `server_version_num` (e.g. 170002). */
  versionNum: number;
  /** True on a standby (the server is in recovery). */
  inRecovery: boolean;
  /** The role sees every session's state and the standbys' positions. */
  readsAllStats: boolean;
  /** The thresholds after the options. */
  thresholds: Thresholds;
  /** Items listed per check. */
  limit: number;
}

/** A check's result before the common fields (name, unit, thresholds) are filled in. */
export type Outcome =
  & Omit<Finding, "check" | "unit" | "threshold" | "items" | "action" | "value">
  & {
    value?: number | null;
    action?: string;
    items?: Record<string, unknown>[];
  };

/** One health check. */
export interface Check {
  /** The name `--check` takes and the report shows. */
  name: string;
  /** The threshold that grades it, if any. */
  threshold?: string;
  /** What it looks at, for --help. */
  about: string;
  /** The oldest server it can measure (`server_version_num`), when newer than 10. */
  minVersion?: number;
  /** Measures on the server and grades what it found. */
  run(context: CheckContext): Promise<Outcome>;
}

const NEEDS_STATS = "needs pg_read_all_stats (or pg_monitor, or superuser) to see other " +
  "users' sessions";

/** Rows a check counts before it says "or more". */
const COUNT_LIMIT = 10_000;

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** ok, warning or critical for `value` against threshold `name`. */
function grade(context: CheckContext, name: string, value: number): Status {
  const spec = THRESHOLDS.find((t) => t.name === name)!;
  const { warning, critical } = context.thresholds[name];
  const past = (limit: number) => spec.worse === "above" ? value >= limit : value <= limit;
  return past(critical) ? "critical" : past(warning) ? "warning" : "ok";
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function worst(statuses: Status[]): Status {
  return statuses.reduce<Status>(
    (a, b) => SEVERITY[b] > SEVERITY[a] ? b : a,
    "ok",
  );
}

/**
 * Sessions (or transactions) older than the warning threshold, graded by the
 * oldest; other users' need pg_read_all_stats unless `seesAll`.
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
}): Check {
  return {
    name: options.name,
    threshold: options.threshold,
    about: options.about,
    async run(context) {
      if (!context.readsAllStats && !options.seesAll) {
        return { status: "skipped", summary: NEEDS_STATS };
      }
      const { warning } = context.thresholds[options.threshold];
      const rows = await context.query(options.sql, [warning * 60, COUNT_LIMIT]);
      if (rows.length === 0) {
        return { status: "ok", value: 0, summary: `no ${options.many} over ${warning} minutes` };
      }
      const longest = Math.max(...rows.map((r) => Number(r[options.secondsColumn]))) / 60;
      return {
        status: grade(context, options.threshold, longest),
        value: round(longest, 2),
        summary: `${plural(rows.length, options.one, options.many)}` +
          `${rows.length === COUNT_LIMIT ? " or more" : ""}; the longest ${
            round(longest, 2)
          } minutes`,
        action: options.action,
        // long_running_queries.sql also counts its rows for the script's list (total).
        items: rows.slice(0, context.limit).map(({ total: _total, ...row }) => row),
      };
    },
  };
}

/** A catalog list where any row is a finding of fixed severity. */
function listCheck(options: {
  name: string;
  about: string;
  sql: string;
  status: Status;
  one: string;
  many: string;
  action: string;
  /** The SQL returns `total`, the count of all its rows, on each row. */
  counted?: boolean;
}): Check {
  return {
    name: options.name,
    about: options.about,
    async run(context) {
      // A query that counts its rows itself (total) needs to return only those listed.
      const rows = await context.query(options.sql, [
        options.counted ? context.limit : COUNT_LIMIT,
      ]);
      const count = options.counted ? Number(rows[0]?.total ?? 0) : rows.length;
      return {
        status: count ? options.status : "ok",
        value: count,
        summary: count
          ? `${plural(count, options.one, options.many)}${
            !options.counted && count === COUNT_LIMIT ? " or more" : ""
          }`
          : `no ${options.many}`,
        action: rows.length ? options.action : "",
        items: rows.slice(0, context.limit).map(({ total: _total, ...row }) => row),
      };
    },
  };
}

/** Every check, in report order. */
export const CHECKS: Check[] = [
  {
    name: "connections",
    threshold: "connections",
    about: "client sessions against max_connections less the reserved slots",
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
      };
    },
  },
  {
    name: "cache_hit",
    threshold: "cache-hit",
    about: "table and index blocks found in shared buffers (this database)",
    async run(context) {
      const rows = await context.query("doctor_cache_hit");
      const judged = rows
        .map((r) => ({ what: String(r.what), hit: Number(r.hit), read: Number(r.read) }))
        .filter((r) => r.hit + r.read >= 1000);
      if (judged.length === 0) {
        return {
          status: "skipped",
          summary: "fewer than 1000 block reads since the statistics were reset; too few to judge",
          items: rows,
        };
      }
      const ratios = judged.map((r) => ({ ...r, pct: (100 * r.hit) / (r.hit + r.read) }));
      const lowest = Math.min(...ratios.map((r) => r.pct));
      return {
        status: grade(context, "cache-hit", lowest),
        value: round(lowest, 2),
        summary: ratios.map((r) => `${r.what} ${round(r.pct, 2)}%`).join(", "),
        action: "raise shared_buffers (about a quarter of memory), or find the queries reading " +
          "the most from disk (pg_stat_statements_top.ts)",
        items: ratios,
      };
    },
  },
  ...(["xid", "multixact"] as const).map((kind): Check => ({
    name: kind === "xid" ? "xid_wraparound" : "multixact_wraparound",
    threshold: "wraparound",
    about: `oldest ${kind === "xid" ? "transaction" : "multixact"} ID age: databases, tables`,
    async run(context) {
      const column = kind === "xid" ? "xid_age" : "multixact_age";
      const databases = (await context.query("doctor_wraparound_databases"))
        .sort((a, b) => Number(b[column]) - Number(a[column]));
      const oldest = databases[0];
      const age = Number(oldest[column]);
      const status = grade(context, "wraparound", age);
      const tables = status === "ok" ? [] : (await context.query("doctor_wraparound_tables", [
        context.limit,
      ])).sort((a, b) => Number(b[column]) - Number(a[column]));
      return {
        status,
        value: age,
        summary: `oldest: database ${oldest.database} at ${age.toLocaleString("en-US")} ` +
          `(${round((100 * age) / 2 ** 31)}% of the way to wraparound; autovacuum freezes ` +
          `from ${Number(oldest.freeze_max_age).toLocaleString("en-US")})`,
        action: status === "ok" ? "" : `VACUUM (FREEZE) the oldest tables of ${oldest.database}; ` +
          "end what holds the horizon back: long transactions, prepared transactions, stale " +
          "replication slots",
        items: [
          ...databases.slice(0, context.limit).map((d) => ({
            database: d.database,
            age: d[column],
          })),
          ...tables.map((t) => ({ schema: t.schema, table: t.table, age: t[column] })),
        ],
      };
    },
  })),
  {
    name: "sequences",
    threshold: "sequence",
    about: "sequences near their limit; int columns fed by a bigint sequence",
    async run(context) {
      const rows = await context.query("doctor_sequences");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "no sequences" };
      const unreadable = new Set(
        rows.filter((r) => r.readable !== true).map((r) => `${r.schema}.${r.sequence}`),
      );
      const used = rows
        .filter((r) => r.readable === true && r.last_value !== null)
        .map((r) => {
          const last = Number(r.last_value);
          const limit = Number(r.limit_value);
          const ofSequence = (100 * last) / limit;
          const ofColumn = r.column_max !== null && last > 0
            ? (100 * last) / Number(r.column_max)
            : 0;
          return {
            schema: r.schema,
            sequence: r.sequence,
            last_value: r.last_value,
            limit: ofColumn > ofSequence ? r.column_max : r.limit_value,
            column: r.feeds_column,
            column_type: r.column_type,
            used_pct: round(Math.max(ofSequence, ofColumn), 2),
            bounded_by: ofColumn > ofSequence ? `column type ${r.column_type}` : "sequence",
          };
        })
        .sort((a, b) => b.used_pct - a.used_pct);
      const top = used[0]?.used_pct ?? 0;
      const status = grade(context, "sequence", top);
      const flagged = used.filter((u) => grade(context, "sequence", u.used_pct) !== "ok");
      if (status === "ok" && unreadable.size) {
        return {
          status: "skipped",
          value: top,
          summary: `${plural(unreadable.size, "sequence")} this role may not read ` +
            `(needs SELECT or USAGE on it): ${[...unreadable].slice(0, 5).join(", ")}`,
        };
      }
      const first = flagged[0];
      return {
        status,
        value: top,
        summary: first
          ? `${
            plural(flagged.length, "sequence")
          } past ${context.thresholds.sequence.warning}%; worst ${first.schema}.${first.sequence} at ${first.used_pct}% of its ${first.bounded_by}` +
            (first.column ? ` (feeds ${first.column})` : "")
          : `highest ${top}% of ${plural(used.length, "sequence")}`,
        action: status === "ok" ? "" : "widen the column to bigint (and ALTER SEQUENCE ... AS " +
          "bigint) before it runs out; a long ALTER TABLE rewrites the table, so plan it",
        items: flagged.slice(0, context.limit),
      };
    },
  },
  sessionCheck({
    name: "idle_in_transaction",
    threshold: "idle-transaction",
    about: "sessions idle inside an open transaction",
    sql: "doctor_idle_transactions",
    secondsColumn: "idle_seconds",
    one: "session idle in a transaction",
    many: "sessions idle in a transaction",
    action: "end the transaction in the application; terminate_backend.ts ends the session; " +
      "idle_in_transaction_session_timeout ends such sessions automatically",
  }),
  sessionCheck({
    name: "long_queries",
    threshold: "long-query",
    about: "queries running longer than the threshold",
    sql: "long_running_queries",
    secondsColumn: "running_seconds",
    one: "query running",
    many: "queries running",
    action: "look at the plan (explain_analyze.ts); cancel_backend.ts stops one; " +
      "statement_timeout bounds them",
  }),
  sessionCheck({
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
  }),
  {
    name: "blocked_sessions",
    threshold: "blocked",
    about: "sessions waiting for a lock another session holds",
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
      };
    },
  },
  listCheck({
    name: "invalid_indexes",
    about: "indexes left invalid (a failed CREATE INDEX CONCURRENTLY)",
    sql: "index_invalid",
    status: "warning",
    one: "invalid index",
    many: "invalid indexes",
    action: "DROP INDEX CONCURRENTLY it, then CREATE INDEX CONCURRENTLY it again; it is " +
      "maintained on every write and never used",
  }),
  listCheck({
    name: "not_valid_constraints",
    about: "constraints added NOT VALID and never validated",
    sql: "doctor_not_valid_constraints",
    status: "warning",
    one: "constraint not validated",
    many: "constraints not validated",
    action: "ALTER TABLE ... VALIDATE CONSTRAINT ... (a light lock) so older rows are checked too",
  }),
  listCheck({
    name: "duplicate_indexes",
    about: "indexes another index makes redundant (same or prefix columns)",
    sql: "index_duplicates",
    status: "warning",
    one: "redundant index",
    many: "redundant indexes",
    action: "drop the redundant index (DROP INDEX CONCURRENTLY) after checking that no " +
      "query plan needs it; index_health.ts lists the same",
  }),
  listCheck({
    name: "unused_indexes",
    about: "indexes never scanned since the stats reset, enforcing nothing",
    sql: "index_unused",
    status: "warning",
    one: "unused index",
    many: "unused indexes",
    counted: true,
    action: "check on the primary and every standby, over a full business cycle, before " +
      "dropping (DROP INDEX CONCURRENTLY)",
  }),
  {
    name: "vacuum",
    about: "tables with more dead rows than should start autovacuum",
    async run(context) {
      const rows = await context.query("doctor_vacuum_due", [COUNT_LIMIT]);
      if (rows.length === 0) {
        return { status: "ok", value: 0, summary: "no table past its autovacuum trigger" };
      }
      const off = rows.filter((r) => r.autovacuum !== true).length;
      return {
        status: "warning",
        value: rows.length,
        summary:
          `${plural(rows.length, "table")}${
            rows.length === COUNT_LIMIT ? " or more" : ""
          } past the dead-row count that starts autovacuum` +
          (off ? ` (${off} with autovacuum off)` : ""),
        action: "VACUUM (ANALYZE) them; if autovacuum is on and lags, look for long " +
          "transactions and raise autovacuum_max_workers or lower cost delays",
        items: rows.slice(0, context.limit),
      };
    },
  },
  {
    name: "autovacuum_off",
    about: "autovacuum turned off for the server or for tables",
    async run(context) {
      const rows = await context.query("doctor_autovacuum_off");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "autovacuum is on" };
      const server = rows.some((r) => r.scope === "server");
      return {
        status: server ? "critical" : "warning",
        value: rows.length,
        summary: server
          ? rows.filter((r) => r.scope === "server").map((r) => r.setting).join(", ")
          : `${plural(rows.length, "table")} with autovacuum off`,
        action: "turn it back on (ALTER TABLE ... RESET (autovacuum_enabled), or in " +
          "postgresql.conf): without it dead rows pile up and wraparound comes closer",
        items: rows.slice(0, context.limit),
      };
    },
  },
  {
    name: "standby_lag",
    threshold: "standby-lag",
    minVersion: 130000,
    about: "how far standbys are behind (on a standby: its own replay delay)",
    async run(context) {
      if (context.inRecovery) {
        const [row] = await context.query("replication_receiver");
        const seconds = Number(row?.replay_lag_seconds ?? 0);
        return {
          status: grade(context, "standby-lag", seconds),
          value: round(seconds),
          summary: `this standby replays ${round(seconds)} seconds behind ` +
            `(${Number(row?.replay_lag_bytes ?? 0)} bytes received, not replayed); ` +
            `receiver ${row?.receiver_status ?? "not running"}`,
          action: "look at the standby's I/O and at long queries on it holding replay back " +
            "(max_standby_streaming_delay)",
          items: row ? [row] : [],
        };
      }
      const rows = await context.query("replication_standbys");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "no standbys connected" };
      if (!context.readsAllStats) {
        return { status: "skipped", summary: `${plural(rows.length, "standby")}; ${NEEDS_STATS}` };
      }
      // A caught-up standby of an idle primary reports no lag time at all.
      const lag = (r: Record<string, unknown>) => Number(r.replay_lag_seconds ?? 0);
      const longest = Math.max(...rows.map(lag));
      const bytes = Math.max(...rows.map((r) => Number(r.replay_lag_bytes ?? 0)));
      return {
        status: grade(context, "standby-lag", longest),
        value: round(longest),
        summary: `${plural(rows.length, "standby", "standbys")}; the furthest ${
          round(longest)
        } seconds and ${bytes} bytes behind`,
        action: "look at the network and the standby's I/O; replication_status.ts shows each",
        items: rows,
      };
    },
  },
  {
    name: "replication_slots",
    threshold: "slot-wal",
    minVersion: 130000,
    about: "inactive replication slots and the WAL they keep",
    async run(context) {
      const rows = await context.query("replication_slots");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "no replication slots" };
      const mib = (r: Record<string, unknown>) => Number(r.wal_retained_bytes ?? 0) / 1048576;
      const statuses = rows.map((r): Status => {
        if (r.wal_status === "lost") return "critical";
        const byWal = grade(context, "slot-wal", mib(r));
        return r.active === true ? byWal : worst([byWal, "warning"]);
      });
      const inactive = rows.filter((r) => r.active !== true).length;
      const most = Math.max(...rows.map(mib));
      const lost = rows.filter((r) => r.wal_status === "lost").length;
      const status = worst(statuses);
      return {
        status,
        value: round(most),
        summary: `${plural(rows.length, "slot")}, ${inactive} inactive` +
          (lost ? `, ${lost} lost` : "") + `; the most WAL kept ${round(most)} MiB`,
        action: status === "ok" ? "" : "drop slots no consumer will use again " +
          "(pg_drop_replication_slot); an inactive slot keeps WAL until the disk fills; set " +
          "max_slot_wal_keep_size to bound it",
        items: rows.filter((_, i) => statuses[i] !== "ok").slice(0, context.limit),
      };
    },
  },
  {
    name: "archiver",
    about: "WAL archiving failures (archive_mode on)",
    async run(context) {
      const [row] = await context.query("doctor_archiver");
      if (row.archive_mode === "off") {
        return { status: "ok", summary: "archive_mode is off; nothing to archive" };
      }
      const failed = Number(row.failed_count);
      if (row.failing === true) {
        return {
          status: "critical",
          value: failed,
          summary: `archiving is failing: ${failed} failures, the last on ${row.last_failed_wal} ` +
            `at ${row.last_failed_time}`,
          action: "fix archive_command (see the server log); until it succeeds WAL piles up in " +
            "pg_wal and the disk can fill",
          items: [row],
        };
      }
      return {
        status: "ok",
        value: failed,
        summary: `${row.archived_count} files archived` +
          (failed ? `; ${failed} failures earlier, archiving works now` : ""),
      };
    },
  },
  {
    name: "checkpoints",
    threshold: "checkpoints-requested",
    about: "checkpoints requested (WAL full) more often than timed",
    async run(context) {
      const [row] = await context.query(
        context.versionNum >= 170000 ? "doctor_checkpoints" : "doctor_checkpoints_legacy",
      );
      const timed = Number(row.timed);
      const requested = Number(row.requested);
      const total = timed + requested;
      const pct = total ? (100 * requested) / total : 0;
      if (total < 10) {
        return {
          status: "ok",
          value: round(pct),
          summary: `${requested} requested, ${timed} timed: too few checkpoints to judge yet`,
        };
      }
      const status = grade(context, "checkpoints-requested", pct);
      return {
        status,
        value: round(pct),
        summary: `${requested} requested, ${timed} timed (max_wal_size ${row.max_wal_size})`,
        action: status === "ok"
          ? ""
          : "raise max_wal_size so that checkpoint_timeout, not WAL volume, starts checkpoints",
      };
    },
  },
  {
    name: "risky_settings",
    about: "fsync or full_page_writes off; zero_damaged_pages or\n" +
      "                         ignore_checksum_failure on",
    async run(context) {
      const rows = await context.query("doctor_risky_settings");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "none" };
      return {
        status: "critical",
        value: rows.length,
        summary: rows.map((r) => `${r.name} = ${r.setting} (${r.source})`).join(", "),
        action: "set them back (fsync and full_page_writes on; the others off) in " +
          "postgresql.conf and reload: a crash can corrupt the cluster",
        items: rows,
      };
    },
  },
];

/** The check names `--check` takes (comma-separated), or a usage error naming the unknown. */
export function parseCheckNames(text: string): string[] {
  const names = text.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !CHECKS.some((c) => c.name === name));
  if (names.length === 0 || unknown.length) {
    throw new UsageError(
      `Unknown check "${unknown[0] ?? text}"; the checks are ${
        CHECKS.map((c) => c.name).join(", ")
      }`,
    );
  }
  return names;
}

/**
 * Runs every check (or those named in `only`); one that fails for want of a
 * privilege, or with any other server error, is skipped with the server's
 * reason.
 */
export async function runChecks(
  context: CheckContext,
  only: string[] = CHECKS.map((c) => c.name),
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const check of CHECKS.filter((c) => only.includes(c.name))) {
    let outcome: Outcome;
    try {
      outcome = check.minVersion && context.versionNum < check.minVersion
        ? {
          status: "skipped",
          summary: `needs PostgreSQL ${Math.floor(check.minVersion / 10000)} or later`,
        }
        : await check.run(context);
    } catch (error) {
      if (!(error instanceof PgServerError)) throw error;
      outcome = {
        status: "skipped",
        summary: isPermissionDenied(error)
          ? `needs a privilege this role lacks: ${error.message}`
          : `the server refused the check: ${error.message} (SQLSTATE ${error.code})`,
      };
    }
    const spec = THRESHOLDS.find((t) => t.name === check.threshold);
    findings.push({
      check: check.name,
      status: outcome.status,
      value: outcome.value ?? null,
      unit: outcome.value === undefined || outcome.value === null ? null : spec?.unit ?? "count",
      threshold: spec ? context.thresholds[spec.name] : null,
      summary: outcome.summary,
      action: outcome.status === "ok" || outcome.status === "skipped" ? "" : outcome.action ?? "",
      items: outcome.items ?? [],
    });
  }
  return findings;
}
