#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the largest tables with their total, table, index and TOAST sizes. */
import { parseCli, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: table_sizes.ts [limit | --limit N] [--json | --csv]

Lists the largest tables (and materialized views), largest first: kind, total
size (table + indexes + TOAST), table, index and TOAST sizes, readable and in
bytes, and the estimated row count. A partitioned table is reported with all of
its partitions' sizes and rows added up; each partition is listed too, its kind
"partition" and partition_of naming its parent, so the two overlap by design.
Estimated rows are empty (null in --json) when the table was never analyzed or
vacuumed. limit: how many (default 20, at most 10000); a last line says when
there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too; sizes in bytes as numbers
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/table_sizes.ts 20`;

await runScript("table_sizes", async () => {
  const { format, limit } = parseCli({
    name: "table_sizes",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "table_sizes", [limit]);
  printOutput(renderList(countedList(resultRows(result), limit), format));
});
