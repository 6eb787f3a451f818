/**
 * The advisor's session work: planning a query (EXPLAIN, never run; a
 * generic plan through PREPARE and EXPLAIN EXECUTE), and hypothetical indexes
 * (hypopg), which the planner sees in this session only and which are never
 * built. Behind a pooler in transaction mode everything runs in one
 * transaction, since the next one may reach another server connection, which
 * holds neither the prepared statement nor the hypothetical indexes; a step
 * that fails there is undone to a savepoint, so the rest goes on.
 *
 * @module
 */
import { SkillError } from "../../core/errors.ts";
import { PgServerError, type PgSession } from "../../connection/session.ts";
import { parsedJson } from "../../connection/values.ts";
import { loadExtensionSql, loadSql, SESSION_MARK } from "../../sql/sql_files.ts";
import type { Statement } from "../../sql/statements.ts";
import { type Candidate, indexDefinition } from "./candidates.ts";

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

/** A query to plan: its statement and, for a custom plan, its parameters' values. */
export interface PlannedQuery {
  /** The statement, parsed: one, of a kind PREPARE takes. */
  statement: Statement;
  /** Values for its `$n`; absent: a generic plan, when it has any. */
  params?: string[];
}

/** A plan and what it costs. */
export interface PlanResult {
  /** The `Plan` of EXPLAIN (VERBOSE, FORMAT JSON). */
  plan: unknown;
  /** Its total cost, in the planner's units. */
  cost: number;
  /** True when the plan uses any of the (hypothetical) indexes named. */
  uses(names: string[]): boolean;
}

/** A hypothetical index made: its OID, the name plans show it by, its estimated size. */
export interface Hypothetical {
  /** Its OID (hypopg's, in this session only). */
  oid: number;
  /** The name plans show it by: `<oid>btree_table_column`. */
  name: string;
  /** Its estimated size in bytes. */
  bytes: number;
}

/** EXPLAIN gave no plan: a rule replaced the statement with nothing (DO INSTEAD NOTHING). */
export class NoPlanError extends Error {
  /** The error, with its message. */
  constructor() {
    super("EXPLAIN shows no plan: a rule replaces the statement with nothing (DO INSTEAD NOTHING)");
  }
}

/** True when `query` is planned as a generic plan: it has `$n` and no values for them. */
export function isGeneric(query: PlannedQuery): boolean {
  return query.params === undefined && query.statement.maxParam > 0;
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

/** Plans queries and makes hypothetical indexes in one session; see the module's comment. */
export class Planner {
  /** The session it plans in. */
  readonly session: PgSession;
  /** hypopg as found. */
  readonly hypopg: HypopgState;
  // Unique to the run: a pooled server connection may keep one a failed run left.
  #prepared = `pgskill_index_advisor_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  #preparedLeft = false;
  #temporary: Hypothetical[] = [];
  #inTransaction: boolean;
  #deadline = Infinity;

  private constructor(session: PgSession, hypopg: HypopgState) {
    this.session = session;
    this.hypopg = hypopg;
    this.#inTransaction = session.pooled;
  }

  /**
   * Runs `work` with a planner: behind a pooler in one read-only transaction
   * rolled back at the end, else each plan in a read-only transaction of its
   * own, rolled back (so that no lock a plan takes is held longer than its
   * EXPLAIN, and whatever a function the planner calls changes in the session,
   * a setting such as default_transaction_read_only among them, is undone
   * before the next). Every hypothetical index is forgotten before it ends;
   * after `seconds`, {@linkcode timeUp} says so (and no new candidate is tried).
   */
  static async run<T>(
    session: PgSession,
    options: { hypopg: HypopgState; seconds: number },
    work: (planner: Planner) => Promise<T>,
  ): Promise<T> {
    const planner = new Planner(session, options.hypopg);
    planner.#deadline = performance.now() + options.seconds * 1000;
    const go = async () => {
      try {
        return await work(planner);
      } finally {
        await planner.#cleanUp().catch(() => {});
        await planner.reset().catch(() => {});
      }
    };
    if (!planner.#inTransaction) return await go();
    await session.transaction("begin read only");
    // A failure (Ctrl-C's cancel among them) aborts the transaction, where the hypothetical
    // indexes cannot be forgotten; back at this savepoint they can, on the same server
    // connection: after the ROLLBACK the pooler gives that to other clients, whose EXPLAINs
    // would see them.
    await session.transaction("savepoint skill_run");
    try {
      return await go();
    } catch (error) {
      await session.transaction("rollback to savepoint skill_run").catch(() => {});
      await planner.reset().catch(() => {});
      throw error;
    } finally {
      await session.transaction("rollback").catch(() => {});
    }
  }

  /** True once the run's time is up: what is left is not tried. */
  get timeUp(): boolean {
    return performance.now() > this.#deadline;
  }

  /**
   * Runs one step; a server error it raises is returned, not thrown, once
   * what the step left is undone (a savepoint in a transaction, the prepared
   * statement and the hypothetical indexes it made), so that the next step
   * runs as if it had not been tried. So is a plan EXPLAIN did not give.
   */
  async attempt<T>(
    step: () => Promise<T>,
  ): Promise<{ value: T } | { error: PgServerError | NoPlanError }> {
    if (this.#inTransaction) await this.session.transaction("savepoint skill_step");
    try {
      const value = await step();
      if (this.#inTransaction) await this.session.transaction("release savepoint skill_step");
      return { value };
    } catch (error) {
      if (!(error instanceof PgServerError) && !(error instanceof NoPlanError)) throw error;
      if (this.#inTransaction) await this.session.transaction("rollback to savepoint skill_step");
      await this.#cleanUp();
      return { error };
    }
  }

  /** The plan of `query` (EXPLAIN only), as the session's hypothetical indexes change it. */
  async plan(query: PlannedQuery): Promise<PlanResult> {
    if (this.#inTransaction) return await this.#plan(query);
    // A read-only transaction of its own: the planner may call the query's IMMUTABLE and STABLE
    // functions, which could turn default_transaction_read_only off for the next statements.
    await this.session.transaction("begin read only");
    try {
      return await this.#plan(query);
    } finally {
      await this.session.transaction("rollback");
    }
  }

  async #plan(query: PlannedQuery): Promise<PlanResult> {
    const text = `${query.statement.text}\n${SESSION_MARK}`;
    let rows: Record<string, unknown>[];
    if (isGeneric(query)) {
      // PREPARE infers the parameters' types; with plan_cache_mode = force_generic_plan (for this
      // transaction), EXECUTE plans without their values (NULLs here), as an application's
      // prepared statement is. Planned afresh each time: a kept generic plan would not see a
      // new hypothetical index.
      await this.session.query(await loadSql("index_advisor_generic_plans"));
      await this.session.query(`PREPARE ${this.#prepared} AS ${text}`);
      this.#preparedLeft = true;
      const nulls = Array(query.statement.maxParam).fill("NULL").join(", ");
      rows = (await this.session.query(
        `EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE ${this.#prepared}(${nulls}) ${SESSION_MARK}`,
      )).rows;
      await this.#deallocate();
    } else {
      rows = (await this.session.query(`EXPLAIN (VERBOSE, FORMAT JSON) ${text}`, query.params))
        .rows;
    }
    const value = rows[0]?.["QUERY PLAN"];
    const document = parsedJson(value);
    const plan = Array.isArray(document) ? document[0]?.Plan : undefined;
    if (typeof plan !== "object" || plan === null) throw new NoPlanError();
    const names = indexNames(plan);
    return {
      plan,
      cost: Number(plan["Total Cost"]),
      uses: (wanted) => wanted.some((name) => names.has(name)),
    };
  }

  /** Makes `candidate` hypothetically until {@linkcode forget} (or the end of the run). */
  async make(candidate: Candidate): Promise<Hypothetical[]> {
    const create = await this.#sql("index_advisor_hypothetical_create");
    try {
      const { rows } = await this.session.query(create, [indexDefinition(candidate)]);
      return rows.map((row) => ({
        oid: Number(row.oid),
        name: String(row.name),
        bytes: Number(row.bytes),
      }));
    } catch (error) {
      // 42501 insufficient_privilege: no candidate will fare better; say what to grant.
      if (error instanceof PgServerError && error.code === "42501") {
        throw new SkillError(
          `This role may not use hypopg's functions: ${error.message} (SQLSTATE 42501); grant ` +
            `it USAGE on schema ${this.hypopg.schema} and EXECUTE on the functions there ` +
            `(with the user's approval), or advise as a role that may`,
        );
      }
      throw error;
    }
  }

  /** Runs `work` with `candidate` made hypothetically, then forgets it. */
  async trying<T>(
    candidate: Candidate,
    work: (names: string[]) => Promise<T>,
  ): Promise<{ value: T; bytes: number }> {
    const made = await this.make(candidate);
    this.#temporary.push(...made);
    const value = await work(made.map((index) => index.name));
    await this.forget(made);
    this.#temporary = this.#temporary.filter((index) => !made.includes(index));
    return { value, bytes: made.reduce((sum, index) => sum + index.bytes, 0) };
  }

  /** Forgets hypothetical indexes. */
  async forget(indexes: Hypothetical[]): Promise<void> {
    const drop = await this.#sql("index_advisor_hypothetical_drop");
    for (const index of indexes) await this.session.query(drop, [index.oid]);
  }

  /** What a failed step or the run's end leaves: the prepared statement, hypothetical indexes. */
  async #cleanUp(): Promise<void> {
    if (this.#preparedLeft) await this.#deallocate();
    if (this.#temporary.length) {
      await this.forget(this.#temporary);
      this.#temporary = [];
    }
  }

  /** Forgets every hypothetical index of the session (what a run made and kept). */
  async reset(): Promise<void> {
    if (this.hypopg.schema) {
      await this.session.query(await this.#sql("index_advisor_hypothetical_reset"));
    }
  }

  async #deallocate(): Promise<void> {
    await this.session.query(`DEALLOCATE ${this.#prepared} ${SESSION_MARK}`);
    this.#preparedLeft = false;
  }

  #sql(name: string): Promise<string> {
    if (!this.hypopg.schema) throw new SkillError("hypopg is not created in this database");
    return loadExtensionSql(name, this.hypopg.schema);
  }
}

/** The names of the indexes a plan reads. */
function indexNames(plan: unknown): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [plan];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    const fields = node as Record<string, unknown>;
    if (typeof fields["Index Name"] === "string") names.add(fields["Index Name"]);
    if (Array.isArray(fields.Plans)) stack.push(...fields.Plans);
  }
  return names;
}
