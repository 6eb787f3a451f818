/**
 * The indexes worth trying for one query on one table, from how the query
 * uses the table's columns (plan_uses.ts) and what the catalog knows of the
 * table: equality columns first, the most selective (pg_stats' n_distinct)
 * leading, then a range or sort column; join keys; GROUP BY keys; partial
 * indexes for the tests every wanted row passes; covering (INCLUDE) columns
 * where the rest of what the query reads is small. A candidate an existing
 * valid b-tree index already serves (its keys lead that index's, its INCLUDE
 * columns are in it) is never offered.
 *
 * @module
 */
import type { ConstantPredicate, RelationUses } from "./plan_uses.ts";

/** An index the table has. */
export interface ExistingIndex {
  /** The index's name. */
  name: string;
  /** Its name quoted for SQL by the server. */
  quoted?: string;
  /** Key columns in order; null for an expression. */
  keys: (string | null)[];
  /** Its INCLUDE columns. */
  include: string[];
  /** True for a partial index (WHERE). */
  partial: boolean;
  /** False for an index a failed CREATE INDEX CONCURRENTLY left, which queries never use. */
  valid: boolean;
  /** Its access method: btree, hash, gist ... */
  method: string;
}

/** One column of a table. */
export interface ColumnFacts {
  /** Quoted for SQL by the server (quote_ident). */
  quoted: string;
  /** pg_stats' n_distinct: a count, or below 0 a share of the rows; null when not analyzed. */
  distinct: number | null;
}

/** What the catalog says of a table an index would be made on (index_advisor_tables.sql). */
export interface TableFacts {
  /** The table's OID. */
  oid: number;
  /** Its schema's OID. */
  schemaOid: number;
  /** Its schema, unquoted. */
  schema: string;
  /** The schema, quoted by the server. */
  schemaQuoted: string;
  /** Its name, unquoted. */
  name: string;
  /** `schema.name`, quoted by the server. */
  qualified: string;
  /** `r` table, `p` partitioned table, `m` materialized view. */
  kind: string;
  /** Estimated rows (a partitioned table's: its leaves'). */
  rows: number;
  /** Bytes of its rows (heap). */
  heapBytes: number;
  /** Direct partitions that hold rows themselves, for a partitioned table. */
  leafPartitions: { schemaOid: number; schema: string; name: string; qualified: string }[];
  /** How many direct partitions it has. */
  partitions: number;
  /** Its columns, by name. */
  columns: Map<string, ColumnFacts>;
  /** Its indexes. */
  indexes: ExistingIndex[];
}

/** A key column of a candidate. */
export interface KeyColumn {
  /** The column. */
  name: string;
  /** True to keep it in descending order (only for a mixed ORDER BY). */
  descending: boolean;
}

/** An index to try. */
export interface Candidate {
  /** The table it is on. */
  table: TableFacts;
  /** Its key columns, in order. */
  keys: KeyColumn[];
  /** Its INCLUDE columns. */
  include: string[];
  /** The partial index's WHERE, as SQL (quoted names), when it is one. */
  predicate?: string;
  /** Why it was proposed, in a few words. */
  reason: string;
}

/** Candidates per table and query, at most. */
export const MAX_CANDIDATES = 12;
/** Key columns of a candidate, at most (a wider b-tree is rarely worth its writes). */
const MAX_KEYS = 4;
/** INCLUDE columns, at most: more and the index approaches the table's size. */
const MAX_INCLUDE = 3;
/** Distinct values a column may have for `column = constant` to make a partial index. */
const MAX_PARTIAL_DISTINCT = 20;

/** Merges the uses of the relations that are one table (the partitions of one root). */
export function mergeUses(all: RelationUses[]): RelationUses {
  const [first, ...rest] = all;
  const merged: RelationUses = {
    ...first,
    equal: new Set(first.equal),
    range: new Set(first.range),
    joins: new Set(first.joins),
    nullTests: new Set(first.nullTests),
    constants: [...first.constants],
    sorts: [...first.sorts],
    groups: [...first.groups],
    outputs: new Set(first.outputs),
  };
  for (const uses of rest) {
    for (const name of uses.equal) merged.equal.add(name);
    for (const name of uses.range) merged.range.add(name);
    for (const name of uses.joins) merged.joins.add(name);
    for (const name of uses.nullTests) merged.nullTests.add(name);
    for (const name of uses.outputs) merged.outputs.add(name);
    merged.constants.push(...uses.constants);
    // The same ORDER BY is seen once per partition's scan below a Merge Append: kept once.
    for (const sort of uses.sorts) {
      if (!merged.sorts.some((known) => sameKeys(known.columns, sort.columns))) {
        merged.sorts.push(sort);
      }
    }
    merged.groups.push(...uses.groups);
  }
  return merged;
}

/**
 * The candidates for one table that `uses` describes, best guesses first;
 * `served` gathers the existing indexes (`schema.name`, quoted) that do what a
 * candidate left out would have.
 */
export function candidatesFor(
  uses: RelationUses,
  table: TableFacts,
  served?: Set<string>,
): Candidate[] {
  const known = (name: string) => table.columns.has(name);
  const distinct = (name: string) => estimatedDistinct(table.columns.get(name), table.rows);
  const equal = [...uses.equal].filter(known).sort((a, b) => distinct(b) - distinct(a));
  const range = [...uses.range].filter((name) => known(name) && !uses.equal.has(name));
  const joins = [...uses.joins].filter(known);
  const nullTests = [...uses.nullTests].filter(known);
  const sorts = uses.sorts.filter((sort) => sort.columns.every((c) => known(c.name)));
  const groups = uses.groups.filter((group) => group.every(known));
  const found: Candidate[] = [];
  const add = (keys: KeyColumn[], reason: string, extra: Partial<Candidate> = {}) => {
    const unique = keys.filter((key, i) => keys.findIndex((k) => k.name === key.name) === i)
      .slice(0, MAX_KEYS);
    if (!unique.length) return;
    const candidate: Candidate = { table, keys: unique, include: [], reason, ...extra };
    if (found.some((other) => sameCandidate(other, candidate))) return;
    const serving = servedBy(candidate, table.indexes);
    if (serving) {
      served?.add(`${table.schemaQuoted}.${serving.quoted ?? serving.name}`);
      return;
    }
    found.push(candidate);
  };
  const ascending = (names: string[]) => names.map((name) => ({ name, descending: false }));
  const equalKeys = ascending(equal);
  // The one that serves the most of the query first: equality, then its sort or range.
  for (const sort of sorts) {
    const sortKeys = sortColumns(sort.columns).filter((key) => !uses.equal.has(key.name));
    if (equal.length && sortKeys.length) {
      add([...equalKeys, ...sortKeys], `equality, then ORDER BY ${names(sortKeys)}`);
    }
  }
  for (const name of range) {
    if (equal.length) add([...equalKeys, { name, descending: false }], `equality, then range`);
  }
  if (equal.length) add(equalKeys, `equality on ${equal.join(", ")}`);
  for (const name of [...equal, ...range, ...joins, ...nullTests]) {
    add([{ name, descending: false }], describeSingle(name, uses));
  }
  for (const name of joins) {
    if (equal.length && !uses.equal.has(name)) {
      add([{ name, descending: false }, ...equalKeys], `join key ${name}, then equality`);
    }
  }
  for (const sort of sorts) {
    if (sort.limited) add(sortColumns(sort.columns), `ORDER BY ${names(sort.columns)} LIMIT`);
  }
  for (const group of groups) add(ascending(group), `GROUP BY ${group.join(", ")}`);
  const bases = found.slice(0, 2);
  // A partial index keys on the rest: `status = 'open' and customer_id = $1` makes
  // (customer_id) WHERE status = 'open'.
  for (const predicate of partialPredicates(uses.constants, table)) {
    const others = (names: string[]) => names.filter((name) => name !== predicate.column);
    const keys = others(equal).length
      ? others(equal)
      : others([...range, ...joins, ...nullTests]).slice(0, 1);
    if (!keys.length) continue;
    add(ascending(keys), `${keys.join(", ")}, partial`, {
      predicate: predicateSql(predicate, table),
    });
  }
  const needed = new Set([
    ...uses.outputs,
    ...uses.equal,
    ...uses.range,
    ...uses.joins,
    ...uses.nullTests,
    ...uses.constants.map((c) => c.column),
    ...uses.sorts.flatMap((s) => s.columns.map((c) => c.name)),
    ...uses.groups.flat(),
  ].filter(known));
  if (needed.size < table.columns.size) {
    for (const base of bases) {
      const include = [...needed].filter((name) => !base.keys.some((key) => key.name === name));
      if (include.length && include.length <= MAX_INCLUDE) {
        add(base.keys, `${base.reason}, covering`, { include });
      }
    }
  }
  return found.slice(0, MAX_CANDIDATES);
}

/**
 * The CREATE INDEX statement that makes `candidate` (without a name, as hypopg
 * takes it; `name` and `concurrently` for the one a migration runs).
 */
export function indexDefinition(
  candidate: Candidate,
  options: { name?: string; concurrently?: boolean; only?: boolean; on?: string } = {},
): string {
  const column = (name: string) => quotedColumn(candidate.table, name);
  const keys = candidate.keys.map((key) => `${column(key.name)}${key.descending ? " DESC" : ""}`);
  const include = candidate.include.length
    ? ` INCLUDE (${candidate.include.map(column).join(", ")})`
    : "";
  const where = candidate.predicate ? ` WHERE ${candidate.predicate}` : "";
  const head = `CREATE INDEX${options.concurrently ? " CONCURRENTLY" : ""}` +
    `${options.name ? ` ${options.name}` : ""} ON ${options.only ? "ONLY " : ""}`;
  return `${head}${options.on ?? candidate.table.qualified} USING btree (${keys.join(", ")})` +
    `${include}${where}`;
}

/** The candidate as a short line: `public.rental (customer_id) INCLUDE (...) WHERE ...`. */
export function candidateLabel(candidate: Candidate): string {
  return indexDefinition(candidate).replace(/^CREATE INDEX ON /, "").replace(" USING btree", "");
}

/**
 * A name for the index, at most 63 bytes of `[a-z0-9_]` ending in `_idx`
 * (never a keyword, never needing quotes), that `taken` does not hold;
 * `suffix` goes before `_idx` (a partition's index: `p1`).
 */
export function indexName(candidate: Candidate, taken: Set<string>, suffix?: string): string {
  const parts = [candidate.table.name, ...candidate.keys.map((key) => key.name)];
  if (candidate.include.length) parts.push("incl");
  if (candidate.predicate) parts.push("part");
  const stem = parts.join("_").toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+/, "");
  for (let n = 0;; n++) {
    const end = `${suffix ? `_${suffix}` : ""}${n === 0 ? "" : `_${n}`}_idx`;
    const name = `${(stem || "index").slice(0, 63 - end.length)}${end}`;
    if (!taken.has(name)) return name;
  }
}

function estimatedDistinct(column: ColumnFacts | undefined, rows: number): number {
  const distinct = column?.distinct;
  if (distinct === null || distinct === undefined) return 0;
  return distinct < 0 ? -distinct * rows : distinct;
}

/** Sort keys as an index holds them: a b-tree is read backwards, so only mixed directions stay. */
function sortColumns(columns: KeyColumn[]): KeyColumn[] {
  const mixed = columns.some((c) => c.descending) && columns.some((c) => !c.descending);
  return columns.map((c) => ({ name: c.name, descending: mixed && c.descending }));
}

function names(keys: KeyColumn[]): string {
  return keys.map((key) => `${key.name}${key.descending ? " DESC" : ""}`).join(", ");
}

function describeSingle(name: string, uses: RelationUses): string {
  if (uses.equal.has(name)) return `equality on ${name}`;
  if (uses.range.has(name)) return `range on ${name}`;
  if (uses.joins.has(name)) return `join key ${name}`;
  return `${name} IS [NOT] NULL`;
}

function partialPredicates(
  constants: ConstantPredicate[],
  table: TableFacts,
): ConstantPredicate[] {
  const chosen: ConstantPredicate[] = [];
  for (const predicate of constants) {
    const column = table.columns.get(predicate.column);
    if (!column) continue;
    // `column = constant` makes a partial index only where the column has few values.
    if (predicate.test.startsWith("=")) {
      const distinct = estimatedDistinct(column, table.rows);
      if (distinct === 0 || distinct > MAX_PARTIAL_DISTINCT) continue;
    }
    if (!chosen.some((other) => predicateKey(other) === predicateKey(predicate))) {
      chosen.push(predicate);
    }
  }
  return chosen.slice(0, 3);
}

function predicateKey(predicate: ConstantPredicate): string {
  return `${predicate.negated}|${predicate.column}|${predicate.test}`;
}

/** A column's name as the server quoted it; a name the table lacks is never written. */
function quotedColumn(table: TableFacts, name: string): string {
  const quoted = table.columns.get(name)?.quoted;
  if (quoted === undefined) throw new Error(`Column "${name}" is not one of ${table.qualified}'s`);
  return quoted;
}

function predicateSql(predicate: ConstantPredicate, table: TableFacts): string {
  const column = quotedColumn(table, predicate.column);
  if (predicate.negated) return `NOT ${column}`;
  return predicate.test ? `${column} ${predicate.test}` : column;
}

function sameKeys(a: KeyColumn[], b: KeyColumn[]): boolean {
  return a.length === b.length &&
    a.every((key, i) => key.name === b[i].name && key.descending === b[i].descending);
}

function sameCandidate(a: Candidate, b: Candidate): boolean {
  return sameKeys(a.keys, b.keys) && a.predicate === b.predicate &&
    a.include.join(",") === b.include.join(",");
}

/**
 * The valid, whole (not partial) b-tree index of the table that already
 * does what the candidate would: the candidate's keys lead its keys, and the
 * candidate's INCLUDE columns are among its columns. Directions are not
 * compared: both are read either way, and a mixed order is rare.
 */
function servedBy(candidate: Candidate, indexes: ExistingIndex[]): ExistingIndex | undefined {
  return indexes.find((index) => {
    if (!index.valid || index.partial || index.method !== "btree") return false;
    const leads = candidate.keys.every((key, i) => index.keys[i] === key.name);
    const holds = new Set([...index.keys, ...index.include]);
    return leads && candidate.include.every((name) => holds.has(name));
  });
}
