/**
 * One table (or view, materialized view, foreign table) described in one
 * call, as psql's `\d+` shows it and with what an agent asks next: columns,
 * keys and constraints, foreign keys both ways, indexes with size and use,
 * triggers, policies, partitions or inheritance, sizes, row estimates and
 * maintenance. Fetched from pg_catalog in one read-only snapshot and shaped
 * into a compact document (no nulls, no empty lists, flags only when true).
 *
 * @module
 */
import { closeMatches } from "../core/text.ts";
import { type OutputFormat } from "../output/render.ts";
import { SkillError } from "../core/errors.ts";
import { withSession } from "../connection/script_sessions.ts";
import { renderReport, type ReportSection } from "../output/render.ts";
import type { ConnectionTarget } from "../connection/target.ts";
import { PgServerError, type PgSession } from "../connection/session.ts";
import { loadSql } from "../sql/sql_files.ts";
import { stringifyJson } from "../connection/values.ts";

/** A row as the server returned it. */
type Row = Record<string, unknown>;

/**
 * SQLSTATEs raised for text that is no relation name at all: to_regclass,
 * before PostgreSQL 16, for bad quoting (42602), too many dots (42601),
 * another database's name (0A000), a missing schema (3F000); the server for a
 * NUL byte (22021). Such a name simply names nothing.
 */
const NOT_A_NAME = new Set(["42602", "42601", "0A000", "3F000", "22021"]);

/** What the relation kinds this describes are called, by pg_class.relkind. */
const DESCRIBED: Record<string, string> = {
  r: "table",
  p: "partitioned table",
  f: "foreign table",
  v: "view",
  m: "materialized view",
};

/** Other relation kinds, for the error that says what the name is instead. */
const OTHER_KINDS: Record<string, string> = {
  i: "an index",
  I: "a partitioned index",
  S: "a sequence",
  t: "a TOAST table",
  c: "a composite type",
};

/** How much of a description to fetch. */
export interface DescribeOptions {
  /** The most partitions (or inheritance children) listed. */
  childLimit: number;
  /** The most characters of a view's definition shown. */
  definitionChars: number;
}

/** A table's description: compact (nothing null, empty or false), grouped by topic. */
export type TableDescription = Record<string, unknown>;

/** What {@linkcode describeTable} found: the relation's name as it must be typed, described. */
export interface Described {
  /** Schema and name, each quoted where it needs quotes. */
  qualified: string;
  /** What the catalog says of the relation, grouped by topic. */
  description: TableDescription;
}

/**
 * Describes the relation that `name` names as the server reads names
 * (`schema.table`, a bare name on the search_path, `"Quoted Names"`). A name
 * that names nothing is a {@linkcode SkillError} (exit 1) listing close
 * matches from the catalog; an index, sequence or type is one that says so.
 */
export async function describeTable(
  target: ConnectionTarget,
  name: string,
  options: DescribeOptions,
): Promise<Described> {
  return await withSession(target, async (session) => {
    const found = await resolveRelation(session, name);
    if (!found) throw await notFound(session, name, target.database);
    const kind = String(found.relkind);
    if (!DESCRIBED[kind]) {
      throw new SkillError(
        `"${found.qualified}" is ${OTHER_KINDS[kind] ?? `a relation of kind "${kind}"`}, not a ` +
          `table or view; give a table, view or foreign table (find_objects.ts "${found.name}" ` +
          `shows what it belongs to)`,
      );
    }
    const oid = String(found.oid);
    const tableLike = kind === "r" || kind === "p" || kind === "f";
    // One snapshot for all the parts; catalog reads see the latest catalog anyway, the
    // statistics and sizes then agree with each other.
    await session.transaction("begin isolation level repeatable read read only");
    try {
      // From here on only the skill's SQL runs: names resolve in pg_catalog (CVE-2018-1058).
      await session.query(await loadSql("pin_search_path"));
      const run = async (file: string, params: unknown[] = [oid]) =>
        (await session.query(await loadSql(file), params)).rows;
      const relation = (await run("describe_table_relation", [oid, options.definitionChars]))[0];
      const columns = await run("describe_table_columns");
      const constraints = kind === "v" ? [] : await run("describe_table_constraints");
      const referencedBy = tableLike ? await run("describe_table_referenced_by") : [];
      const indexes = kind === "v" || kind === "f" ? [] : await run("describe_table_indexes");
      const triggers = await run("describe_table_triggers");
      const policies = tableLike ? await run("describe_table_policies") : [];
      const children = tableLike
        ? await run("describe_table_children", [oid, options.childLimit])
        : [];
      await session.transaction("commit");
      const description = shape({
        relation,
        columns,
        constraints,
        referencedBy,
        indexes,
        triggers,
        policies,
        children,
        childLimit: options.childLimit,
      });
      return { qualified: String(found.qualified), description };
    } catch (error) {
      await session.transaction("rollback").catch(() => {});
      throw error;
    }
  });
}

/** The relation `name` names, or null; text that is no name at all names nothing. */
async function resolveRelation(session: PgSession, name: string): Promise<Row | null> {
  try {
    const { rows } = await session.query(await loadSql("describe_table_target"), [name]);
    return rows[0] ?? null;
  } catch (error) {
    if (error instanceof PgServerError && NOT_A_NAME.has(error.code)) return null;
    throw error;
  }
}

/**
 * The error for a name that names nothing: the relations whose name is close
 * (compared as typed, quotes aside; with the schema when one was typed), each
 * as it must be typed.
 */
async function notFound(session: PgSession, name: string, database: string): Promise<SkillError> {
  // The candidates are read with names resolving in pg_catalog, as the description is.
  await session.transaction("begin read only");
  let rows: Row[];
  try {
    await session.query(await loadSql("pin_search_path"));
    rows = (await session.query(await loadSql("describe_table_candidates"))).rows;
  } finally {
    await session.transaction("rollback").catch(() => {});
  }
  const typed = name.replaceAll('"', "");
  const qualifiedTyped = typed.includes(".");
  const keyOf = (row: Row) => qualifiedTyped ? `${row.schema}.${row.name}` : String(row.name);
  const byKey = new Map<string, string[]>();
  for (const row of rows) {
    const key = keyOf(row);
    byKey.set(key, [...(byKey.get(key) ?? []), String(row.qualified)]);
  }
  // The same name, spelt as it is but typed without the quotes it needs, comes first.
  const exact = byKey.has(typed) ? [typed] : [];
  const close = [...exact, ...await closeMatches(typed, [...byKey.keys()], 3)];
  const suggestions = [...new Set(close.flatMap((key) => byKey.get(key) ?? []))].slice(0, 5);
  const shown = name.length > 80 ? `${name.slice(0, 80)}...` : name;
  return new SkillError(
    `No table, view or foreign table named "${shown}" in database "${database}"` +
      (suggestions.length
        ? `; close: ${suggestions.join(", ")}`
        : `; find_objects.ts "${
          typed.split(".").at(-1)!.slice(0, 80)
        }" --kind table,view finds names ` +
          `that contain it`),
  );
}

/** Drops what a compact document leaves out: null, undefined, false, "" and []. */
function compact(row: Row): Row {
  return Object.fromEntries(
    Object.entries(row).filter(([, v]) =>
      v !== null && v !== undefined && v !== false && v !== "" &&
      !(Array.isArray(v) && v.length === 0)
    ),
  );
}

/** Keeps only `keys` of a row, in that order, compacted. */
function pick(row: Row, keys: string[]): Row {
  return compact(Object.fromEntries(keys.map((k) => [k, row[k]])));
}

interface Parts {
  relation: Row;
  columns: Row[];
  constraints: Row[];
  referencedBy: Row[];
  indexes: Row[];
  triggers: Row[];
  policies: Row[];
  children: Row[];
  childLimit: number;
}

/** The rows of the queries as one compact document. */
function shape(parts: Parts): TableDescription {
  const r = parts.relation;
  const doc: Row = pick(r, ["schema", "name", "kind", "persistence", "owner", "comment"]);
  if (r.rls_enabled) doc.row_level_security = r.rls_forced ? "enabled, forced" : "enabled";
  Object.assign(doc, pick(r, ["options", "tablespace", "estimated_rows"]));
  const size = pick(r, ["total_bytes", "table_bytes", "index_bytes", "toast_bytes"]);
  if (Object.keys(size).length) {
    doc.size = { ...size, total: r.total_size, table: r.table_size, indexes: r.index_size };
    if (Number(r.toast_bytes) > 0) (doc.size as Row).toast = r.toast_size;
  }
  const activity = pick(r, [
    "seq_scan",
    "idx_scan",
    "live_rows",
    "dead_rows",
    "changed_since_analyze",
    "last_vacuum",
    "last_autovacuum",
    "last_analyze",
    "last_autoanalyze",
  ]);
  if (Object.keys(activity).length) doc.activity = activity;
  if (r.partition_of) doc.partition_of = { table: r.partition_of, bound: r.partition_bound };
  Object.assign(doc, pick(r, ["partition_key", "inherits"]));
  if (r.definition !== null && r.definition !== undefined) {
    // pg_get_viewdef starts with a space and ends with a semicolon when whole.
    doc.definition = String(r.definition).trim();
    if (String(r.definition).length < Number(r.definition_length)) {
      doc.definition_length = r.definition_length;
    }
  }
  Object.assign(doc, pick(r, ["foreign_server", "foreign_options"]));

  doc.columns = parts.columns.map((c) =>
    pick(c, [
      "name",
      "type",
      "not_null",
      "default",
      "identity",
      "generated",
      "generation_expression",
      "collation",
      "comment",
    ])
  );
  doc.constraints = parts.constraints.filter((k) => k.type !== "foreign key")
    .map((k) => pick(k, ["name", "type", "definition", "columns", "inherited"]));
  doc.foreign_keys = parts.constraints.filter((k) => k.type === "foreign key").map((k) =>
    pick(k, [
      "name",
      "columns",
      "references_table",
      "references_columns",
      "on_delete",
      "on_update",
      "declared_on",
      "definition",
    ])
  );
  doc.referenced_by = parts.referencedBy.map((k) =>
    pick(k, [
      "table",
      "columns",
      "name",
      "references_columns",
      "on_delete",
      "on_update",
      "via",
    ])
  );
  doc.indexes = parts.indexes.map((x) => ({
    ...pick(x, ["name", "definition", "primary", "unique"]),
    ...(x.constraint_name ? { constraint: x.constraint_name } : {}),
    ...(x.valid === false ? { invalid: true } : {}),
    ...(x.ready === false ? { not_ready: true } : {}),
    ...pick(x, ["deferrable", "deferred", "size", "size_bytes", "scans"]),
    ...(x.constraint_definition ? { constraint_definition: x.constraint_definition } : {}),
  }));
  doc.triggers = parts.triggers.map((t) => ({
    ...pick(t, ["name", "definition"]),
    ...(t.enabled !== "enabled" ? { enabled: t.enabled } : {}),
    ...pick(t, ["inherited"]),
  }));
  doc.policies = parts.policies.map((p) =>
    pick(p, ["name", "mode", "command", "roles", "using", "with_check"])
  );
  if (parts.children.length) {
    const total = Number(parts.children[0].total);
    const rows = parts.children.map((c) => pick(c, ["name", "bound", "kind"]));
    const key = rows.some((c) => c.bound !== undefined) ? "partitions" : "children";
    doc[key] = { rows, total, truncated: rows.length < total, limit: parts.childLimit };
  }
  const described = compact(doc);
  // A fact only when false: REFRESH MATERIALIZED VIEW has never filled it.
  if (r.populated === false) described.populated = false;
  return described;
}

/** Renders a description: the compact report for people, or the JSON document. */
export function renderDescription(described: Described, format: OutputFormat): string {
  const doc = described.description;
  if (format === "json") return stringifyJson(doc, { indent: 2 });
  const get = <T = Row[]>(key: string) => (doc[key] ?? []) as T;
  const size = doc.size as Row | undefined;
  const activity = (doc.activity ?? {}) as Row;
  const part = doc.partition_of as Row | undefined;
  const count = (value: unknown, word: string) =>
    value === undefined ? undefined : `${value} ${word}`;
  const joined = (...items: (string | undefined)[]) =>
    items.filter((i) => i !== undefined).join(", ") || undefined;
  const when = (key: string) => activity[key] ?? "never";
  const analyzed = "live_rows" in activity || "last_vacuum" in activity ||
    "last_analyze" in activity;
  const lines: [string, unknown][] = [
    [
      `${doc.persistence ? `${doc.persistence} ` : ""}${doc.kind}`,
      `${described.qualified} (owner ${doc.owner})`,
    ],
    ["comment", doc.comment],
    ["partition of", part ? `${part.table} ${part.bound}` : undefined],
    ["partition key", doc.partition_key],
    ["inherits", doc.inherits],
    ["foreign server", doc.foreign_server],
    ["foreign options", doc.foreign_options],
    [
      "rows",
      doc.kind === "view" || doc.kind === "foreign table" ? undefined : joined(
        doc.estimated_rows === undefined
          ? "estimate unknown (never analyzed)"
          : `${doc.estimated_rows} estimated`,
        count(activity.live_rows, "live"),
        count(activity.dead_rows, "dead"),
        count(activity.changed_since_analyze, "changed since analyze"),
      ),
    ],
    [
      "size",
      size
        ? `${size.total} (table ${size.table}, indexes ${size.indexes}` +
          `${size.toast ? `, toast ${size.toast}` : ""})`
        : undefined,
    ],
    ["scans", joined(count(activity.seq_scan, "sequential"), count(activity.idx_scan, "index"))],
    [
      "maintenance",
      analyzed
        ? `vacuum ${when("last_vacuum")}, autovacuum ${when("last_autovacuum")}, analyze ` +
          `${when("last_analyze")}, autoanalyze ${when("last_autoanalyze")}`
        : undefined,
    ],
    ["row-level security", doc.row_level_security],
    ["options", doc.options],
    ["tablespace", doc.tablespace],
    ["populated", doc.populated === false ? "no (REFRESH MATERIALIZED VIEW fills it)" : undefined],
    [
      "definition",
      doc.definition === undefined
        ? undefined
        : `${doc.definition}${
          doc.definition_length ? ` ... (cut; ${doc.definition_length} characters in all)` : ""
        }`,
    ],
  ];
  const section = (title: string, columns: string[], rows: Row[], labels?: string[]) => ({
    title,
    rows: { columns, rows, ...(labels ? { labels } : {}) },
  });
  const sections: ReportSection[] = [
    section(
      "columns",
      ["name", "type", "null", "default", "extra", "collation", "comment"],
      get("columns").map((c) => ({
        ...c,
        null: c.not_null ? "not null" : "",
        extra: c.identity
          ? `generated ${c.identity} as identity`
          : c.generated
          ? `generated always as (${c.generation_expression}) ${c.generated}`
          : "",
      })),
      ["column", "type", "null", "default", "extra", "collation", "comment"],
    ),
    section(
      "indexes",
      ["name", "text", "size", "scans", "state"],
      get("indexes").map((x) => ({
        ...x,
        text: indexText(x),
        state: x.invalid ? "INVALID" : x.not_ready ? "not ready" : "",
      })),
      ["index", "definition", "size", "scans", "state"],
    ),
    section(
      "check constraints",
      ["name", "definition", "inherited"],
      get("constraints").filter((k) => k.type === "check")
        .map((k) => ({ ...k, inherited: k.inherited ? "inherited" : "" })),
      ["check", "definition", ""],
    ),
    section(
      "foreign keys",
      ["name", "definition", "declared_on"],
      get("foreign_keys"),
      ["constraint", "definition", "declared on"],
    ),
    section(
      "referenced by",
      ["table", "columns", "name", "on_delete", "on_update", "via"],
      get("referenced_by"),
      ["table", "columns", "constraint", "on delete", "on update", "via"],
    ),
    section(
      "triggers",
      ["name", "definition", "enabled", "inherited"],
      get("triggers").map((t) => ({ ...t, inherited: t.inherited ? "inherited" : "" })),
      ["trigger", "definition", "enabled", ""],
    ),
    section(
      "policies",
      ["name", "mode", "command", "roles", "using", "with_check"],
      get("policies"),
      ["policy", "mode", "command", "roles", "using", "with check"],
    ),
  ];
  for (const key of ["partitions", "children"]) {
    const list = doc[key] as { rows: Row[]; total: number; limit: number } | undefined;
    if (!list) continue;
    sections.push({
      ...section(key, ["name", "bound", "kind"], list.rows),
      total: list.total,
      note: list.rows.length < list.total
        ? `(${list.rows.length} of ${list.total} ${key} shown; --limit ${
          Math.min(list.total, 10_000)
        } shows ${list.total > 10_000 ? "the first 10000" : "all"})`
        : undefined,
    });
  }
  return renderReport(lines, sections);
}

/** An index as psql lists it: the constraint it backs, then method and columns. */
function indexText(x: Row): string {
  if (x.constraint_definition) return String(x.constraint_definition);
  const lead = x.primary
    ? "PRIMARY KEY, "
    : x.unique
    ? (x.constraint ? "UNIQUE CONSTRAINT, " : "UNIQUE, ")
    : "";
  const deferral = x.deferrable
    ? (x.deferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE")
    : "";
  return `${lead}${x.definition}${deferral}`;
}
