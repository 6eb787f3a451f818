#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the slowest statements on average (mean execution time) from pg_stat_statements. */
import { parseCli, parseLimit, runScript } from "../lib/cli.ts";
import { withSession } from "../lib/database.ts";
import { topStatements } from "../lib/pg_stat_statements.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: slow_queries.ts [limit] [--json | --csv]

Lists statements from pg_stat_statements ordered by mean execution time (the slowest single runs):
database, user, calls, total / mean / max time in ms, rows, shared-buffer hit
share and the normalised query text. limit: how many (default 20, at most 10000).
pg_stat_statements_top.ts ranks by total time instead.
When the extension is not installed in this database, says how to enable it
and exits 1. Works with every extension version (1.4 to the newest).

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/slow_queries.ts 20`;

await runScript("slow_queries", async () => {
  const { positionals, format } = parseCli({
    name: "slow_queries",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 20);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await withSession(target, (session) => topStatements(session, "mean", limit));
  printOutput(renderRows(resultRows(result), format));
});
