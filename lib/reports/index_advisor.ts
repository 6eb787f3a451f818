/**
 * Index advice the planner has proved: each query is planned (EXPLAIN, never
 * run), the indexes its plan's conditions, sorts and groups could use are
 * proposed (index_advisor/candidates.ts), and each is tried as a
 * hypothetical index (hypopg: the planner sees it, nothing is built, no other
 * session sees it) to compare the plan's cost without and with it. The best
 * are then combined greedily over the workload, weighted by calls: an index is
 * kept when, with those kept before it, the plan uses it and it cuts some
 * query's cost by at least the share asked for; one the later ones made
 * redundant is let go again. Without hypopg the candidates are listed, not
 * verified.
 *
 * @module
 */
import { SkillError, UsageError } from "../core/errors.ts";
import type { PgServerError, PgSession } from "../connection/session.ts";
import { loadExtensionSql, SQL_MARK_PATTERN } from "../sql/sql_files.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";
import { isLegacyVersion, statementsExtension } from "./pg_stat_statements.ts";
import {
  type Candidate,
  candidateLabel,
  indexDefinition,
  indexName,
} from "./index_advisor/candidates.ts";
import { buildPlan } from "./index_advisor/build.ts";
import {
  type HypopgState,
  hypopgState,
  type Hypothetical,
  isGeneric,
  NoPlanError,
  type PlannedQuery,
  Planner,
} from "./index_advisor/planner.ts";
import { TableCatalog } from "./index_advisor/tables.ts";

export type { HypopgState } from "./index_advisor/planner.ts";

/** One query to advise on. */
export interface AdvisorQuery extends PlannedQuery {
  /** How often it ran (pg_stat_statements), its weight in the workload; 1 when given. */
  calls: number;
  /** pg_stat_statements' query ID, when it came from there. */
  queryId?: string;
}

/** What became of a candidate. */
export type Verdict =
  | "recommended"
  | "not used"
  | "below the minimum gain"
  | "adds too little"
  | "not verified"
  | "cannot be made"
  | "not tried";

/** A candidate and what the planner made of it for one query. */
export interface CandidateResult {
  /** `schema.table (columns) ...`. */
  index: string;
  /** Why it was proposed. */
  reason: string;
  /** The plan's total cost with it (alone), when hypopg is here. */
  cost?: number;
  /** The share of the cost it cuts alone (0.25 = 25%). */
  gain?: number;
  /** True when the plan with it uses it. */
  used?: boolean;
  /** Its estimated size in bytes. */
  bytes?: number;
  /** What became of it: recommended, or why not. */
  verdict: Verdict;
  /** Why hypopg could not make it, for "cannot be made". */
  error?: string;
  /** For "adds too little": the recommended indexes this query's plan uses instead. */
  instead?: string[];
  /** For "not verified": the statement that would build it (name not checked as free). */
  statement?: string;
}

/** The advice for one query. */
export interface QueryAdvice {
  /** The query's text. */
  query: string;
  /** pg_stat_statements' query ID, when it came from there. */
  queryId?: string;
  /** How often it ran (1 for a query given). */
  calls: number;
  /** `custom`: planned with its values (or it has none); `generic`: parameters unknown. */
  plan: "custom" | "generic";
  /** The plan's total cost as the database stands. */
  cost?: number;
  /** Its cost with every recommended index. */
  costAfter?: number;
  /** Each candidate tried for it, in the order proposed. */
  candidates: CandidateResult[];
  /** Candidates left untried past the limit per query. */
  candidatesLeftOut?: number;
  /** Why the query could not be planned, when it could not. */
  error?: string;
  /** Why it gets no recommendation, when it gets none. */
  note?: string;
  /** Existing indexes that serve what a candidate would have (so none was proposed). */
  servedBy?: string[];
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
  /**
   * The queries (1-based, as listed) whose plans use it with every recommended index made, and
   * the share of each one's cost those cut together.
   */
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
  /** The indexes recommended, largest saving over the workload first. */
  recommendations: Recommendation[];
  /** The workload's cost (sum of calls x cost) before and after, when hypopg is here. */
  workload?: { cost: number; costAfter: number };
  /** The time limit in seconds, when it was reached: what was left is "not tried". */
  timeLimitReached?: number;
}

/** How to advise. */
export interface AdviseOptions {
  /** The queries: one given, or the workload's. */
  queries: AdvisorQuery[];
  /** The least share of a query's cost an index must cut to be recommended (0.2 = 20%). */
  minGain: number;
  /** How long to try candidates, in seconds; those left then are "not tried". */
  seconds: number;
}

/** The commands the advisor plans: those PREPARE takes too (a generic plan needs it). */
export const ADVISED_COMMANDS: readonly string[] = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
];

/**
 * The least cut of a query's cost, in the planner's units, that an index must make besides its
 * share (about ten pages read): a lookup already down to a few pages gains nothing worth an
 * index's writes, whatever share of its small cost another one would cut.
 */
export const MIN_COST_CUT = 10;

/** True when cutting `cut` off a query whose cost was `original` is worth an index. */
function worthIt(cut: number, original: number, minGain: number): boolean {
  return cut >= MIN_COST_CUT && original > 0 && cut / original >= minGain;
}

/** Gains closer than this share of a query's cost count as equal: the smaller index wins. */
const SAVING_STEP = 0.05;

/** Candidates tried per query, at most (a query over many tables proposes many). */
export const MAX_TRIED_PER_QUERY = 40;

/** Statements of pg_stat_statements read to find `limit` plannable ones, at most. */
const WORKLOAD_SCAN = 500;

/**
 * The `limit` costliest statements (total time) of this database in
 * pg_stat_statements that the advisor can plan (one statement of a command
 * it plans, which PostgreSQL's parser reads), with their calls; `skipped`
 * counts the costlier ones left out (utility statements, several statements
 * in one text ...). Unless `otherRoles`, only the statements the session's
 * own role ran: planning runs the functions a statement calls (those the
 * planner folds or estimates with: IMMUTABLE and STABLE ones, also in views)
 * with this role's rights, and a role that can do more than read must not
 * run another role's code.
 */
export async function workloadQueries(
  session: PgSession,
  options: { limit: number; otherRoles: boolean },
): Promise<Workload> {
  const { limit } = options;
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
  const othersLeft = new Set<string>();
  let othersSkipped = 0;
  for (const row of rows) {
    if (queries.length === limit) break;
    if (row.own !== true && !options.otherRoles) {
      othersSkipped++;
      for (const role of row.roles as string[]) othersLeft.add(String(role));
      continue;
    }
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
  return { queries, skipped, otherRoles: { skipped: othersSkipped, roles: [...othersLeft] } };
}

/** The statements {@linkcode workloadQueries} found, and what it passed over. */
export interface Workload {
  /** The statements to advise on, costliest first. */
  queries: AdvisorQuery[];
  /** Costlier statements passed over: not one statement of a command the advisor plans. */
  skipped: number;
  /** Costlier statements of other roles passed over (`otherRoles` false), and those roles. */
  otherRoles: { skipped: number; roles: string[] };
}

/** What to do to get hypopg here, for the line that says candidates are not verified. */
export function hypopgHint(state: HypopgState): string {
  const create = `creating it changes the database, so only with the user's approval: ` +
    `run_sql.ts --ddl "create extension hypopg" (or advise on a copy that has it)`;
  return state.available
    ? `hypopg is on the server but not in this database; ${create}`
    : `hypopg is not installed on the server: its package is postgresql-${state.major}-hypopg ` +
      `(Debian/Ubuntu; elsewhere PGDG or the source); then ${create}`;
}

/** A query as the run goes: its advice so far, its candidates, its cost as the chosen change it. */
interface Planned {
  query: AdvisorQuery;
  advice: QueryAdvice;
  candidates: Candidate[];
  current: number;
}

/** A candidate tried for one query. */
interface Trial {
  candidate: Candidate;
  owner: Planned;
  result: CandidateResult;
}

/** A candidate kept in the combination, with the hypothetical indexes that stand for it. */
interface Kept {
  trial: Trial;
  made: Hypothetical[];
  bytes: number;
}

/**
 * Plans each query, proposes its candidates and, with hypopg, proves them.
 * Runs only EXPLAIN without ANALYZE (and PREPARE for a generic plan) in the
 * session's read-only transactions; the hypothetical indexes live in the
 * session's memory and are forgotten before it returns.
 */
export async function adviseIndexes(session: PgSession, options: AdviseOptions): Promise<Advice> {
  const hypopg = await hypopgState(session);
  return await Planner.run(session, { hypopg, seconds: options.seconds }, async (planner) => {
    const planned = await planQueries(planner, options.queries);
    if (!hypopg.schema) {
      for (const item of planned) {
        item.advice.candidates = item.candidates.map((candidate) => ({
          index: candidateLabel(candidate),
          reason: candidate.reason,
          verdict: "not verified",
          statement: `${
            indexDefinition(candidate, {
              name: indexName(candidate, new Set()),
              concurrently: candidate.table.kind !== "p",
            })
          };`,
        }));
        item.advice.note = queryNote(item.advice, options.minGain);
      }
      return {
        hypopg,
        minGain: options.minGain,
        queries: planned.map((p) => p.advice),
        recommendations: [],
      };
    }
    const workloadBefore = workloadCost(planned);
    const trials = await tryAlone(planner, planned, options.minGain);
    const kept = await combine(planner, planned, trials, options.minGain);
    // Which recommended indexes each query's plan uses with all of them made: what it gains.
    const usedBy = new Map<Kept, { query: number; gain: number }[]>(kept.map((k) => [k, []]));
    for (const [i, item] of planned.entries()) {
      if (item.advice.cost === undefined || !kept.length) continue;
      const plan = await planner.plan(item.query);
      item.current = plan.cost;
      const gain = item.advice.cost > 0
        ? round((item.advice.cost - plan.cost) / item.advice.cost)
        : 0;
      const using = kept.filter((k) => plan.uses(k.made.map((index) => index.name)));
      for (const k of using) usedBy.get(k)!.push({ query: i + 1, gain });
      const names = using.map((k) => k.trial.result.index);
      for (const candidate of item.advice.candidates) {
        if (candidate.verdict === "adds too little" && names.length) candidate.instead = names;
      }
    }
    const recommendations: Recommendation[] = [];
    for (const k of kept) {
      const { trial, bytes } = k;
      const gains = usedBy.get(k)!;
      recommendations.push({
        ...await buildPlan(session, trial.candidate),
        table: trial.candidate.table.qualified,
        keys: trial.candidate.keys.map((key) => key.name),
        index: trial.result.index,
        bytes,
        gains,
      });
    }
    const recommended = new Set(recommendations.map((r) => r.index));
    // One index tried for several queries: recommended for each whose plan uses it.
    for (const trial of trials) {
      if (recommended.has(trial.result.index) && trial.result.used) {
        trial.result.verdict = "recommended";
        delete trial.result.instead;
      }
    }
    for (const item of planned) item.advice.note = queryNote(item.advice, options.minGain);
    for (const item of planned) {
      if (item.advice.cost !== undefined) item.advice.costAfter = round(item.current, 2);
    }
    return {
      hypopg,
      minGain: options.minGain,
      queries: planned.map((p) => p.advice),
      recommendations,
      workload: { cost: round(workloadBefore, 2), costAfter: round(workloadCost(planned), 2) },
      ...(planner.timeUp ? { timeLimitReached: options.seconds } : {}),
    };
  });
}

function workloadCost(planned: Planned[]): number {
  return planned.reduce((sum, item) => sum + item.query.calls * item.current, 0);
}

/**
 * SQLSTATEs of a statement that cannot be planned without its values: a
 * typed constant pg_stat_statements wrote as `$n` (`interval $1`: 42601), a
 * parameter whose type nothing tells (42P18), or a call it makes ambiguous
 * (42725, 42883).
 */
const NEEDS_VALUES = new Set(["42601", "42P18", "42725", "42883"]);

function errorText(error: PgServerError | NoPlanError, generic: boolean): string {
  if (error instanceof NoPlanError) return error.message;
  const text = `${error.message} (SQLSTATE ${error.code})`;
  return generic && NEEDS_VALUES.has(error.code)
    ? `cannot be planned without its values: ${text}`
    : text;
}

/** Why a query gets no recommendation (undefined when it gets one). */
function queryNote(advice: QueryAdvice, minGain: number): string | undefined {
  if (advice.error) return undefined;
  if (!advice.candidates.length) {
    return advice.servedBy
      ? `served already: ${advice.servedBy.join(", ")} ${
        advice.servedBy.length === 1 ? "does" : "do"
      } what a new index would`
      : "nothing to index: no condition, join key, ORDER BY ... LIMIT or GROUP BY on a " +
        "table's columns that an index could serve (it reads what it reads whole)";
  }
  if (advice.candidates.every((c) => c.verdict === "cannot be made")) {
    return "no candidate can be made (see each one's error)";
  }
  if (advice.candidates.every((c) => c.verdict === "not verified")) return undefined;
  if (advice.candidates.some((c) => c.verdict === "recommended")) return undefined;
  if (advice.candidates.some((c) => c.instead)) return undefined;
  return advice.candidates.some((c) => c.used)
    ? `no candidate cuts its cost by ${Math.round(minGain * 100)}% and ${MIN_COST_CUT} or more`
    : "the planner uses none of the candidates";
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Each query's plan as the database stands, and its candidates. */
async function planQueries(planner: Planner, queries: AdvisorQuery[]): Promise<Planned[]> {
  const tables = new TableCatalog(planner.session);
  const planned: Planned[] = [];
  for (const query of queries) {
    const advice: QueryAdvice = {
      query: query.statement.text,
      ...(query.queryId ? { queryId: query.queryId } : {}),
      calls: query.calls,
      plan: isGeneric(query) ? "generic" : "custom",
      candidates: [],
    };
    const outcome = await planner.attempt(() => planner.plan(query));
    if ("error" in outcome) {
      advice.error = errorText(outcome.error, isGeneric(query));
      planned.push({ query, advice, candidates: [], current: 0 });
      continue;
    }
    const { plan, cost } = outcome.value;
    advice.cost = cost;
    const { candidates, servedBy } = await tables.candidates(plan, query.statement);
    if (servedBy.length) advice.servedBy = servedBy;
    if (candidates.length > MAX_TRIED_PER_QUERY) {
      advice.candidatesLeftOut = candidates.length - MAX_TRIED_PER_QUERY;
    }
    planned.push({
      query,
      advice,
      candidates: candidates.slice(0, MAX_TRIED_PER_QUERY),
      current: cost,
    });
  }
  return planned;
}

/** Each candidate alone on its own query: cost, use, size, and a first verdict. */
async function tryAlone(planner: Planner, planned: Planned[], minGain: number): Promise<Trial[]> {
  const trials: Trial[] = [];
  for (const item of planned) {
    for (const candidate of item.candidates) {
      const result: CandidateResult = {
        index: candidateLabel(candidate),
        reason: candidate.reason,
        verdict: "not used",
      };
      item.advice.candidates.push(result);
      if (planner.timeUp) {
        result.verdict = "not tried";
        continue;
      }
      const outcome = await planner.attempt(() =>
        planner.trying(candidate, async (names) => {
          const plan = await planner.plan(item.query);
          return { cost: plan.cost, used: plan.uses(names) };
        })
      );
      if ("error" in outcome) {
        Object.assign(result, {
          verdict: "cannot be made",
          error: errorText(outcome.error, false),
        });
        continue;
      }
      const { value, bytes } = outcome.value;
      const gain = item.current > 0 ? (item.current - value.cost) / item.current : 0;
      Object.assign(result, { cost: value.cost, gain: round(gain), used: value.used, bytes });
      if (value.used) {
        result.verdict = worthIt(item.current - value.cost, item.current, minGain)
          ? "adds too little"
          : "below the minimum gain";
      }
      trials.push({ candidate, owner: item, result });
    }
  }
  return trials;
}

/**
 * The combination: candidates that alone pass, largest workload saving
 * first (the smaller of those that save about as much), each kept when, with
 * those kept before it, a query's plan uses it and it cuts that query's cost
 * by `minGain` of what it was at the start; then each kept one is let go
 * again if without it no query's cost rises by as much.
 */
async function combine(
  planner: Planner,
  planned: Planned[],
  trials: Trial[],
  minGain: number,
): Promise<Kept[]> {
  // The saving over the workload, in steps of 5% of the query's cost, so that among
  // candidates that do about as well the smaller one is tried first (a 1.5 MB covering index
  // that saves 98% does not win over an 8 kB partial one that saves 97%).
  const saving = (trial: Trial) =>
    trial.owner.query.calls * trial.owner.current *
    Math.floor((trial.result.gain ?? 0) / SAVING_STEP);
  const passing = trials.filter((trial) => trial.result.verdict === "adds too little")
    .sort((a, b) => saving(b) - saving(a) || (a.result.bytes ?? 0) - (b.result.bytes ?? 0));
  const onTable = (candidate: Candidate) =>
    planned.filter((item) => item.candidates.some((c) => c.table.oid === candidate.table.oid));
  /** The costs of the queries on the candidate's table with the session's indexes, and uses. */
  const costs = async (candidate: Candidate, names: string[]) => {
    const found: { item: Planned; cost: number; used: boolean }[] = [];
    for (const item of onTable(candidate)) {
      const plan = await planner.plan(item.query);
      found.push({ item, cost: plan.cost, used: plan.uses(names) });
    }
    return found;
  };
  const kept: Kept[] = [];
  for (const trial of passing) {
    if (planner.timeUp) break;
    if (kept.some((k) => k.trial.result.index === trial.result.index)) continue;
    const made = await planner.make(trial.candidate);
    const names = made.map((index) => index.name);
    const found = await costs(trial.candidate, names);
    // The cut is a share of the query's cost as the database stands, not as the indexes kept
    // before left it: halving a cost already cut by 97% is not worth another index.
    const helps = found.some(({ item, cost, used }) =>
      used && worthIt(item.current - cost, item.advice.cost ?? 0, minGain)
    );
    if (!helps) {
      await planner.forget(made);
      continue;
    }
    for (const { item, cost } of found) item.current = cost;
    kept.push({ trial, made, bytes: made.reduce((sum, index) => sum + index.bytes, 0) });
  }
  // A later index can take over what an earlier one did: without it, no query loses minGain.
  for (const one of [...kept]) {
    await planner.forget(one.made);
    const found = await costs(one.trial.candidate, []);
    const needed = found.some(({ item, cost }) =>
      worthIt(cost - item.current, item.advice.cost ?? 0, minGain)
    );
    if (!needed) {
      kept.splice(kept.indexOf(one), 1);
      for (const { item, cost } of found) item.current = cost;
      continue;
    }
    one.made = await planner.make(one.trial.candidate);
  }
  return kept;
}
