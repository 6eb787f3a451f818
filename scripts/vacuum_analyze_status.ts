#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Summarises VACUUM and ANALYZE recency and dead rows per table. */
import { runSqlReport } from "../lib/cli/sql_report.ts";

const usage = `Usage: vacuum_analyze_status.ts [limit | --limit N] [--json | --csv]

Per table: live and dead rows, the dead share, the last manual and automatic
VACUUM and ANALYZE, how often each ran, and rows modified since the last
ANALYZE. Tables never analyzed come first (the planner is guessing for them),
then those with the most dead rows. limit: how many (default 50, at most 10000); a last line says when
there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/vacuum_analyze_status.ts 30`;

await runSqlReport({
  name: "vacuum_analyze_status",
  usage,
  sql: "vacuum_analyze_status",
  limit: 50,
});
