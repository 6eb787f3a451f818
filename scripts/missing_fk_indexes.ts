#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists foreign keys that no index supports, with the index that would. */
import { runSqlReport } from "../lib/cli/sql_report.ts";

const usage = `Usage: missing_fk_indexes.ts [limit | --limit N] [--json | --csv]

Lists foreign keys without a supporting index, largest tables first, with the
CREATE INDEX CONCURRENTLY statement that would add one. A key counts as indexed
only when an index's leading columns are exactly the key's columns (in any
order): without such an index, every delete or key update on the referenced
table scans this one. Each key is listed once, as declared, not once per
partition. limit: how many (default 50, at most 10000); a last line says when
there are more.

A partitioned table refuses CREATE INDEX CONCURRENTLY, so its suggestion is a
plain CREATE INDEX (which blocks writes while it builds) and the note says so.
To build without that lock: CREATE INDEX ... ON ONLY the partitioned table
(invalid, instant), then CREATE INDEX CONCURRENTLY on each partition and
ALTER INDEX <parent index> ATTACH PARTITION <partition index> for each; the
parent index becomes valid once every partition's is attached.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/missing_fk_indexes.ts`;

await runSqlReport({ name: "missing_fk_indexes", usage, sql: "missing_fk_indexes", limit: 50 });
