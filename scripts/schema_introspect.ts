#!/usr/bin/env -S deno run --v8-flags=--max-semi-space-size=2 --allow-env --allow-read --allow-write --allow-net
/**
 * Describes the database's schema from pg_catalog: each table with its
 * columns, constraints, indexes, triggers and policies under it, views and
 * materialized views with their columns, then sequences, types, functions,
 * extensions and the remaining comments. Streamed: written as it is read.
 */
import { parseCli } from "../lib/cli/args.ts";
import { parsePositiveInt } from "../lib/core/numbers.ts";
import { runScript } from "../lib/cli/run.ts";
import { UsageError } from "../lib/core/errors.ts";
import { type Section, SECTIONS, writeIntrospection } from "../lib/reports/introspect.ts";
import { OutputBuffer } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { relaunchWithV8Flag, SMALL_YOUNG_GENERATION } from "../lib/cli/v8_flags.ts";

const usage =
  `Usage: schema_introspect.ts [--schema S]... [--table T]... [--section NAME]... [--json]

Describes the schema from pg_catalog, written out as it is read (fast and flat
in memory on catalogs of thousands of tables). Objects owned by extensions and
the system schemas are left out.

--json writes one object: each group that has entries maps to an array of them,
one entry per line; nulls, empty lists and false flags are left out (a flag such
as not_null, unique, deferrable or not_valid appears only when true).
  tables     schema, name, kind (table, partitioned table, foreign table), owner,
             estimated_rows (left out: never counted; a partitioned table's are
             its partitions'), row_security / row_security_forced, partition_of
             and bound (a partition), partition_key, inherits (INHERITS), comment,
             and under it:
               columns       name, type, not_null, default, identity, generated,
                             comment (in position order; a partition or INHERITS
                             child lists only what differs from its parent's)
               primary_key   name, columns, index (only when it is more than
                             its columns: INCLUDE, WITH ...)
               unique        the same, per unique constraint
               checks        name, definition (CHECK ...), not_valid
               exclusions    name, definition (EXCLUDE USING ...)
               foreign_keys  name, columns, referenced_table, referenced_columns,
                             on_update / on_delete (when not no action), match
               indexes       name, definition (what follows USING), unique,
                             invalid, of (the partitioned table's index it is
                             attached to; its definition is that one's)
               triggers      name, definition (after CREATE TRIGGER name),
                             enabled (when not the usual: disabled, replica,
                             always)
               policies      name, mode, command, roles, using, with_check
             Constraints may be deferrable / initially_deferred; everything may
             have a comment. An index backing a key is the key's (same name).
             Copies PostgreSQL keeps on partitions (keys, foreign keys,
             triggers) are shown once, where declared, as pg_dump shows them.
  views      schema, name, owner, definition, comment, columns, triggers
  materialized_views  ... as views, not_populated, total_bytes, indexes
  sequences  schema, name, data_type, start, increment, min, max, cycle, owned_by
  enums (labels), domains (type, not_null, default, checks),
  composite_types (attributes), functions (arguments, result, kind, language,
  volatility, security_definer, definition), extensions (version, schema,
  description), comments (on what no other entry shows: schemas, rules ...).
The default text shows the same facts: a block per table (its facts on the
first line, a line per column, a labelled line per key, index, trigger, policy).

Options:
  --schema S     only schema S (repeatable)
  --table T      only relations named T (repeatable) and what belongs to them:
                 its columns, keys, indexes, triggers, policies, its partitions
                 (a partitioned table's), the sequences it owns, the enums,
                 domains and composite types its columns use, and the functions
                 its triggers call (named, without their bodies); no extensions
  --section N    only group or part N (repeatable): ${SECTIONS.join(", ")};
                 a part (e.g. foreign_keys) gives each table that has one its
                 name and that part only
  --json         one JSON object (see above)
  --help         this text

Names are exact (case-sensitive, as in the catalog): a --schema or --table that
names nothing is an error (exit 1) that lists the close matches.

Environment:
  DB_VIEW_DEF_TRUNC   cut view and materialized view definitions to this many characters
  DB_FUNC_DEF_TRUNC   cut function definitions to this many characters

Example:
  ./scripts/schema_introspect.ts --table orders --json
  DB_VIEW_DEF_TRUNC=200 ./scripts/schema_introspect.ts --schema public --section foreign_keys`;

function truncation(name: string): number | null {
  const text = Deno.env.get(name);
  return text ? parsePositiveInt(text, name, { max: 10_000_000 }) : null;
}

// Started without it (`deno run -A scripts/schema_introspect.ts`), the young generation grows
// to hold more garbage than the streamed schema itself: start again with it (lib/cli/v8_flags.ts).
relaunchWithV8Flag(SMALL_YOUNG_GENERATION);

await runScript("schema_introspect", async () => {
  const { values, format } = parseCli({
    name: "schema_introspect",
    usage,
    formats: ["json"],
    options: {
      schema: { type: "string", multiple: true },
      table: { type: "string", multiple: true },
      section: { type: "string", multiple: true },
    },
  }, Deno.args);
  const requested = values.section ?? [];
  for (const name of requested) {
    if (!(SECTIONS as string[]).includes(name)) {
      throw new UsageError(`Unknown section "${name}"; sections: ${SECTIONS.join(", ")}`);
    }
  }
  const viewTrunc = truncation("DB_VIEW_DEF_TRUNC");
  const funcTrunc = truncation("DB_FUNC_DEF_TRUNC");
  const target = await resolveTarget({ session: "diagnostic" });
  await writeIntrospection(target, {
    schemas: values.schema ?? null,
    tables: values.table ?? null,
    sections: [...new Set(requested)] as Section[],
    viewTrunc,
    funcTrunc,
    format: format === "json" ? "json" : "table",
  }, new OutputBuffer());
});
