#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Describes the database's schema from pg_catalog, section by section: tables
 * and partitions, columns, keys, indexes, constraints, row-level security,
 * views, sequences, types, triggers, functions, extensions, comments.
 */
import {
  closeMatches,
  parseCli,
  parsePositiveInt,
  runScript,
  SkillError,
  UsageError,
} from "../lib/cli.ts";
import { querySqlFiles } from "../lib/database.ts";
import { printOutput, renderSections, resultRows, type Sections } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

/** Each section, the SQL file answering it, and which filters it takes. */
const SECTIONS = {
  tables: { sql: "introspect_tables", params: "schema_table" },
  partitioned_tables: { sql: "introspect_partitioned_tables", params: "schema_table" },
  partitions: { sql: "introspect_partitions", params: "schema_table" },
  columns: { sql: "introspect_columns", params: "schema_table" },
  primary_keys: { sql: "introspect_primary_keys", params: "schema_table" },
  foreign_keys: { sql: "introspect_foreign_keys", params: "schema_table" },
  indexes: { sql: "introspect_indexes", params: "schema_table" },
  unique_constraints: { sql: "introspect_unique_constraints", params: "schema_table" },
  check_constraints: { sql: "introspect_check_constraints", params: "schema_table" },
  exclusion_constraints: { sql: "introspect_exclusion_constraints", params: "schema_table" },
  policies: { sql: "introspect_policies", params: "schema_table" },
  views: { sql: "introspect_views", params: "schema_table_view" },
  materialized_views: { sql: "introspect_materialized_views", params: "schema_table_view" },
  sequences: { sql: "introspect_sequences", params: "schema_table" },
  enums: { sql: "introspect_enums", params: "schema" },
  domains: { sql: "introspect_domains", params: "schema" },
  composite_types: { sql: "introspect_composite_types", params: "schema" },
  triggers: { sql: "introspect_triggers", params: "schema_table" },
  functions: { sql: "introspect_functions", params: "schema_function" },
  extensions: { sql: "introspect_extensions", params: "none" },
  comments: { sql: "introspect_comments", params: "schema_table" },
} as const;

type SectionName = keyof typeof SECTIONS;
const NAMES = Object.keys(SECTIONS) as SectionName[];
/** Sections that take the server longest on large catalogs, cheapest first. */
const HEAVY: SectionName[] = ["primary_keys", "foreign_keys", "columns", "indexes"];

const usage =
  `Usage: schema_introspect.ts [--schema S]... [--table T]... [--section NAME]... [--json | --csv]

Describes the schema from pg_catalog (fast on catalogs of thousands of tables),
in sections: ${NAMES.join(", ")}.
Objects owned by extensions and the system schemas are left out. A constraint
PostgreSQL copies onto each partition (foreign keys, inherited checks) is shown
once, where it is declared, as pg_dump shows it. tables gives each table's kind
(table, partitioned table, partition, foreign table), what it is a partition
of, the tables it inherits from (INHERITS), estimated rows (null when never
analyzed; a partitioned table's are its partitions'), and whether row-level
security is enabled and forced.

Options:
  --schema S     only schema S (repeatable)
  --table T      only relations named T (repeatable): tables, views, sequences and
                 what belongs to them (a partitioned table's partitions too);
                 enums, domains, composite types, functions and extensions ignore it
  --section N    only section N (repeatable)
  --json         one JSON object: section -> array of rows
  --csv          CSV of one section (use with exactly one --section)
  --help         this text

Names are exact (case-sensitive, as in the catalog): a --schema or --table that
names nothing is an error (exit 1) that lists the close matches.

Environment:
  DB_VIEW_DEF_TRUNC   cut view and materialized view definitions to this many characters
  DB_FUNC_DEF_TRUNC   cut function definitions to this many characters

Example:
  DB_VIEW_DEF_TRUNC=200 ./scripts/schema_introspect.ts --schema public --section tables --section foreign_keys`;

/** One line naming what matched nothing, with the close matches, or null when all matched. */
async function unmatched(
  rows: Record<string, unknown>[],
  database: string,
): Promise<string | null> {
  if (rows.length === 0) return null;
  const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(", ");
  const misses = await Promise.all(rows.map(async (row) => {
    const name = String(row.name);
    const elsewhere = row.elsewhere as string[];
    if (elsewhere.length) {
      return `no table named "${name}" in the schemas given (it is in ${quoted(elsewhere)})`;
    }
    const close = await closeMatches(name, row.existing as string[]);
    return `no ${row.kind} named "${name}"` + (close.length ? ` (close: ${quoted(close)})` : "");
  }));
  return `Nothing matched in database "${database}": ${misses.join("; ")}; ` +
    `names are exact and case-sensitive, give them as the catalog spells them`;
}

function truncation(name: string): number | null {
  const text = Deno.env.get(name);
  return text ? parsePositiveInt(text, name, { max: 10_000_000 }) : null;
}

await runScript("schema_introspect", async () => {
  const { values, format } = parseCli({
    name: "schema_introspect",
    usage,
    formats: ["json", "csv"],
    options: {
      schema: { type: "string", multiple: true },
      table: { type: "string", multiple: true },
      section: { type: "string", multiple: true },
    },
  }, Deno.args);
  const requested = (values.section as string[] | undefined) ?? [];
  for (const name of requested) {
    if (!(NAMES as string[]).includes(name)) {
      throw new UsageError(`Unknown section "${name}"; sections: ${NAMES.join(", ")}`);
    }
  }
  const sections = requested.length ? [...new Set(requested)] as SectionName[] : NAMES;
  if (format === "csv" && sections.length !== 1) {
    throw new UsageError("--csv prints one section; choose it with --section");
  }
  const schemas = (values.schema as string[] | undefined) ?? null;
  const tables = (values.table as string[] | undefined) ?? null;
  const viewTrunc = truncation("DB_VIEW_DEF_TRUNC");
  const funcTrunc = truncation("DB_FUNC_DEF_TRUNC");

  const query = (name: SectionName) => {
    const spec = SECTIONS[name];
    const params = {
      schema_table: [schemas, tables],
      schema_table_view: [schemas, tables, viewTrunc],
      schema: [schemas],
      schema_function: [schemas, funcTrunc],
      none: [],
    }[spec.params];
    return { name: spec.sql, params };
  };
  // The costliest sections go first, so that two sessions share the work evenly.
  const ordered = [...sections].sort((a, b) => HEAVY.indexOf(b) - HEAVY.indexOf(a));
  const filtered = schemas !== null || tables !== null;
  const target = await resolveTarget({ session: "diagnostic" });
  const results = await querySqlFiles(target, [
    ...ordered.map(query),
    ...(filtered ? [{ name: "introspect_unmatched_names", params: [schemas, tables] }] : []),
  ]);
  const miss = filtered ? await unmatched(results.at(-1)!.rows, target.database) : null;
  if (miss) throw new SkillError(miss);
  const byName = new Map(ordered.map((name, i) => [name, results[i]]));
  const report: Sections = {};
  for (const name of sections) report[name] = resultRows(byName.get(name)!);
  printOutput(renderSections(report, format));
});
