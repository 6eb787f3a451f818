#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the statements that cost the most time in total from pg_stat_statements. */
import { parseCli, parseLimit, runScript } from "../lib/cli.ts";
import { withSession } from "../lib/database.ts";
import { topStatements } from "../lib/pg_stat_statements.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: pg_stat_statements_top.ts [limit] [--json | --csv]

Lists statements from pg_stat_statements ordered by total execution time (where the server's time goes):
database, user, calls, total / mean / max time in ms, rows, shared-buffer hit
share and the normalised query text. limit: how many (default 20, at most 10000).
slow_queries.ts ranks by mean time instead.
When the extension is not installed in this database, says how to enable it
and exits 1. Works with every extension version (1.4 to the newest).

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/pg_stat_statements_top.ts 20`;

await runScript("pg_stat_statements_top", async () => {
  const { positionals, format } = parseCli({
    name: "pg_stat_statements_top",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 20);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await withSession(target, (session) => topStatements(session, "total", limit));
  printOutput(renderRows(resultRows(result), format));
});
