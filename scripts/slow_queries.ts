#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the slowest statements on average (mean execution time) from pg_stat_statements. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import {
  statementColumns,
  STATEMENTS_SCOPE_HELP,
  topStatements,
} from "../lib/reports/pg_stat_statements.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: slow_queries.ts [limit | --limit N] [--all-databases] [--all] [--json | --csv]

Lists statements from pg_stat_statements ordered by mean execution time (the slowest single runs):
user, calls, total / mean / max time in ms, rows, shared-buffer hit share and
the normalised query text (and the database, with --all-databases). limit: how many (default 20, at most 10000; a last line says when there are more).
pg_stat_statements_top.ts ranks by total time instead.
When the extension is not created in this database, says the step left and
exits 1: CREATE EXTENSION when the server already loads the library, else the
shared_preload_libraries change and restart first. Works with every extension
version (1.4 to the newest).

${STATEMENTS_SCOPE_HELP}

Options:
  --limit N         the same as [limit]
  --all-databases   every database's statements, with a database column
  --all             the skill's own statements too
  --json            {"rows": [...], "total": N, "truncated": false, "limit": N};
                    total counts every row, those past the limit too
  --csv             CSV with a header (stderr says when the limit cut it)
  --help            this text

Example:
  ./scripts/slow_queries.ts 20`;

await runScript("slow_queries", async () => {
  const { format, limit, values } = parseCli({
    name: "slow_queries",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
    options: { "all-databases": { type: "boolean" }, all: { type: "boolean" } },
  }, Deno.args);
  const allDatabases = values["all-databases"] === true;
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await withSession(
    target,
    (session) =>
      topStatements(session, {
        order: "mean",
        limit,
        allDatabases,
        includeOwn: values.all === true,
      }),
  );
  const list = statementColumns(countedList(resultRows(result), limit), allDatabases);
  printOutput(renderList(list, format));
});
