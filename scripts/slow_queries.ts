#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the slowest statements on average (mean execution time) from pg_stat_statements. */
import { parseCli, runScript } from "../lib/cli.ts";
import { withSession } from "../lib/database.ts";
import { topStatements } from "../lib/pg_stat_statements.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: slow_queries.ts [limit | --limit N] [--json | --csv]

Lists statements from pg_stat_statements ordered by mean execution time (the slowest single runs):
database, user, calls, total / mean / max time in ms, rows, shared-buffer hit
share and the normalised query text. limit: how many (default 20, at most 10000; a last line says when there are more).
pg_stat_statements_top.ts ranks by total time instead.
When the extension is not installed in this database, says how to enable it
and exits 1. Works with every extension version (1.4 to the newest).

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/slow_queries.ts 20`;

await runScript("slow_queries", async () => {
  const { format, limit } = parseCli({
    name: "slow_queries",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await withSession(target, (session) => topStatements(session, "mean", limit));
  printOutput(renderList(countedList(resultRows(result), limit), format));
});
