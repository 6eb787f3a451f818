#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Describes one table, view or foreign table: what psql's \d+ shows, and who references it. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { UsageError } from "../lib/core/errors.ts";
import { describeTable, renderDescription } from "../lib/reports/describe_table.ts";
import { printOutput } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

/** The most characters of a view's definition shown. */
const DEFINITION_CHARS = 800;

const usage = `Usage: describe_table.ts TABLE [limit | --limit N] [--json]

Describes one table (plain, partitioned, a partition, foreign), view or
materialized view in one call: columns (type, not null, default, identity,
generated, collation when not the default, comment); primary key, unique,
check and exclusion constraints; foreign keys out and in ("referenced by":
referencing table, columns, constraint, on delete); indexes (definition, size,
scans, INVALID); triggers; row-level security and policies; what it is a
partition of (with its bound) or its partitions with their bounds, inheritance
parents and children; total, table, index and TOAST size, estimated rows,
live and dead rows, last (auto)vacuum and (auto)analyze; its comment. A view
shows its columns and the first ${DEFINITION_CHARS} characters of its definition.

TABLE is read by the server as SQL reads a name: schema.table, or a bare name
found on the search_path; quote mixed-case names ('"Odd Name"',
'sales."Order Lines"'). It is bound as a parameter, never spliced. A name
that names nothing fails (exit 1) with the close matches.

Options:
  --limit N   partitions (or inheritance children) listed at most, the same as
              [limit] (default 50, at most 10000); the output says how many
              there are in all
  --json      one JSON object: nulls, empty lists and false flags left out;
              sizes in bytes and readable; partitions as {"rows": [...],
              "total": N, "truncated": false, "limit": N}
  --help      this text

Example:
  ./scripts/describe_table.ts public.orders`;

await runScript("describe_table", async () => {
  const { positionals, format, limit } = parseCli({
    name: "describe_table",
    usage,
    formats: ["json"],
    positionals: { min: 1, max: 1 },
    limit: { fallback: 50 },
  }, Deno.args);
  const name = positionals[0];
  if (name.trim() === "") throw new UsageError("TABLE is empty; give a table name");
  // The name is read with the role's search_path; lib/reports/describe_table.ts guards its own SQL.
  const target = await resolveTarget({ session: "diagnostic", userSearchPath: true });
  const described = await describeTable(target, name, {
    childLimit: limit,
    definitionChars: DEFINITION_CHARS,
  });
  printOutput(renderDescription(described, format));
});
