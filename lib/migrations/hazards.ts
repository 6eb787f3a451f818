/**
 * What a migration will do to a database in use, read from PostgreSQL's own
 * parse tree of each statement: the lock it takes on each table, whether it
 * rewrites or scans the table while holding it, whether running code may
 * still use what it renames or drops, and the safe form with its steps. Each
 * hazard has a stable rule name, explained in
 * references/migration_hazards.md. Tables made earlier in the same file are
 * new: nothing uses them yet, so what is done to them is no hazard.
 *
 * @module
 */
import { type Node, nodeOf, stringOf, type TypedNode, typedNode } from "../sql/parse_tree.ts";
import type { Statement } from "../sql/statements.ts";
import type { A_Const, AlterTableCmd, Constraint, RangeVar, TypeName } from "@pgsql/types";

/** A table lock mode, as pg_locks and the documentation name it. */
export type LockMode =
  | "ACCESS EXCLUSIVE"
  | "EXCLUSIVE"
  | "SHARE ROW EXCLUSIVE"
  | "SHARE"
  | "SHARE UPDATE EXCLUSIVE"
  | "ROW EXCLUSIVE";

/** How strong each mode is: a stronger one conflicts with more. */
export const LOCK_STRENGTH: Record<LockMode, number> = {
  "ROW EXCLUSIVE": 1,
  "SHARE UPDATE EXCLUSIVE": 2,
  "SHARE": 3,
  "SHARE ROW EXCLUSIVE": 4,
  "EXCLUSIVE": 5,
  "ACCESS EXCLUSIVE": 6,
};

/** What a lock mode stops others from doing while it is held. */
export const LOCK_BLOCKS: Record<LockMode, string> = {
  "ACCESS EXCLUSIVE": "blocks every read and write of it",
  "EXCLUSIVE": "blocks its writes (reads go on)",
  "SHARE ROW EXCLUSIVE": "blocks its writes (reads go on)",
  "SHARE": "blocks its writes (reads go on)",
  "SHARE UPDATE EXCLUSIVE": "blocks other schema changes and VACUUM of it, not reads or writes",
  "ROW EXCLUSIVE": "blocks only locks that block writes",
};

/**
 * What waits behind a lock request of each mode while it is queued (each request waits behind
 * the queued ones it conflicts with).
 */
const QUEUED_BEHIND: Record<LockMode, string> = {
  "ACCESS EXCLUSIVE": "every query on it that comes after it, reads too",
  "EXCLUSIVE": "every write on it that comes after it, and SELECT ... FOR UPDATE",
  "SHARE ROW EXCLUSIVE": "every write on it that comes after it",
  "SHARE": "every write on it that comes after it",
  "SHARE UPDATE EXCLUSIVE": "the VACUUM, ANALYZE, index builds and schema changes of it that " +
    "come after it (reads and writes go on)",
  "ROW EXCLUSIVE": "only the locks that would block its writes",
};

/** The lock a statement takes on one table. */
export interface TableLock {
  /** The table as written (schema-qualified when it was). */
  table: string;
  /** Its schema as written (null: none written) and its name, unsplit. */
  schema: string | null;
  /** The table's name as written, without its schema. */
  name: string;
  /** The mode of the lock the statement takes on it. */
  lock: LockMode;
  /** True when it names the table ONLY: a partitioned table's partitions are not locked. */
  only: boolean;
}

/** One hazard of one statement. */
export interface Hazard {
  /** The stable rule name (references/migration_hazards.md explains each). */
  rule: string;
  /** The statement's 1-based position in its file, and the line it starts on. */
  statement: number;
  /** The 1-based line of its file that the statement starts on. */
  line: number;
  /** The table concerned, as written, if any. */
  table: string | null;
  /** The lock the statement takes on that table, if any. */
  lock: LockMode | null;
  /** What it does to the database in use. */
  effect: string;
  /** The safe form, with its steps. */
  safe: string;
}

/** What the hazard check may know beyond the statements themselves. */
export interface HazardContext {
  /**
   * The server's major version, when known: SET NOT NULL can use a validated
   * check from 12, REINDEX CONCURRENTLY exists from 12.
   */
  serverMajor?: number;
  /**
   * The type a column has now (`format_type` text, e.g. `character varying(20)`),
   * when a database can be asked; without it a type change is judged by the
   * statements alone.
   */
  columnType?: (table: string, column: string) => string | undefined;
  /**
   * The statements that run before these (the earlier pending files), read
   * for what they make: tables that are then new, NOT NULL checks added and
   * validated. They raise no hazard here.
   */
  before?: Statement[];
}

/** A statement's parse tree; parseStatements must have kept it (`{ tree: true }`). */
function treeOf(statement: Statement): TypedNode {
  if (!statement.tree) throw new Error("parseStatements(text, { tree: true }) keeps the tree");
  return statement.tree;
}

function strings(list: Node[] | undefined): string[] {
  return (list ?? []).map((item) => stringOf(item) ?? "");
}

/** A RangeVar as written: `schema.name` or `name`. */
function relationName(range: RangeVar | undefined): string {
  const { schema, name } = relationParts(range);
  return schema ? `${schema}.${name}` : name;
}

/** A RangeVar's schema (null: none written) and name, as written. */
function relationParts(range: RangeVar | undefined): { schema: string | null; name: string } {
  const r = range ?? {};
  return { schema: r.schemaname ? r.schemaname : null, name: r.relname ?? "" };
}

/**
 * Tables are compared by schema and name, an unqualified name taken as
 * public's (where it lands on the default search_path): archive.orders is
 * not orders.
 */
function sameTable(a: string, b: string): boolean {
  const [sa, na] = a.includes(".") ? a.split(".") : ["public", a];
  const [sb, nb] = b.includes(".") ? b.split(".") : ["public", b];
  return na === nb && sa === sb;
}

function option(options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => nodeOf(o, "DefElem")?.defname === name);
}

/** The stronger of two modes. */
function stronger(a: LockMode | undefined, b: LockMode): LockMode {
  return a !== undefined && LOCK_STRENGTH[a] >= LOCK_STRENGTH[b] ? a : b;
}

/** LOCK TABLE's modes by the parse tree's number (1 and 2, ACCESS/ROW SHARE, block no writes). */
const LOCK_STMT_MODES: Record<number, LockMode> = {
  3: "ROW EXCLUSIVE",
  4: "SHARE UPDATE EXCLUSIVE",
  5: "SHARE",
  6: "SHARE ROW EXCLUSIVE",
  7: "EXCLUSIVE",
  8: "ACCESS EXCLUSIVE",
};

/**
 * The lock each ALTER TABLE subcommand takes (the statement takes the
 * strongest).
 */
function alterTableLock(cmd: AlterTableCmd): LockMode {
  switch (cmd.subtype) {
    case "AT_SetStatistics":
    case "AT_SetOptions":
    case "AT_ResetOptions":
    case "AT_SetRelOptions":
    case "AT_ResetRelOptions":
    case "AT_ClusterOn":
    case "AT_DropCluster":
    case "AT_ValidateConstraint":
    case "AT_AttachPartition":
      return "SHARE UPDATE EXCLUSIVE";
    case "AT_DetachPartition":
      return nodeOf(cmd.def, "PartitionCmd")?.concurrent === true
        ? "SHARE UPDATE EXCLUSIVE"
        : "ACCESS EXCLUSIVE";
    case "AT_EnableTrig":
    case "AT_EnableAlwaysTrig":
    case "AT_EnableReplicaTrig":
    case "AT_DisableTrig":
    case "AT_EnableTrigAll":
    case "AT_DisableTrigAll":
    case "AT_EnableTrigUser":
    case "AT_DisableTrigUser":
      return "SHARE ROW EXCLUSIVE";
    case "AT_AddConstraint":
      return nodeOf(cmd.def, "Constraint")?.contype === "CONSTR_FOREIGN"
        ? "SHARE ROW EXCLUSIVE"
        : "ACCESS EXCLUSIVE";
    default:
      return "ACCESS EXCLUSIVE";
  }
}

/**
 * The tables a statement locks, and how: the strongest mode per table. The
 * tables a foreign key references are locked too (SHARE ROW EXCLUSIVE).
 */
export function locksOf(statement: Statement): TableLock[] {
  const { type, node } = treeOf(statement);
  const locks = new Map<string, TableLock>();
  const take = (
    written: { schema: string | null; name: string },
    lock: LockMode,
    only = false,
  ) => {
    if (!written.name) return;
    const table = written.schema ? `${written.schema}.${written.name}` : written.name;
    const before = locks.get(table);
    locks.set(table, {
      table,
      ...written,
      lock: stronger(before?.lock, lock),
      only: (before?.only ?? true) && only,
    });
  };
  const referenced = (constraint: Constraint | undefined) => {
    if (constraint?.contype === "CONSTR_FOREIGN") {
      take(relationParts(constraint.pktable), "SHARE ROW EXCLUSIVE");
    }
  };
  /** The constraints of a column or table definition (`tableElts`, ADD ...). */
  const referencedBy = (element: Node | undefined) => {
    referenced(nodeOf(element, "Constraint"));
    for (const c of nodeOf(element, "ColumnDef")?.constraints ?? []) {
      referenced(nodeOf(c, "Constraint"));
    }
  };
  switch (type) {
    case "AlterTableStmt": {
      if (node.objtype !== "OBJECT_TABLE" && node.objtype !== "OBJECT_MATVIEW") break;
      const table = relationParts(node.relation);
      for (const item of node.cmds ?? []) {
        const cmd: AlterTableCmd = nodeOf(item, "AlterTableCmd") ?? {};
        // ONLY leaves inh out of the tree (a false boolean is absent), which names it true else.
        take(table, alterTableLock(cmd), node.relation?.inh !== true);
        referencedBy(cmd.def);
        if (cmd.subtype === "AT_AttachPartition" || cmd.subtype === "AT_DetachPartition") {
          // the partition itself
          take(relationParts(nodeOf(cmd.def, "PartitionCmd")?.name), "ACCESS EXCLUSIVE");
        }
      }
      break;
    }
    case "IndexStmt":
      take(
        relationParts(node.relation),
        node.concurrent === true ? "SHARE UPDATE EXCLUSIVE" : "SHARE",
        node.relation?.inh !== true,
      );
      break;
    case "CreateStmt":
      for (const parent of node.inhRelations ?? []) {
        // A partition takes its parent's ACCESS EXCLUSIVE; a child of INHERITS, SHARE UPDATE.
        take(
          relationParts(nodeOf(parent, "RangeVar")),
          node.partbound ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE",
        );
      }
      for (const element of node.tableElts ?? []) referencedBy(element);
      break;
    case "RenameStmt":
      if (node.relation) take(relationParts(node.relation), "ACCESS EXCLUSIVE");
      break;
    case "DropStmt":
      if (node.removeType === "OBJECT_TABLE" || node.removeType === "OBJECT_MATVIEW") {
        for (const object of node.objects ?? []) {
          const parts = strings(nodeOf(object, "List")?.items);
          take({ schema: parts.at(-2) ?? null, name: parts.at(-1) ?? "" }, "ACCESS EXCLUSIVE");
        }
      }
      break;
    case "TruncateStmt":
      for (const r of node.relations ?? []) {
        take(relationParts(nodeOf(r, "RangeVar")), "ACCESS EXCLUSIVE");
      }
      break;
    case "VacuumStmt": {
      const full = option(node.options, "full");
      if (node.is_vacuumcmd !== true && !full) break; // ANALYZE: SHARE UPDATE EXCLUSIVE, brief
      for (const r of node.rels ?? []) {
        const relation = nodeOf(r, "VacuumRelation")?.relation;
        take(relationParts(relation), full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE");
      }
      break;
    }
    case "ClusterStmt":
      if (node.relation) take(relationParts(node.relation), "ACCESS EXCLUSIVE");
      break;
    case "ReindexStmt":
      if (node.kind === "REINDEX_OBJECT_TABLE" && node.relation) {
        take(
          relationParts(node.relation),
          option(node.params, "concurrently") ? "SHARE UPDATE EXCLUSIVE" : "SHARE",
        );
      }
      break;
    case "CreateTrigStmt":
      take(relationParts(node.relation), "SHARE ROW EXCLUSIVE");
      break;
    case "CreatePolicyStmt":
    case "AlterPolicyStmt":
      take(relationParts(node.table), "ACCESS EXCLUSIVE");
      break;
    case "LockStmt": {
      const mode = LOCK_STMT_MODES[Number(node.mode ?? 8)];
      if (!mode) break;
      for (const r of node.relations ?? []) {
        take(relationParts(nodeOf(r, "RangeVar")), mode);
      }
      break;
    }
    case "RefreshMatViewStmt":
      take(
        relationParts(node.relation),
        node.concurrent === true ? "EXCLUSIVE" : "ACCESS EXCLUSIVE",
      );
      break;
  }
  return [...locks.values()];
}

/** Functions whose value changes from row to row: a default calling one fills every row. */
const VOLATILE_FUNCTIONS = new Set([
  "random",
  "clock_timestamp",
  "timeofday",
  "gen_random_uuid",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "uuidv4",
  "uuidv7",
  "nextval",
  "txid_current",
  "pg_current_xact_id",
  "random_normal",
]);

/** Functions that return one value per statement: as a default, stored once, no rewrite. */
const STABLE_FUNCTIONS = new Set([
  "now",
  "timezone",
  "lower",
  "upper",
  "date_trunc",
  "to_char",
  "to_timestamp",
  "to_date",
  "make_interval",
  "jsonb_build_object",
  "json_build_object",
  "jsonb_build_array",
  "array_fill",
  "transaction_timestamp",
  "statement_timestamp",
  "current_setting",
  "current_database",
  "current_schema",
  "current_user",
  "session_user",
]);

/**
 * Why a default makes ADD COLUMN rewrite the table, or undefined when it is
 * computed once (a constant, CURRENT_TIMESTAMP, now(), a cast of those).
 */
function volatileDefault(expression: Node | undefined): string | undefined {
  const tree = typedNode(expression);
  if (!tree) return undefined;
  const { type, node } = tree;
  switch (type) {
    case "A_Const":
    case "SQLValueFunction":
      return undefined;
    case "TypeCast":
      return volatileDefault(node.arg);
    case "FuncCall": {
      const name = strings(node.funcname).at(-1)!.toLowerCase();
      if (VOLATILE_FUNCTIONS.has(name)) return `${name}() is volatile`;
      if (!STABLE_FUNCTIONS.has(name)) return `${name}() may be volatile`;
      for (const arg of node.args ?? []) {
        const why = volatileDefault(arg);
        if (why) return why;
      }
      return undefined;
    }
    case "A_Expr":
      return volatileDefault(node.lexpr) ?? volatileDefault(node.rexpr);
    case "A_ArrayExpr":
    case "CoalesceExpr":
    case "MinMaxExpr": {
      const items = type === "A_ArrayExpr" ? node.elements : node.args;
      for (const item of items ?? []) {
        const why = volatileDefault(item);
        if (why) return why;
      }
      return undefined;
    }
    default:
      return `an expression (${type}) the check cannot judge`;
  }
}

/** A type name as written, with its modifiers: `varchar(20)`, `numeric(10,2)`, `text`. */
function typeText(typeName: TypeName | undefined): { name: string; mods: number[] } {
  const t = typeName ?? {};
  const name = strings(t.names).filter((n) => n !== "pg_catalog").join(".").toLowerCase();
  const mods = (t.typmods ?? []).map((m) => Number(nodeOf(m, "A_Const")?.ival?.ival ?? NaN));
  return { name, mods };
}

const VARCHAR = new Set(["varchar", "character varying"]);
const NUMERIC = new Set(["numeric", "decimal"]);

/** A `format_type` text such as `character varying(20)` or `numeric(10,2)`, read as typeText is. */
function parseFormatType(text: string): { name: string; mods: number[] } {
  const m = text.trim().toLowerCase().match(/^(.*?)\s*(?:\(([\d,\s]+)\))?$/)!;
  const name = m[1] === "character varying" ? "varchar" : m[1];
  return { name, mods: m[2] ? m[2].split(",").map(Number) : [] };
}

/**
 * True when changing a column from `from` to `to` keeps every stored value as
 * it is (no rewrite, no scan): a varchar made longer or unbounded, varchar to
 * text, a numeric given more digits before the point with the same scale or
 * made unbounded.
 */
function typeChangeKeepsRows(
  from: { name: string; mods: number[] },
  to: { name: string; mods: number[] },
): boolean {
  const name = (t: { name: string }) => VARCHAR.has(t.name) ? "varchar" : t.name;
  if (name(from) === "varchar" && (to.name === "text" || name(to) === "varchar")) {
    if (to.name === "text" || to.mods.length === 0) return true;
    return from.mods.length === 1 && to.mods[0] >= from.mods[0];
  }
  if (from.name === "text" && name(to) === "varchar" && to.mods.length === 0) return true;
  if (NUMERIC.has(from.name) && NUMERIC.has(to.name)) {
    if (to.mods.length === 0) return true;
    const [fromPrecision, fromScale = 0] = from.mods;
    const [toPrecision, toScale = 0] = to.mods;
    return from.mods.length > 0 && toScale === fromScale && toPrecision >= fromPrecision;
  }
  return false;
}

/** What a rule speaks of: the table, the column, the tables held before, a caveat. */
export interface RuleSubject {
  /** The table, as written; empty when the statement does not name it (DROP INDEX). */
  table: string;
  /** The column, as written, for a rule about one column. */
  column?: string;
  /** The tables whose locks the transaction already holds (locks-held-together). */
  held?: string[];
  /** Said after the effect, e.g. why the check could not tell. */
  caveat?: string;
  /** The lock the statement takes, for lock-timeout-missing. */
  lock?: LockMode;
}

/** What a rule says: its effect and safe form for one table (and column). */
export interface RuleText {
  /** What the statement does to the database in use. */
  effect: string;
  /** The safe form, with its steps. */
  safe: string;
}

/** The rules, by name, with what each says. */
export const RULES: Record<string, (what: RuleSubject) => RuleText> = {
  "index-not-concurrent": ({ table }) => ({
    effect: `builds the index holding SHARE on ${table}: no writes to it until the build ends`,
    safe: `CREATE INDEX CONCURRENTLY (a step of its own, outside a transaction); on a ` +
      `partitioned table: CREATE INDEX ON ONLY the parent, CREATE INDEX CONCURRENTLY on each ` +
      `partition, then ALTER INDEX ... ATTACH PARTITION each`,
  }),
  "drop-index-not-concurrent": ({ table }) => ({
    effect: `takes ACCESS EXCLUSIVE on the index's table${table ? ` (${table})` : ""}, ` +
      `queued behind every running query of it and blocking all that come after`,
    safe: "DROP INDEX CONCURRENTLY (a step of its own, outside a transaction)",
  }),
  "foreign-key-without-not-valid": ({ table }) => ({
    effect: `checks every row of ${table} against the referenced table while holding SHARE ROW ` +
      `EXCLUSIVE on both: no writes to either until it is done`,
    safe: `ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (instant), then in another ` +
      `transaction ALTER TABLE ${table} VALIDATE CONSTRAINT ... (SHARE UPDATE EXCLUSIVE: ` +
      `reads and writes go on)`,
  }),
  "check-without-not-valid": ({ table }) => ({
    effect: `scans all of ${table} to check its rows while holding ACCESS EXCLUSIVE: no reads ` +
      `or writes until it is done`,
    safe: `ADD CONSTRAINT ... CHECK (...) NOT VALID (instant), then in another transaction ` +
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ... (SHARE UPDATE EXCLUSIVE)`,
  }),
  "set-not-null-scans": ({ table, column }) => ({
    effect: `scans all of ${table} for nulls in ${column} while holding ACCESS EXCLUSIVE`,
    safe: `ADD CONSTRAINT ${column}_not_null CHECK (${column} IS NOT NULL) NOT VALID; ` +
      `VALIDATE CONSTRAINT ${column}_not_null (another transaction); then SET NOT NULL uses ` +
      `the validated check and scans nothing (PostgreSQL 12+); DROP CONSTRAINT ` +
      `${column}_not_null`,
  }),
  "column-type-rewrite": ({ table, column }) => ({
    effect: `rewrites all of ${table} (and rebuilds its indexes) to change ${column}'s type, ` +
      `holding ACCESS EXCLUSIVE: no reads or writes until it is done`,
    safe: `add a new column of the new type, fill it in batches (and keep it filled with a ` +
      `trigger), switch the code to it, then drop the old one (a varchar made longer, or ` +
      `varchar to text, changes nothing stored: not flagged where the column's type is known, ` +
      `as on migration_apply.ts's database)`,
  }),
  "add-column-volatile-default": ({ table, column }) => ({
    effect: `rewrites all of ${table} to fill ${column} row by row, holding ACCESS EXCLUSIVE`,
    safe: `ADD COLUMN without the default (or with a constant one: instant from PostgreSQL ` +
      `11), then SET DEFAULT for new rows and fill the old ones in batches`,
  }),
  "constraint-builds-index": ({ table }) => ({
    effect: `builds the constraint's index on ${table} while holding ACCESS EXCLUSIVE: reads ` +
      `and writes wait for the whole build`,
    safe: `CREATE UNIQUE INDEX CONCURRENTLY ... (a step of its own), then ALTER TABLE ${table} ` +
      `ADD CONSTRAINT ... PRIMARY KEY USING INDEX ... (or UNIQUE USING INDEX): instant`,
  }),
  "rename-column": ({ table, column }) => ({
    effect: `running code that names ${table}.${column} fails from the moment it commits`,
    safe: `add the new column, write both, switch the code, drop the old one in a later ` +
      `release (or keep the old name as a view's column while code moves)`,
  }),
  "rename-table": ({ table }) => ({
    effect: `running code that names ${table} fails from the moment it commits`,
    safe: `rename, then create a view with the old name for the code still using it, and drop ` +
      `the view in a later release`,
  }),
  "drop-column": ({ table, column }) => ({
    effect: `running code that reads ${table}.${column} fails, and its data is gone`,
    safe: `stop using the column in the code and release that first; drop it in a later ` +
      `release`,
  }),
  "drop-table": ({ table }) => ({
    effect: `running code that uses ${table} fails, and its data is gone`,
    safe: `stop using the table in the code and release that first (rename it aside to be ` +
      `sure); drop it in a later release`,
  }),
  "vacuum-full": ({ table }) => ({
    effect: `rewrites ${table || "every table"} holding ACCESS EXCLUSIVE: no reads or writes ` +
      `until it is done`,
    safe: `plain VACUUM (reads and writes go on), or pg_repack / pg_squeeze to give the space ` +
      `back without the long lock`,
  }),
  "cluster": ({ table }) => ({
    effect: `rewrites ${table || "every clustered table"} in index order holding ACCESS ` +
      `EXCLUSIVE: no reads or writes until it is done`,
    safe: `pg_repack --order-by, which rewrites without the long lock`,
  }),
  "reindex-not-concurrent": ({ table }) => ({
    effect: `rebuilds ${table ? `the indexes of ${table}` : "the index"} blocking writes to the ` +
      `table (and reads that use the index) until it is done`,
    safe: "REINDEX ... CONCURRENTLY (PostgreSQL 12+; a step of its own, outside a transaction)",
  }),
  "enum-add-value": () => ({
    effect: `the new value cannot be used in the transaction that adds it, and before ` +
      `PostgreSQL 12 ADD VALUE cannot run inside a transaction at all`,
    safe: `add the value in one migration_apply.ts run and use it from the next (the pending ` +
      `files share one transaction)`,
  }),
  "enum-rename-value": () => ({
    effect: `running code and stored queries that name the old value stop matching it`,
    safe: `add the new value, move the rows and the code to it, and leave the old one unused`,
  }),
  "set-logged-rewrite": ({ table }) => ({
    effect: `rewrites all of ${table} (into or out of the write-ahead log) holding ACCESS ` +
      `EXCLUSIVE: no reads or writes until it is done`,
    safe: `make the table with the persistence it needs from the start; on a live table, copy ` +
      `into a new table in batches and switch`,
  }),
  "refresh-not-concurrent": ({ table }) => ({
    effect: `recomputes ${table} holding ACCESS EXCLUSIVE on it: its readers wait for the whole ` +
      `refresh`,
    safe: `REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view; ` +
      `readers go on, EXCLUSIVE blocks only other writers)`,
  }),
  "truncate": ({ table }) => ({
    effect: `empties ${table} holding ACCESS EXCLUSIVE: its rows are gone for every session, ` +
      `and running queries of it block the TRUNCATE, which then blocks all after it`,
    safe: `delete what must go in batches, or stop the code using the table first`,
  }),
  "lock-table": ({ table }) => ({
    effect: `locks ${table} explicitly until the transaction ends (the pending files share it ` +
      `up to a step that runs alone)`,
    safe: `leave the locking to the statements that need it, each as short as it can be; if a ` +
      `lock is needed, take it last, just before the change it protects`,
  }),
  "domain-check-scans": () => ({
    effect: `checks every stored value of every column of the domain, holding SHARE on each ` +
      `table that uses it: their writes wait until it is done`,
    safe: `ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID, then ALTER DOMAIN ... VALIDATE ` +
      `CONSTRAINT in a later run`,
  }),
  "attach-partition-scans": ({ table }) => ({
    effect: `scans the table being attached to ${table} to prove its rows fit the bound, ` +
      `holding ACCESS EXCLUSIVE on it (and scans a default partition too), unless a validated ` +
      `CHECK already proves it`,
    safe: `add a CHECK matching the bound NOT VALID, VALIDATE it in a later run, then ATTACH ` +
      `(it uses the check and scans nothing); drop the check afterwards`,
  }),
  "detach-partition-not-concurrent": ({ table }) => ({
    effect: `takes ACCESS EXCLUSIVE on ${table} itself: every query of the partitioned table ` +
      `waits`,
    safe: `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+; a step of its ` +
      `own, outside a transaction)`,
  }),
  "validate-under-lock": ({ table }) => ({
    effect: `validates by scanning all of ${table} while the same transaction still holds the ` +
      `ACCESS EXCLUSIVE it took on ${table} earlier: no reads or writes until it is done`,
    safe: `VALIDATE CONSTRAINT in another transaction than the ADD: migration_apply.ts runs ` +
      `the pending files in one transaction up to a step that must run alone, so apply (and ` +
      `release) the file that adds the constraint NOT VALID first, then add the VALIDATE`,
  }),
  "lock-timeout-missing": ({ table, lock }) => ({
    effect: `the file sets no lock_timeout: queued behind a long transaction on ${table}, its ` +
      `${lock ?? "lock"} request stalls ${QUEUED_BEHIND[lock ?? "ACCESS EXCLUSIVE"]} ` +
      `(migration_apply.ts sets lock_timeout itself; psql and other tools do not)`,
    safe: `SET lock_timeout = '2s'; at the top of the file, and retry when it times out` +
      (lock === "SHARE UPDATE EXCLUSIVE"
        ? ` (a CREATE INDEX CONCURRENTLY that timed out leaves an INVALID index: DROP INDEX ` +
          `CONCURRENTLY it first)`
        : ""),
  }),
  "locks-held-together": ({ table, held = [] }) => ({
    effect: `takes a write-blocking lock on ${table} while the same transaction (the pending ` +
      `files share one) still holds ` +
      `the ones it took earlier on ${held.join(", ")}: all stay held until COMMIT`,
    safe: `one table's change per migration_apply.ts run (the pending files share one ` +
      `transaction up to a step that runs alone), or the long step first and the strong locks ` +
      `last`,
  }),
};

/**
 * Whom a queued request of `lock` stalls: 0 hardly anyone (ROW EXCLUSIVE), 1 maintenance and
 * schema changes (SHARE UPDATE EXCLUSIVE), 2 writes, 3 reads too (ACCESS EXCLUSIVE).
 */
function stallClass(lock: LockMode): number {
  if (lock === "ACCESS EXCLUSIVE") return 3;
  if (LOCK_STRENGTH[lock] >= LOCK_STRENGTH["SHARE"]) return 2;
  return lock === "SHARE UPDATE EXCLUSIVE" ? 1 : 0;
}

/**
 * The hazards of `statements` (one file, in order). A table made earlier in
 * the same statements is new: what is done to it is no hazard. A file that
 * sets lock_timeout is taken to have it in force for what follows.
 */
export function migrationHazards(
  statements: Statement[],
  context: HazardContext = {},
): Hazard[] {
  const before = context.before ?? [];
  if (before.length) {
    // What the earlier files make counts here; their own hazards are theirs.
    const all = inspectAll([...before, ...statements], context);
    return all.filter((h) => h.order >= before.length).map(({ order: _, ...h }) => h);
  }
  return inspectAll(statements, context).map(({ order: _, ...h }) => h);
}

function inspectAll(
  statements: Statement[],
  context: HazardContext,
): (Hazard & { order: number })[] {
  const hazards: (Hazard & { order: number })[] = [];
  let order = -1;
  const created: string[] = [];
  const isNew = (table: string) => created.some((c) => sameTable(c, table));
  const validatedNotNullChecks = new Map<string, Set<string>>(); // table -> columns
  const pendingNotNullChecks = new Map<string, { table: string; column: string }>(); // name ->
  let lockTimeout = false;
  let lockTimeoutReported = 0; // the stallClass said so far in this file
  const strongHeld: string[] = []; // tables holding a write-blocking lock in this transaction
  for (const statement of statements) {
    order++;
    // migration_apply runs the files one after another in one transaction until a statement
    // that must run alone: only there do the locks taken so far end.
    if (isAloneStep(statement)) strongHeld.length = 0;
    if (statement.index === 1 && order > 0) {
      // Judged per file, as another tool would run it on its own.
      lockTimeout = false;
      lockTimeoutReported = 0;
    }
    const tree = treeOf(statement);
    const { type, node } = tree;
    const add = (rule: string, what: RuleSubject, lock: LockMode | null) => {
      const text = RULES[rule](what);
      if (what.caveat) text.effect += ` (${what.caveat})`;
      hazards.push({
        order,
        rule,
        statement: statement.index,
        line: statement.line,
        table: what.table || null,
        lock,
        ...text,
      });
    };
    const locks = locksOf(statement).filter((l) => !isNew(l.table));
    const lockOn = (table: string) => locks.find((l) => sameTable(l.table, table))?.lock ?? null;

    if (setsLockTimeoutByFunction(tree)) lockTimeout = true;
    if (type === "VariableSetStmt" && String(node.name ?? "").toLowerCase() === "lock_timeout") {
      const value: A_Const = nodeOf(node.args?.[0], "A_Const") ?? {};
      // The tree leaves a zero out: {"ival": {}} is 0.
      const text = value.sval !== undefined
        ? String(value.sval.sval ?? "")
        : String(value.ival?.ival ?? 0);
      lockTimeout = node.kind === "VAR_SET_VALUE" && !/^0+(ms|s|min)?$/.test(text.trim());
    }
    if (type === "TransactionStmt" && /COMMIT|ROLLBACK/.test(String(node.kind ?? ""))) {
      strongHeld.length = 0;
    }

    switch (type) {
      case "IndexStmt": {
        const table = relationName(node.relation);
        // ON ONLY a partitioned table builds nothing (the first step of the safe form).
        const only = node.relation?.inh !== true; // the tree leaves false out
        if (!isNew(table) && node.concurrent !== true && !only) {
          add("index-not-concurrent", { table }, lockOn(table));
        }
        break;
      }
      case "DropStmt": {
        const kind = node.removeType;
        if (kind === "OBJECT_INDEX" && node.concurrent !== true) {
          add("drop-index-not-concurrent", { table: "" }, null);
        }
        if (kind === "OBJECT_TABLE") {
          for (const object of node.objects ?? []) {
            const table = strings(nodeOf(object, "List")?.items).join(".");
            if (!isNew(table)) add("drop-table", { table }, "ACCESS EXCLUSIVE");
          }
        }
        break;
      }
      case "AlterTableStmt": {
        if (node.objtype !== "OBJECT_TABLE") break;
        const table = relationName(node.relation);
        if (isNew(table)) break;
        for (const item of node.cmds ?? []) {
          const cmd: AlterTableCmd = nodeOf(item, "AlterTableCmd") ?? {};
          const subtype = cmd.subtype;
          const column = cmd.name ?? "";
          const def = nodeOf(cmd.def, "Constraint");
          const columnDef = nodeOf(cmd.def, "ColumnDef");
          const partition = nodeOf(cmd.def, "PartitionCmd");
          if (subtype === "AT_AddConstraint" && def) {
            const contype = def.contype;
            if (contype === "CONSTR_FOREIGN" && def.skip_validation !== true) {
              add("foreign-key-without-not-valid", { table }, lockOn(table));
            }
            if (contype === "CONSTR_CHECK" && def.skip_validation !== true) {
              add("check-without-not-valid", { table }, lockOn(table));
            }
            if (contype === "CONSTR_CHECK" && def.skip_validation === true) {
              const notNull = notNullColumn(def.raw_expr);
              if (notNull && def.conname) {
                pendingNotNullChecks.set(def.conname, { table, column: notNull });
              }
            }
            if (
              (contype === "CONSTR_PRIMARY" || contype === "CONSTR_UNIQUE" ||
                contype === "CONSTR_EXCLUSION") && !def.indexname
            ) {
              add("constraint-builds-index", { table }, lockOn(table));
            }
          }
          if (subtype === "AT_SetLogged" || subtype === "AT_SetUnLogged") {
            add("set-logged-rewrite", { table }, lockOn(table));
          }
          if (subtype === "AT_AttachPartition") {
            add("attach-partition-scans", { table }, lockOn(relationName(partition?.name)));
          }
          if (subtype === "AT_DetachPartition" && partition?.concurrent !== true) {
            add("detach-partition-not-concurrent", { table }, lockOn(table));
          }
          if (subtype === "AT_ValidateConstraint" && strongHeld.some((t) => sameTable(t, table))) {
            add("validate-under-lock", { table }, lockOn(table));
          }
          if (subtype === "AT_ValidateConstraint") {
            const check = pendingNotNullChecks.get(column);
            if (check) {
              const set = validatedNotNullChecks.get(check.table) ?? new Set();
              set.add(check.column);
              validatedNotNullChecks.set(check.table, set);
            }
          }
          if (subtype === "AT_SetNotNull") {
            const validated = [...validatedNotNullChecks].some(([t, columns]) =>
              sameTable(t, table) && columns.has(column)
            );
            if (!validated || (context.serverMajor ?? 12) < 12) {
              add("set-not-null-scans", { table, column }, lockOn(table));
            }
          }
          if (subtype === "AT_AlterColumnType" && columnDef) {
            const to = typeText(columnDef.typeName);
            const now = context.columnType?.(table, column);
            // A new collation rebuilds the column's indexes, whatever the type does.
            const keeps = now !== undefined && columnDef.raw_default === undefined &&
              columnDef.collClause === undefined && typeChangeKeepsRows(parseFormatType(now), to);
            if (!keeps) {
              const caveat = now === undefined
                ? "unless it only widens the column (varchar(20) to varchar(50), to text, " +
                  "numeric(10,2) to numeric(12,2)): its type now is not known here"
                : undefined;
              add("column-type-rewrite", { table, column, caveat }, lockOn(table));
            }
          }
          if (subtype === "AT_AddColumn" && columnDef) {
            const name = columnDef.colname ?? "";
            for (const c of columnDef.constraints ?? []) {
              const constraint: Constraint = nodeOf(c, "Constraint") ?? {};
              const contype = constraint.contype;
              if (contype === "CONSTR_DEFAULT" && volatileDefault(constraint.raw_expr)) {
                add("add-column-volatile-default", { table, column: name }, lockOn(table));
              }
              if (contype === "CONSTR_IDENTITY" || contype === "CONSTR_GENERATED") {
                add("add-column-volatile-default", { table, column: name }, lockOn(table));
              }
              if (contype === "CONSTR_PRIMARY" || contype === "CONSTR_UNIQUE") {
                add("constraint-builds-index", { table }, lockOn(table));
              }
              if (contype === "CONSTR_FOREIGN" && constraint.skip_validation !== true) {
                add("foreign-key-without-not-valid", { table }, lockOn(table));
              }
              if (contype === "CONSTR_CHECK") {
                add("check-without-not-valid", { table }, lockOn(table));
              }
            }
            const serial = /^(small|big)?serial[248]?$/.test(typeText(columnDef.typeName).name);
            if (serial) add("add-column-volatile-default", { table, column: name }, lockOn(table));
          }
          if (subtype === "AT_DropColumn") {
            add("drop-column", { table, column }, lockOn(table));
          }
        }
        break;
      }
      case "RenameStmt": {
        const table = relationName(node.relation);
        if (!table || isNew(table)) break;
        if (node.renameType === "OBJECT_COLUMN") {
          add("rename-column", { table, column: String(node.subname ?? "") }, lockOn(table));
        }
        if (node.renameType === "OBJECT_TABLE") {
          add("rename-table", { table }, lockOn(table));
        }
        break;
      }
      case "VacuumStmt": {
        if (!option(node.options, "full")) break;
        const rels = (node.rels ?? []).map((r) =>
          relationName(nodeOf(r, "VacuumRelation")?.relation)
        ).filter((t) => !isNew(t));
        if (rels.length === 0 && node.rels?.length) break;
        for (const table of rels.length ? rels : [""]) {
          add("vacuum-full", { table }, table ? "ACCESS EXCLUSIVE" : null);
        }
        break;
      }
      case "ClusterStmt": {
        const table = node.relation ? relationName(node.relation) : "";
        if (!isNew(table) || !table) add("cluster", { table }, table ? "ACCESS EXCLUSIVE" : null);
        break;
      }
      case "ReindexStmt": {
        if (option(node.params, "concurrently")) break;
        const table = node.kind === "REINDEX_OBJECT_TABLE" ? relationName(node.relation) : "";
        if (!table || !isNew(table)) add("reindex-not-concurrent", { table }, lockOn(table));
        break;
      }
      case "TruncateStmt":
        for (const r of node.relations ?? []) {
          const table = relationName(nodeOf(r, "RangeVar"));
          if (!isNew(table)) add("truncate", { table }, "ACCESS EXCLUSIVE");
        }
        break;
      case "LockStmt":
        for (const l of locks) add("lock-table", { table: l.table }, l.lock);
        break;
      case "RefreshMatViewStmt": {
        const table = relationName(node.relation);
        if (node.concurrent !== true && !isNew(table)) {
          add("refresh-not-concurrent", { table }, "ACCESS EXCLUSIVE");
        }
        break;
      }
      case "AlterDomainStmt": {
        const constraint = nodeOf(node.def, "Constraint");
        if (node.subtype === "C" && constraint?.skip_validation !== true) {
          add("domain-check-scans", { table: "" }, null);
        }
        break;
      }
      case "AlterEnumStmt":
        add(node.oldVal ? "enum-rename-value" : "enum-add-value", { table: "" }, null);
        break;
    }

    // Said once per file, at the first lock whose queued request stalls anyone else's, and
    // again when a later one stalls more (after a concurrent index build, a column added).
    const strongest = locks.reduce<TableLock | undefined>(
      (best, l) => best && LOCK_STRENGTH[best.lock] >= LOCK_STRENGTH[l.lock] ? best : l,
      undefined,
    );
    if (
      !lockTimeout && strongest && stallClass(strongest.lock) > lockTimeoutReported
    ) {
      lockTimeoutReported = stallClass(strongest.lock);
      add(
        "lock-timeout-missing",
        { table: strongest.table, lock: strongest.lock },
        strongest.lock,
      );
    }
    const blocking = locks.filter((l) => LOCK_STRENGTH[l.lock] >= LOCK_STRENGTH["SHARE"]);
    const heldBefore = strongHeld.filter((t) => !blocking.some((l) => sameTable(l.table, t)));
    if (blocking.length > 0 && heldBefore.length > 0 && !statement.outsideTransaction) {
      add(
        "locks-held-together",
        { table: blocking[0].table, held: heldBefore },
        blocking[0].lock,
      );
    }
    // A step alone commits on its own: its locks are not held by what follows.
    for (const l of isAloneStep(statement) ? [] : blocking) {
      if (!strongHeld.some((t) => sameTable(t, l.table))) strongHeld.push(l.table);
    }
    // IF NOT EXISTS may find the table there already, in use: it is not new then.
    if ((type === "CreateStmt" || type === "CreateTableAsStmt") && node.if_not_exists !== true) {
      const relation = type === "CreateStmt" ? node.relation : node.into?.rel;
      created.push(relationName(relation));
    }
  }
  return hazards;
}

/**
 * The columns whose type the statements change, as written (schema or null,
 * table, column): what {@linkcode HazardContext.columnType} is asked about.
 */
export function typeChangedColumns(
  statements: Statement[],
): { schema: string | null; table: string; column: string }[] {
  const found: { schema: string | null; table: string; column: string }[] = [];
  for (const statement of statements) {
    const { type, node } = treeOf(statement);
    if (type !== "AlterTableStmt") continue;
    const relation = node.relation ?? {};
    for (const item of node.cmds ?? []) {
      const cmd = nodeOf(item, "AlterTableCmd");
      if (cmd?.subtype !== "AT_AlterColumnType") continue;
      found.push({
        schema: relation.schemaname ? relation.schemaname : null,
        table: relation.relname ?? "",
        column: cmd.name ?? "",
      });
    }
  }
  return found;
}

/** The column of a `column IS NOT NULL` check, if that is what it is. */
function notNullColumn(expression: Node | undefined): string | undefined {
  const test = nodeOf(expression, "NullTest");
  if (test?.nulltesttype !== "IS_NOT_NULL") return undefined;
  const column = nodeOf(test.arg, "ColumnRef");
  if (!column) return undefined;
  const fields = strings(column.fields);
  return fields.length === 1 ? fields[0] : undefined;
}

/** One hazard in one line for people: where, the rule, the table and lock, the effect, the safe form. */
export function hazardText(hazard: Hazard & { file?: string }): string {
  return `${hazard.file ? `${hazard.file} ` : ""}line ${hazard.line}: ${hazard.rule}` +
    (hazard.table ? ` on ${hazard.table}` : "") + (hazard.lock ? ` (${hazard.lock})` : "") +
    `: ${hazard.effect}; safe: ${hazard.safe}`;
}

/**
 * True for a statement migration_apply.ts runs as a step of its own, outside
 * any transaction (PostgreSQL refuses it inside one): CREATE or DROP INDEX
 * CONCURRENTLY, REINDEX ... CONCURRENTLY of an index or table, DETACH
 * PARTITION ... CONCURRENTLY, VACUUM.
 */
export function isAloneStep(statement: Statement): boolean {
  if (!statement.outsideTransaction) return false;
  const { type, node } = treeOf(statement);
  if (type === "IndexStmt") return true;
  if (type === "DropStmt") return node.removeType === "OBJECT_INDEX";
  if (type === "ReindexStmt") {
    return node.kind === "REINDEX_OBJECT_INDEX" || node.kind === "REINDEX_OBJECT_TABLE" ||
      node.kind === "REINDEX_OBJECT_SCHEMA";
  }
  if (type === "AlterTableStmt") return true; // DETACH PARTITION ... CONCURRENTLY
  return type === "VacuumStmt";
}

/** `SELECT set_config('lock_timeout', '2s', ...)`: a lock timeout set by the function's name. */
function setsLockTimeoutByFunction({ type, node }: TypedNode): boolean {
  if (type !== "SelectStmt") return false;
  for (const target of node.targetList ?? []) {
    const value = nodeOf(nodeOf(target, "ResTarget")?.val, "FuncCall");
    if (!value) continue;
    if (strings(value.funcname).at(-1)?.toLowerCase() !== "set_config") continue;
    const args = value.args ?? [];
    // Only a constant's text counts (an A_Const's sval; of the nodes, only A_Const and String
    // have an sval, and a String is no argument).
    const text = (arg: Node | undefined) => nodeOf(arg, "A_Const")?.sval?.sval;
    const setting = text(args[0]);
    const amount = text(args[1]);
    if (setting?.toLowerCase() === "lock_timeout" && amount && !/^0+(ms|s|min)?$/.test(amount)) {
      return true;
    }
  }
  return false;
}
