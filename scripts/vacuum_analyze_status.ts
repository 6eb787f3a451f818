#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Summarises VACUUM and ANALYZE recency and dead rows per table. */
import { parseCli, parseLimit, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: vacuum_analyze_status.ts [limit] [--json | --csv]

Per table: live and dead rows, the dead share, the last manual and automatic
VACUUM and ANALYZE, how often each ran, and rows modified since the last
ANALYZE. Tables never analyzed come first (the planner is guessing for them),
then those with the most dead rows. limit: how many (default 50, at most 10000).

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/vacuum_analyze_status.ts 30`;

await runScript("vacuum_analyze_status", async () => {
  const { positionals, format } = parseCli({
    name: "vacuum_analyze_status",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 50);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "vacuum_analyze_status", [limit]);
  printOutput(renderRows(resultRows(result), format));
});
