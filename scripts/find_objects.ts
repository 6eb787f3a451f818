#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Finds tables, columns, functions, indexes, types, constraints, policies ... by name. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { likePattern } from "../lib/sql/like_pattern.ts";
import { UsageError } from "../lib/core/errors.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

/** What --kind accepts, with the words people also use for them. */
const FAMILIES: Record<string, string> = {
  table: "table",
  tables: "table",
  view: "view",
  views: "view",
  materialized_view: "materialized_view",
  "materialized-view": "materialized_view",
  matview: "materialized_view",
  column: "column",
  columns: "column",
  function: "function",
  functions: "function",
  procedure: "procedure",
  procedures: "procedure",
  index: "index",
  indexes: "index",
  type: "type",
  types: "type",
  sequence: "sequence",
  sequences: "sequence",
  trigger: "trigger",
  triggers: "trigger",
  constraint: "constraint",
  constraints: "constraint",
  policy: "policy",
  policies: "policy",
};

const usage =
  `Usage: find_objects.ts PATTERN [limit | --limit N] [--kind KIND[,KIND...]] [--json | --csv]

Finds objects in the profile's database whose name matches PATTERN, case-
insensitively: tables (plain, partitioned, foreign), views, materialized views,
columns, functions (aggregates and window functions too), procedures, indexes,
types (enums, domains, composite, range), sequences, triggers, constraints
(primary key, unique, check, foreign key, exclusion; of tables and domains) and
row-level security policies, outside the system schemas. Each row: kind,
schema, name, the table it belongs to (columns, indexes, triggers, constraints,
policies, owned sequences) and a detail (column type, function arguments,
index or trigger definition, type flavour, the constraint's type, the policy's
permissive/restrictive and command). Exact names first.
PATTERN is plain text found anywhere in the name; with * (any characters) or ?
(one character) it must match the whole name: "order*", "*_id". SCHEMA.PATTERN
looks in the schemas whose whole name matches SCHEMA (case-insensitively, * and
? allowed): "sales.order", "sales.*", "app*.id". % and _ are ordinary
characters. The pattern is bound as a parameter, never spliced.

Options:
  --kind KINDS   only these (comma-separated): table, view, materialized_view,
                 column, function, procedure, index, type, sequence, trigger,
                 constraint, policy
  --partitions   also what belongs to each partition (its columns, indexes,
                 constraints, triggers: copies of its parent's), left out by
                 default and counted on stderr; partitions themselves are listed
  --limit N      rows at most, the same as [limit] (default 200, at most
                 10000); a last line says when more matched
  --json         {"rows": [...], "total": N, "truncated": false, "limit": N};
                 total counts every match, those past the limit too
  --csv          CSV with a header (stderr says when the limit cut it)
  --help         this text

Example:
  ./scripts/find_objects.ts customer --kind table,column
  ./scripts/find_objects.ts "sales.*" --kind table
  ./scripts/find_objects.ts orders_customer_id_fkey --kind constraint`;

await runScript("find_objects", async () => {
  const { positionals, values, format, limit } = parseCli({
    name: "find_objects",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 1, max: 1 },
    limit: { fallback: 200 },
    options: { kind: { type: "string" }, partitions: { type: "boolean" } },
  }, Deno.args);
  const pattern = positionals[0];
  if (pattern.trim() === "") throw new UsageError("PATTERN is empty; give part of a name");
  const kinds = values.kind === undefined ? null : [
    ...new Set(
      String(values.kind).split(",").map((word) => {
        const family = FAMILIES[word.trim().toLowerCase()];
        if (!family) {
          throw new UsageError(
            `Unknown kind "${word.trim()}"; use table, view, materialized_view, column, ` +
              `function, procedure, index, type, sequence, trigger, constraint or policy`,
          );
        }
        return family;
      }),
    ),
  ];
  const target = await resolveTarget({ session: "diagnostic" });
  // SCHEMA.PATTERN, as psql's \d takes it: the schema must match as a whole.
  const dot = pattern.indexOf(".");
  const schema = dot === -1 ? null : pattern.slice(0, dot);
  const name = dot === -1 ? pattern : pattern.slice(dot + 1);
  const find = (partitions: boolean) =>
    querySqlFile(target, "find_objects", [
      name === "" ? "%" : likePattern(name),
      kinds,
      name.replace(/[*?]/g, ""),
      limit,
      schema === null ? null : likePattern(schema, { match: "whole" }),
      partitions,
    ]);
  const result = await find(values.partitions === true);
  const list = countedList(resultRows(result), limit);
  // Counted on every row; with no row left, a second look says whether partitions hid some.
  const members = list.total > 0 || values.partitions === true
    ? Number(result.rows[0]?.partition_members ?? 0)
    : Number((await find(true)).rows[0]?.total ?? 0);
  if (list.total === 0 && members === 0) {
    note(`Nothing matches "${pattern}"${kinds ? ` among ${kinds.join(", ")}` : ""}`);
  }
  if (members > 0) {
    note(
      `note: ${members} more of partitions' own (their columns, indexes, constraints, ` +
        `triggers, copies of their parent's) left out; --partitions lists them`,
    );
  }
  const columns = ["kind", "schema", "name", "table", "detail"];
  const rows = list.rows.map(({ family: _family, partition_members: _members, ...row }) => row);
  printOutput(renderList({ ...list, columns, rows }, format));
});
