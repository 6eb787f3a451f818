#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Shows the plan of one statement: EXPLAIN (ANALYZE, BUFFERS) inside a
 * transaction that is rolled back, or the plan alone with --no-analyze.
 */
import { parseCli, runScript, UsageError } from "../lib/cli.ts";
import { withRollback, withSession } from "../lib/database.ts";
import { PgServerError } from "../lib/session.ts";
import { printOutput } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: explain_analyze.ts [--no-analyze] [--json] "<sql>"

Shows how the server runs one statement. By default it runs the statement with
EXPLAIN (ANALYZE, BUFFERS), inside a transaction that is always rolled back:
the plan shows real row counts, times and buffer use, and a DELETE, UPDATE or
INSERT leaves every row as it was. (Sequences advanced by the statement stay
advanced, as rollback does not undo them.) With --no-analyze the statement is
only planned, never run. Exactly one statement is accepted; more are refused.
The session carries a statement timeout (DB_STATEMENT_TIMEOUT_MS, default 30 s).

Options:
  --no-analyze   plan only (EXPLAIN without ANALYZE): nothing is executed
  --json         the plan in EXPLAIN's JSON format
  --help         this text

Example:
  ./scripts/explain_analyze.ts "select * from orders where customer_id = 42"`;

await runScript("explain_analyze", async () => {
  const { positionals, values, format } = parseCli({
    name: "explain_analyze",
    usage,
    formats: ["json"],
    positionals: { min: 1, max: 1 },
    options: { "no-analyze": { type: "boolean" } },
  }, Deno.args);
  const statement = positionals[0].trim();
  if (statement === "" || statement === ";") {
    throw new UsageError("Give one SQL statement to explain");
  }
  const analyze = values["no-analyze"] !== true;
  const options = [
    ...(analyze ? ["ANALYZE", "BUFFERS"] : []),
    ...(format === "json" ? ["FORMAT JSON"] : []),
  ];
  // The statement is the one thing this script exists to run; the extended
  // protocol refuses text holding more than one statement, so nothing can be
  // appended after the EXPLAIN.
  const explain = `EXPLAIN ${options.length ? `(${options.join(", ")}) ` : ""}${statement}`;
  const target = await resolveTarget({ session: analyze ? "explain" : "diagnostic" });
  const plan = await withSession(target, async (session) => {
    try {
      return await withRollback(session, () => session.query(explain));
    } catch (error) {
      if (error instanceof PgServerError && /multiple commands/.test(error.message)) {
        throw new UsageError("Give exactly one statement; the text holds several");
      }
      throw error;
    }
  });
  if (format === "json") {
    printOutput(JSON.stringify(plan.rows[0]["QUERY PLAN"], null, 2));
  } else {
    printOutput(plan.rows.map((row) => row["QUERY PLAN"]).join("\n"));
  }
});
