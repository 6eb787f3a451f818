#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists active queries running longer than a threshold. */
import { runSqlReport } from "../lib/cli/sql_report.ts";
import { parseDecimal } from "../lib/core/numbers.ts";

const usage = `Usage: long_running_queries.ts [minutes] [limit | --limit N] [--json | --csv]

Lists active queries (other sessions) that started more than <minutes> ago
(default 5; a decimal such as 0.5 is allowed), longest first: pid, user,
database, application, seconds running, wait event and the query.
limit: how many (default 20, at most 10000); a last line says when
there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/long_running_queries.ts 5 20`;

await runSqlReport({
  name: "long_running_queries",
  usage,
  sql: "long_running_queries",
  limit: 20,
  positionals: { min: 0, max: 1 },
  params: ({ positionals, limit }) => [
    parseDecimal(positionals[0] ?? "5", "minutes", { max: 1_000_000 }) * 60,
    limit,
  ],
  empty: ({ positionals }) =>
    `note: no other session's query has run longer than ${positionals[0] ?? "5"} minutes; ` +
    `give fewer minutes (long_running_queries.ts 0.5), or see every session with ` +
    `activity_overview.ts`,
});
