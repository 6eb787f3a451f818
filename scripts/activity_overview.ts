#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the sessions that are doing something or holding a transaction open. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: activity_overview.ts [limit | --limit N] [--json | --csv]

Lists client sessions other than this one that are not idle: active ones, and
those idle in a transaction (an open transaction holds its locks and keeps
vacuum from cleaning up). For each: pid, user, database, application, client
address, state, wait event type and event, seconds since the query and the
transaction started, and the query (shortened). Oldest transaction first.
limit: how many (default 20, at most 10000); a last line says when
there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/activity_overview.ts 20`;

await runScript("activity_overview", async () => {
  const { format, limit } = parseCli({
    name: "activity_overview",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "activity_overview", [limit]);
  printOutput(renderList(countedList(resultRows(result), limit), format));
});
