/**
 * What a statement changes, read from PostgreSQL's parse tree (never from the
 * text): the tables, columns, indexes, views, functions, types ... it
 * creates, alters, renames or drops, each with the catalog lookup that can
 * confirm it afterwards. Migrations use it for changelog entries, compaction
 * candidates and post-change verification.
 *
 * @module
 */
import { type Node, nodeOf, stringOf, type TypedNode } from "./parse_tree.ts";
import type {
  AlterTableStmt,
  FunctionParameter,
  ObjectWithArgs,
  RangeVar,
  RenameStmt,
  TypeName,
} from "@pgsql/types";

/** What a statement does to an object. */
export type ChangeAction =
  | "create"
  | "alter"
  | "rename"
  | "drop"
  | "comment"
  | "grant"
  | "data";

/** How an object can be looked up in the catalog (sql/migration_verify.sql). */
export type CatalogLookup =
  | "relation"
  | "column"
  | "constraint"
  | "trigger"
  | "policy"
  | "function"
  | "type"
  | "schema"
  | "extension";

/** One object a statement changes. */
export interface ObjectChange {
  /** table, view, materialized view, index, sequence, column, constraint, function, type ... */
  kind: string;
  /** The object's name as written (schema-qualified when the statement qualifies it). */
  name: string;
  /** What the statement does to it. */
  action: ChangeAction;
  /** For a rename or a move to another schema: the name afterwards. */
  newName?: string;
  /** For a rename or a move: the lookup's arguments afterwards. */
  after?: { schema: string | null; object: string; item: string | null };
  /**
   * The table or view it belongs to or is (as written), for what belongs to a
   * relation; what counts when the same relation changes in several files.
   */
  relation?: string;
  /** How to confirm it in the catalog; absent when no lookup applies (comments, grants, data). */
  lookup?: CatalogLookup;
  /** The lookup's arguments: schema (null: search_path), name, and the item within it. */
  schema: string | null;
  /** The lookup's object name (the relation, routine, type ...). */
  object: string;
  /** The column, constraint, trigger or policy within it; a routine's argument types. */
  item: string | null;
}

const RELATION_KINDS: Record<string, string> = {
  OBJECT_TABLE: "table",
  OBJECT_VIEW: "view",
  OBJECT_MATVIEW: "materialized view",
  OBJECT_INDEX: "index",
  OBJECT_SEQUENCE: "sequence",
  OBJECT_FOREIGN_TABLE: "foreign table",
};

const OTHER_KINDS: Record<string, [string, CatalogLookup | undefined]> = {
  OBJECT_FUNCTION: ["function", "function"],
  OBJECT_PROCEDURE: ["procedure", "function"],
  OBJECT_ROUTINE: ["routine", "function"],
  OBJECT_AGGREGATE: ["aggregate", "function"],
  OBJECT_TYPE: ["type", "type"],
  OBJECT_DOMAIN: ["domain", "type"],
  OBJECT_SCHEMA: ["schema", "schema"],
  OBJECT_EXTENSION: ["extension", "extension"],
};

/** The kind and lookup of a non-relation object type (`OBJECT_OPERATOR` -> "operator"). */
function otherKind(objtype: string): [string, CatalogLookup | undefined] {
  return OTHER_KINDS[objtype] ??
    [objtype.replace(/^OBJECT_/, "").replaceAll("_", " ").toLowerCase(), undefined];
}

function strings(items: Node[] | undefined): string[] {
  return (items ?? []).map((item) => stringOf(item) ?? "");
}

/**
 * An identifier (a name part as PostgreSQL's parser resolved it) always
 * double-quoted, so that the server reads it back as it is: to_regprocedure,
 * or a statement the skill writes.
 */
export function quotedIdentifier(part: string): string {
  return `"${part.replaceAll('"', '""')}"`;
}

/**
 * The argument types of a routine as `to_regprocedure` reads them
 * (`"text", "pg_catalog"."int4"[]`), or null when they cannot be said
 * exactly (`%TYPE` references).
 */
function signatureOf(types: TypeName[]): string | null {
  const parts: string[] = [];
  for (const type of types) {
    if (type.pct_type) return null;
    const bounds = type.arrayBounds?.length ?? 0;
    parts.push(strings(type.names).map(quotedIdentifier).join(".") + "[]".repeat(bounds));
  }
  return parts.join(", ");
}

/** The signature an object node names, if it is an ObjectWithArgs (see signatureOfArgs). */
function argumentsOf(object: Node | undefined): string | null {
  return signatureOfArgs(nodeOf(object, "ObjectWithArgs"));
}

/** The signature an ObjectWithArgs names; null for a bare name (`DROP FUNCTION f`). */
function signatureOfArgs(node: ObjectWithArgs | undefined): string | null {
  if (!node || node.args_unspecified === true) return null;
  return signatureOf((node.objargs ?? []).map((arg) => nodeOf(arg, "TypeName") ?? {}));
}

/** The identity arguments of CREATE FUNCTION's parameters (OUT and TABLE ones do not count). */
function parameterSignature(parameters: Node[] | undefined): string | null {
  const identity = (parameters ?? [])
    .map((p): FunctionParameter => nodeOf(p, "FunctionParameter") ?? {})
    .filter((p) => p.mode !== "FUNC_PARAM_OUT" && p.mode !== "FUNC_PARAM_TABLE")
    .map((p) => p.argType ?? {});
  return signatureOf(identity);
}

/** A routine's change with its exact signature, when known, as the item looked up. */
function routineChange(change: ObjectChange, signature: string | null): ObjectChange {
  if (signature === null) return change;
  const shown = `(${signature.replaceAll('"pg_catalog".', "").replace(/"([^"]*)"/g, "$1")})`;
  return {
    ...change,
    name: `${change.name}${shown}`,
    ...(change.newName ? { newName: `${change.newName}${shown}` } : {}),
    ...(change.after ? { after: { ...change.after, item: signature } } : {}),
    item: signature,
  };
}

const ROUTINE_TYPES = new Set([
  "OBJECT_FUNCTION",
  "OBJECT_PROCEDURE",
  "OBJECT_ROUTINE",
  "OBJECT_AGGREGATE",
]);

/** [schema, name] of a RangeVar. */
function rangeVar(node: RangeVar | undefined): [string | null, string] {
  const r = node ?? {};
  return [typeof r.schemaname === "string" ? r.schemaname : null, r.relname ?? ""];
}

/** [schema, name] of a qualified name list (`app.orders` -> ["app", "orders"]). */
function qualified(parts: string[]): [string | null, string] {
  return parts.length > 1 ? [parts.at(-2)!, parts.at(-1)!] : [null, parts[0] ?? ""];
}

function display(schema: string | null, name: string): string {
  return schema ? `${schema}.${name}` : name;
}

function relationChange(
  kind: string,
  [schema, name]: [string | null, string],
  action: ChangeAction,
  renamed?: [string | null, string],
): ObjectChange {
  const shown = display(schema, name);
  return {
    kind,
    name: shown,
    action,
    ...(renamed
      ? {
        newName: display(...renamed),
        after: { schema: renamed[0], object: renamed[1], item: null },
      }
      : {}),
    relation: shown,
    lookup: "relation",
    schema,
    object: name,
    item: null,
  };
}

/** A column, constraint, trigger or policy of a relation. */
function itemChange(
  kind: "column" | "constraint" | "trigger" | "policy",
  relation: [string | null, string],
  item: string,
  action: ChangeAction,
  newItem?: string,
): ObjectChange {
  const table = display(...relation);
  return {
    kind,
    name: `${table}.${item}`,
    action,
    ...(newItem !== undefined
      ? {
        newName: `${table}.${newItem}`,
        after: { schema: relation[0], object: relation[1], item: newItem },
      }
      : {}),
    relation: table,
    lookup: kind,
    schema: relation[0],
    object: relation[1],
    item,
  };
}

function otherChange(
  kind: string,
  lookup: CatalogLookup | undefined,
  [schema, name]: [string | null, string],
  action: ChangeAction,
  renamed?: [string | null, string],
): ObjectChange {
  return {
    kind,
    name: display(schema, name),
    action,
    ...(renamed
      ? {
        newName: display(...renamed),
        after: { schema: renamed[0], object: renamed[1], item: null },
      }
      : {}),
    lookup,
    schema,
    object: name,
    item: null,
  };
}

/** The [schema, name] an object node of DROP, COMMENT or RENAME names. */
function objectName(object: Node | undefined): [string | null, string] {
  const list = nodeOf(object, "List");
  if (list) return qualified(strings(list.items));
  const string = nodeOf(object, "String");
  if (string) return [null, string.sval ?? ""];
  const withArgs = nodeOf(object, "ObjectWithArgs");
  if (withArgs) return qualified(strings(withArgs.objname));
  const typeName = nodeOf(object, "TypeName");
  if (typeName) return qualified(strings(typeName.names));
  return [null, ""];
}

/** Objects of a DROP or COMMENT of type `objtype`. */
function objectChanges(
  objtype: string,
  object: Node | undefined,
  action: ChangeAction,
): ObjectChange[] {
  const name = objectName(object);
  if (RELATION_KINDS[objtype]) return [relationChange(RELATION_KINDS[objtype], name, action)];
  if (objtype === "OBJECT_COLUMN" || objtype === "OBJECT_TRIGGER" || objtype === "OBJECT_POLICY") {
    const parts = strings(nodeOf(object, "List")?.items);
    const kind = objtype === "OBJECT_COLUMN"
      ? "column"
      : objtype === "OBJECT_TRIGGER"
      ? "trigger"
      : "policy";
    return [itemChange(kind, qualified(parts.slice(0, -1)), parts.at(-1) ?? "", action)];
  }
  const [kind, lookup] = otherKind(objtype);
  const change = otherChange(kind, lookup, name, action);
  return [ROUTINE_TYPES.has(objtype) ? routineChange(change, argumentsOf(object)) : change];
}

function alterTableChanges(node: AlterTableStmt): ObjectChange[] {
  const relation = rangeVar(node.relation);
  // ALTER TYPE ... ADD ATTRIBUTE is an ALTER TABLE of the composite type's relation.
  const kind = node.objtype === "OBJECT_TYPE"
    ? "type"
    : RELATION_KINDS[String(node.objtype)] ?? "table";
  const changes = [relationChange(kind, relation, "alter")];
  for (const entry of node.cmds ?? []) {
    const cmd = nodeOf(entry, "AlterTableCmd") ?? {};
    const subtype = cmd.subtype ?? "";
    if (subtype === "AT_AddColumn") {
      const column = nodeOf(cmd.def, "ColumnDef")?.colname ?? "";
      changes.push(itemChange("column", relation, column, "create"));
    } else if (subtype === "AT_DropColumn") {
      changes.push(itemChange("column", relation, cmd.name ?? "", "drop"));
    } else if (subtype === "AT_AddConstraint") {
      const name = nodeOf(cmd.def, "Constraint")?.conname;
      if (typeof name === "string") {
        changes.push(itemChange("constraint", relation, name, "create"));
      }
    } else if (subtype === "AT_DropConstraint") {
      changes.push(itemChange("constraint", relation, cmd.name ?? "", "drop"));
    } else if (typeof cmd.name === "string" && /Column|NotNull|Default|Identity/.test(subtype)) {
      changes.push(itemChange("column", relation, cmd.name, "alter"));
    }
  }
  return changes;
}

function renameChanges(node: RenameStmt): ObjectChange[] {
  const type = node.renameType ?? "";
  const newName = node.newname ?? "";
  if (RELATION_KINDS[type]) {
    const relation = rangeVar(node.relation);
    return [relationChange(RELATION_KINDS[type], relation, "rename", [relation[0], newName])];
  }
  const relation = rangeVar(node.relation);
  const subname = node.subname ?? "";
  switch (type) {
    case "OBJECT_COLUMN":
      return [itemChange("column", relation, subname, "rename", newName)];
    case "OBJECT_TABCONSTRAINT":
      return [itemChange("constraint", relation, subname, "rename", newName)];
    case "OBJECT_TRIGGER":
      return [itemChange("trigger", relation, subname, "rename", newName)];
    case "OBJECT_POLICY":
      return [itemChange("policy", relation, subname, "rename", newName)];
    case "OBJECT_SCHEMA":
      return [otherChange("schema", "schema", [null, subname], "rename", [null, newName])];
  }
  const [kind, lookup] = otherKind(type);
  const name = objectName(node.object);
  const change = otherChange(kind, lookup, name, "rename", [name[0], newName]);
  return [ROUTINE_TYPES.has(type) ? routineChange(change, argumentsOf(node.object)) : change];
}

/**
 * The objects one statement (its parse tree's top node, with its type)
 * changes, in the order it names them. A statement that only reads changes
 * nothing; a structure change the list does not know is reported by its
 * command with the first relation it names, without a lookup.
 */
export function changedObjects({ type, node }: TypedNode): ObjectChange[] {
  switch (type) {
    case "CreateStmt":
      return [relationChange("table", rangeVar(node.relation), "create")];
    case "CreateForeignTableStmt":
      return [
        relationChange("foreign table", rangeVar(node.base?.relation), "create"),
      ];
    case "CreateTableAsStmt": {
      const kind = node.objtype === "OBJECT_MATVIEW" ? "materialized view" : "table";
      return [relationChange(kind, rangeVar(node.into?.rel), "create")];
    }
    case "ViewStmt":
      return [relationChange("view", rangeVar(node.view), node.replace ? "alter" : "create")];
    case "IndexStmt": {
      const table = rangeVar(node.relation);
      if (typeof node.idxname !== "string") {
        return [relationChange("table", table, "alter")];
      }
      // An index lives in its table's schema.
      const index = relationChange("index", [table[0], node.idxname], "create");
      return [{ ...index, relation: display(...table) }];
    }
    case "CreateSeqStmt":
      return [relationChange("sequence", rangeVar(node.sequence), "create")];
    case "AlterSeqStmt":
      return [relationChange("sequence", rangeVar(node.sequence), "alter")];
    case "AlterTableStmt":
      return alterTableChanges(node);
    case "RenameStmt":
      return renameChanges(node);
    case "AlterObjectSchemaStmt": {
      const type = node.objectType ?? "";
      const newSchema = node.newschema ?? "";
      if (RELATION_KINDS[type]) {
        const relation = rangeVar(node.relation);
        return [relationChange(RELATION_KINDS[type], relation, "rename", [newSchema, relation[1]])];
      }
      const [kind, lookup] = otherKind(type);
      const name = objectName(node.object);
      const change = otherChange(kind, lookup, name, "rename", [newSchema, name[1]]);
      return [ROUTINE_TYPES.has(type) ? routineChange(change, argumentsOf(node.object)) : change];
    }
    case "DropStmt":
      return (node.objects ?? []).flatMap((object) =>
        objectChanges(node.removeType ?? "", object, "drop")
      );
    case "CommentStmt":
      return objectChanges(node.objtype ?? "", node.object, "comment")
        .map((change) => ({ ...change, lookup: undefined }));
    case "CreateFunctionStmt":
      return [
        routineChange(
          otherChange(
            node.is_procedure ? "procedure" : "function",
            "function",
            qualified(strings(node.funcname)),
            node.replace ? "alter" : "create",
          ),
          parameterSignature(node.parameters),
        ),
      ];
    case "AlterFunctionStmt":
      return [
        routineChange(
          otherChange(
            "function",
            "function",
            qualified(strings(node.func?.objname)),
            "alter",
          ),
          signatureOfArgs(node.func),
        ),
      ];
    case "CreateEnumStmt":
    case "CompositeTypeStmt":
    case "CreateRangeStmt": {
      const name = type === "CompositeTypeStmt"
        ? rangeVar(node.typevar)
        : qualified(strings(node.typeName));
      return [otherChange("type", "type", name, "create")];
    }
    case "AlterEnumStmt":
      return [otherChange("type", "type", qualified(strings(node.typeName)), "alter")];
    case "CreateDomainStmt":
      return [otherChange("domain", "type", qualified(strings(node.domainname)), "create")];
    case "AlterDomainStmt":
      return [otherChange("domain", "type", qualified(strings(node.typeName)), "alter")];
    case "CreateSchemaStmt":
      return [otherChange("schema", "schema", [null, node.schemaname ?? ""], "create")];
    case "CreateExtensionStmt":
      return [otherChange("extension", "extension", [null, node.extname ?? ""], "create")];
    case "AlterExtensionStmt":
      return [otherChange("extension", "extension", [null, node.extname ?? ""], "alter")];
    case "CreateTrigStmt":
      return [itemChange("trigger", rangeVar(node.relation), node.trigname ?? "", "create")];
    case "CreatePolicyStmt":
    case "AlterPolicyStmt":
      return [
        itemChange(
          "policy",
          rangeVar(node.table),
          node.policy_name ?? "",
          type === "CreatePolicyStmt" ? "create" : "alter",
        ),
      ];
    case "GrantStmt":
      return (node.objects ?? []).map((object) => {
        const range = nodeOf(object, "RangeVar");
        const name = range ? rangeVar(range) : objectName(object);
        if (node.targtype === "ACL_TARGET_ALL_IN_SCHEMA") {
          // GRANT ... ON ALL TABLES IN SCHEMA app: the objects are schemas.
          const what = `${otherKind(String(node.objtype))[0]}s`.replace(/ys$/, "ies");
          return otherChange(
            "privileges",
            undefined,
            [null, `all ${what} in schema ${name[1]}`],
            "grant",
          );
        }
        return otherChange("privileges", undefined, name, "grant");
      });
    case "SelectStmt": {
      // SELECT ... INTO creates a table.
      const into = node.intoClause;
      return into ? [relationChange("table", rangeVar(into.rel), "create")] : [];
    }
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt": {
      const table = rangeVar(node.relation);
      return [{ ...otherChange("rows", undefined, table, "data"), relation: display(...table) }];
    }
    case "TruncateStmt":
      return (node.relations ?? []).map((r) => {
        const table = rangeVar(nodeOf(r, "RangeVar"));
        return { ...otherChange("rows", undefined, table, "data"), relation: display(...table) };
      });
    case "RefreshMatViewStmt":
      return [relationChange("materialized view", rangeVar(node.relation), "data")];
    default:
      return [];
  }
}
