#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Index health in one report: tables that want an index, indexes never used,
 * invalid indexes, and indexes made redundant by another.
 */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { parsePositiveInt } from "../lib/core/numbers.ts";
import { runScript } from "../lib/cli/run.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import type { StatsAge } from "../lib/reports/doctor/check.ts";
import { measureStatsAge, STATS_AGE_WARNING_HOURS } from "../lib/reports/doctor/statistics.ts";
import {
  countedList,
  isTruncated,
  type List,
  printOutput,
  renderLists,
  renderRows,
  truncationText,
} from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { loadSql } from "../lib/sql/sql_files.ts";

const usage = `Usage: index_health.ts [limit | --limit N] [--min-rows N] [--json | --csv]

Checks indexes and lists the findings of each check in its own section:
  missing_index    a table of at least --min-rows live rows (default 10000) read
                   mostly by sequential scans: a candidate for an index
  unused_index     an index never scanned since statistics were reset that
                   enforces nothing (not unique, not a primary key)
  invalid_index    an index left invalid (e.g. a failed CREATE INDEX
                   CONCURRENTLY): maintained on every write, never used
  duplicate_index  an index whose key columns equal or are a prefix of another
                   index's on the same table (covered_by names it)
limit: findings per check (default 20, at most 10000); a check with more says
so. Usage counts come from the statistics since the last reset: while they
cover a week or less (doctor.ts's stats_age), an unused_index finding says
"too soon to call it unused" instead of "never scanned".

Options:
  --limit N      the same as [limit]
  --min-rows N   smallest table (live rows) for missing_index (default 10000)
  --json         {"missing_index": {"rows": [...], "total": N, "truncated":
                 false, "limit": N}, "unused_index": {...}, ...}
  --csv          every finding in one CSV, with its check (stderr says which
                 checks the limit cut)
  --help         this text

Example:
  ./scripts/index_health.ts 20`;

/** Each check: its SQL, the columns it reports and the detail line of a finding. */
const CHECKS: Record<string, {
  sql: string;
  columns: string[];
  detail: (r: Record<string, unknown>, statsAge: StatsAge) => string;
}> = {
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

await runScript("index_health", async () => {
  const { values, format, limit } = parseCli({
    name: "index_health",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
    options: { "min-rows": { type: "string" } },
  }, Deno.args);
  const minRows = values["min-rows"] !== undefined
    ? parsePositiveInt(values["min-rows"], "--min-rows", { max: 1_000_000_000 })
    : 10_000;
  const target = await resolveTarget({ session: "diagnostic" });
  const lists = await withSession(target, async (session) => {
    const lists: Record<string, List> = {};
    // "Never scanned" since a reset an hour ago is not "unused": doctor's stats_age, its default.
    const statsAge = await measureStatsAge({
      query: async (name) => (await session.query(await loadSql(name))).rows,
      thresholds: { "stats-age": { warning: STATS_AGE_WARNING_HOURS } },
    });
    for (const [check, { sql, columns, detail }] of Object.entries(CHECKS)) {
      const params = check === "missing_index" ? [limit, minRows] : [limit];
      const { rows } = await session.query(await loadSql(sql), params);
      const findings = rows.map((r) => ({
        ...Object.fromEntries(columns.map((c) => [c, r[c] ?? null])),
        detail: detail(r, statsAge),
        total: r.total,
      }));
      lists[check] = countedList(
        { columns: [...columns, "detail", "total"], rows: findings },
        limit,
      );
    }
    return lists;
  });
  if (format !== "csv") return printOutput(renderLists(lists, format));
  // CSV is one table: every finding with its check, the columns of all checks.
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
  for (const [check, list] of Object.entries(lists)) {
    if (isTruncated(list)) note(`${check}: ${truncationText(list)}`);
  }
  printOutput(renderRows({ columns, rows }, "csv"));
});
