/**
 * How a query uses the columns of each table it reads, taken from its plan:
 * EXPLAIN (VERBOSE, FORMAT JSON) names every scanned relation with a unique
 * alias and writes every condition with columns qualified by it, after views
 * are expanded, `IN` turned into `= ANY` and `BETWEEN` into two comparisons.
 * Each condition, sort key and group key is read by PostgreSQL's own parser
 * (libpg-query), so the columns come from a parse tree, not from the text.
 *
 * @module
 */
import type { Node } from "@pgsql/types";
import { loadPgParser } from "../../sql/parser.ts";
import { quotedIdentifier } from "../../sql/ddl_objects.ts";
import { nodeOf, stringOf, type TypedNode, typedNode } from "../../sql/parse_tree.ts";

/** A condition that holds for every row the query wants: a partial index's WHERE. */
export interface ConstantPredicate {
  /** The column it tests (unquoted, as the catalog names it). */
  column: string;
  /**
   * How the predicate tests the column, to be written after it: `IS NULL`,
   * `IS NOT NULL`, `= 'open'`, `= 3`, or `` (a boolean column) and `NOT`-ed
   * with `negated`.
   */
  test: string;
  /** True for `NOT column` (a boolean column that is false). */
  negated: boolean;
}

/** One ORDER BY of the query that a single table's columns make up. */
export interface SortUse {
  /** The sort's columns, in order. */
  columns: { name: string; descending: boolean }[];
  /** True when a LIMIT is applied above the sort (an ordered index can stop early). */
  limited: boolean;
}

/** How one query uses the columns of one relation it scans. */
export interface RelationUses {
  /** The relation's schema. */
  schema: string;
  /** The relation scanned (a partition when the planner scans partitions). */
  name: string;
  /** Columns compared for equality with a value: constant, parameter or list (`= ANY`). */
  equal: Set<string>;
  /** Columns compared with `<`, `<=`, `>`, `>=`. */
  range: Set<string>;
  /** Columns equal to a column of another relation (join keys). */
  joins: Set<string>;
  /** Columns tested for NULL (a b-tree searches `IS NULL` too). */
  nullTests: Set<string>;
  /** Tests every wanted row passes: candidates for a partial index. */
  constants: ConstantPredicate[];
  /** ORDER BYs made of this relation's columns only. */
  sorts: SortUse[];
  /** GROUP BY keys made of this relation's columns only. */
  groups: string[][];
  /** Columns the query reads from it (for INCLUDE). */
  outputs: Set<string>;
}

/**
 * The key of a relation in {@linkcode planUses}'s map: its schema and name apart (a dot could
 * be in either: `"a.b".c` is not `a."b.c"`).
 */
export function relationKey(schema: string, name: string): string {
  return `${schema}\u0000${name}`;
}

/** The uses of a relation before any is found. */
export function noUses(schema: string, name: string): RelationUses {
  return {
    schema,
    name,
    equal: new Set(),
    range: new Set(),
    joins: new Set(),
    nullTests: new Set(),
    constants: [],
    sorts: [],
    groups: [],
    outputs: new Set(),
  };
}

/** A node of EXPLAIN's JSON plan, as far as it is read here. */
interface PlanNode {
  "Node Type"?: string;
  "Relation Name"?: string;
  Schema?: string;
  Alias?: string;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

const SCAN_CONDITIONS = ["Filter", "Index Cond", "Recheck Cond", "TID Cond"];
const JOIN_CONDITIONS = ["Hash Cond", "Merge Cond", "Join Filter"];
const RANGE_OPERATORS = new Set(["<", "<=", ">", ">="]);
/** Plans deeper than this are not followed (a plan nests no deeper than its query). */
const MAX_PLAN_NODES = 10_000;

/**
 * The uses of each relation the plan scans, keyed by {@linkcode relationKey}: read from
 * `plan`, the `Plan` of EXPLAIN (VERBOSE, FORMAT JSON), and from the query's
 * own parse tree, `query`, for its ORDER BY ... LIMIT: a plan that reads an
 * index in that order already shows no sort.
 */
export async function planUses(
  plan: unknown,
  query?: TypedNode,
): Promise<Map<string, RelationUses>> {
  const nodes = planNodes(plan);
  const byAlias = new Map<string, RelationUses>();
  const byRelation = new Map<string, RelationUses>();
  for (const { node } of nodes) {
    const name = node["Relation Name"];
    const schema = node.Schema;
    if (typeof name !== "string" || typeof schema !== "string") continue;
    const key = relationKey(schema, name);
    let uses = byRelation.get(key);
    if (!uses) {
      uses = noUses(schema, name);
      byRelation.set(key, uses);
    }
    byAlias.set(typeof node.Alias === "string" ? node.Alias : name, uses);
  }
  // A partitioned table's partitions are scanned as `payment_1`, `payment_2` ..., while the
  // sorts and groups above them name the table's own alias (`payment`): that alias is theirs.
  for (const [alias, uses] of [...byAlias]) {
    const parent = alias.match(/^(.+)_\d+$/)?.[1];
    if (parent && !byAlias.has(parent)) byAlias.set(parent, uses);
  }
  for (const { node, limited } of nodes) {
    const alias = typeof node.Alias === "string" ? node.Alias : node["Relation Name"];
    const own = typeof alias === "string" ? byAlias.get(alias) : undefined;
    const context = { byAlias, own };
    if (own) {
      for (const key of SCAN_CONDITIONS) {
        const text = node[key];
        if (typeof text === "string") await readCondition(text, context);
      }
      for (const item of textList(node.Output)) {
        for (const column of await columnsOf(`select ${item}`, context)) {
          column.uses.outputs.add(column.name);
        }
      }
    }
    for (const key of JOIN_CONDITIONS) {
      const text = node[key];
      if (typeof text === "string") await readCondition(text, context);
    }
    const sortKeys = textList(node["Sort Key"]);
    if (sortKeys.length) await readSort(sortKeys, limited, context);
    const groupKeys = textList(node["Group Key"]);
    if (groupKeys.length) await readGroup(groupKeys, context);
  }
  const ordered = query ? queryOrder(query) : undefined;
  if (ordered) await readSort(ordered.keys, ordered.limited, { byAlias });
  return byRelation;
}

/**
 * The ORDER BY of a plain SELECT as sort keys qualified by the alias the plan
 * uses (the one written, or the table's name when the query reads one table),
 * and whether a LIMIT follows; undefined when it has none or names no column.
 */
function queryOrder(query: TypedNode): { keys: string[]; limited: boolean } | undefined {
  if (query.type !== "SelectStmt" || query.node.op !== "SETOP_NONE") return undefined;
  const tables = (query.node.fromClause ?? []).map((item) => nodeOf(item, "RangeVar"));
  const only = tables.length === 1 ? tables[0] : undefined;
  const keys: string[] = [];
  for (const item of query.node.sortClause ?? []) {
    const sortBy = nodeOf(item, "SortBy");
    const fields = (nodeOf(sortBy?.node, "ColumnRef")?.fields ?? []).map(stringOf);
    const alias = fields.length === 2 ? fields[0] : only?.alias?.aliasname ?? only?.relname;
    const column = fields.at(-1);
    if (!alias || !column || fields.length > 2 || fields.includes(undefined)) return undefined;
    const descending = sortBy?.sortby_dir === "SORTBY_DESC" ? " DESC" : "";
    keys.push(`${quotedIdentifier(alias)}.${quotedIdentifier(column)}${descending}`);
  }
  return keys.length ? { keys, limited: query.node.limitCount !== undefined } : undefined;
}

function planNodes(plan: unknown): { node: PlanNode; limited: boolean }[] {
  const found: { node: PlanNode; limited: boolean }[] = [];
  const stack: { node: unknown; limited: boolean }[] = [{ node: plan, limited: false }];
  while (stack.length && found.length < MAX_PLAN_NODES) {
    const { node, limited } = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    const planNode = node as PlanNode;
    found.push({ node: planNode, limited });
    const below = limited || planNode["Node Type"] === "Limit";
    for (const child of planNode.Plans ?? []) stack.push({ node: child, limited: below });
  }
  return found;
}

function textList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];
}

interface Context {
  byAlias: Map<string, RelationUses>;
  /** The relation of the scan node the text belongs to (unqualified columns are its). */
  own?: RelationUses;
}

interface ColumnOf {
  uses: RelationUses;
  name: string;
}

async function parseClause(sql: string): Promise<Node | undefined> {
  const { parse } = await loadPgParser();
  try {
    const result = await parse(sql);
    return result.stmts?.[0]?.stmt;
  } catch {
    // A condition the plan prints in a form no query can hold (a SubPlan reference ...).
    return undefined;
  }
}

async function readCondition(text: string, context: Context): Promise<void> {
  const select = nodeOf(await parseClause(`select where ${text}`), "SelectStmt");
  if (select?.whereClause) readConjunct(select.whereClause, context);
}

/** Reads one AND-ed part of a condition; an OR is not one index's business and is skipped. */
function readConjunct(node: Node, context: Context): void {
  const typed = typedNode(node);
  if (!typed) return;
  if (typed.type === "BoolExpr") {
    const args = typed.node.args ?? [];
    if (typed.node.boolop === "AND_EXPR") { for (const arg of args) readConjunct(arg, context); }
    if (typed.node.boolop === "NOT_EXPR" && args.length === 1) {
      const column = columnRef(args[0], context);
      if (column) column.uses.constants.push({ column: column.name, test: "", negated: true });
    }
    return;
  }
  if (typed.type === "NullTest") {
    const column = columnRef(typed.node.arg, context);
    if (!column) return;
    column.uses.nullTests.add(column.name);
    const test = typed.node.nulltesttype === "IS_NOT_NULL" ? "IS NOT NULL" : "IS NULL";
    column.uses.constants.push({ column: column.name, test, negated: false });
    return;
  }
  if (typed.type === "ColumnRef") {
    const column = columnRef(node, context);
    if (column) column.uses.constants.push({ column: column.name, test: "", negated: false });
    return;
  }
  if (typed.type !== "A_Expr") return;
  const operator = stringOf(typed.node.name?.at(-1));
  const kind = typed.node.kind;
  if (!operator || (kind !== "AEXPR_OP" && kind !== "AEXPR_OP_ANY")) return;
  const left = columnRef(typed.node.lexpr, context);
  const right = columnRef(typed.node.rexpr, context);
  if (left && right) {
    if (left.uses !== right.uses && operator === "=" && kind === "AEXPR_OP") {
      left.uses.joins.add(left.name);
      right.uses.joins.add(right.name);
    }
    return;
  }
  const column = left ?? right;
  const value = left ? typed.node.rexpr : typed.node.lexpr;
  if (!column || mentionsColumnOf(value, column.uses, context)) return;
  if (operator === "=") {
    column.uses.equal.add(column.name);
    const literal = kind === "AEXPR_OP" ? literalText(value) : undefined;
    if (literal !== undefined) {
      column.uses.constants.push({ column: column.name, test: `= ${literal}`, negated: false });
    }
  } else if (RANGE_OPERATORS.has(operator) && kind === "AEXPR_OP") {
    column.uses.range.add(column.name);
  }
}

/** The column `node` is (through casts), resolved to the relation its alias names. */
function columnRef(node: Node | undefined, context: Context): ColumnOf | undefined {
  let typed = typedNode(node);
  while (typed?.type === "TypeCast") typed = typedNode(typed.node.arg);
  if (typed?.type !== "ColumnRef") return undefined;
  const fields = (typed.node.fields ?? []).map(stringOf);
  if (fields.some((field) => field === undefined)) return undefined; // `t.*`
  if (fields.length === 1 && context.own) return { uses: context.own, name: fields[0]! };
  if (fields.length !== 2) return undefined;
  const uses = context.byAlias.get(fields[0]!);
  return uses ? { uses, name: fields[1]! } : undefined;
}

function mentionsColumnOf(node: Node | undefined, uses: RelationUses, context: Context): boolean {
  const stack: unknown[] = [node];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item !== "object" || item === null) continue;
    if ("ColumnRef" in item && columnRef(item as Node, context)?.uses === uses) return true;
    stack.push(...Object.values(item));
  }
  return false;
}

/**
 * A constant as a partial index's predicate may write it: a number, a
 * boolean, or a string of printable ASCII without backslashes (quoted), with
 * its cast left off so that it takes the column's type. Anything else is not
 * offered as a predicate.
 */
function literalText(node: Node | undefined): string | undefined {
  let typed = typedNode(node);
  while (typed?.type === "TypeCast") typed = typedNode(typed.node.arg);
  if (typed?.type !== "A_Const" || typed.node.isnull) return undefined;
  const constant = typed.node;
  if (constant.ival) return String(constant.ival.ival ?? 0);
  if (constant.fval?.fval && /^-?[0-9.]+(e[+-]?[0-9]+)?$/i.test(constant.fval.fval)) {
    return constant.fval.fval;
  }
  if (constant.boolval) return constant.boolval.boolval ? "true" : "false";
  const text = constant.sval?.sval;
  if (text === undefined || !/^[\x20-\x7e]*$/.test(text) || text.includes("\\")) return undefined;
  return `'${text.replaceAll("'", "''")}'`;
}

async function columnsOf(sql: string, context: Context): Promise<ColumnOf[]> {
  const found: ColumnOf[] = [];
  const stack: unknown[] = [await parseClause(sql)];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item !== "object" || item === null) continue;
    if ("ColumnRef" in item) {
      const column = columnRef(item as Node, context);
      if (column) found.push(column);
      continue;
    }
    stack.push(...Object.values(item));
  }
  return found;
}

async function readSort(keys: string[], limited: boolean, context: Context): Promise<void> {
  const select = nodeOf(await parseClause(`select order by ${keys.join(", ")}`), "SelectStmt");
  const columns: { name: string; descending: boolean }[] = [];
  let uses: RelationUses | undefined;
  for (const item of select?.sortClause ?? []) {
    const sortBy = nodeOf(item, "SortBy");
    const column = columnRef(sortBy?.node, context);
    if (!column || (uses && column.uses !== uses)) return;
    uses = column.uses;
    columns.push({ name: column.name, descending: sortBy?.sortby_dir === "SORTBY_DESC" });
  }
  if (uses && columns.length) uses.sorts.push({ columns, limited });
}

async function readGroup(keys: string[], context: Context): Promise<void> {
  const select = nodeOf(await parseClause(`select group by ${keys.join(", ")}`), "SelectStmt");
  const names: string[] = [];
  let uses: RelationUses | undefined;
  for (const item of select?.groupClause ?? []) {
    const column = columnRef(item, context);
    if (!column || (uses && column.uses !== uses)) return;
    uses = column.uses;
    names.push(column.name);
  }
  if (uses && names.length) uses.groups.push(names);
}
