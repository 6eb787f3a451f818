#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists foreign keys that no index supports, with the index that would. */
import { parseCli, parseLimit, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: missing_fk_indexes.ts [limit] [--json | --csv]

Lists foreign keys without a supporting index, largest tables first, with the
CREATE INDEX CONCURRENTLY statement that would add one. A key counts as indexed
only when an index's leading columns are exactly the key's columns (in any
order): without such an index, every delete or key update on the referenced
table scans this one. Each key is listed once, as declared, not once per
partition. limit: how many (default 50, at most 10000).

A partitioned table refuses CREATE INDEX CONCURRENTLY, so its suggestion is a
plain CREATE INDEX (which blocks writes while it builds) and the note says so.
To build without that lock: CREATE INDEX ... ON ONLY the partitioned table
(invalid, instant), then CREATE INDEX CONCURRENTLY on each partition and
ALTER INDEX <parent index> ATTACH PARTITION <partition index> for each; the
parent index becomes valid once every partition's is attached.

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/missing_fk_indexes.ts`;

await runScript("missing_fk_indexes", async () => {
  const { positionals, format } = parseCli({
    name: "missing_fk_indexes",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 50);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "missing_fk_indexes", [limit]);
  printOutput(renderRows(resultRows(result), format));
});
