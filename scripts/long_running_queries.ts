#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists active queries running longer than a threshold. */
import { parseCli, parseDecimal, parseLimit, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: long_running_queries.ts [minutes] [limit] [--json | --csv]

Lists active queries (other sessions) that started more than <minutes> ago
(default 5; a decimal such as 0.5 is allowed), longest first: pid, user,
database, application, seconds running, wait event and the query.
limit: how many (default 20, at most 10000).

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/long_running_queries.ts 5 20`;

await runScript("long_running_queries", async () => {
  const { positionals, format } = parseCli({
    name: "long_running_queries",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 2 },
  }, Deno.args);
  const minutesText = positionals[0] ?? "5";
  const seconds = parseDecimal(minutesText, "minutes", { max: 1_000_000 }) * 60;
  const limit = parseLimit(positionals[1], 20);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "long_running_queries", [seconds, limit]);
  printOutput(renderRows(resultRows(result), format));
});
