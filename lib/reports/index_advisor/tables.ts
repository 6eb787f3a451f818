/**
 * What the catalog says of the tables a plan scans (index_advisor_tables.sql),
 * asked once per relation for a whole run, and the candidates on them: a
 * partition's uses count for the table it belongs to, where an index would be
 * made.
 *
 * @module
 */
import type { PgSession } from "../../connection/session.ts";
import { parsedJson } from "../../connection/values.ts";
import { loadSql } from "../../sql/sql_files.ts";
import type { Statement } from "../../sql/statements.ts";
import {
  type Candidate,
  candidatesFor,
  type ColumnFacts,
  mergeUses,
  type TableFacts,
} from "./candidates.ts";
import { planUses, relationKey, type RelationUses } from "./plan_uses.ts";

/** Table kinds an index can be made on: tables, partitioned tables, materialized views. */
const INDEXABLE = new Set(["r", "p", "m"]);

/** The catalog's facts of the tables plans scan, asked once per relation. */
export class TableCatalog {
  #known = new Map<string, TableFacts>();
  #session: PgSession;

  /** A catalog read through `session`. */
  constructor(session: PgSession) {
    this.#session = session;
  }

  /** The facts of each relation (keyed by {@linkcode relationKey}, as plans name them). */
  async facts(relations: { schema: string; name: string }[]): Promise<Map<string, TableFacts>> {
    const missing = relations.filter((r) => !this.#known.has(relationKey(r.schema, r.name)));
    if (missing.length) {
      const { rows } = await this.#session.query(await loadSql("index_advisor_tables"), [
        missing.map((r) => r.schema),
        missing.map((r) => r.name),
      ]);
      for (const row of rows) {
        this.#known.set(
          relationKey(String(row.scanned_schema), String(row.scanned_name)),
          tableFacts(row),
        );
      }
    }
    return this.#known;
  }

  /**
   * The candidates for the query whose plan is `plan`, table by table, and the
   * existing indexes (`schema.name`) that served what others would have been.
   */
  async candidates(
    plan: unknown,
    statement: Statement,
  ): Promise<{ candidates: Candidate[]; servedBy: string[] }> {
    const uses = await planUses(plan, statement.tree);
    const facts = await this.facts([...uses.values()]);
    const byTable = new Map<number, { table: TableFacts; uses: RelationUses[] }>();
    for (const relation of uses.values()) {
      const table = facts.get(relationKey(relation.schema, relation.name));
      if (!table || !INDEXABLE.has(table.kind)) continue;
      const entry = byTable.get(table.oid) ?? { table, uses: [] };
      entry.uses.push(relation);
      byTable.set(table.oid, entry);
    }
    const served = new Set<string>();
    const candidates = [...byTable.values()].flatMap(({ table, uses }) =>
      candidatesFor(mergeUses(uses), table, served)
    );
    return { candidates, servedBy: [...served] };
  }
}

function tableFacts(row: Record<string, unknown>): TableFacts {
  const columns = new Map<string, ColumnFacts>();
  const listed = parsedJson(row.columns) as { name: string; quoted: string; distinct: number }[];
  for (const column of listed) {
    columns.set(column.name, { quoted: column.quoted, distinct: column.distinct ?? null });
  }
  return {
    oid: Number(row.oid),
    schemaOid: Number(row.schema_oid),
    schema: String(row.schema),
    schemaQuoted: String(row.schema_quoted),
    name: String(row.name),
    qualified: String(row.qualified),
    kind: String(row.kind),
    rows: Number(row.rows),
    heapBytes: Number(row.heap_bytes),
    leafPartitions: parsedJson(row.leaf_partitions) as TableFacts["leafPartitions"],
    partitions: Number(row.partitions),
    columns,
    indexes: parsedJson(row.indexes) as TableFacts["indexes"],
  };
}
