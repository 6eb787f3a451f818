/**
 * How to build a recommended index without blocking writes: a name free in
 * its schema, CREATE INDEX CONCURRENTLY; on a partitioned table (which
 * refuses CONCURRENTLY, and whose plain CREATE INDEX locks every partition
 * against writes for the whole build) an index on the parent ONLY, each
 * partition's built concurrently and attached to it.
 *
 * @module
 */
import type { PgSession } from "../../connection/session.ts";
import { loadSql } from "../../sql/sql_files.ts";
import { type Candidate, indexDefinition, indexName } from "./candidates.ts";

/** The statements that build one index, in order, and what they cost besides. */
export interface BuildPlan {
  /** The index's name (on a partitioned table, the parent's). */
  name: string;
  /** The statements, each ending in `;`. */
  statements: string[];
  /** What building it costs, when it is more than one CREATE INDEX CONCURRENTLY. */
  note?: string;
}

/** Names tried for one index: the name, then `_1` ... `_20` before `_idx`. */
const NAME_TRIES = 21;

/** The names of `wanted` that relations of the schema with OID `schemaOid` hold. */
async function takenNames(
  session: PgSession,
  schemaOid: number,
  wanted: string[],
): Promise<Set<string>> {
  const { rows } = await session.query(await loadSql("index_advisor_names_taken"), [
    schemaOid,
    wanted,
  ]);
  return new Set(rows.map((row) => String(row.name)));
}

/** Every name {@linkcode indexName} may give `candidate`, to ask which are taken. */
function namesToTry(candidate: Candidate, suffix?: string): string[] {
  const first = indexName(candidate, new Set(), suffix);
  const tries = [first];
  const taken = new Set(tries);
  for (let n = 1; n < NAME_TRIES; n++) {
    const next = indexName(candidate, taken, suffix);
    tries.push(next);
    taken.add(next);
  }
  return tries;
}

/** The statements that build `candidate`'s index on a database in use. */
export async function buildPlan(session: PgSession, candidate: Candidate): Promise<BuildPlan> {
  const table = candidate.table;
  const name = indexName(
    candidate,
    await takenNames(session, table.schemaOid, namesToTry(candidate)),
  );
  if (table.kind !== "p") {
    return { name, statements: [`${indexDefinition(candidate, { name, concurrently: true })};`] };
  }
  const size = `${table.partitions} partitions, ${Math.round(table.heapBytes / 1024)} kB of rows`;
  if (table.leafPartitions.length !== table.partitions) {
    return {
      name,
      statements: [`${indexDefinition(candidate, { name })};`],
      note: `${table.qualified} is partitioned (${size}) and some of its partitions are ` +
        `partitioned too: CREATE INDEX on it locks every partition against writes (SHARE) for ` +
        `the whole build; to avoid that, make it ON ONLY each level, build each leaf's index ` +
        `CONCURRENTLY and attach them level by level`,
    };
  }
  const statements = [`${indexDefinition(candidate, { name, only: true })};`];
  for (const [i, partition] of table.leafPartitions.entries()) {
    const suffix = `p${i + 1}`;
    const child = indexName(
      candidate,
      await takenNames(session, partition.schemaOid, namesToTry(candidate, suffix)),
      suffix,
    );
    statements.push(
      `${
        indexDefinition(candidate, { name: child, concurrently: true, on: partition.qualified })
      };`,
      `ALTER INDEX ${table.schemaQuoted}.${name} ATTACH PARTITION ${partition.schema}.${child};`,
    );
  }
  return {
    name,
    statements,
    note: `${table.qualified} is partitioned (${size}): CREATE INDEX on it would lock every ` +
      `partition against writes (SHARE) for the whole build, and CONCURRENTLY is refused there; ` +
      `so the index is made on the parent ONLY, each partition's is built CONCURRENTLY and ` +
      `attached (the parent's is valid once all are)`,
  };
}
