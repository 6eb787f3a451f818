#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the largest tables with their total, table, index and TOAST sizes. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: table_sizes.ts [limit | --limit N] [--partitions] [--json | --csv]

Lists the largest tables (and materialized views), largest first: kind, total
size (table + indexes + TOAST), table, index and TOAST sizes, readable and in
bytes, and the estimated row count. A partitioned table is one row carrying
all of its partitions' sizes and rows added up, down to the last level of
sub-partitioning; its partitions are not listed (--partitions lists them).
Estimated rows are empty (null in --json) when the table was never analyzed or
vacuumed (a partitioned table's when any partition's are). A table another
session holds (or waits for) ACCESS EXCLUSIVE on, an ALTER TABLE or VACUUM FULL
under way, is not waited for: its sizes are pg_class's page counts from its
last VACUUM or ANALYZE, said on stderr, and "sizes_estimated": true in --json.
limit: how many (default 20, at most 10000); a last line says when there are
more.

Options:
  --limit N     the same as [limit]
  --partitions  list each partition too, its kind "partition" (or "partitioned
                table" when it is sub-partitioned) and partition_of naming the
                table it belongs to; its sizes are also in that table's, so
                the rows overlap by design: do not add them up
  --json        {"rows": [...], "total": N, "truncated": false, "limit": N};
                total counts every row, those past the limit too; sizes in
                bytes as numbers
  --csv         CSV with a header (stderr says when the limit cut it)
  --help        this text

Example:
  ./scripts/table_sizes.ts 20
  ./scripts/table_sizes.ts --partitions --json`;

await runScript("table_sizes", async () => {
  const { format, limit, values } = parseCli({
    name: "table_sizes",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
    options: { partitions: { type: "boolean" } },
  }, Deno.args);
  const partitions = values.partitions === true;
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "table_sizes", [limit, partitions]);
  const counted = countedList(resultRows(result), limit);
  // Estimated sizes are said once on stderr; in JSON the rows that have them carry the flag.
  const estimated = counted.rows.filter((r) => r.sizes_estimated === true);
  if (estimated.length) {
    note(
      `note: another session holds or waits for ACCESS EXCLUSIVE on ${
        estimated.map((r) => `${r.schema}.${r.table}`).join(", ")
      }: ${estimated.length === 1 ? "its sizes are" : "their sizes are"} pg_class's page ` +
        `counts from the last VACUUM or ANALYZE, not measured (locks_overview.ts shows the lock)`,
    );
  }
  const at0 = counted.columns.indexOf("sizes_estimated");
  const list = {
    ...counted,
    columns: format === "json" ? counted.columns : counted.columns.filter((_, i) => i !== at0),
    ...(counted.labels && format !== "json"
      ? { labels: counted.labels.filter((_, i) => i !== at0) }
      : {}),
    rows: counted.rows.map(({ sizes_estimated, ...row }) =>
      format === "json" && sizes_estimated === true ? { ...row, sizes_estimated } : row
    ),
  };
  if (partitions) {
    printOutput(renderList(list, format));
  } else {
    // No partition is listed, so partition_of would be empty on every row.
    const at = list.columns.indexOf("partition_of");
    const rows = list.rows.map(({ partition_of: _of, ...row }) => row);
    printOutput(renderList({
      ...list,
      columns: list.columns.filter((_, i) => i !== at),
      ...(list.labels ? { labels: list.labels.filter((_, i) => i !== at) } : {}),
      rows,
    }, format));
  }
});
