#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Shows blocked sessions and the sessions blocking them. */
import { runSqlReport } from "../lib/cli/sql_report.ts";

const usage = `Usage: locks_overview.ts [limit | --limit N] [--json | --csv]

One row per blocked session and each session blocking it: both pids, users and
queries, how long the blocked query has been running, the lock it waits for
(type and mode), the relation involved, how long the blocker's transaction has
been open, and whether the blocker is itself waiting (blocking_is_waiting): a
chain A blocks B blocks C shows as two rows linked by B's pid. Longest wait first.
No rows: nothing is blocked. limit: how many rows (default 50, at most 10000);
a last line says when there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/locks_overview.ts`;

// Every row is read (doctor.ts counts them all too): no more than the server has sessions.
await runSqlReport({
  name: "locks_overview",
  usage,
  sql: "locks_overview",
  limit: 50,
  total: "rows",
  params: () => [],
});
