/**
 * Index health (index_health.ts): tables read mostly by sequential scans,
 * indexes never scanned, invalid indexes, and indexes another one makes
 * redundant, each check a list cut at a limit.
 *
 * @module
 */
import type { PgSession } from "../connection/session.ts";
import { countedList, type List, type Rows } from "../output/render.ts";
import { loadSql } from "../sql/sql_files.ts";
import type { StatsAge } from "./doctor/check.ts";
import { measureStatsAge, STATS_AGE_WARNING_HOURS } from "./doctor/statistics.ts";

/** One check: its `sql/` file, the columns it reports, and the detail line of a finding. */
interface IndexCheck {
  sql: string;
  columns: string[];
  detail: (row: Record<string, unknown>, statsAge: StatsAge) => string;
}

/** The checks, in the order the report lists them. */
const INDEX_CHECKS: Record<string, IndexCheck> = {
  missing_index: {
    sql: "index_missing_candidates",
    columns: ["schema", "table", "size_bytes", "seq_scan", "seq_tup_read", "idx_scan", "live_rows"],
    detail: (r) =>
      `${r.seq_scan} sequential scans read ${r.seq_tup_read} rows; ${r.idx_scan} index scans`,
  },
  unused_index: {
    sql: "index_unused",
    columns: ["schema", "table", "index", "size_bytes", "idx_scan"],
    detail: (_, age) =>
      age.young
        ? `not scanned in the ${age.span} the counters cover: too soon to call it unused`
        : "never scanned; enforces nothing",
  },
  invalid_index: {
    sql: "index_invalid",
    columns: ["schema", "table", "index", "size_bytes"],
    detail: (r) => `invalid: ${r.definition}`,
  },
  duplicate_index: {
    sql: "index_duplicates",
    columns: ["schema", "table", "index", "covered_by", "size_bytes"],
    detail: (r) => `${r.reason} as ${r.covered_by}`,
  },
};

/**
 * Runs every check on `session`: each finding with its detail line, each
 * list cut at `limit` with its total. `minRows` is the smallest table (live
 * rows) that missing_index considers.
 */
export async function indexHealth(
  session: PgSession,
  options: { limit: number; minRows: number },
): Promise<Record<string, List>> {
  const { limit, minRows } = options;
  // "Never scanned" since a reset an hour ago is not "unused": doctor's stats_age, its default.
  const statsAge = await measureStatsAge({
    query: async (name) => (await session.query(await loadSql(name))).rows,
    thresholds: { "stats-age": { warning: STATS_AGE_WARNING_HOURS } },
  });
  const lists: Record<string, List> = {};
  for (const [check, { sql, columns, detail }] of Object.entries(INDEX_CHECKS)) {
    const params = check === "missing_index" ? [limit, minRows] : [limit];
    const { rows } = await session.query(await loadSql(sql), params);
    const findings = rows.map((r) => ({
      ...Object.fromEntries(columns.map((c) => [c, r[c] ?? null])),
      detail: detail(r, statsAge),
      total: r.total,
    }));
    lists[check] = countedList({ columns: [...columns, "detail", "total"], rows: findings }, limit);
  }
  return lists;
}

/** Every finding of `lists` in one table, each with its check: the columns of all checks. */
export function indexHealthTable(lists: Record<string, List>): Rows {
  // Names first, then sizes and counters, as the table reads best.
  const columns = [
    "check",
    "schema",
    "table",
    "index",
    "covered_by",
    "size_bytes",
    "seq_scan",
    "seq_tup_read",
    "idx_scan",
    "live_rows",
    "detail",
  ];
  const rows = Object.entries(lists).flatMap(([check, list]) =>
    list.rows.map((row) => ({ check, ...row }))
  );
  return { columns, rows };
}
