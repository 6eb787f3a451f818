#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the sessions that are doing something or holding a transaction open. */
import { parseCli, parseLimit, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: activity_overview.ts [limit] [--json | --csv]

Lists client sessions other than this one that are not idle: active ones, and
those idle in a transaction (an open transaction holds its locks and keeps
vacuum from cleaning up). For each: pid, user, database, application, client
address, state, wait event type and event, seconds since the query and the
transaction started, and the query (shortened). Oldest transaction first.
limit: how many (default 20, at most 10000).

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/activity_overview.ts 20`;

await runScript("activity_overview", async () => {
  const { positionals, format } = parseCli({
    name: "activity_overview",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 20);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "activity_overview", [limit]);
  printOutput(renderRows(resultRows(result), format));
});
