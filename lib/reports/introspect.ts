/**
 * Schema introspection (`schema_introspect.ts`): what pg_catalog says about
 * the schema, with each table's columns, constraints, indexes, triggers and
 * policies under the table (a view's and a materialized view's columns under
 * it), and the other kinds of object in groups of their own. Written out as
 * it is read: the relations a batch at a time (every query of a batch binds
 * the batch's oids), each batch rendered and written before the one after
 * the next is asked for, so memory stays flat on catalogs of any size. The
 * sessions share one snapshot (as pg_dump's workers do), so the document is
 * one consistent state.
 *
 * @module
 */
import { closeMatches } from "../core/text.ts";
import { escapeControl } from "../core/text.ts";
import { SkillError } from "../core/errors.ts";
import { type SnapshotSessions, withSnapshotSessions } from "../connection/script_sessions.ts";
import type { OutputBuffer } from "../output/render.ts";
import type { ConnectionTarget } from "../connection/target.ts";
import { JsonText, parsedJson, stringifyJson } from "../connection/values.ts";

/** The groups of the document, in order: the relations first, then the other kinds. */
export const GROUPS = [
  "tables",
  "views",
  "materialized_views",
  "sequences",
  "enums",
  "domains",
  "composite_types",
  "functions",
  "extensions",
  "comments",
] as const;

/** What a relation holds under it, in the order it is written. */
export const PARTS = [
  "columns",
  "primary_key",
  "unique",
  "checks",
  "exclusions",
  "foreign_keys",
  "indexes",
  "triggers",
  "policies",
] as const;

/** A group of the document. */
export type Group = typeof GROUPS[number];
/** A part of a relation. */
export type Part = typeof PARTS[number];
/** What `--section` may name: a group, or a part of the relations. */
export type Section = Group | Part;
/** Every name `--section` takes. */
export const SECTIONS: readonly Section[] = [...GROUPS, ...PARTS];

type RelationGroup = "tables" | "views" | "materialized_views";
type Row = Record<string, unknown>;

/** Each kind of relation: the SQL describing it and the parts it can have. */
const RELATIONS: Record<RelationGroup, { sql: string; kinds: string[]; parts: Part[] }> = {
  tables: { sql: "introspect_tables", kinds: ["r", "p", "f"], parts: [...PARTS] },
  views: { sql: "introspect_views", kinds: ["v"], parts: ["columns", "triggers"] },
  materialized_views: {
    sql: "introspect_materialized_views",
    kinds: ["m"],
    parts: ["columns", "indexes"],
  },
};

/** The SQL answering each part (the constraints share one query). */
const PART_SQL: Record<Part, string> = {
  columns: "introspect_columns",
  primary_key: "introspect_constraints",
  unique: "introspect_constraints",
  checks: "introspect_constraints",
  exclusions: "introspect_constraints",
  foreign_keys: "introspect_constraints",
  indexes: "introspect_indexes",
  triggers: "introspect_triggers",
  policies: "introspect_policies",
};

/**
 * What each session runs first: names resolve in pg_catalog first (nothing of a
 * user's is called, and deparsed definitions name every object's schema), and
 * no JIT (compiling costs far more than these small queries).
 */
const SETUP = ["pin_search_path", "jit_off"];

/** The key of a relation entry that holds its own facts as the server's JSON object. */
const FACTS = "facts";

/** Relations described per batch: each query of a batch binds this many oids. */
const BATCH = 200;
/** Batches asked for ahead of the one being written, so the sessions keep busy. */
const LOOKAHEAD = 1;

/** What to describe and how. */
export interface IntrospectRequest {
  /** Only these schemas (null: every user schema). */
  schemas: string[] | null;
  /** Only relations of these names and what belongs to them (null: all). */
  tables: string[] | null;
  /** Only these groups and parts (empty: everything). */
  sections: Section[];
  /** Cut view definitions to this many characters (null: whole). */
  viewTrunc: number | null;
  /** Cut function definitions to this many characters (null: whole). */
  funcTrunc: number | null;
  /** One JSON document (`json`), or text blocks for people (`table`). */
  format: "table" | "json";
}

/**
 * Describes the schema as `request` asks and writes it to `out` as it is
 * read: one JSON document (`--json`) or text blocks for people. A schema or
 * table name that matches nothing is an error (before anything is written)
 * that names the close matches.
 */
export async function writeIntrospection(
  target: ConnectionTarget,
  request: IntrospectRequest,
  out: OutputBuffer,
): Promise<void> {
  const { schemas, tables } = request;
  await withSnapshotSessions(target, { sessions: 2, setup: SETUP }, async (pool) => {
    if (schemas !== null || tables !== null) {
      const miss = await unmatched(
        (await pool.query("introspect_unmatched_names", [schemas, tables])).rows,
        target.database,
      );
      if (miss) throw new SkillError(miss);
    }
    const plan = planOf(request.sections);
    const relations = (await pool.query("introspect_relations", [schemas, tables])).rows;
    const writer = request.format === "json" ? new JsonWriter(out) : new TextWriter(out);
    // With --table, the types and functions shown are those the relations use.
    const used = tables === null ? null : relations.map((r) => r.oid);
    const others = otherQueries(request, used).filter((q) => plan.groups.has(q.group));
    // The small groups are asked for at once (their rows wait, few); functions stream last.
    const early = new Map(
      others.filter((q) => q.group !== "functions")
        .map((q) => [q.group, settled(pool.query(q.sql, q.params))]),
    );
    await writeRelations(pool, { request, plan, relations, writer });
    for (const q of others) {
      if (q.group === "functions") {
        for await (const batch of pool.batches(q.sql, q.params, { batchRows: 200 })) {
          for (const row of batch.rows) writer.entry(q.group, compact(row));
          out.flush();
        }
      } else {
        for (const row of (await early.get(q.group)!).rows) writer.entry(q.group, compact(row));
      }
    }
    writer.end();
  });
  out.flush();
}

/** A promise whose rejection counts as handled until it is awaited (it is asked for ahead). */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Which groups to write, and for each relation group the parts under its entries. */
interface Plan {
  groups: Set<Group>;
  /** Parts per relation group; `whole`: the entries' own facts too (else name and parts only). */
  relations: Map<RelationGroup, { parts: Part[]; whole: boolean }>;
}

function planOf(sections: Section[]): Plan {
  const asked = new Set<Section>(sections.length ? sections : GROUPS);
  const groups = new Set<Group>(GROUPS.filter((g) => asked.has(g)));
  const partsAsked = PARTS.filter((p) => asked.has(p));
  const relations = new Map<RelationGroup, { parts: Part[]; whole: boolean }>();
  for (
    const [group, spec] of Object.entries(RELATIONS) as [
      RelationGroup,
      typeof RELATIONS[RelationGroup],
    ][]
  ) {
    if (groups.has(group)) relations.set(group, { parts: spec.parts, whole: true });
    else {
      const parts = spec.parts.filter((p) => partsAsked.includes(p));
      if (parts.length) {
        relations.set(group, { parts, whole: false });
        groups.add(group);
      }
    }
  }
  return { groups, relations };
}

/** The query of each group that is not a relation, with its parameters. */
function otherQueries(request: IntrospectRequest, used: unknown[] | null) {
  const { schemas, tables } = request;
  const queries: { group: Group; sql: string; params: unknown[] }[] = [
    { group: "sequences", sql: "introspect_sequences", params: [schemas, tables, used] },
    { group: "enums", sql: "introspect_enums", params: [schemas, used] },
    { group: "domains", sql: "introspect_domains", params: [schemas, used] },
    { group: "composite_types", sql: "introspect_composite_types", params: [schemas, used] },
    {
      group: "functions",
      sql: "introspect_functions",
      params: [schemas, request.funcTrunc, used],
    },
    { group: "comments", sql: "introspect_comments", params: [schemas, tables] },
  ];
  // Extensions belong to the database, not to a table.
  if (tables === null) {
    queries.splice(5, 0, { group: "extensions", sql: "introspect_extensions", params: [] });
  }
  return queries;
}

/** Writes the relations, a batch at a time, the next batches asked for while one is written. */
async function writeRelations(
  pool: SnapshotSessions,
  options: { request: IntrospectRequest; plan: Plan; relations: Row[]; writer: Writer },
): Promise<void> {
  const { request, plan, relations, writer } = options;
  const jobs: { group: RelationGroup; oids: unknown[] }[] = [];
  for (
    const [group, spec] of Object.entries(RELATIONS) as [
      RelationGroup,
      typeof RELATIONS[RelationGroup],
    ][]
  ) {
    if (!plan.relations.has(group)) continue;
    const oids = relations.filter((r) => spec.kinds.includes(String(r.kind))).map((r) => r.oid);
    for (let i = 0; i < oids.length; i += BATCH) {
      jobs.push({ group, oids: oids.slice(i, i + BATCH) });
    }
  }
  const pending: (Promise<Row[]> | undefined)[] = [];
  const ask = (i: number) => {
    if (i < jobs.length && !pending[i]) {
      const { group, oids } = jobs[i];
      pending[i] = settled(
        describeBatch(pool, { group, oids, request, ...plan.relations.get(group)! }),
      );
    }
  };
  for (let i = 0; i < jobs.length; i++) {
    for (let k = i; k <= i + LOOKAHEAD; k++) ask(k);
    const entries = await pending[i]!;
    pending[i] = undefined;
    for (const entry of entries) writer.entry(jobs[i].group, entry);
    writer.flush();
  }
}

/** One batch of relations with their parts, in the order of `oids`. */
async function describeBatch(
  pool: SnapshotSessions,
  options: {
    group: RelationGroup;
    oids: unknown[];
    request: IntrospectRequest;
    parts: Part[];
    whole: boolean;
  },
): Promise<Row[]> {
  const { group, oids, request, parts, whole } = options;
  const spec = RELATIONS[group];
  const params = group === "tables" ? [oids] : [oids, request.viewTrunc];
  const files = [...new Set(parts.map((p) => PART_SQL[p]))];
  const [own, ...children] = await Promise.all([
    pool.query(spec.sql, params, { prepared: true }),
    ...files.map((file) => pool.query(file, [oids], { prepared: true })),
  ]);
  // Each part query answers one JSON value per relation (and part), built by the server.
  const byOid = new Map<unknown, Map<Part, JsonText>>();
  files.forEach((file, i) => {
    const single = PARTS.find((p) => PART_SQL[p] === file);
    for (const row of children[i].rows) {
      const part = (row.part ?? single) as Part;
      if (!parts.includes(part)) continue;
      let found = byOid.get(row.relation);
      if (!found) byOid.set(row.relation, found = new Map());
      found.set(part, row.items as JsonText);
    }
  });
  const entries: Row[] = [];
  for (const row of own.rows) {
    // The relation's own facts come as one JSON object built by the server (FACTS).
    const entry: Row = whole ? { [FACTS]: row.facts } : { schema: row.schema, name: row.name };
    const oid = row.oid;
    const found = byOid.get(oid);
    for (const part of parts) {
      const items = found?.get(part);
      if (items !== undefined) entry[part] = items;
    }
    if (whole || found) entries.push(entry);
  }
  return entries;
}

/** A row without its nulls and empty lists (the SQL writes a false flag as null). */
function compact(row: Row): Row {
  const kept: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    kept[key] = value;
  }
  return kept;
}

/** One line naming what matched nothing, with the close matches, or null when all matched. */
async function unmatched(rows: Row[], database: string): Promise<string | null> {
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

/** Where entries go, group by group, in the order of {@linkcode GROUPS}. */
interface Writer {
  entry(group: Group, entry: Row): void;
  /** Writes out what is gathered (after each batch). */
  flush(): void;
  /** Ends the document. */
  end(): void;
}

/**
 * One JSON object: each group that has entries maps to their array, one
 * entry per line (compact within the line), groups without entries left out.
 */
class JsonWriter implements Writer {
  #out: OutputBuffer;
  #group: Group | null = null;
  constructor(out: OutputBuffer) {
    this.#out = out;
  }
  entry(group: Group, entry: Row): void {
    if (group !== this.#group) {
      this.#out.write(`${this.#group === null ? "{" : "\n],\n"}${JSON.stringify(group)}:[\n`);
      this.#group = group;
    } else {
      this.#out.write(",\n");
    }
    // Piece by piece: the parts (the server's JSON text) go out as they are, never copied into
    // one string per entry.
    let separator = "{";
    for (const [key, value] of Object.entries(entry)) {
      if (key === FACTS) {
        // The server's object, its members spliced in as they are.
        this.#out.write(separator + (value as JsonText).text.slice(1, -1));
        separator = ",";
        continue;
      }
      this.#out.write(`${separator}${JSON.stringify(key)}:`);
      this.#out.write(value instanceof JsonText ? value.text : stringifyJson(value));
      separator = ",";
    }
    this.#out.write(separator === "{" ? "{}" : "}");
  }
  flush(): void {
    this.#out.flush();
  }
  end(): void {
    this.#out.write(this.#group === null ? "{}\n" : "\n]}\n");
  }
}

/**
 * Text for people: a heading per group, then a block per relation (its facts
 * on the first line, then a line per column, with the names padded to the
 * longest of that relation only, and a labelled line per constraint, index,
 * trigger and policy), one line per sequence, type and extension, and each
 * function's definition under its signature. Server text has its control
 * characters escaped; names are quoted as SQL needs them.
 */
class TextWriter implements Writer {
  #out: OutputBuffer;
  #group: Group | null = null;
  constructor(out: OutputBuffer) {
    this.#out = out;
  }
  entry(group: Group, entry: Row): void {
    if (group !== this.#group) {
      this.#out.write(`${this.#group === null ? "" : "\n"}== ${group.replaceAll("_", " ")}\n`);
      this.#group = group;
    }
    // The parts come as the server's JSON text: read here, for people only.
    const parsed: Row = {};
    for (const [key, value] of Object.entries(entry)) {
      const read = parsedJson(value);
      if (key === FACTS) Object.assign(parsed, read);
      else parsed[key] = read;
    }
    this.#out.write(textOf(group, parsed));
  }
  flush(): void {
    this.#out.flush();
  }
  end(): void {
    if (this.#group === null) this.#out.write("(nothing found)\n");
  }
}

/**
 * A name as SQL writes it, quoted unless it is a plain lower-case identifier,
 * with its control characters escaped: a name is server text too, and a
 * table named "a\x1b[31m" must not recolour the terminal it is printed on.
 */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : line(`"${name.replaceAll('"', '""')}"`);
}

function qualified(entry: Row): string {
  return `${quoteIdent(String(entry.schema))}.${quoteIdent(String(entry.name))}`;
}

/** Server text on one line, control characters (line breaks too) escaped. */
function line(value: unknown): string {
  return escapeControl(String(value), { newlines: false });
}

/** Server text of several lines, each indented; tabs and line breaks kept, other controls escaped. */
function block(value: unknown, indent: string): string {
  return String(value).replace(/\n+$/, "").split("\n")
    .map((l) => indent + l.split("\t").map((part) => line(part)).join("\t")).join("\n") + "\n";
}

function note(entry: Row): string {
  return entry.comment === undefined ? "" : ` -- ${line(entry.comment)}`;
}

function flag(entry: Row, key: string, text: string = key.replaceAll("_", " ")): string {
  return entry[key] ? ` ${text}` : "";
}

function list(values: unknown): string {
  return (values as unknown[]).map((v) => quoteIdent(String(v))).join(", ");
}

function textOf(group: Group, entry: Row): string {
  switch (group) {
    case "tables":
    case "views":
    case "materialized_views":
      return relationText(group, entry);
    case "sequences":
      return `${qualified(entry)} ${line(entry.data_type)} start ${line(entry.start)} increment ` +
        `${line(entry.increment)} min ${line(entry.min)} max ${line(entry.max)}${
          flag(entry, "cycle")
        }` +
        (entry.owned_by ? ` owned by ${line(entry.owned_by)}` : "") + `${note(entry)}\n`;
    case "enums":
      return `${qualified(entry)} (${
        ((entry.labels ?? []) as string[]).map((l) => `'${line(l).replaceAll("'", "''")}'`)
          .join(", ")
      })${note(entry)}\n`;
    case "domains":
      return `${qualified(entry)} ${line(entry.type)}${flag(entry, "not_null")}` +
        (entry.default !== undefined ? ` default ${line(entry.default)}` : "") +
        ((entry.checks ?? []) as string[]).map((c) => `; ${line(c)}`).join("") +
        `${note(entry)}\n`;
    case "composite_types":
      return `${qualified(entry)} (${((entry.attributes ?? []) as string[]).map(line).join(", ")})${
        note(entry)
      }\n`;
    case "functions":
      return `${qualified(entry)}(${line(entry.arguments)}) ` +
        (entry.result !== undefined ? `returns ${line(entry.result)}; ` : "") +
        `${line(entry.kind)}, ${line(entry.language)}, ${line(entry.volatility)}` +
        `${flag(entry, "security_definer")}${note(entry)}\n` +
        (entry.definition === undefined ? "" : block(entry.definition, "  "));
    case "extensions":
      return `${quoteIdent(String(entry.name))} ${line(entry.version)} in ` +
        `${quoteIdent(String(entry.schema))}` +
        (entry.description ? ` -- ${line(entry.description)}` : "") + "\n";
    case "comments":
      return `${line(entry.kind)} ${line(entry.name)}: ${line(entry.comment)}\n`;
  }
}

/** The facts of a relation's first line, after its name. */
function relationFacts(group: RelationGroup, entry: Row): string[] {
  const facts: string[] = [];
  if (entry.kind !== undefined) facts.push(String(entry.kind));
  else if (group !== "tables" && entry.owner !== undefined) {
    facts.push(group === "views" ? "view" : "materialized view");
  }
  if (entry.owner !== undefined) facts.push(`owner ${quoteIdent(String(entry.owner))}`);
  if (group === "tables" && entry.owner !== undefined) {
    facts.push(
      entry.estimated_rows === undefined ? "rows unknown" : `${line(entry.estimated_rows)} rows`,
    );
  }
  if (entry.total_bytes !== undefined) facts.push(`${line(entry.total_bytes)} bytes`);
  if (entry.not_populated) facts.push("not populated");
  if (entry.partition_of !== undefined) {
    facts.push(`partition of ${line(entry.partition_of)} ${line(entry.bound)}`);
  }
  if (entry.partition_key !== undefined) facts.push(`partition by ${line(entry.partition_key)}`);
  if (entry.inherits !== undefined) {
    facts.push(`inherits ${(entry.inherits as string[]).map(line).join(", ")}`);
  }
  if (entry.row_security_forced) facts.push("row security forced");
  else if (entry.row_security) facts.push("row security on");
  return facts;
}

function relationText(group: RelationGroup, entry: Row): string {
  const facts = relationFacts(group, entry);
  let text = `${qualified(entry)}${facts.length ? ` (${facts.join(", ")})` : ""}${note(entry)}\n`;
  const columns = (entry.columns ?? []) as Row[];
  const names = columns.map((c) => quoteIdent(String(c.name)));
  const width = Math.max(0, ...names.map((n) => n.length));
  columns.forEach((c, i) => {
    text += `  ${names[i].padEnd(width)} ${line(c.type)}${flag(c, "not_null")}` +
      (c.default !== undefined ? ` default ${line(c.default)}` : "") +
      (c.identity !== undefined ? ` generated ${line(c.identity)} as identity` : "") +
      (c.generated !== undefined ? ` generated always as (${line(c.generated)})` : "") +
      `${note(c)}\n`;
  });
  if (entry.primary_key) text += keyLine("primary key", entry.primary_key as Row);
  for (const k of (entry.unique ?? []) as Row[]) text += keyLine("unique", k);
  for (const k of (entry.checks ?? []) as Row[]) {
    text += `  check: ${quoteIdent(String(k.name))} ${line(k.definition)}${note(k)}\n`;
  }
  for (const k of (entry.exclusions ?? []) as Row[]) {
    text += `  exclusion: ${quoteIdent(String(k.name))} ${line(k.definition)}` +
      `${deferral(k)}${note(k)}\n`;
  }
  for (const k of (entry.foreign_keys ?? []) as Row[]) {
    text += `  foreign key: ${quoteIdent(String(k.name))} (${list(k.columns)}) references ` +
      `${line(k.referenced_table)} (${list(k.referenced_columns)})` +
      (k.on_update ? ` on update ${line(k.on_update)}` : "") +
      (k.on_delete ? ` on delete ${line(k.on_delete)}` : "") +
      (k.match ? ` match ${line(k.match)}` : "") +
      `${deferral(k)}${flag(k, "not_valid")}${note(k)}\n`;
  }
  for (const i of (entry.indexes ?? []) as Row[]) {
    text += `  index: ${quoteIdent(String(i.name))}${flag(i, "unique")} ` +
      (i.of !== undefined ? `of ${line(i.of)}` : line(i.definition)) +
      `${flag(i, "invalid")}${note(i)}\n`;
  }
  for (const t of (entry.triggers ?? []) as Row[]) {
    text += `  trigger: ${quoteIdent(String(t.name))} ${line(t.definition)}` +
      (t.enabled !== undefined ? ` (${line(t.enabled)})` : "") + `${note(t)}\n`;
  }
  for (const p of (entry.policies ?? []) as Row[]) {
    text += `  policy: ${quoteIdent(String(p.name))} ${line(p.mode)} for ${line(p.command)} to ` +
      `${((p.roles ?? []) as string[]).map((r) => quoteIdent(r)).join(", ")}` +
      (p.using !== undefined ? ` using ${line(p.using)}` : "") +
      (p.with_check !== undefined ? ` with check ${line(p.with_check)}` : "") + `${note(p)}\n`;
  }
  if (entry.definition !== undefined) text += `  definition:\n${block(entry.definition, "  ")}`;
  return text;
}

function deferral(k: Row): string {
  return `${flag(k, "deferrable")}${flag(k, "initially_deferred")}`;
}

function keyLine(label: string, k: Row): string {
  return `  ${label}: ${quoteIdent(String(k.name))} (${list(k.columns)})` +
    (k.index !== undefined ? ` index ${line(k.index)}` : "") + `${deferral(k)}${note(k)}\n`;
}
