/**
 * What a doctor check is: the context it measures in, the outcome it returns,
 * the finding the runner makes of it, and the helpers the checks of every
 * area share (grading against a threshold, counting, naming objects).
 *
 * @module
 */
import { THRESHOLDS, type Thresholds } from "./thresholds.ts";

/** How a check came out. */
export type Status = "ok" | "warning" | "critical" | "skipped";

/** The order of severity, for `--fail-on` and for summaries. */
export const SEVERITY: Record<Status, number> = { skipped: 0, ok: 0, warning: 1, critical: 2 };

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

/** Bytes in a MiB, the unit of the size thresholds. */
export const MIB = 1048576;

/** Why a check that must see other users' sessions is skipped. */
export const NEEDS_STATS: string =
  "needs pg_read_all_stats (or pg_monitor, or superuser) to see other " +
  "users' sessions";

/** `value` rounded to `digits` decimals (one unless told). */
export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** ok, warning or critical for `value` against threshold `name`. */
export function grade(context: CheckContext, name: string, value: number): Status {
  const spec = THRESHOLDS.find((t) => t.name === name)!;
  const { warning, critical } = context.thresholds[name];
  const past = (limit: number) => spec.worse === "above" ? value >= limit : value <= limit;
  return critical !== undefined && past(critical) ? "critical" : past(warning) ? "warning" : "ok";
}

/** A count with its noun: `1 table`, `3 tables`, `2 indexes` (with `many` given). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Rows a list query returns: those listed, and never fewer than the objects named. */
export function listed(context: CheckContext): number {
  return Math.max(context.limit, OBJECTS_NAMED);
}

/**
 * How many rows a list query matched in all: its `total` column (the count
 * before its LIMIT, on every row), or the rows themselves when it counts none.
 */
export function totalOf(rows: Record<string, unknown>[]): number {
  return rows[0] === undefined ? 0 : "total" in rows[0] ? Number(rows[0].total) : rows.length;
}

/** The rows as items, without the count each carries. */
export function itemsOf(rows: Record<string, unknown>[], limit: number): Record<string, unknown>[] {
  return rows.slice(0, limit).map(({ total: _total, ...row }) => row);
}

/** `schema.name` of a row, from its `schema` column and the named one. */
export function qualified(column: string): (row: Record<string, unknown>) => string {
  return (row) => `${row.schema}.${row[column]}`;
}
