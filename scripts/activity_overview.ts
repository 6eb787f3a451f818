#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the sessions that are doing something or holding a transaction open. */
import { runSqlReport } from "../lib/cli/sql_report.ts";

const usage = `Usage: activity_overview.ts [limit | --limit N] [--json | --csv]

Lists client sessions other than this one that are not idle: active ones, and
those idle in a transaction (an open transaction holds its locks and keeps
vacuum from cleaning up). For each: pid, user, database, application, client
address, state, wait event type and event, seconds since the query and the
transaction started, and the query (shortened). Oldest transaction first.
limit: how many (default 20, at most 10000); a last line says when
there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/activity_overview.ts 20`;

await runSqlReport({ name: "activity_overview", usage, sql: "activity_overview", limit: 20 });
