/**
 * Index advice the planner has proved: each query is planned (EXPLAIN, never
 * run), the indexes its plan's conditions, sorts and groups could use are
 * proposed (index_advisor/candidates.ts), and each is tried as a
 * hypothetical index (the hypopg extension: the planner sees it, nothing is
 * built, no other session sees it) to compare the plan's cost without and
 * with it. The best are then combined greedily over the workload, weighted by
 * calls; an index is recommended only when, with those chosen before it, it
 * cuts some query's cost by at least the share asked for, and the plan uses it.
 * Without hypopg the candidates are listed, not verified.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import { PgServerError, type PgSession } from "../connection/session.ts";
import { JsonText } from "../connection/values.ts";
import { loadExtensionSql, loadSql, SESSION_MARK, SQL_MARK_PATTERN } from "../sql/sql_files.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";
import { UsageError } from "../core/errors.ts";
import { isLegacyVersion, statementsExtension } from "./pg_stat_statements.ts";
import {
  type Candidate,
  candidateLabel,
  candidatesFor,
  type ColumnFacts,
  indexDefinition,
  indexName,
  mergeUses,
  type TableFacts,
} from "./index_advisor/candidates.ts";
import { planUses, type RelationUses } from "./index_advisor/plan_uses.ts";

/** One query to advise on. */
export interface AdvisorQuery {
  /** The statement, parsed: one, of a kind EXPLAIN takes. */
  statement: Statement;
  /** Values for its `$n`; absent: planned as a generic plan (the parameters unknown). */
  params?: string[];
  /** How often it ran (pg_stat_statements), its weight in the workload; 1 when given. */
  calls: number;
  /** pg_stat_statements' query ID, when it came from there. */
  queryId?: string;
}

/** The hypopg extension as this database has it. */
export interface HypopgState {
  /** The server's major version (for the package name). */
  major: number;
  /** The version created here, or null. */
  version: string | null;
  /** Its schema, quoted; null when not created here. */
  schema: string | null;
  /** True when the server has the extension's files (CREATE EXTENSION would work). */
  available: boolean;
}

/** A candidate and what the planner made of it for one query. */
export interface CandidateResult {
  /** `schema.table (columns) ...`. */
  index: string;
  /** Why it was proposed. */
  reason: string;
  /** The plan's total cost with it (alone), when hypopg is here. */
  cost?: number;
  /** The share of the cost it cuts (0.25 = 25%). */
  gain?: number;
  /** True when the plan with it uses it. */
  used?: boolean;
  /** Its estimated size in bytes. */
  bytes?: number;
  /** What became of it: recommended, or why not. */
  verdict:
    | "recommended"
    | "not used"
    | "below the minimum gain"
    | "adds too little"
    | "not verified";
}

/** The advice for one query. */
export interface QueryAdvice {
  /** The query's text. */
  query: string;
  /** pg_stat_statements' query ID, when it came from there. */
  queryId?: string;
  /** How often it ran (1 for a query given). */
  calls: number;
  /** `custom`: planned with the values given; `generic`: parameters unknown. */
  plan: "custom" | "generic";
  /** The plan's total cost as the database stands. */
  cost?: number;
  /** Its cost with every recommended index. */
  costAfter?: number;
  /** Each candidate tried for it, in the order proposed. */
  candidates: CandidateResult[];
  /** Why the query could not be planned, when it could not. */
  error?: string;
}

/** An index the advisor recommends, and how to add it. */
export interface Recommendation {
  /** The index's name, free in its schema. */
  name: string;
  /** The table, `schema.name` quoted. */
  table: string;
  /** Its key columns, in order. */
  keys: string[];
  /** The index as a short line: `schema.table (columns) INCLUDE (...) WHERE ...`. */
  index: string;
  /** Estimated size in bytes. */
  bytes: number;
  /** The queries it serves (1-based, as listed) and the share of each one's cost it cuts. */
  gains: { query: number; gain: number }[];
  /** The statements that build it without blocking writes, in order. */
  statements: string[];
  /** What building it costs, when it is more than one CREATE INDEX CONCURRENTLY. */
  note?: string;
}

/** The whole advice. */
export interface Advice {
  /** hypopg as found here. */
  hypopg: HypopgState;
  /** The least share of a query's cost a recommendation cuts. */
  minGain: number;
  /** Each query, in the order given (or costliest first). */
  queries: QueryAdvice[];
  /** The indexes recommended, in the order they were chosen. */
  recommendations: Recommendation[];
  /** The workload's cost (Σ calls × cost) before and after, when hypopg is here. */
  workload?: { cost: number; costAfter: number };
}

/** How to advise. */
export interface AdviseOptions {
  /** The queries: one given, or the workload's. */
  queries: AdvisorQuery[];
  /** The least share of a query's cost an index must cut to be recommended (0.2 = 20%). */
  minGain: number;
}

const PREPARED = "pgskill_index_advisor";

/** The commands the advisor plans: those PREPARE takes too (a generic plan needs it). */
export const ADVISED_COMMANDS: readonly string[] = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
];

/** Statements of pg_stat_statements read to find `limit` plannable ones, at most. */
const WORKLOAD_SCAN = 500;

/**
 * The `limit` costliest statements (total time) of this database in
 * pg_stat_statements that the advisor can plan (one statement of a command
 * it plans, which PostgreSQL's parser reads), with their calls; `skipped`
 * counts the costlier ones left out (utility statements, several statements
 * in one text ...).
 */
export async function workloadQueries(
  session: PgSession,
  limit: number,
): Promise<{ queries: AdvisorQuery[]; skipped: number }> {
  const { version, schema } = await statementsExtension(session);
  if (isLegacyVersion(version)) {
    throw new SkillError(
      `pg_stat_statements ${version} is older than 1.8, which the advisor reads; update it: ` +
        `ALTER EXTENSION pg_stat_statements UPDATE; (with the user's approval: run_sql.ts --ddl)`,
    );
  }
  const sql = await loadExtensionSql("index_advisor_workload", schema);
  const { rows } = await session.query(sql, [Math.min(limit * 5, WORKLOAD_SCAN), SQL_MARK_PATTERN]);
  const queries: AdvisorQuery[] = [];
  let skipped = 0;
  for (const row of rows) {
    if (queries.length === limit) break;
    let statements: Statement[];
    try {
      statements = await parseStatements(String(row.query), { tree: true });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      skipped++;
      continue;
    }
    if (statements.length !== 1 || !ADVISED_COMMANDS.includes(statements[0].command)) {
      skipped++;
      continue;
    }
    queries.push({
      statement: statements[0],
      calls: Number(row.calls),
      queryId: String(row.query_id),
    });
  }
  return { queries, skipped };
}

/** Whether hypopg is here, in which version and schema. */
export async function hypopgState(session: PgSession): Promise<HypopgState> {
  const { rows } = await session.query(await loadSql("index_advisor_hypopg"));
  const row = rows[0];
  return {
    major: Number(row.major),
    version: row.version === null ? null : String(row.version),
    schema: row.schema === null ? null : String(row.schema),
    available: row.available === true,
  };
}

/** What to do to get hypopg here, for the line that says candidates are not verified. */
export function hypopgHint(state: HypopgState): string {
  const create = "then CREATE EXTENSION hypopg; in this database, which changes it: only with " +
    "the user's approval (run_sql.ts --ddl)";
  return state.available
    ? `hypopg is on the server but not created in this database: ${create}`
    : `hypopg is not installed on the server: install it (Debian/Ubuntu: apt install ` +
      `postgresql-${state.major}-hypopg; elsewhere from PGDG or the source), ${create}`;
}

/**
 * Plans each query, proposes its candidates and, with hypopg, proves them.
 * Runs only EXPLAIN without ANALYZE (and PREPARE for a generic plan), in the
 * session's read-only transactions; the hypothetical indexes live in the
 * session's memory and are dropped before it returns.
 */
export async function adviseIndexes(session: PgSession, options: AdviseOptions): Promise<Advice> {
  const hypopg = await hypopgState(session);
  const planner = new Planner(session, hypopg);
  if (options.queries.some((query) => query.params === undefined && query.statement.maxParam)) {
    await session.query(await loadSql("index_advisor_generic_plans"));
  }
  try {
    return await advise(planner, hypopg, options);
  } finally {
    await planner.reset().catch(() => {});
  }
}

interface Planned {
  query: AdvisorQuery;
  advice: QueryAdvice;
  candidates: Candidate[];
  /** The query's current cost, as the chosen indexes change it. */
  current: number;
}

async function advise(planner: Planner, hypopg: HypopgState, options: AdviseOptions) {
  const planned: Planned[] = [];
  const tables = new TableCatalog(planner.session);
  for (const query of options.queries) {
    const generic = query.params === undefined && query.statement.maxParam > 0;
    const advice: QueryAdvice = {
      query: query.statement.text,
      ...(query.queryId ? { queryId: query.queryId } : {}),
      calls: query.calls,
      plan: generic ? "generic" : "custom",
      candidates: [],
    };
    let plan: PlanResult;
    try {
      plan = await planner.plan(query);
    } catch (error) {
      if (!(error instanceof PgServerError)) throw error;
      advice.error = `${error.message} (SQLSTATE ${error.code})`;
      planned.push({ query, advice, candidates: [], current: 0 });
      continue;
    }
    advice.cost = plan.cost;
    const candidates = await candidatesOf(plan.plan, query.statement, tables);
    planned.push({ query, advice, candidates, current: plan.cost });
  }
  if (!hypopg.schema) {
    for (const item of planned) {
      item.advice.candidates = item.candidates.map((candidate) => ({
        index: candidateLabel(candidate),
        reason: candidate.reason,
        verdict: "not verified",
      }));
    }
    return {
      hypopg,
      minGain: options.minGain,
      queries: planned.map((p) => p.advice),
      recommendations: [],
    };
  }
  // Each candidate alone, on the queries of its table.
  interface Trial {
    candidate: Candidate;
    owner: Planned;
    result: CandidateResult;
  }
  const trials: Trial[] = [];
  for (const item of planned) {
    for (const candidate of item.candidates) {
      const tried = await planner.withHypothetical(candidate, () => planner.plan(item.query));
      const gain = item.current > 0 ? (item.current - tried.value.cost) / item.current : 0;
      const result: CandidateResult = {
        index: candidateLabel(candidate),
        reason: candidate.reason,
        cost: tried.value.cost,
        gain: round(gain),
        used: tried.value.uses(tried.hypothetical),
        bytes: tried.bytes,
        verdict: "not used",
      };
      if (result.used) {
        result.verdict = gain >= options.minGain ? "adds too little" : "below the minimum gain";
      }
      item.advice.candidates.push(result);
      trials.push({ candidate, owner: item, result });
    }
  }
  // The combination: the largest workload saving first; each kept only when, with those kept
  // before it, it still cuts a query's cost by the minimum share and the plan uses it.
  const workloadBefore = planned.reduce((sum, item) => sum + item.query.calls * item.current, 0);
  const chosen: Candidate[] = [];
  const recommendations: Recommendation[] = [];
  const ordered = trials.filter((trial) => trial.result.verdict === "adds too little")
    .sort((a, b) =>
      b.owner.query.calls * (b.owner.current - (b.result.cost ?? 0)) -
      a.owner.query.calls * (a.owner.current - (a.result.cost ?? 0))
    );
  const affected = (candidate: Candidate) =>
    planned.filter((item) => item.candidates.some((c) => c.table.oid === candidate.table.oid));
  await planner.keepChosen(async (keep) => {
    for (const trial of ordered) {
      if (chosen.some((other) => candidateLabel(other) === trial.result.index)) {
        trial.result.verdict = "recommended";
        continue;
      }
      const gains: { item: Planned; cost: number; gain: number }[] = [];
      const tried = await planner.withHypothetical(trial.candidate, async (hypothetical) => {
        for (const item of affected(trial.candidate)) {
          const plan = await planner.plan(item.query);
          if (!plan.uses(hypothetical)) continue;
          const gain = item.current > 0 ? (item.current - plan.cost) / item.current : 0;
          gains.push({ item, cost: plan.cost, gain });
        }
      });
      if (!gains.some((g) => g.gain >= options.minGain)) continue;
      await keep(trial.candidate);
      chosen.push(trial.candidate);
      for (const g of gains) g.item.current = g.cost;
      trial.result.verdict = "recommended";
      recommendations.push({
        name: "",
        table: trial.candidate.table.qualified,
        keys: trial.candidate.keys.map((key) => key.name),
        index: trial.result.index,
        bytes: tried.bytes,
        gains: gains.filter((g) => g.gain > 0).map((g) => ({
          query: planned.indexOf(g.item) + 1,
          gain: round(g.gain),
        })),
        statements: [],
      });
    }
  });
  for (const item of planned) {
    if (item.advice.cost !== undefined) item.advice.costAfter = round(item.current, 2);
  }
  for (const [i, recommendation] of recommendations.entries()) {
    Object.assign(recommendation, await buildStatements(planner.session, chosen[i]));
  }
  // The same candidate tried for several queries is recommended once: every trial of it says so.
  const recommended = new Set(recommendations.map((r) => r.index));
  for (const trial of trials) {
    if (recommended.has(trial.result.index)) trial.result.verdict = "recommended";
  }
  const workloadAfter = planned.reduce((sum, item) => sum + item.query.calls * item.current, 0);
  return {
    hypopg,
    minGain: options.minGain,
    queries: planned.map((p) => p.advice),
    recommendations,
    workload: { cost: round(workloadBefore, 2), costAfter: round(workloadAfter, 2) },
  };
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

async function candidatesOf(
  plan: unknown,
  statement: Statement,
  tables: TableCatalog,
): Promise<Candidate[]> {
  const uses = await planUses(plan, statement.tree);
  const facts = await tables.facts([...uses.values()]);
  const byTable = new Map<number, { table: TableFacts; uses: RelationUses[] }>();
  for (const relation of uses.values()) {
    const table = facts.get(`${relation.schema}.${relation.name}`);
    if (!table || !"rpm".includes(table.kind)) continue;
    const entry = byTable.get(table.oid) ?? { table, uses: [] };
    entry.uses.push(relation);
    byTable.set(table.oid, entry);
  }
  return [...byTable.values()].flatMap(({ table, uses }) => candidatesFor(mergeUses(uses), table));
}

/** The catalog's facts of the tables plans scan, asked once per relation. */
class TableCatalog {
  #known = new Map<string, TableFacts>();
  constructor(readonly session: PgSession) {}

  async facts(relations: { schema: string; name: string }[]): Promise<Map<string, TableFacts>> {
    const missing = relations.filter((r) => !this.#known.has(`${r.schema}.${r.name}`));
    if (missing.length) {
      const { rows } = await this.session.query(await loadSql("index_advisor_tables"), [
        missing.map((r) => r.schema),
        missing.map((r) => r.name),
      ]);
      for (const row of rows) {
        this.#known.set(`${row.scanned_schema}.${row.scanned_name}`, tableFacts(row));
      }
    }
    return this.#known;
  }
}

/** A json column's value, parsed (the session keeps it as the server's text). */
function parsedJson(value: unknown): unknown {
  return value instanceof JsonText ? JSON.parse(value.text) : value;
}

function tableFacts(row: Record<string, unknown>): TableFacts {
  const columns = new Map<string, ColumnFacts>();
  for (
    const column of parsedJson(row.columns) as {
      name: string;
      quoted: string;
      distinct: number | null;
    }[]
  ) {
    columns.set(column.name, { quoted: column.quoted, distinct: column.distinct });
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
    indexes: (parsedJson(row.indexes) as TableFacts["indexes"]) ?? [],
  };
}

interface PlanResult {
  plan: unknown;
  cost: number;
  /** True when the plan uses the hypothetical index named. */
  uses(hypothetical: string[]): boolean;
}

/** Plans queries (EXPLAIN only) and makes hypothetical indexes, in one session. */
class Planner {
  constructor(readonly session: PgSession, readonly hypopg: HypopgState) {}

  async plan(query: AdvisorQuery): Promise<PlanResult> {
    const text = `${query.statement.text}\n${SESSION_MARK}`;
    let rows: Record<string, unknown>[];
    if (query.params === undefined && query.statement.maxParam > 0) {
      // A generic plan, as an application's prepared statement gets it: PREPARE infers the
      // parameters' types, and plan_cache_mode = force_generic_plan (set for the session) makes
      // EXECUTE plan without their values, which are NULLs here.
      await this.session.query(`PREPARE ${PREPARED} AS ${text}`);
      try {
        const nulls = Array(query.statement.maxParam).fill("NULL").join(", ");
        rows = (await this.session.query(
          `EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE ${PREPARED}(${nulls}) ${SESSION_MARK}`,
        )).rows;
      } finally {
        await this.session.query(`DEALLOCATE ${PREPARED} ${SESSION_MARK}`);
      }
    } else {
      rows =
        (await this.session.query(`EXPLAIN (VERBOSE, FORMAT JSON) ${text}`, query.params ?? []))
          .rows;
    }
    const document = parsedJson(rows[0]?.["QUERY PLAN"]) as
      | { Plan?: Record<string, unknown> }[]
      | undefined;
    const plan = document?.[0]?.Plan;
    if (!plan) throw new SkillError("EXPLAIN gave no plan");
    const names = indexNames(plan);
    return {
      plan,
      cost: Number(plan["Total Cost"]),
      uses: (hypothetical) => hypothetical.some((name) => names.has(name)),
    };
  }

  /** Runs `work` with `candidate` made hypothetically, then forgets it. */
  async withHypothetical<T>(
    candidate: Candidate,
    work: (hypothetical: string[]) => Promise<T>,
  ): Promise<{ value: T; hypothetical: string[]; bytes: number }> {
    const made = await this.#create(candidate);
    try {
      return {
        value: await work(made.map((m) => m.name)),
        hypothetical: made.map((m) => m.name),
        bytes: made.reduce((s, m) => s + m.bytes, 0),
      };
    } finally {
      const drop = await this.#sql("index_advisor_hypothetical_drop");
      for (const index of made) await this.session.query(drop, [index.oid]);
    }
  }

  /** Runs `work`, whose `keep` makes a candidate for the rest of it; all are forgotten after. */
  async keepChosen(work: (keep: (candidate: Candidate) => Promise<void>) => Promise<void>) {
    try {
      await work(async (candidate) => {
        await this.#create(candidate);
      });
    } finally {
      await this.reset();
    }
  }

  async reset(): Promise<void> {
    if (this.hypopg.schema) {
      await this.session.query(await this.#sql("index_advisor_hypothetical_reset"));
    }
  }

  async #create(candidate: Candidate): Promise<{ oid: number; name: string; bytes: number }[]> {
    const create = await this.#sql("index_advisor_hypothetical_create");
    const { rows } = await this.session.query(create, [indexDefinition(candidate)]);
    return rows.map((row) => ({
      oid: Number(row.oid),
      name: String(row.name),
      bytes: Number(row.bytes),
    }));
  }

  #sql(name: string): Promise<string> {
    if (!this.hypopg.schema) throw new SkillError("hypopg is not created in this database");
    return loadExtensionSql(name, this.hypopg.schema);
  }
}

function indexNames(plan: unknown): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [plan];
  while (stack.length) {
    const node = stack.pop() as Record<string, unknown> | undefined;
    if (typeof node !== "object" || node === null) continue;
    if (typeof node["Index Name"] === "string") names.add(node["Index Name"]);
    if (Array.isArray(node.Plans)) stack.push(...node.Plans);
  }
  return names;
}

/** The name and the statements that build a recommended index without blocking writes. */
async function buildStatements(
  session: PgSession,
  candidate: Candidate,
): Promise<Pick<Recommendation, "name" | "statements" | "note">> {
  const table = candidate.table;
  const wanted = [indexName(candidate, new Set())];
  const partitioned = table.kind === "p";
  const { rows } = await session.query(await loadSql("index_advisor_names_taken"), [
    table.schemaOid,
    [
      ...wanted,
      ...Array.from({ length: 20 }, (_, n) => wanted[0].replace(/_idx$/, `_${n + 1}_idx`)),
    ],
  ]);
  const taken = new Set(rows.map((row) => String(row.name)));
  const name = indexName(candidate, taken);
  if (!partitioned) {
    return { name, statements: [`${indexDefinition(candidate, { name, concurrently: true })};`] };
  }
  // CREATE INDEX CONCURRENTLY refuses a partitioned table, and a plain CREATE INDEX on one
  // holds a SHARE lock on every partition (writes wait) for the whole build: build each
  // partition's index concurrently, then attach them to an index made on the parent ONLY.
  const size = `${table.partitions} partitions, ${Math.round(table.heapBytes / 1024)} kB of rows`;
  if (table.leafPartitions.length !== table.partitions) {
    return {
      name,
      statements: [`${indexDefinition(candidate, { name })};`],
      note: `${table.qualified} is partitioned (${size}) with partitions of its own partitioned: ` +
        `CREATE INDEX on it locks every partition against writes (SHARE) for the whole build; ` +
        `to avoid that, build each leaf's index CONCURRENTLY and attach them level by level`,
    };
  }
  const statements = [`${indexDefinition(candidate, { name, only: true })};`];
  const parentIndex = `${table.schemaQuoted}.${name}`;
  for (const [i, partition] of table.leafPartitions.entries()) {
    const suffix = `_p${i + 1}_idx`;
    const child = `${name.replace(/_idx$/, "").slice(0, 63 - suffix.length)}${suffix}`;
    statements.push(
      `${
        indexDefinition(candidate, { name: child, concurrently: true, on: partition.qualified })
      };`,
      `ALTER INDEX ${parentIndex} ATTACH PARTITION ${partition.schema}.${child};`,
    );
  }
  return {
    name,
    statements,
    note: `${table.qualified} is partitioned (${size}): CREATE INDEX on it would lock every ` +
      `partition against writes (SHARE) for the whole build, so the statements make the index ` +
      `on the parent ONLY, build each partition's CONCURRENTLY and attach it (the parent's ` +
      `index is valid once all are attached)`,
  };
}
