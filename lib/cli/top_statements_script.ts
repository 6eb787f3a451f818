/**
 * The pg_stat_statements ranking, declared once: pg_stat_statements_top.ts
 * (by total time: where the server's time goes) and slow_queries.ts (by mean
 * time: the slowest single runs) differ only in the order.
 *
 * @module
 */
import { parseCli } from "./args.ts";
import { runScript } from "./run.ts";
import { resolveTarget } from "../connection/resolve.ts";
import { withSession } from "../connection/script_sessions.ts";
import { countedList, printOutput, renderList, resultRows } from "../output/render.ts";
import {
  statementColumns,
  STATEMENTS_SCOPE_HELP,
  topStatements,
} from "../reports/pg_stat_statements.ts";

/** Each ranking's script, what it orders by, and the other one. */
const RANKINGS: Record<"total" | "mean", { name: string; by: string; other: string }> = {
  total: {
    name: "pg_stat_statements_top",
    by: "total execution time (where the server's time goes)",
    other: "slow_queries.ts ranks by mean time instead.",
  },
  mean: {
    name: "slow_queries",
    by: "mean execution time (the slowest single runs)",
    other: "pg_stat_statements_top.ts ranks by total time instead.",
  },
};

/** What a ranking orders by: total or mean execution time. */
export type Ranking = "total" | "mean";

function usageOf(order: Ranking): string {
  const { name, by, other } = RANKINGS[order];
  return `Usage: ${name}.ts [limit | --limit N] [--all-databases] [--all] [--json | --csv]

Lists statements from pg_stat_statements ordered by ${by}:
user, calls, total / mean / max time in ms, rows, shared-buffer hit share and
the normalised query text (and the database, with --all-databases). limit: how
many (default 20, at most 10000; a last line says when there are more).
${other}
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
  ./scripts/${name}.ts 20`;
}

/** Runs the script that lists the statements ranked by `order` (total or mean time). */
export function runTopStatementsScript(order: Ranking): Promise<never> {
  const { name } = RANKINGS[order];
  return runScript(name, async () => {
    const { format, limit, values } = parseCli({
      name,
      usage: usageOf(order),
      formats: ["json", "csv"],
      limit: { fallback: 20 },
      options: { "all-databases": { type: "boolean" }, all: { type: "boolean" } },
    }, Deno.args);
    const allDatabases = values["all-databases"] === true;
    const target = await resolveTarget({ session: "diagnostic" });
    const result = await withSession(
      target,
      (session) =>
        topStatements(session, { order, limit, allDatabases, includeOwn: values.all === true }),
    );
    printOutput(
      renderList(statementColumns(countedList(resultRows(result), limit), allDatabases), format),
    );
  });
}
