/**
 * SQL text from a user, split and classified by the PostgreSQL parser itself
 * (npm:libpg-query, PostgreSQL's own grammar compiled to WASM), never by
 * regular expressions: what each statement does (reads, changes data,
 * changes structure), what it touches, whether it can run inside a
 * transaction, and what is never allowed in a read-only run wherever it
 * hides (a CTE, EXPLAIN ANALYZE, PREPARE, a function call).
 *
 * The parser is loaded on first use only (its WASM takes tens of ms).
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { changedObjects, type ObjectChange } from "./ddl_objects.ts";
import { functionEffect } from "./function_effects.ts";
import { type Node, nodeOf, stringOf, type TypedNode, typedNode, walk } from "./parse_tree.ts";
import { loadPgParser } from "./parser.ts";
import { plpgsqlBodySql } from "./plpgsql_bodies.ts";
import type { FuncCall, ObjectType, ObjectWithArgs, ParseResult, RangeVar } from "@pgsql/types";

/** What a statement needs to be allowed: a plain read, a data change, a structure change. */
export type StatementKind = "read" | "write" | "ddl";

/** One statement of the input, as the parser sees it. */
export interface Statement {
  /** 1-based position in the input. */
  index: number;
  /** 1-based line of the input where it starts. */
  line: number;
  /** The statement's own text, as given (without the separating semicolon). */
  text: string;
  /** The command, e.g. `SELECT`, `INSERT`, `CREATE INDEX`, `DROP TABLE`. */
  command: string;
  /** The least permission it needs. */
  kind: StatementKind;
  /** Objects it names (tables, indexes, functions ...), as written. */
  targets: string[];
  /**
   * The relations it names (every RangeVar, CTE names too), as the server
   * reads the names (folded, unquoted): the schema when it is written, else
   * resolved through search_path. What a read-only run looks up in the
   * catalog before sending it (`sql/program_reads.sql`).
   */
  relations: { schema?: string; name: string }[];
  /**
   * True when it may change search_path (SET, RESET, set_config of it or of
   * a computed setting), so that the names of later statements resolve
   * elsewhere than the session's search_path says before the run.
   */
  changesSearchPath: boolean;
  /**
   * Why it can never run in a read-only run, besides the sequence calls in
   * `sequenceCalls` (empty, with those, when it can, given its kind is read).
   */
  readOnlyRefusals: string[];
  /** Why it can never run through run_sql at all (e.g. BEGIN/COMMIT of its own). */
  refusals: string[];
  /** True when PostgreSQL refuses to run it inside a transaction block. */
  outsideTransaction: boolean;
  /** The highest `$n` it uses (0: none). */
  maxParam: number;
  /** True for a plain query whose rows COPY can stream (SELECT, VALUES, TABLE). */
  plainQuery: boolean;
  /** The objects it creates, alters, renames, drops, comments on or writes rows to. */
  changes: ObjectChange[];
  /**
   * What it does that a transaction rolled back afterwards cannot undo, or
   * that no parser can see into (a program run, a server file written, a
   * session signalled, SQL given as text ...): a rolled-back check refuses it.
   */
  escapes: string[];
  /**
   * The calls it makes that move a sequence (nextval, setval): a read-only
   * run refuses them, a rollback does not undo them, yet a rolled-back run may
   * make them, saying so.
   */
  sequenceCalls: string[];
  /** The data changes it holds besides its own command (`DELETE FROM t` in a CTE). */
  dataChanges: string[];
  /** True for `COPY ... TO STDOUT`: the server's own output, not rows. */
  copyToStdout: boolean;
  /** True for `COPY ... FROM STDIN`: its rows follow it on the connection (in a file, its lines). */
  copyFromStdin: boolean;
  /** True when it begins or ends a transaction (BEGIN, COMMIT, ROLLBACK, PREPARE TRANSACTION ...). */
  endsTransaction: boolean;
  /**
   * The pinned settings (session.ts) it changes away from their pinned
   * values: the setting, and the value it is given when that is a constant
   * (none for RESET, DEFAULT or a computed value; `reset` for RESET).
   */
  pinnedChanges: { name: string; value?: string; reset: boolean }[];
  /**
   * Session state it leaves behind after its transaction (a prepared
   * statement, a session-level SET, an advisory lock held or released, a
   * holdable cursor, LISTEN): behind a pooler in transaction mode that state
   * stays on a server connection other clients then get. `rollbackUndoes`:
   * only a committed transaction leaves it (a SET, a WITH HOLD cursor).
   */
  outlivesTransaction: { what: string; rollbackUndoes: boolean }[];
  /** What it changes that a rollback does not put back, allowed in a rolled-back check and reported. */
  notUndone: string[];
  /**
   * Code it creates or runs that no parser can see into (SQL built at run
   * time for EXECUTE, a body in a language other than SQL and PL/pgSQL): a
   * rolled-back check runs it and says that it could not look.
   */
  unseen: string[];
  /**
   * The relations it writes rows to, as written: its own command's, those of
   * the data changes inside it (a CTE's) and, for a DO block or a function,
   * those its body's statements write (when it is called).
   */
  writes: string[];
  /**
   * The relations it reads or writes (each RangeVar it names, as written,
   * without its CTEs' names), a DO block's or function body's included.
   */
  reads: string[];
  /**
   * The functions it calls by name (as pg_proc.proname has them: the parser folds unquoted names),
   * a DO block's or function body's calls included: what a check looks up in
   * the catalog to read the database's own code it runs. `attribute`: a name
   * in attribute notation (`t.f`, `(x).f`), a call of a one-argument function
   * when no column of that name exists.
   */
  calls: { name: string; attribute: boolean }[];
  /**
   * PostgreSQL's parse tree of it, the node's type (`IndexStmt` ...) and its
   * fields (comparing `type` narrows `node` to that type's), when
   * parseStatements was asked to keep it.
   */
  tree?: TypedNode;
}

/**
 * Settings whose change would lift the read-only guard, change who we are,
 * or lift the limits a read-only run carries.
 */
const GUARDED_SETTINGS = new Set([
  "transaction_read_only",
  "default_transaction_read_only",
  "role",
  "session_authorization",
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "idle_session_timeout",
  "transaction_timeout",
]);

/**
 * Settings that decide how the server reads the text of later statements
 * (session.ts pins them): changing them is refused in every mode, setting
 * one to the pinned value is not (pg_dump writes
 * `SET standard_conforming_strings = on`).
 */
const PINNED_VALUES: Record<string, RegExp> = {
  standard_conforming_strings: /^(on|true|yes|1)$/i,
  client_encoding: /^(utf8|utf-8|unicode)$/i,
};

/** Why changing `name` to `value` (undefined: reset or computed) is refused, if it is. */
function pinnedRefusal(name: string, value: string | undefined): string | undefined {
  const pinned = PINNED_VALUES[name.toLowerCase()];
  if (!pinned || (value !== undefined && pinned.test(value.trim()))) return undefined;
  return `a change of ${name.toLowerCase()}, which the skill pins so that its parser reads ` +
    `statements as the server does`;
}

/** The text of a constant (`'off'`, `off`, `0`), or undefined when it is not one. */
function constantText(node: Node | undefined): string | undefined {
  const constant = nodeOf(node, "A_Const");
  if (!constant) return undefined;
  const sval = constant.sval?.sval;
  if (typeof sval === "string") return sval;
  if (constant.ival) return String(constant.ival.ival ?? 0);
  if (constant.boolval) return String(constant.boolval.boolval ?? false);
  return undefined;
}

/** Statements PostgreSQL refuses inside a transaction block, by node type. */
function runsOutsideTransaction({ type, node }: TypedNode): boolean {
  switch (type) {
    case "IndexStmt":
    case "DropStmt":
      return node.concurrent === true;
    case "ReindexStmt":
      return hasOption(node.params, "concurrently") || node.kind === "REINDEX_OBJECT_SCHEMA" ||
        node.kind === "REINDEX_OBJECT_DATABASE" || node.kind === "REINDEX_OBJECT_SYSTEM";
    case "VacuumStmt":
      return node.is_vacuumcmd === true;
    case "AlterTableStmt":
      // DETACH PARTITION ... CONCURRENTLY (14+) commits in two transactions of its own.
      return (node.cmds ?? []).some((item) => {
        const cmd = nodeOf(item, "AlterTableCmd");
        return cmd?.subtype === "AT_DetachPartition" &&
          nodeOf(cmd.def, "PartitionCmd")?.concurrent === true;
      });
    case "ClusterStmt":
      return node.relation === undefined;
    case "CreatedbStmt":
    case "DropdbStmt":
    case "AlterSystemStmt":
    case "CreateTableSpaceStmt":
    case "DropTableSpaceStmt":
    case "CreateSubscriptionStmt":
    case "DropSubscriptionStmt":
      return true;
    default:
      return false;
  }
}

function hasOption(options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => {
    const elem = nodeOf(o, "DefElem");
    if (!elem || elem.defname !== name) return false;
    const value = stringOf(elem.arg) ?? nodeOf(elem.arg, "Boolean")?.boolval;
    return value === undefined || value === true || !/^(false|off|0|no)$/i.test(String(value));
  });
}

/** Commands that read only (or only look at the plan) when nothing inside them writes. */
const READ_STATEMENTS = new Set([
  "SelectStmt",
  "ExplainStmt",
  "VariableShowStmt",
  "DeclareCursorStmt",
  "FetchStmt",
  "ClosePortalStmt",
  "PrepareStmt",
  "ExecuteStmt",
  "DeallocateStmt",
  "VariableSetStmt",
  "CopyStmt",
]);

/** Data changes and maintenance that need --write (not structure). */
const WRITE_STATEMENTS = new Set([
  "InsertStmt",
  "UpdateStmt",
  "DeleteStmt",
  "MergeStmt",
  "TruncateStmt",
  "LockStmt",
  "NotifyStmt",
  "ListenStmt",
  "UnlistenStmt",
  "VacuumStmt",
  "RefreshMatViewStmt",
  "CheckPointStmt",
  "DiscardStmt",
]);

const COMMAND_NAMES: Record<string, string> = {
  SelectStmt: "SELECT",
  InsertStmt: "INSERT",
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
  MergeStmt: "MERGE",
  VariableShowStmt: "SHOW",
  VariableSetStmt: "SET",
  CreateStmt: "CREATE TABLE",
  IndexStmt: "CREATE INDEX",
  ViewStmt: "CREATE VIEW",
  CreateTableAsStmt: "CREATE TABLE AS",
  CreatedbStmt: "CREATE DATABASE",
  DropdbStmt: "DROP DATABASE",
  CreateFunctionStmt: "CREATE FUNCTION",
  DoStmt: "DO",
  CallStmt: "CALL",
  CopyStmt: "COPY",
  ExplainStmt: "EXPLAIN",
  TransactionStmt: "transaction control",
  DeclareCursorStmt: "DECLARE CURSOR",
  ClosePortalStmt: "CLOSE",
  RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW",
  GrantStmt: "GRANT",
  GrantRoleStmt: "GRANT ROLE",
  VacuumStmt: "VACUUM",
  CheckPointStmt: "CHECKPOINT",
  AlterSystemStmt: "ALTER SYSTEM",
  CreateSeqStmt: "CREATE SEQUENCE",
  AlterSeqStmt: "ALTER SEQUENCE",
  CreateTrigStmt: "CREATE TRIGGER",
  CreateEnumStmt: "CREATE TYPE",
  CompositeTypeStmt: "CREATE TYPE",
  CreateRangeStmt: "CREATE TYPE",
  AlterEnumStmt: "ALTER TYPE",
  CreateDomainStmt: "CREATE DOMAIN",
  AlterDomainStmt: "ALTER DOMAIN",
  CreateForeignTableStmt: "CREATE FOREIGN TABLE",
  // Where the node's name is not the command's (PostgreSQL's command tags).
  SecLabelStmt: "SECURITY LABEL",
  RuleStmt: "CREATE RULE",
  CreateEventTrigStmt: "CREATE EVENT TRIGGER",
  AlterEventTrigStmt: "ALTER EVENT TRIGGER",
  CreatePLangStmt: "CREATE LANGUAGE",
  CreateOpClassStmt: "CREATE OPERATOR CLASS",
  CreateOpFamilyStmt: "CREATE OPERATOR FAMILY",
  AlterOpFamilyStmt: "ALTER OPERATOR FAMILY",
  CreateAmStmt: "CREATE ACCESS METHOD",
  CreateStatsStmt: "CREATE STATISTICS",
  AlterStatsStmt: "ALTER STATISTICS",
  CreateFdwStmt: "CREATE FOREIGN DATA WRAPPER",
  AlterFdwStmt: "ALTER FOREIGN DATA WRAPPER",
  ConstraintsSetStmt: "SET CONSTRAINTS",
  AlterTSConfigurationStmt: "ALTER TEXT SEARCH CONFIGURATION",
  AlterTSDictionaryStmt: "ALTER TEXT SEARCH DICTIONARY",
  AlterRoleSetStmt: "ALTER ROLE",
  AlterDatabaseSetStmt: "ALTER DATABASE",
  AlterExtensionContentsStmt: "ALTER EXTENSION",
  CreateTableSpaceStmt: "CREATE TABLESPACE",
  DropTableSpaceStmt: "DROP TABLESPACE",
  AlterTableSpaceOptionsStmt: "ALTER TABLESPACE",
  AlterTableMoveAllStmt: "ALTER TABLE",
  AlterObjectDependsStmt: "ALTER EXTENSION DEPENDS",
  LockStmt: "LOCK TABLE",
};

/** `CreateFunctionStmt` -> `CREATE FUNCTION`; a few need their object type. */
function commandOf({ type, node }: TypedNode): string {
  // CONCURRENTLY is named: it is why the statement cannot run in a transaction.
  const concurrently = (concurrent: boolean | undefined) =>
    concurrent === true ? " CONCURRENTLY" : "";
  if (type === "DropStmt") {
    return `DROP ${objectType(node.removeType)}${concurrently(node.concurrent)}`;
  }
  if (type === "IndexStmt") return `CREATE INDEX${concurrently(node.concurrent)}`;
  if (type === "ReindexStmt" && hasOption(node.params, "concurrently")) {
    return "REINDEX CONCURRENTLY";
  }
  if (type === "RenameStmt") {
    // RENAME COLUMN and RENAME CONSTRAINT are ALTER TABLE (or VIEW ...) commands.
    const renamed = node.renameType === "OBJECT_TABCONSTRAINT"
      ? "OBJECT_TABLE"
      : node.renameType === "OBJECT_COLUMN"
      ? (/^OBJECT_(TABLE|VIEW|MATVIEW|FOREIGN_TABLE)$/.test(String(node.relationType))
        ? node.relationType
        : "OBJECT_TABLE")
      : node.renameType;
    return `ALTER ${objectType(renamed)}`;
  }
  if (type === "AlterObjectSchemaStmt" || type === "AlterOwnerStmt") {
    return `ALTER ${objectType(node.objectType)}`;
  }
  if (type === "AlterTableStmt") return `ALTER ${objectType(node.objtype)}`;
  if (type === "CommentStmt") return "COMMENT";
  // CREATE AGGREGATE, OPERATOR, TYPE (base), COLLATION, TEXT SEARCH ... share one node.
  if (type === "DefineStmt") return `CREATE ${objectType(node.kind)}`;
  if (type === "VacuumStmt" && node.is_vacuumcmd !== true) return "ANALYZE";
  // The tree leaves false booleans out: a REVOKE has no is_grant at all.
  if (type === "GrantStmt" && node.is_grant !== true) return "REVOKE";
  if (type === "TransactionStmt") {
    return String(node.kind ?? "").replace(/^TRANS_STMT_/, "").replaceAll("_", " ");
  }
  return COMMAND_NAMES[type] ??
    type.replace(/Stmt$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

/** The parser's object types whose SQL spelling is not their name. */
const OBJECT_SPELLINGS: Record<string, string> = {
  MATVIEW: "MATERIALIZED VIEW",
  TSPARSER: "TEXT SEARCH PARSER",
  TSDICTIONARY: "TEXT SEARCH DICTIONARY",
  TSTEMPLATE: "TEXT SEARCH TEMPLATE",
  TSCONFIGURATION: "TEXT SEARCH CONFIGURATION",
  FDW: "FOREIGN DATA WRAPPER",
  FOREIGN_SERVER: "SERVER",
  OPCLASS: "OPERATOR CLASS",
  OPFAMILY: "OPERATOR FAMILY",
  STATISTIC_EXT: "STATISTICS",
  LARGEOBJECT: "LARGE OBJECT",
  TABCONSTRAINT: "CONSTRAINT",
};

function objectType(value: ObjectType | undefined): string {
  const name = String(value ?? "OBJECT").replace(/^OBJECT_/, "");
  return OBJECT_SPELLINGS[name] ?? name.replaceAll("_", " ");
}

/** The name of a function call, without schema (pg_catalog.nextval -> nextval). */
function functionName(call: FuncCall): { name: string; schema?: string } {
  const parts = (call.funcname ?? []).map((p) => stringOf(p) ?? "");
  return { name: parts.at(-1)!.toLowerCase(), schema: parts.length > 1 ? parts[0] : undefined };
}

function rangeVarName(node: RangeVar): string {
  return [node.catalogname, node.schemaname, node.relname].filter(Boolean).join(".");
}

function stringList(items: Node[] | undefined): string {
  return (items ?? []).map((item) => stringOf(item) ?? "?").join(".");
}

/** What the tree of one statement needs, and what it must never do read-only. */
function inspect(
  tree: TypedNode,
  prepared: Map<string, StatementKind>,
): Pick<
  Statement,
  | "kind"
  | "targets"
  | "readOnlyRefusals"
  | "refusals"
  | "maxParam"
  | "escapes"
  | "sequenceCalls"
  | "dataChanges"
  | "pinnedChanges"
  | "notUndone"
  | "outlivesTransaction"
  | "relations"
  | "changesSearchPath"
  | "writes"
  | "reads"
  | "calls"
> {
  const { type, node } = tree;
  const targets = new Set<string>();
  // Filled in below; returned with the kind, the targets and $n.
  const found = {
    readOnlyRefusals: [] as string[],
    refusals: [] as string[],
    escapes: [] as string[],
    sequenceCalls: [] as string[],
    dataChanges: [] as string[],
    pinnedChanges: [] as Statement["pinnedChanges"],
    notUndone: [] as string[],
    outlivesTransaction: [] as Statement["outlivesTransaction"],
    relations: [] as Statement["relations"],
    changesSearchPath: false,
    writes: [] as string[],
    reads: [] as string[],
    calls: [] as Statement["calls"],
  };
  const {
    readOnlyRefusals,
    refusals,
    escapes,
    sequenceCalls,
    dataChanges,
    pinnedChanges,
    notUndone,
    outlivesTransaction,
    writes,
    reads,
    calls,
  } = found;
  const calling = (name: string, attribute: boolean) => {
    if (!calls.some((c) => c.name === name && c.attribute === attribute)) {
      calls.push({ name, attribute });
    }
  };
  const leaves = (what: string, rollbackUndoes = false) =>
    outlivesTransaction.push({ what, rollbackUndoes });
  const changePinned = (name: string, value: string | undefined, reset = false) => {
    const refusal = pinnedRefusal(name, value);
    if (!refusal) return;
    refusals.push(refusal);
    pinnedChanges.push({
      name: name.toLowerCase(),
      ...(value === undefined ? {} : { value }),
      reset,
    });
  };
  let kind: StatementKind = READ_STATEMENTS.has(type)
    ? "read"
    : WRITE_STATEMENTS.has(type)
    ? "write"
    : "ddl";
  const atLeast = (wanted: StatementKind) => {
    const order: StatementKind[] = ["read", "write", "ddl"];
    if (order.indexOf(wanted) > order.indexOf(kind)) kind = wanted;
  };
  let maxParam = 0;

  if (type === "TransactionStmt") {
    kind = "read"; // What it may do is decided below: savepoints with --write, the rest never.
    const sub = String(node.kind ?? "");
    if (/SAVEPOINT|RELEASE|ROLLBACK_TO/.test(sub)) {
      readOnlyRefusals.push("transaction control");
    } else {
      refusals.push(
        "transaction control: the skill runs the statements in a transaction itself; " +
          "remove BEGIN/COMMIT/ROLLBACK",
      );
    }
  }
  if (type === "ExplainStmt" && !hasOption(node.options, "analyze")) {
    // Only planned, never executed: a read whatever it explains. Its targets still count.
    for (const [childType, child] of walk(node.query)) {
      if (childType === "RangeVar") {
        targets.add(rangeVarName(child));
        addRelation(found.relations, child);
      }
    }
    return { kind: "read", targets: [...targets], maxParam, ...found };
  }
  if (type === "ExecuteStmt") {
    const name = String(node.name ?? "");
    const preparedKind = prepared.get(name);
    if (preparedKind === undefined) {
      readOnlyRefusals.push(`EXECUTE of "${name}", which this input does not prepare`);
      atLeast("ddl");
    } else {
      atLeast(preparedKind);
    }
  }
  if (type === "CopyStmt") {
    if (node.is_program === true) {
      readOnlyRefusals.push("COPY to or from a program");
      escapes.push("COPY to or from a program (it runs on the server)");
    } else if (node.filename !== undefined) {
      readOnlyRefusals.push("COPY to or from a server file");
      if (node.is_from !== true) escapes.push("COPY to a server file");
    }
    if (node.is_program === true || node.filename !== undefined) atLeast("ddl");
    if (node.is_from === true && node.is_program !== true && node.filename === undefined) {
      refusals.push("COPY FROM STDIN needs data on the connection; use psql_with_ssl_fallback.ts");
    }
  }
  /**
   * A call of `name` (written as a call, or in attribute notation) that acts
   * beyond the transaction: a read-only run refuses it; a rolled-back check
   * refuses what the rollback cannot undo (effects outside it, SQL given as
   * text, which no parser sees into) and lets sequences move, saying so.
   */
  const checkCall = (name: string, notation = "") => {
    const effect = functionEffect(name);
    if (!effect) return;
    const call = `${name}()${notation ? ` ${notation}` : ""} (it ${effect.what})`;
    if (effect.class !== "sequence") readOnlyRefusals.push(call);
    if (effect.class === "outside" || effect.class === "sql-text") escapes.push(call);
    if (effect.class === "sequence") sequenceCalls.push(call);
    atLeast("write");
  };
  if (type === "DoStmt") readOnlyRefusals.push("a DO block");
  // A function that acts beyond the transaction, renamed or moved, would escape every check
  // that knows it by name: the statement that hides it counts as a call of it.
  if (
    (type === "RenameStmt" || type === "AlterObjectSchemaStmt") &&
    ["OBJECT_FUNCTION", "OBJECT_ROUTINE", "OBJECT_PROCEDURE"].includes(
      String(type === "RenameStmt" ? node.renameType : node.objectType),
    )
  ) {
    const names = nodeOf(node.object, "ObjectWithArgs")?.objname;
    const last = (stringOf(names?.at(-1)) ?? "").toLowerCase();
    if (last) checkCall(last, "renamed or moved, so that later calls hide it");
  }
  const sessionState: Record<string, string> = {
    PrepareStmt: "PREPARE",
    DeallocateStmt: "DEALLOCATE",
    ListenStmt: "LISTEN",
    UnlistenStmt: "UNLISTEN",
    DiscardStmt: "DISCARD",
    LoadStmt: "LOAD",
  };
  if (sessionState[type]) leaves(sessionState[type], /LISTEN/.test(sessionState[type]));
  if (type === "DeclareCursorStmt" && (Number(node.options ?? 0) & CURSOR_OPT_HOLD)) {
    leaves("DECLARE ... WITH HOLD", true);
  }
  const temporary = temporaryObject(tree);
  if (temporary) leaves(temporary, true);
  if (type === "LoadStmt") escapes.push("LOAD (it runs a shared library's code in the server)");
  if (type === "CheckPointStmt") escapes.push("CHECKPOINT (it acts on the whole server)");
  if (type === "VacuumStmt" && node.is_vacuumcmd !== true) {
    notUndone.push("ANALYZE (the planner statistics it updates stay updated)");
  }
  if (type === "CallStmt") readOnlyRefusals.push("CALL of a procedure");

  /** Functions bound by the statement (CREATE CAST ... WITH FUNCTION): using it calls them. */
  const checkBound = (functions: (ObjectWithArgs | undefined)[]) => {
    for (const bound of functions) {
      const last = lastName(bound?.objname);
      if (last) checkCall(last, `bound by ${commandOf(tree)}`);
    }
  };
  // The statement's own node first (the walk yields the node it is given), then all inside it.
  for (const [childType, child] of walk({ [type]: node })) {
    switch (childType) {
      case "RangeVar":
        targets.add(rangeVarName(child));
        addRelation(found.relations, child);
        if (!reads.includes(rangeVarName(child))) reads.push(rangeVarName(child));
        break;
      case "InsertStmt":
      case "UpdateStmt":
      case "DeleteStmt":
      case "MergeStmt": {
        atLeast("write");
        if (child !== node) dataChanges.push(dataChangeOf(childType, child.relation));
        if (child.relation && !writes.includes(rangeVarName(child.relation))) {
          writes.push(rangeVarName(child.relation));
        }
        // pg_settings' rules turn a write into set_config(..., false): a session-level SET.
        const relation = child.relation;
        if (
          relation?.relname === "pg_settings" &&
          (relation.schemaname ?? "pg_catalog") === "pg_catalog"
        ) {
          leaves("a change of pg_settings (a session-level SET)", true);
        }
        break;
      }
      case "SelectStmt":
        if (Array.isArray(child.lockingClause) && child.lockingClause.length) {
          atLeast("write");
        }
        if (child.intoClause) atLeast("ddl");
        break;
      case "ParamRef":
        // PREPARE's and a function body's $n are their own parameters, bound later.
        if (type !== "PrepareStmt" && type !== "CreateFunctionStmt") {
          maxParam = Math.max(maxParam, Number(child.number ?? 0));
        }
        break;
      case "VariableSetStmt": {
        const name = String(child.name ?? "").toLowerCase();
        const touchesReadOnly = Array.isArray(child.args) &&
          child.args.some((a) => nodeOf(a, "DefElem")?.defname === "transaction_read_only");
        const args = child.args ?? [];
        changePinned(
          name,
          child.kind === "VAR_SET_VALUE" && args.length === 1 ? constantText(args[0]) : undefined,
          child.kind === "VAR_RESET",
        );
        // SET TRANSACTION lasts the transaction; SET SESSION CHARACTERISTICS does not.
        if (child.is_local !== true && !/^transaction/i.test(name)) {
          leaves(`SET or RESET of ${name || "every setting"}`, true);
        }
        if (name === "search_path" || child.kind === "VAR_RESET_ALL") {
          found.changesSearchPath = true;
        }
        if (child.kind === "VAR_RESET_ALL") {
          readOnlyRefusals.push("RESET ALL");
        } else if (GUARDED_SETTINGS.has(name) || touchesReadOnly) {
          readOnlyRefusals.push(`SET or RESET of ${name || "transaction_read_only"}`);
        }
        break;
      }
      case "A_Indirection":
        // (x).f is f(x) to the server when x has no field f: a function call.
        for (const step of child.indirection ?? []) {
          const field = stringOf(step);
          if (typeof field === "string") {
            checkCall(field.toLowerCase(), "in attribute notation");
            calling(field, true);
          }
        }
        break;
      case "ColumnRef": {
        // t.f is f(t) to the server when table t has no column f.
        const fields = child.fields ?? [];
        const last = stringOf(fields.at(-1));
        if (fields.length > 1 && typeof last === "string") {
          checkCall(last.toLowerCase(), "in attribute notation");
          calling(last, true);
        }
        break;
      }
      case "FuncCall": {
        const { name } = functionName(child);
        // As pg_proc has it: the parser has already folded an unquoted name to lower case.
        const exact = stringOf(child.funcname?.at(-1));
        if (typeof exact === "string") calling(exact, false);
        if (name === "set_config") {
          const [first, second] = child.args ?? [];
          const setting = constantText(first);
          if (setting === undefined || GUARDED_SETTINGS.has(setting.toLowerCase())) {
            readOnlyRefusals.push(
              `set_config of ${setting ?? "a computed setting"}`,
            );
          }
          if (setting === undefined || setting.toLowerCase() === "search_path") {
            found.changesSearchPath = true;
          }
          if (setting !== undefined) changePinned(setting, constantText(second));
          const local = constantText((child.args ?? [])[2]);
          if (!local || !/^(t|true|on|yes|1)$/i.test(local)) {
            leaves(`set_config of ${setting ?? "a computed setting"} for the session`, true);
          }
        } else {
          checkCall(name);
          if (SESSION_LOCKS.test(name)) leaves(`${name}() (a session-level lock)`);
        }
        break;
      }
      case "DefineStmt":
        // CREATE OPERATOR, AGGREGATE, TYPE ... bind functions: using the object calls them.
        for (const item of child.definition ?? []) {
          const names = nodeOf(nodeOf(item, "DefElem")?.arg, "TypeName");
          const last = lastName(names?.names);
          if (last) checkCall(last, `bound by ${commandOf({ type: childType, node: child })}`);
        }
        break;
      case "CreateCastStmt":
        checkBound([child.func]);
        break;
      case "CreateTransformStmt":
        checkBound([child.fromsql, child.tosql]);
        break;
      case "CreateOpClassItem":
        checkBound([child.name]);
        break;
      case "CreateConversionStmt": {
        const last = lastName(child.func_name);
        if (last) checkCall(last, "bound by CREATE CONVERSION");
        break;
      }
      case "DefElem":
        // file_fdw's program option runs a shell command whenever the table is read.
        if (FDW_OPTION_STATEMENTS.has(type) && String(child.defname).toLowerCase() === "program") {
          escapes.push("a foreign-data option that runs a program on the server (program)");
          readOnlyRefusals.push("a foreign-data option that runs a program on the server");
        }
        break;
      case "IndexStmt":
        if (child.idxname) targets.add(child.idxname);
        break;
      case "CreateFunctionStmt":
        targets.add(stringList(child.funcname));
        break;
      case "DropStmt":
        for (const object of child.objects ?? []) {
          targets.add(stringList(nodeOf(object, "List")?.items ?? [object]));
        }
        break;
    }
  }
  const cteNames = new Set<string>();
  for (const [childType, child] of walk(node)) {
    if (childType === "CommonTableExpr") cteNames.add(String(child.ctename));
  }
  return {
    kind,
    targets: [...targets].filter((name) => name && !cteNames.has(name)),
    maxParam,
    ...found,
    reads: reads.filter((name) => !cteNames.has(name)),
    writes: writes.filter((name) => !cteNames.has(name)),
  };
}

/** Adds the relation a RangeVar names to `relations`, once. */
function addRelation(relations: Statement["relations"], node: RangeVar): void {
  const name = node.relname;
  if (!name) return;
  const schema = node.schemaname || undefined;
  if (relations.some((r) => r.name === name && r.schema === schema)) return;
  relations.push(schema === undefined ? { name } : { schema, name });
}

/** Statements whose `program` option (file_fdw's) runs a shell command when the table is read. */
const FDW_OPTION_STATEMENTS = new Set([
  "CreateForeignTableStmt",
  "AlterTableStmt",
  "CreateForeignServerStmt",
  "AlterForeignServerStmt",
  "CreateFdwStmt",
  "AlterFdwStmt",
  "CreateUserMappingStmt",
  "AlterUserMappingStmt",
  "ImportForeignSchemaStmt",
]);

/** The last name of a qualified name (`pg_catalog.pg_terminate_backend` -> its function). */
function lastName(names: Node[] | undefined): string | undefined {
  const text = stringOf(names?.at(-1));
  return typeof text === "string" ? text.toLowerCase() : undefined;
}

/**
 * A temporary object the statement makes that lives on with the session
 * (not ON COMMIT DROP): behind a pooler, other clients would find it first
 * on their search_path.
 */
function temporaryObject({ type, node }: TypedNode): string | undefined {
  const relation = type === "CreateStmt"
    ? node.relation
    : type === "CreateTableAsStmt"
    ? node.into?.rel
    : type === "ViewStmt"
    ? node.view
    : type === "CreateSeqStmt"
    ? node.sequence
    : undefined;
  // Of the statements, only CREATE TABLE AS has an `into`.
  const onCommitDrop =
    (type === "CreateStmt"
      ? node.oncommit
      : type === "CreateTableAsStmt"
      ? node.into?.onCommit
      : undefined) === "ONCOMMIT_DROP";
  if (relation?.relpersistence === "t" && !onCommitDrop) {
    return "a temporary object (it lasts the session)";
  }
  if (type === "CreateFunctionStmt") {
    const names = node.funcname ?? [];
    if (stringOf(names[0]) === "pg_temp" && names.length > 1) {
      return "a temporary function (it lasts the session)";
    }
  }
  return undefined;
}

/** DECLARE's WITH HOLD, in the parser's cursor options. */
const CURSOR_OPT_HOLD = 0x0020;

/** Advisory locks taken or released for the session, not the transaction. */
const SESSION_LOCKS = /^pg_(try_)?advisory_(lock|lock_shared|unlock|unlock_shared|unlock_all)$/;

/** `DELETE FROM t`, `INSERT INTO t`, `UPDATE t`, `MERGE INTO t`: a data change inside another. */
function dataChangeOf(type: string, relation: RangeVar | undefined): string {
  const name = relation ? rangeVarName(relation) : "?";
  switch (type) {
    case "InsertStmt":
      return `INSERT INTO ${name}`;
    case "UpdateStmt":
      return `UPDATE ${name}`;
    case "DeleteStmt":
      return `DELETE FROM ${name}`;
    default:
      return `MERGE INTO ${name}`;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Splits `sql` into statements and classifies each with PostgreSQL's own
 * parser. A syntax error is a usage error naming the line and what is wrong;
 * nothing is sent to a server before this succeeds. A leading byte order mark
 * (a file saved by some Windows editors) is skipped, as psql skips it.
 * `options.tree` keeps each statement's parse tree (for the migration
 * hazards); otherwise it is let go, as a large restore holds many.
 */
export async function parseStatements(
  text: string,
  options: { tree?: boolean } = {},
): Promise<Statement[]> {
  const statements = await parseNested(text, 0);
  if (!options.tree) { for (const statement of statements) delete statement.tree; }
  return statements;
}

/** The commands EXPLAIN takes (VALUES is a SELECT). */
export const EXPLAINABLE_COMMANDS: readonly string[] = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
  "CREATE TABLE AS",
  "DECLARE CURSOR",
];

/**
 * The one statement of `text`, checked by PostgreSQL's parser: exactly one,
 * whose command is one of `check.commands`; else a usage error that says
 * what the text holds (`check.action`: what it is given for, "explain";
 * `check.accepted`: what is taken, "EXPLAIN takes SELECT ...").
 */
export async function oneStatement(
  text: string,
  check: { action: string; commands: readonly string[]; accepted: string },
): Promise<Statement> {
  const statements = await parseStatements(text, { tree: true });
  if (statements.length !== 1) {
    throw new UsageError(
      `Give exactly one statement to ${check.action}; the text holds ${statements.length}`,
    );
  }
  const [statement] = statements;
  if (!check.commands.includes(statement.command)) {
    throw new UsageError(`${check.accepted}; the text is ${describeStatement(statement)}`);
  }
  return statement;
}

/** How deep code inside code (a DO block that EXECUTEs a DO block ...) is followed. */
const MAX_BODY_DEPTH = 8;

async function parseNested(text: string, depth: number): Promise<Statement[]> {
  const sql = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const nul = sql.indexOf("\0");
  if (nul >= 0) {
    // The parser reads C strings: it would stop there, and the server would be sent the rest.
    throw new UsageError(
      `The SQL holds a NUL byte at line ${lineOf(sql, nul)}; SQL cannot contain one: remove it`,
    );
  }
  const { parse, hasSqlDetails } = await loadPgParser();
  let parsed: ParseResult;
  try {
    parsed = await parse(sql);
  } catch (error) {
    const details = hasSqlDetails(error) ? error.sqlDetails : undefined;
    const message = details?.message ?? (error instanceof Error ? error.message : String(error));
    const where = details ? ` at line ${lineOf(sql, details.cursorPosition)}` : "";
    throw new UsageError(`The SQL does not parse${where}: ${message}`);
  }
  const bytes = encoder.encode(sql);
  const prepared = new Map<string, StatementKind>();
  const statements: Statement[] = [];
  let scanned = 0; // bytes whose newlines are counted in `line`
  let line = 1;
  for (const raw of parsed.stmts ?? []) {
    const tree = typedNode(raw.stmt);
    if (!tree) throw new Error("the parser gave a statement without its parse tree");
    const { type, node } = tree;
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const rawText = decoder.decode(bytes.subarray(start, end));
    const text = rawText.trim();
    const leading = encoder.encode(rawText.slice(0, rawText.length - rawText.trimStart().length));
    for (; scanned < start + leading.length; scanned++) if (bytes[scanned] === 0x0a) line++;
    const facts = inspect(tree, prepared);
    if (type === "PrepareStmt") prepared.set(String(node.name ?? ""), facts.kind);
    statements.push({
      index: statements.length + 1,
      line,
      text,
      command: commandOf(tree),
      ...facts,
      outsideTransaction: runsOutsideTransaction(tree),
      plainQuery: type === "SelectStmt" && facts.kind === "read",
      changes: changedObjects(tree),
      copyToStdout: type === "CopyStmt" && node.is_from !== true && node.filename === undefined &&
        node.is_program !== true,
      copyFromStdin: type === "CopyStmt" && node.is_from === true &&
        node.filename === undefined && node.is_program !== true,
      endsTransaction: type === "TransactionStmt" &&
        !/SAVEPOINT|RELEASE|ROLLBACK_TO/.test(String(node.kind ?? "")),
      unseen: [],
      tree,
    });
    if (tree.type === "DoStmt" || tree.type === "CreateFunctionStmt") {
      await inspectBody(statements.at(-1)!, { tree, depth });
    }
  }
  return statements;
}

/**
 * The functions a statement calls by name (the last part of each name, lower
 * case, as the catalog's proname has it), from its kept parse tree: what a
 * check runs of the database's own code.
 */
export function calledFunctionNames(statement: Statement): string[] {
  if (!statement.tree) return [];
  const names = new Set<string>();
  for (const [type, node] of walk(statement.tree.node)) {
    if (type !== "FuncCall") continue;
    const last = stringOf(node.funcname?.at(-1));
    if (typeof last === "string") names.add(last);
  }
  return [...names];
}

/** A DefElem's value among `options` (`language`, `as` ...): its string, or its list of strings. */
function option(options: Node[] | undefined, name: string): string | string[] | undefined {
  for (const item of options ?? []) {
    const elem = nodeOf(item, "DefElem");
    if (elem?.defname !== name) continue;
    const single = stringOf(elem.arg);
    if (typeof single === "string") return single;
    const list = nodeOf(elem.arg, "List")?.items;
    return list?.map((entry) => stringOf(entry) ?? "");
  }
  return undefined;
}

/**
 * Adds to `statement` what the code it creates or runs does: a DO block's
 * or a function's body in PL/pgSQL or SQL, read by PostgreSQL's own parsers
 * and checked as any statement (EXECUTE of a constant too); what cannot be
 * seen into is named in `unseen`. A function's escapes count although it is
 * only created: a check cannot tell whether the files call it.
 */
async function inspectBody(
  statement: Statement,
  code: { tree: Extract<TypedNode, { type: "DoStmt" | "CreateFunctionStmt" }>; depth: number },
): Promise<void> {
  const { tree: { type, node }, depth } = code;
  const where = type === "DoStmt" ? "in the DO block" : "in the function's body";
  const options = type === "DoStmt" ? node.args : node.options;
  const language = String(option(options, "language") ?? "plpgsql").toLowerCase();
  const body = option(options, "as");
  if (body === undefined) return; // BEGIN ATOMIC: part of the tree, already checked
  if (depth >= MAX_BODY_DEPTH) {
    statement.unseen.push(`code nested more than ${MAX_BODY_DEPTH} deep ${where}`);
    return;
  }
  let texts: string[];
  const executed: string[] = [];
  if (language === "plpgsql") {
    const found = await plpgsqlBodySql(
      type === "DoStmt" ? { doBlock: String(body) } : { createFunction: statement.text },
    );
    if (found.unreadable) {
      statement.unseen.push(`a PL/pgSQL body the parser cannot read (${found.unreadable})`);
      return;
    }
    texts = found.texts;
    executed.push(...found.executed);
  } else if (language === "sql") {
    texts = [Array.isArray(body) ? body[0] : body];
  } else if (language === "internal") {
    // The body names the built-in it binds: judged as a call of it.
    const symbol = String(Array.isArray(body) ? body[0] : body).trim().toLowerCase();
    const effect = functionEffect(symbol);
    if (effect && (effect.class === "outside" || effect.class === "sql-text")) {
      addEscape(statement, `${symbol}() bound as an internal function (it ${effect.what})`);
    }
    return;
  } else {
    if (language === "c") addEscape(statement, "a function in C (its library is loaded)");
    else statement.unseen.push(`${type === "DoStmt" ? "a DO block" : "a function"} in ${language}`);
    return;
  }
  for (const sql of executed) {
    const constant = await constantString(sql);
    if (constant === undefined) statement.unseen.push(`EXECUTE of SQL built at run time ${where}`);
    else texts.push(constant);
  }
  for (const sql of texts) {
    let inner: Statement[];
    try {
      inner = await parseNested(sql, depth + 1);
    } catch {
      statement.unseen.push(`a statement ${where} that does not parse on its own`);
      continue;
    }
    for (const part of inner) {
      for (const escape of part.escapes) addEscape(statement, `${escape} ${where}`);
      statement.sequenceCalls.push(...part.sequenceCalls.map((call) => `${call} ${where}`));
      statement.notUndone.push(...part.notUndone.map((what) => `${what} ${where}`));
      statement.unseen.push(...part.unseen);
      for (const table of part.writes) {
        if (!statement.writes.includes(table)) statement.writes.push(table);
      }
      for (const table of part.reads) {
        if (!statement.reads.includes(table)) statement.reads.push(table);
      }
      for (const call of part.calls) {
        if (!statement.calls.some((c) => c.name === call.name && c.attribute === call.attribute)) {
          statement.calls.push(call);
        }
      }
      // What the code does to the session counts as the statement's own: a pinned setting
      // changed and put back inside one DO block is never reported by the server.
      statement.refusals.push(...part.refusals.map((refusal) => `${refusal} (${where})`));
      statement.pinnedChanges.push(...part.pinnedChanges);
      statement.outlivesTransaction.push(
        ...part.outlivesTransaction.map((o) => ({ ...o, what: `${o.what} ${where}` })),
      );
    }
  }
}

/** Adds an escape to `statement`, and the read-only refusal that goes with it. */
function addEscape(statement: Statement, what: string): void {
  statement.escapes.push(what);
  statement.readOnlyRefusals.push(what);
}

/** The value of a PL/pgSQL expression that is one string constant, else undefined. */
async function constantString(expression: string): Promise<string | undefined> {
  const { parse } = await loadPgParser();
  try {
    const parsed = await parse(`SELECT ${expression}`);
    const targets = parsed.stmts?.length === 1
      ? nodeOf(parsed.stmts[0].stmt, "SelectStmt")?.targetList
      : [];
    if (targets?.length !== 1) return undefined;
    return constantText(nodeOf(targets[0], "ResTarget")?.val);
  } catch {
    return undefined;
  }
}

/** 1-based line of a 0-based character position. */
function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position)).split("\n").length;
}

/** How a run goes: what it may do, and whether it runs in a transaction. */
export interface RunPlan {
  /** read-only unless some statement needs more; then the flag given. */
  mode: "read-only" | "write" | "ddl";
  /** True when the one statement cannot run inside a transaction block. */
  outsideTransaction: boolean;
}

/**
 * `INSERT (public.orders)`: a statement's command and targets, for prompts
 * and errors, with every data change it holds besides its own command
 * (`SELECT (t), with DELETE FROM t`).
 */
export function describeStatement(statement: Statement): string {
  const targets = statement.targets.length ? ` (${statement.targets.join(", ")})` : "";
  const inside = statement.dataChanges.length ? `, with ${statement.dataChanges.join(", ")}` : "";
  return `${statement.command}${targets}${inside}`;
}

/**
 * Refuses (usage error) a number of `--param` values that does not match the
 * highest `$n` the statements use: one value for each, no more, no fewer.
 */
export function checkParamCount(statements: Statement[], given: number): void {
  const maxParam = Math.max(0, ...statements.map((s) => s.maxParam));
  if (given < maxParam) {
    const user = statements.find((s) => s.maxParam > given)!;
    throw new UsageError(
      `Statement ${user.index} uses $${user.maxParam} but ${given} --param ` +
        `value${given === 1 ? " was" : "s were"} given; give one --param for each $n`,
    );
  }
  if (given > maxParam) {
    throw new UsageError(
      `${given} --param values were given but the SQL uses ` +
        `${maxParam ? `only $1..$${maxParam}` : "no $n parameter"}`,
    );
  }
}

/**
 * Decides whether statements may run with the flags given, before anything
 * is sent: each refusal is a usage error naming the statement, what it does
 * and the flag that allows it.
 */
export function planRun(
  statements: Statement[],
  options: { params: number; write: boolean; ddl: boolean },
): RunPlan {
  if (statements.length === 0) throw new UsageError("The SQL holds no statement");
  for (const statement of statements) {
    if (statement.refusals.length) {
      throw new UsageError(
        `Statement ${statement.index}, ${describeStatement(statement)}, is refused: ${
          statement.refusals[0]
        }`,
      );
    }
  }
  checkParamCount(statements, options.params);
  let needed: StatementKind = "read";
  for (const statement of statements) {
    const readOnlyRefusals = [...statement.readOnlyRefusals, ...statement.sequenceCalls];
    const kind = readOnlyRefusals.length && statement.kind === "read" ? "write" : statement.kind;
    if (kind === "ddl" && !options.ddl) {
      throw new UsageError(
        `Statement ${statement.index}, ${describeStatement(statement)}, ${
          readOnlyRefusals.length ? `uses ${readOnlyRefusals[0]}` : "changes structure"
        }: run again with --ddl to allow it (a confirmation follows)`,
      );
    }
    if (kind === "write" && !options.write && !options.ddl) {
      if (statement.escapes.length) {
        throw new UsageError(
          `Statement ${statement.index}, ${describeStatement(statement)}, uses ` +
            `${statement.escapes[0]}, which acts outside the transaction, so a read-only run ` +
            `refuses it: only if the user asked for exactly that, run again with --write (the ` +
            `confirmation names it)`,
        );
      }
      const what = readOnlyRefusals.length
        ? `uses ${readOnlyRefusals[0]}, which a read-only run refuses`
        : "changes data";
      throw new UsageError(
        `Statement ${statement.index}, ${describeStatement(statement)}, ${what}: run again with ` +
          `--write to allow it ` +
          `(a confirmation follows)`,
      );
    }
    if (kind === "ddl" || (kind === "write" && needed === "read")) needed = kind;
  }
  const outside = statements.find((s) => s.outsideTransaction);
  if (outside && statements.length > 1) {
    throw new UsageError(
      `Statement ${outside.index}, ${describeStatement(outside)}, cannot run inside a ` +
        `transaction, so it must be ` +
        `the whole input; run it on its own`,
    );
  }
  return {
    mode: needed === "read" ? "read-only" : options.ddl ? "ddl" : "write",
    outsideTransaction: outside !== undefined,
  };
}

/**
 * `COPY (<query>) TO STDOUT WITH (FORMAT csv, HEADER)` for one plain query,
 * checked by the parser once more: the result must be exactly one COPY of
 * that query, so the wrapping can never change what runs.
 */
export async function copyCsv(statement: Statement): Promise<string> {
  if (!statement.plainQuery) throw new Error(`statement ${statement.index} is not a plain query`);
  // The newline ends a trailing -- comment before the closing parenthesis.
  const copy = `COPY (${statement.text}\n) TO STDOUT WITH (FORMAT csv, HEADER)`;
  const parsed = await parseStatements(copy);
  if (parsed.length !== 1 || parsed[0].command !== "COPY" || parsed[0].kind !== "read") {
    throw new Error(`statement ${statement.index} does not wrap into one COPY`);
  }
  return copy;
}
