/**
 * The health checks of `doctor.ts`: what each measures (its SQL is its own
 * file in `sql/`), the thresholds that grade it (options with defaults), and
 * what to do about a finding. A check that cannot measure (an older server,
 * a missing privilege) is skipped with the reason, never reported ok.
 *
 * @module
 */
import { parseDecimal } from "../core/numbers.ts";
import { UsageError } from "../core/errors.ts";
import { isPermissionDenied, PgServerError } from "../connection/session.ts";

/** How a check came out. */
export type Status = "ok" | "warning" | "critical" | "skipped";

/** The order of severity, for `--fail-on` and for summaries. */
export const SEVERITY: Record<Status, number> = { skipped: 0, ok: 0, warning: 1, critical: 2 };

/** A threshold pair that grades a measured value. */
export interface ThresholdSpec {
  /** The option stem: `--<name>-warning`, `--<name>-critical`. */
  name: string;
  /** How values and thresholds are counted: `%`, `IDs`, `minutes`, `seconds`, `MiB`, `hours`. */
  unit: string;
  /** Which way is worse. */
  worse: "above" | "below";
  /** The default warning threshold. */
  warning: number;
  /** The default critical threshold; null for a check that warns only (no `--<name>-critical`). */
  critical: number | null;
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
  {
    name: "stats-age",
    unit: "hours",
    worse: "below",
    warning: 168,
    critical: null,
    max: 1_000_000,
    help: "time since this database's activity counters were reset (while younger,\n" +
      "      unused_indexes is skipped and cache_hit at most a warning)",
  },
  {
    name: "fk-table-size",
    unit: "MiB",
    worse: "above",
    warning: 10,
    critical: 1024,
    max: 100_000_000,
    help: "size of a table with a foreign key no index supports (every delete or key\n" +
      "      update of the referenced table scans it)",
  },
  {
    name: "table-bloat",
    unit: "MiB",
    worse: "above",
    warning: 100,
    critical: 1024,
    max: 100_000_000,
    help: "space of a table estimated wasted (from its statistics), counted when its\n" +
      "      share is past --table-bloat-ratio too",
  },
  {
    name: "table-bloat-ratio",
    unit: "%",
    worse: "above",
    warning: 50,
    critical: 75,
    max: 100,
    help: "share of a table's pages estimated wasted, counted when the space is past\n" +
      "      --table-bloat too",
  },
];

/** Threshold values by name, after the options; no `critical` for one that warns only. */
export type Thresholds = Record<string, { warning: number; critical?: number }>;

/** The option names the thresholds take: `--<name>-warning`, and `--<name>-critical` where one grades. */
export function thresholdOptions(): string[] {
  return THRESHOLDS.flatMap((t) => [
    `${t.name}-warning`,
    ...(t.critical === null ? [] : [`${t.name}-critical`]),
  ]);
}

/**
 * The thresholds from `--<name>-warning` / `--<name>-critical` option values
 * (numbers, decimals allowed), defaults for the others; a warning must not be
 * past its critical.
 */
export function parseThresholds(values: Record<string, unknown>): Thresholds {
  const thresholds: Thresholds = {};
  for (const spec of THRESHOLDS) {
    const read = (level: "warning" | "critical", fallback: number) => {
      const option = `${spec.name}-${level}`;
      const text = values[option];
      return text === undefined ? fallback : parseDecimal(String(text), `--${option}`, spec);
    };
    const warning = read("warning", spec.warning);
    if (spec.critical === null) {
      thresholds[spec.name] = { warning };
      continue;
    }
    const critical = read("critical", spec.critical);
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
  threshold: { warning: number; critical?: number } | null;
  /** The measurement in words. */
  summary: string;
  /** What to do; empty when all is well. */
  action: string;
  /** What the finding is about: the sessions, indexes, tables ... */
  items: Record<string, unknown>[];
  /**
   * Up to {@linkcode OBJECTS_NAMED} of the objects a finding that is not ok is
   * about (`schema.name`, or the database, role, slot ...), worst first; absent when ok.
   */
  objects?: string[];
  /** How many objects there are in all, those not named too; with `objects`. */
  total?: number;
  /** The script that lists them all (`index_health.ts`), when one does; with `objects`. */
  see?: string;
}

/** How many objects a finding names: the rest are counted in `total`. */
export const OBJECTS_NAMED = 5;

/**
 * A finding in words for a table: the summary, then the objects it names and
 * how many there are in all, with the script that lists them all: "31 unused
 * indexes: public.a, public.b, ... (31 in all: index_health.ts)".
 */
export function findingText(finding: Finding): string {
  const objects = finding.objects ?? [];
  if (objects.length === 0) return finding.summary;
  const total = finding.total ?? objects.length;
  const more = total > objects.length ? ", ..." : "";
  return `${finding.summary}: ${objects.join(", ")}${more} (${total} in all` +
    `${finding.see ? `: ${finding.see}` : ""})`;
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
  const { warning, critical } = finding.threshold;
  return `${sign} ${n(warning)}${critical === undefined ? "" : ` / ${n(critical)}`}${unit}`;
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

/** Since when this database's activity counters count (sql/doctor_stats_age.sql). */
export interface StatsAge {
  /** When they were last reset, as the server writes it; null when never. */
  reset: string | null;
  /** Since when they count at the latest (the reset, else the server's statistics began). */
  since: string | null;
  /** Hours since `since`; null when the server says nothing. */
  hours: number | null;
  /** Younger than the stats-age threshold: usage-based findings rest on too little. */
  young: boolean;
  /** How long they have counted: `40 minutes`, `3.2 hours`, `12 days`. */
  span: string;
}

/** What a check is given: the context of the run, and what several checks share. */
export interface RunContext extends CheckContext {
  /** The age of the activity counters, measured once per run. */
  statsAge(): Promise<StatsAge>;
}

/** A check's result before the common fields (name, unit, thresholds) are filled in. */
export type Outcome =
  & Omit<
    Finding,
    "check" | "unit" | "threshold" | "items" | "action" | "value" | "objects" | "total" | "see"
  >
  & {
    value?: number | null;
    action?: string;
    items?: Record<string, unknown>[];
    /** The objects found, worst first (the first {@linkcode OBJECTS_NAMED} are named). */
    objects?: string[];
    /** How many objects there are in all; `objects.length` when not given. */
    total?: number;
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
  /** The script that lists every object of a finding (`index_health.ts`), when one does. */
  see?: string;
  /** Measures on the server and grades what it found. */
  run(context: RunContext): Promise<Outcome>;
}

const MIB = 1048576;

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
  return critical !== undefined && past(critical) ? "critical" : past(warning) ? "warning" : "ok";
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

/** Rows a list query returns: those listed, and never fewer than the objects named. */
function listed(context: CheckContext): number {
  return Math.max(context.limit, OBJECTS_NAMED);
}

/**
 * How many rows a list query matched in all: its `total` column (the count
 * before its LIMIT, on every row), or the rows themselves when it counts none.
 */
function totalOf(rows: Record<string, unknown>[]): number {
  return rows[0] === undefined ? 0 : "total" in rows[0] ? Number(rows[0].total) : rows.length;
}

/** The rows as items, without the count each carries. */
function itemsOf(rows: Record<string, unknown>[], limit: number): Record<string, unknown>[] {
  return rows.slice(0, limit).map(({ total: _total, ...row }) => row);
}

/** `schema.name` of a row, from its `schema` column and the named one. */
function qualified(column: string): (row: Record<string, unknown>) => string {
  return (row) => `${row.schema}.${row[column]}`;
}

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

/**
 * A catalog list where any row is a finding of fixed severity. The SQL takes
 * a row limit and counts its rows (total).
 */
function listCheck(options: {
  name: string;
  about: string;
  sql: string;
  status: Status;
  one: string;
  many: string;
  action: string;
  see?: string;
  object: (row: Record<string, unknown>) => string;
}): Check {
  return {
    name: options.name,
    about: options.about,
    see: options.see,
    async run(context) {
      const rows = await context.query(options.sql, [listed(context)]);
      const count = totalOf(rows);
      return {
        status: count ? options.status : "ok",
        value: count,
        summary: count ? plural(count, options.one, options.many) : `no ${options.many}`,
        action: rows.length ? options.action : "",
        items: itemsOf(rows, context.limit),
        objects: rows.map(options.object),
        total: count,
      };
    },
  };
}

/**
 * The check, skipped while the activity counters are younger than the
 * stats-age threshold: an index not scanned in the hours since a reset is not
 * unused. Its objects are still named, its action is not given.
 */
function youngStatsSkip(check: Check): Check {
  return {
    ...check,
    async run(context) {
      const outcome = await check.run(context);
      const age = await context.statsAge();
      if (outcome.status === "ok" || !age.young) return outcome;
      return {
        ...outcome,
        status: "skipped",
        summary: `${plural(outcome.total ?? 0, "index", "indexes")} not scanned in the ` +
          `${age.span} the counters cover: too soon to call them unused (stats_age)`,
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
  },
  {
    name: "stats_age",
    threshold: "stats-age",
    about: "how long this database's activity counters have counted (unused indexes\n" +
      "                         and the cache hit ratio rest on them)",
    async run(context) {
      const age = await context.statsAge();
      if (age.hours === null) {
        return { status: "skipped", summary: "the server says nothing of its statistics' age" };
      }
      return {
        status: grade(context, "stats-age", age.hours),
        value: round(age.hours, 2),
        summary:
          (age.reset === null
            ? `the counters were never reset: they count for ${age.span} at most (since the ` +
              "server's statistics began, or the database was created)"
            : `the counters were reset ${age.span} ago`) +
          (age.young
            ? "; too soon to call an index unused, and the cache hit ratio covers that time only"
            : ""),
        action: "judge unused indexes once the counters have covered a full business cycle " +
          "(run doctor again then); pg_stat_reset() and crash recovery restart them",
        items: [{ stats_reset: age.reset, counting_since: age.since }],
      };
    },
  },
  {
    name: "cache_hit",
    threshold: "cache-hit",
    about: "table and index blocks found in shared buffers (this database)",
    async run(context) {
      const rows = await context.query("doctor_cache_hit");
      const counted = rows
        .map((r) => ({ what: String(r.what), hit: Number(r.hit), read: Number(r.read) }));
      const judged = counted.filter((r) => r.hit + r.read >= 1000);
      if (judged.length === 0) {
        return {
          status: "skipped",
          summary: "fewer than 1000 block reads since the statistics were reset; too few to judge",
          items: counted,
        };
      }
      const ratios = judged.map((r) => ({ ...r, pct: (100 * r.hit) / (r.hit + r.read) }));
      const lowest = Math.min(...ratios.map((r) => r.pct));
      const worstKind = ratios.find((r) => r.pct === lowest)!.what;
      const named = rows.find((r) => r.what === worstKind)!;
      const age = await context.statsAge();
      const graded = grade(context, "cache-hit", lowest);
      // A short window (often just after a restart, with a cold cache) is no reason for alarm.
      const status = age.young && graded === "critical" ? "warning" : graded;
      return {
        status,
        value: round(lowest, 2),
        summary: ratios.map((r) => `${r.what} ${round(r.pct, 2)}%`).join(", ") +
          (age.young ? ` (the counters cover ${age.span} only: see stats_age)` : "") +
          (status === "ok" ? "" : `; the ${worstKind} read most from disk`),
        action: "raise shared_buffers (about a quarter of memory), or find the queries reading " +
          "the most from disk (pg_stat_statements_top.ts)",
        items: ratios,
        objects: named.most_read as string[],
        total: Number(named.reading),
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
      const { warning } = context.thresholds.wraparound;
      const tables = status === "ok" ? [] : (await context.query("doctor_wraparound_tables", [
        listed(context),
        warning,
      ])).sort((a, b) => Number(b[column]) - Number(a[column]));
      // The tables of this database past the warning age; else the databases that are.
      const oldTables = tables.filter((t) => Number(t[column]) >= warning);
      const oldDatabases = databases.filter((d) => Number(d[column]) >= warning);
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
          ...tables.slice(0, context.limit).map((t) => ({
            schema: t.schema,
            table: t.table,
            age: t[column],
          })),
        ],
        ...(oldTables.length
          ? {
            objects: oldTables.map(qualified("table")),
            total: Number(tables[0][kind === "xid" ? "xid_total" : "multixact_total"]),
          }
          : { objects: oldDatabases.map((d) => String(d.database)) }),
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
            `(needs SELECT or USAGE on it)`,
          objects: [...unreadable],
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
        objects: flagged.map(qualified("sequence")),
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
    see: "activity_overview.ts",
    object: sessionName,
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
    see: "long_running_queries.ts",
    object: sessionName,
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
    object: (row) => `${row.gid} (${row.owner}@${row.database})`,
  }),
  {
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
    see: "index_health.ts",
    object: qualified("index"),
  }),
  listCheck({
    name: "not_valid_constraints",
    about: "constraints added NOT VALID and never validated",
    sql: "doctor_not_valid_constraints",
    status: "warning",
    one: "constraint not validated",
    many: "constraints not validated",
    action: "ALTER TABLE ... VALIDATE CONSTRAINT ... (a light lock) so older rows are checked too",
    object: (row) => `${row.constraint} on ${row.schema}.${row.table}`,
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
    see: "index_health.ts",
    object: qualified("index"),
  }),
  youngStatsSkip(listCheck({
    name: "unused_indexes",
    about: "indexes never scanned since the stats reset, enforcing nothing (as\n" +
      "                         index_health.ts's unused_index: the same SQL)",
    sql: "index_unused",
    status: "warning",
    one: "unused index",
    many: "unused indexes",
    action: "check on the primary and every standby, over a full business cycle, before " +
      "dropping (DROP INDEX CONCURRENTLY)",
    see: "index_health.ts",
    object: qualified("index"),
  })),
  {
    name: "foreign_key_indexes",
    threshold: "fk-table-size",
    about: "foreign keys no index supports, on tables past a size (as\n" +
      "                         missing_fk_indexes.ts finds them: the same SQL)",
    see: "missing_fk_indexes.ts",
    async run(context) {
      const { warning } = context.thresholds["fk-table-size"];
      // Largest tables first: those past the size are the first rows.
      const rows = (await context.query("missing_fk_indexes", [COUNT_LIMIT]))
        .filter((r) => Number(r.table_bytes) / MIB >= warning);
      if (rows.length === 0) {
        return {
          status: "ok",
          value: 0,
          summary: `no foreign key without an index on a table of ${warning} MiB or more`,
        };
      }
      const largest = Number(rows[0].table_bytes) / MIB;
      return {
        status: grade(context, "fk-table-size", largest),
        value: round(largest),
        summary: `${plural(rows.length, "foreign key")}${
          rows.length === COUNT_LIMIT ? " or more" : ""
        } without an index on tables of ${warning} MiB or more; the largest ${round(largest)} MiB`,
        action: "create the index each suggestion names (CREATE INDEX CONCURRENTLY, " +
          "missing_fk_indexes.ts lists them): without it every delete or key update of the " +
          "referenced table scans the whole table",
        items: itemsOf(rows, context.limit),
        objects: rows.map((r) => `${r.schema}.${r.table} (${(r.columns as string[]).join(", ")})`),
      };
    },
  },
  {
    name: "vacuum",
    about: "tables with more dead rows than should start autovacuum",
    see: "vacuum_analyze_status.ts",
    async run(context) {
      const rows = await context.query("doctor_vacuum_due", [listed(context)]);
      if (rows.length === 0) {
        return { status: "ok", value: 0, summary: "no table past its autovacuum trigger" };
      }
      const total = totalOf(rows);
      const off = rows.filter((r) => r.autovacuum !== true).length;
      return {
        status: "warning",
        value: total,
        summary: `${plural(total, "table")} past the dead-row count that starts autovacuum` +
          (off ? ` (${off} of those listed with autovacuum off)` : ""),
        action: "VACUUM (ANALYZE) them; if autovacuum is on and lags, look for long " +
          "transactions and raise autovacuum_max_workers or lower cost delays",
        items: itemsOf(rows, context.limit),
        objects: rows.map(qualified("table")),
        total,
      };
    },
  },
  {
    name: "table_bloat",
    threshold: "table-bloat",
    about: "space tables waste, estimated from their statistics (as check_postgres\n" +
      "                         and PgHero do): past both --table-bloat thresholds",
    async run(context) {
      const bytes = context.thresholds["table-bloat"];
      const ratio = context.thresholds["table-bloat-ratio"];
      const rows = await context.query("doctor_table_bloat", [
        bytes.warning * MIB,
        ratio.warning,
        (bytes.critical ?? bytes.warning) * MIB,
        ratio.critical ?? ratio.warning,
        listed(context),
      ]);
      const [counts] = rows;
      const tables = rows.filter((r) => r.table !== null);
      const unestimated = Number(counts.unestimated);
      const unmeasured = unestimated
        ? ` (${plural(unestimated, "table")} not estimated: never analyzed, or columns this ` +
          "role may not read)"
        : "";
      if (Number(counts.estimated) === 0 && unestimated > 0) {
        return { status: "skipped", summary: `no table could be estimated${unmeasured}` };
      }
      const past = `${bytes.warning} MiB and ${ratio.warning}%`;
      if (tables.length === 0) {
        return {
          status: "ok",
          value: 0,
          summary: `no table estimated to waste ${past} of its pages${unmeasured}`,
        };
      }
      const total = Number(counts.total);
      const most = Number(tables[0].wasted_bytes) / MIB;
      return {
        status: Number(counts.critical) > 0 ? "critical" : "warning",
        value: round(most),
        summary: `${plural(total, "table")} estimated to waste ${past} or more of their ` +
          `pages; the most ${round(most)} MiB${unmeasured}`,
        action: "VACUUM only makes the space reusable; to give it back rewrite the table: " +
          "pg_repack (no long lock) or VACUUM FULL (locks it throughout); then find what let " +
          "dead rows pile up (autovacuum settings, long transactions)",
        items: tables.slice(0, context.limit).map((r) => ({
          schema: r.schema,
          table: r.table,
          table_bytes: r.table_bytes,
          rows: r.rows,
          fillfactor: r.fillfactor,
          wasted_bytes: r.wasted_bytes,
          wasted_pct: r.wasted_pct,
        })),
        objects: tables.map((r) =>
          `${r.schema}.${r.table} (${round(Number(r.wasted_bytes) / MIB)} MiB, ${
            Number(r.wasted_pct)
          }%)`
        ),
        total,
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
          ? "autovacuum is off for the whole server"
          : `${plural(rows.length, "table")} with autovacuum off`,
        action: "turn it back on (ALTER TABLE ... RESET (autovacuum_enabled), or in " +
          "postgresql.conf): without it dead rows pile up and wraparound comes closer",
        items: rows.slice(0, context.limit),
        objects: rows.map((r) =>
          r.scope === "server" ? String(r.setting) : `${r.schema}.${r.table}`
        ),
      };
    },
  },
  {
    name: "standby_lag",
    threshold: "standby-lag",
    minVersion: 130000,
    about: "how far standbys are behind (on a standby: its own replay delay)",
    see: "replication_status.ts",
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
        objects: [...rows].sort((a, b) => lag(b) - lag(a)).map((r) =>
          `${r.application || "?"} (${r.client_addr ?? "local"})`
        ),
      };
    },
  },
  {
    name: "replication_slots",
    threshold: "slot-wal",
    minVersion: 130000,
    about: "inactive replication slots and the WAL they keep",
    see: "replication_status.ts",
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
        objects: rows.filter((_, i) => statuses[i] !== "ok").map((r) => String(r.slot_name)),
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
    see: "settings_overview.ts",
    async run(context) {
      const rows = await context.query("doctor_risky_settings");
      if (rows.length === 0) return { status: "ok", value: 0, summary: "none" };
      return {
        status: "critical",
        value: rows.length,
        summary: `${plural(rows.length, "setting")} trading crash safety or integrity away`,
        action: "set them back (fsync and full_page_writes on; the others off) in " +
          "postgresql.conf and reload: a crash can corrupt the cluster",
        items: rows,
        objects: rows.map((r) => `${r.name} = ${r.setting} (${r.source})`),
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

/** Hours in words: `40 minutes`, `3.2 hours`, `12 days`. */
function durationWords(hours: number): string {
  if (hours < 1 / 60) return "less than a minute";
  if (hours < 1) return plural(Math.round(hours * 60), "minute");
  if (hours < 48) return `${round(hours, 1)} hours`;
  return plural(Math.round(hours / 24), "day");
}

/** The stats-age threshold's default: counters younger than this are too young to judge by. */
export const STATS_AGE_WARNING_HOURS: number =
  THRESHOLDS.find((t) => t.name === "stats-age")!.warning;

/**
 * The age of the activity counters from sql/doctor_stats_age.sql, young when
 * at most `context.thresholds["stats-age"].warning` hours (doctor's option;
 * index_health passes the default).
 */
export async function measureStatsAge(
  context: Pick<CheckContext, "query" | "thresholds">,
): Promise<StatsAge> {
  const [row] = await context.query("doctor_stats_age");
  const seconds = row?.age_seconds === null || row?.age_seconds === undefined
    ? null
    : Number(row.age_seconds);
  const hours = seconds === null ? null : Math.max(seconds, 0) / 3600;
  return {
    reset: (row?.stats_reset ?? null) as string | null,
    since: (row?.counting_since ?? null) as string | null,
    hours,
    young: hours !== null && hours <= context.thresholds["stats-age"].warning,
    span: hours === null ? "an unknown time" : durationWords(hours),
  };
}

/**
 * Runs every check (or those named in `only`); one that fails for want of a
 * privilege, or with any other server error, is skipped with the server's
 * reason. A finding that is not ok names up to {@linkcode OBJECTS_NAMED}
 * objects, how many there are and the script that lists them.
 */
export async function runChecks(
  context: CheckContext,
  only: string[] = CHECKS.map((c) => c.name),
): Promise<Finding[]> {
  const findings: Finding[] = [];
  // Measured once, on first use: the checks that rest on the counters ask too.
  let statsAge: Promise<StatsAge> | undefined;
  const run: RunContext = {
    ...context,
    statsAge: () => statsAge ??= measureStatsAge(context),
  };
  for (const check of CHECKS.filter((c) => only.includes(c.name))) {
    let outcome: Outcome;
    try {
      outcome = check.minVersion && context.versionNum < check.minVersion
        ? {
          status: "skipped",
          summary: `needs PostgreSQL ${Math.floor(check.minVersion / 10000)} or later`,
        }
        : await check.run(run);
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
    const objects = outcome.status === "ok" ? [] : outcome.objects ?? [];
    findings.push({
      check: check.name,
      status: outcome.status,
      value: outcome.value ?? null,
      unit: outcome.value === undefined || outcome.value === null ? null : spec?.unit ?? "count",
      threshold: spec ? context.thresholds[spec.name] : null,
      summary: outcome.summary,
      action: outcome.status === "ok" || outcome.status === "skipped" ? "" : outcome.action ?? "",
      items: outcome.items ?? [],
      ...(objects.length
        ? {
          objects: objects.slice(0, OBJECTS_NAMED),
          total: outcome.total ?? objects.length,
          ...(check.see ? { see: check.see } : {}),
        }
        : {}),
    });
  }
  return findings;
}
