/**
 * The DDL that makes one database's schema match another's: the policy of
 * `schema_diff.ts --sql` around @supabase/pg-delta, which reads both
 * catalogs into facts and plans the ordered statements (see the README for
 * why it was chosen). What is ours: both sides read through the skill's own
 * sessions; owners as pg_dump -O has them (what the applying role makes is
 * its own); drops of what holds data held back unless asked for; a
 * constraint added to a table in use added NOT VALID and then validated, an
 * index on one built CONCURRENTLY; a type change without an assignment cast,
 * a rename seen as a drop and an add, and each hazard of the migration
 * checks said in a comment on the statement.
 *
 * @module
 */
import {
  type Action,
  buildFactBase,
  type DependencyEdge,
  type Diagnostic,
  encodeId,
  extract,
  type Fact,
  type FactBase,
  plan,
  type RenameCandidate,
  type StableId,
} from "@supabase/pg-delta";
import type { LentPool, PgSession } from "../connection/session.ts";
import { EXIT_USAGE, SkillError } from "../core/errors.ts";
import { loadSql } from "../sql/sql_files.ts";
import { loadPgParser } from "../sql/parser.ts";
import { quotedIdentifier } from "../sql/ddl_objects.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";
import { type Hazard, isAloneStep, migrationHazards } from "./hazards.ts";
import {
  measureTables,
  type MigrationStatement,
  type TableReport,
  tableReportText,
} from "./run.ts";
import type { ConnectionTarget } from "../connection/target.ts";

/** One statement of the migration, with what it is for and what to know before running it. */
export interface DdlStatement {
  /** The statement, without its semicolon. */
  sql: string;
  /** The objects it makes, changes or drops, as pg-delta names them (`table:public.film`). */
  objects: string[];
  /** What it does to them. */
  verb: "create" | "alter" | "drop";
  /** Why it is written commented out (null: it runs). */
  held: string | null;
  /** What to check first: a type change's USING, a rename seen as drop and add, an enum value. */
  notes: string[];
  /** The hazards the migration checks find in it (rule: effect; safe form). */
  hazards: string[];
}

/** The migration from B to A. */
export interface SchemaMigration {
  /** In the order the server accepts them. */
  statements: DdlStatement[];
  /** What could not be written, or only in part: roles missing on B, kinds not modeled. */
  notes: string[];
}

/** How to plan. */
export interface SchemaMigrationOptions {
  /** Write drops of what holds data as statements, not comments. */
  allowDrops?: boolean;
  /** Write comments on objects too (default true); false leaves COMMENT ON statements out. */
  comments?: boolean;
}

/** A side as read: its facts, the role it connects as and the roles its server has. */
interface Side {
  facts: FactBase;
  major: number;
  user: string;
  roles: Set<string>;
  diagnostics: Diagnostic[];
}

async function readSide(session: PgSession, side: "A" | "B"): Promise<Side> {
  const who = (await session.query(await loadSql("schema_ddl_roles"))).rows[0];
  const major = Number((session.parameters.get("server_version") ?? "").split(".")[0]);
  try {
    // deno-lint-ignore no-explicit-any
    const { factBase, diagnostics } = await extract(readerFor(session, major) as any);
    return {
      facts: factBase,
      major,
      user: String(who.user),
      roles: new Set((who.roles as string[] | null) ?? []),
      diagnostics,
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SkillError(
      `Could not read ${side}'s catalog: ${(error as Error).message}` +
        (typeof code === "string" ? ` (SQLSTATE ${code})` : "") +
        `; the role needs to read pg_catalog (it does by default)`,
      EXIT_USAGE,
    );
  }
}

/**
 * pg-delta reads PostgreSQL 14 and later. On 13, the two columns of
 * pg_subscription it asks for that 13 lacks (binary and streaming, options
 * 13 does not have) are read as null: nothing else of its catalog reads
 * differs (tested on 13).
 */
function readerFor(session: PgSession, major: number): LentPool {
  const pool = session.lentPool();
  if (major !== 13) return pool;
  return {
    ...pool,
    async connect() {
      const client = await pool.connect();
      return {
        ...client,
        query: (text: string, values?: unknown[]) =>
          client.query(
            text.replace("s.subbinary AS binary", "NULL::boolean AS binary")
              .replace("CASE WHEN s.substream THEN 'on' ELSE 'off' END", "NULL::text"),
            values,
          ),
      };
    },
  };
}

/** Kinds whose drop loses what they hold: rows, a sequence's position, values of a type. */
const HOLDS_DATA = new Set([
  "table",
  "column",
  "type",
  "domain",
  "sequence",
  "schema",
  "extension",
]);

/**
 * A's facts as B's applying role would make them: what A's role owns (and
 * the privileges it holds as owner) becomes B's role's, as pg_dump -O makes
 * a restore owned by whoever runs it. An owner or a grantee that B's server
 * lacks cannot be written; each is said.
 */
function asAppliedOnB(desired: Side, current: Side, notes: string[]): FactBase {
  const missing = new Set<string>();
  const role = (name: string) => name === desired.user ? current.user : name;
  const facts: Fact[] = [];
  for (const fact of desired.facts.facts()) {
    const id = fact.id as StableId & { grantee?: string };
    if (id.kind === "acl" && typeof id.grantee === "string" && id.grantee !== "PUBLIC") {
      const grantee = role(id.grantee);
      if (!current.roles.has(grantee)) {
        missing.add(grantee);
        continue;
      }
      facts.push({ ...fact, id: { ...id, grantee } as StableId });
      continue;
    }
    if (id.kind === "role") continue;
    facts.push(fact);
  }
  for (const fact of current.facts.facts()) {
    if (fact.id.kind === "role") facts.push(fact); // the roles that exist where it applies
  }
  const edges: DependencyEdge[] = [];
  for (const edge of desired.facts.edges) {
    if (edge.kind !== "owner" || edge.to.kind !== "role") {
      edges.push(edge);
      continue;
    }
    const name = role(String((edge.to as { name: string }).name));
    if (!current.roles.has(name)) missing.add(name);
    const owner = current.roles.has(name) ? name : current.user;
    edges.push({ ...edge, to: { kind: "role", name: owner } as StableId });
  }
  for (const name of [...missing].sort()) {
    notes.push(
      `role "${name}" is not on B's server: its grants are left out and what it owns is ` +
        `made by ${current.user}; roles belong to the server, create it there first`,
    );
  }
  return buildFactBase(facts, edges, desired.facts.source);
}

/**
 * The statements that make B's schema match A's. Reads both catalogs (each
 * in one read-only transaction of its session) and plans; `current` is B,
 * `desired` A. Nothing is sent to B but reads.
 */
export async function schemaMigration(
  sessions: { current: PgSession; desired: PgSession },
  options: SchemaMigrationOptions = {},
): Promise<SchemaMigration> {
  const [current, desired] = await Promise.all([
    readSide(sessions.current, "B"),
    readSide(sessions.desired, "A"),
  ]);
  const notes: string[] = [];
  for (const [side, diagnostics] of [["A", desired.diagnostics], ["B", current.diagnostics]]) {
    for (const d of diagnostics as Diagnostic[]) {
      if (d.code === "unmodeled_kind") notes.push(`not compared on ${side}: ${d.message}`);
    }
  }
  const wanted = asAppliedOnB(desired, current, notes);
  // A table that only becomes or stops being a partition is attached or detached, with its
  // rows: pg-delta would drop and make it again. Planned as if done, then said first or last.
  const relinks = partitionRelinks(current.facts, wanted);
  const planned = plan(relinked(current.facts, relinks), wanted, {
    scope: "database",
    assumedRoles: [...current.roles],
    renames: "prompt",
  });
  await parseAll(planned.actions.map((action) => action.sql));
  const actions: Action[] = [];
  for (const action of planned.actions) {
    // What the applying role makes is its own: no OWNER TO it (pg_dump -O's restore).
    if (await ownedByApplier(action.sql, current.user)) continue;
    const subjects = [...action.produces, ...action.destroys];
    const onlyComments = subjects.length > 0 && subjects.every((id) => id.kind === "comment");
    if (options.comments === false && onlyComments) continue;
    actions.push(action);
  }
  const statements = [
    ...relinks.filter((r) => r.detach).map(detachStatement),
    ...(await foldLateColumns(actions, desired.facts)).map((action) =>
      ddlStatement(action, options)
    ),
    ...relinks.filter((r) => r.attach).map(attachStatement),
  ];
  holdWhatNeedsHeldDrops(statements);
  flagRenames(statements, likelyRenames(planned.renameCandidates, current.facts, desired.facts));
  await flagTypeChanges(statements, { current, desired, session: sessions.current });
  await useSaferForms(statements, current.facts);
  await addHazards(statements, current.major);
  return { statements, notes };
}

/** Where a table is a partition: its parent and bound (pg_get_expr of relpartbound). */
interface PartitionLink {
  parent: { schema: string; name: string };
  bound: string;
}

/** A table of both sides whose partition link differs, and nothing else of its own. */
interface Relink {
  table: { schema: string; name: string };
  /** B's link, to undo first. */
  detach?: PartitionLink;
  /** A's link, to make last. */
  attach?: PartitionLink;
}

function partitionLink(fact: Fact | undefined): PartitionLink | undefined {
  const payload = fact?.payload as { partitionBound?: unknown; parentTable?: unknown } | undefined;
  const parent = payload?.parentTable as { schema?: string; name?: string } | null | undefined;
  if (typeof payload?.partitionBound !== "string" || !parent?.schema || !parent.name) {
    return undefined;
  }
  return { parent: { schema: parent.schema, name: parent.name }, bound: payload.partitionBound };
}

function withoutLink(payload: unknown): string {
  const { partitionBound: _b, parentTable: _p, ...rest } = payload as Record<string, unknown>;
  return JSON.stringify(rest);
}

function partitionRelinks(current: FactBase, desired: FactBase): Relink[] {
  const relinks: Relink[] = [];
  for (const fact of desired.facts()) {
    if (fact.id.kind !== "table") continue;
    const before = current.get(fact.id);
    if (!before || withoutLink(before.payload) !== withoutLink(fact.payload)) continue;
    const was = partitionLink(before);
    const will = partitionLink(fact);
    if (JSON.stringify(was) === JSON.stringify(will)) continue;
    // Attached only to a parent B has: one the migration makes is made with its partitions.
    if (will && !current.get({ kind: "table", ...will.parent } as StableId)) continue;
    const { schema, name } = fact.id as StableId & { schema: string; name: string };
    relinks.push({ table: { schema, name }, detach: was, attach: will });
  }
  return relinks;
}

/** `current` as it is once each relink is made: the tables linked as A links them. */
function relinked(current: FactBase, relinks: Relink[]): FactBase {
  if (relinks.length === 0) return current;
  // A partition's columns are its parent's (pg-delta keeps them on the parent alone): detached,
  // the table has them as its own; attached, its own become the parent's.
  const columns = (fact: Fact) => fact.id.kind === "column";
  const relinkedTable = (fact: Fact) => {
    const id = fact.id as StableId & { schema?: string; table?: string };
    return relinks.find((r) => r.table.schema === id.schema && r.table.name === id.table);
  };
  const inherited: Fact[] = [];
  for (const relink of relinks) {
    if (!relink.detach) continue;
    const parent = current.get({ kind: "table", ...relink.detach.parent } as StableId);
    if (!parent) continue;
    const own = { kind: "table", ...relink.table } as StableId;
    for (const child of current.childrenOf(parent.id).filter(columns)) {
      inherited.push({
        ...child,
        id: { ...child.id, table: relink.table.name } as StableId,
        parent: own,
      });
    }
  }
  const kept = current.facts().filter((fact) => !(columns(fact) && relinkedTable(fact)));
  const facts = [...kept, ...inherited].map((fact) => {
    const relink = fact.id.kind === "table" &&
      relinks.find((r) => encodeId(fact.id) === tableId(r.table.schema, r.table.name));
    if (!relink) return fact;
    return {
      ...fact,
      payload: {
        ...fact.payload as Record<string, unknown>,
        partitionBound: relink.attach?.bound ?? null,
        parentTable: relink.attach?.parent ?? null,
      },
    } as Fact;
  });
  return buildFactBase(facts, [...current.edges], current.source);
}

function tableId(schema: string, name: string): string {
  return encodeId({ kind: "table", schema, name } as StableId);
}

function qualified(table: { schema: string; name: string }): string {
  return `${quotedIdentifier(table.schema)}.${quotedIdentifier(table.name)}`;
}

function detachStatement(relink: Relink): DdlStatement {
  return {
    sql: `ALTER TABLE ${qualified(relink.detach!.parent)} DETACH PARTITION ${
      qualified(relink.table)
    }`,
    objects: [tableId(relink.table.schema, relink.table.name)],
    verb: "alter",
    held: null,
    notes: [],
    hazards: [],
  };
}

function attachStatement(relink: Relink): DdlStatement {
  return {
    sql: `ALTER TABLE ${qualified(relink.attach!.parent)} ATTACH PARTITION ${
      qualified(relink.table)
    } ${relink.attach!.bound}`,
    objects: [tableId(relink.table.schema, relink.table.name)],
    verb: "alter",
    held: null,
    notes: [],
    hazards: [],
  };
}

/**
 * A new table's columns in A's order. pg-delta makes a table before the
 * types and domains it makes, so a column of a new type is added by an ALTER
 * after them, last: each is folded back into its CREATE TABLE at its place,
 * the CREATE moved down to where the column was added, when nothing between
 * uses the table.
 */
async function foldLateColumns(actions: Action[], desired: FactBase): Promise<Action[]> {
  const list = [...actions];
  for (let q = 0; q < list.length; q++) {
    const add = list[q];
    const column = add.produces.find((id) => id.kind === "column") as
      | (StableId & { schema: string; table: string })
      | undefined;
    if (add.verb !== "create" || !column) continue;
    const table = encodeId(
      { kind: "table", schema: column.schema, name: column.table } as StableId,
    );
    const p = list.findIndex((a, i) =>
      i < q && a.verb === "create" && a.produces.some((id) => encodeId(id) === table)
    );
    if (p < 0) continue;
    const made = new Set(list[p].produces.map(encodeId));
    if (list.slice(p + 1, q).some((a) => a.consumes.some((id) => made.has(encodeId(id))))) continue;
    const merged = await withColumn(list[p].sql, add.sql, (name) => {
      const id = { kind: "column", schema: column.schema, table: column.table, name };
      const payload = desired.get(id as StableId)?.payload as { _position?: number } | undefined;
      return payload?._position;
    });
    if (!merged) continue;
    const create: Action = {
      ...list[p],
      sql: merged,
      produces: [...list[p].produces, ...add.produces],
      consumes: [...list[p].consumes, ...add.consumes.filter((id) => !made.has(encodeId(id)))],
    };
    list.splice(q, 1, create);
    list.splice(p, 1);
    q--;
  }
  return list;
}

/**
 * `create` (a CREATE TABLE) with the column that `add` (ALTER TABLE ... ADD
 * COLUMN) adds, before the first column that comes after it in A (or the
 * first table constraint, or at the end of the list); undefined when either
 * is not of that form. Edited at the parser's offsets and parsed again.
 */
async function withColumn(
  create: string,
  add: string,
  position: (column: string) => number | undefined,
): Promise<string | undefined> {
  const createSql = stripSemicolons(create);
  const addSql = stripSemicolons(add);
  // Parsed alone: the offsets used here are the statement's own (a batch's are the batch's).
  const createTree = await freshTree(createSql);
  const addTree = await freshTree(addSql);
  if (createTree?.type !== "CreateStmt" || addTree?.type !== "AlterTableStmt") return undefined;
  const cmds = (addTree.node.cmds ?? []) as {
    AlterTableCmd?: {
      subtype?: string;
      def?: { ColumnDef?: { colname?: string; location?: number } };
    };
  }[];
  const def = cmds.length === 1 && cmds[0].AlterTableCmd?.subtype === "AT_AddColumn"
    ? cmds[0].AlterTableCmd.def?.ColumnDef
    : undefined;
  if (!def?.colname || def.location === undefined) return undefined;
  const bytes = new TextEncoder().encode(addSql);
  const columnText = new TextDecoder().decode(bytes.slice(def.location));
  const mine = position(def.colname);
  const elements = (createTree.node.tableElts ?? []) as {
    ColumnDef?: { colname?: string; location?: number };
    Constraint?: { location?: number };
  }[];
  const createBytes = new TextEncoder().encode(createSql);
  let at: number | undefined;
  let text = `${columnText}, `;
  for (const element of elements) {
    const theirs = element.ColumnDef?.colname ? position(element.ColumnDef.colname) : undefined;
    const before = element.Constraint !== undefined ||
      (mine !== undefined && theirs !== undefined && theirs > mine);
    if (before) {
      at = element.ColumnDef?.location ?? element.Constraint?.location;
      break;
    }
  }
  if (at === undefined) {
    // At the end of the element list: before the parenthesis that closes it.
    const parser = await loadPgParser();
    let depth = 0;
    for (const token of (await parser.scan(createSql)).tokens) {
      if (token.text === "(") depth++;
      if (token.text === ")" && --depth === 0) {
        at = new TextEncoder().encode(createSql.slice(0, token.start)).length;
        break;
      }
    }
    text = elements.length ? `, ${columnText}` : columnText;
  }
  if (at === undefined) return undefined;
  const merged = new TextDecoder().decode(createBytes.slice(0, at)) + text +
    new TextDecoder().decode(createBytes.slice(at));
  const again = await freshTree(merged);
  if (again?.type !== "CreateStmt") return undefined;
  return ((again.node.tableElts ?? []) as unknown[]).length === elements.length + 1
    ? merged
    : undefined;
}

/** True for an ALTER ... OWNER TO `role`. */
async function ownedByApplier(sql: string, role: string): Promise<boolean> {
  const tree = await singleTree(stripSemicolons(sql));
  if (!tree) return false;
  const owner = (spec: unknown) => (spec as { rolename?: string } | undefined)?.rolename;
  if (tree.type === "AlterOwnerStmt") return owner(tree.node.newowner) === role;
  if (tree.type !== "AlterTableStmt") return false;
  const cmds = (tree.node.cmds ?? []) as {
    AlterTableCmd?: { subtype?: string; newowner?: unknown };
  }[];
  return cmds.length > 0 &&
    cmds.every((c) =>
      c.AlterTableCmd?.subtype === "AT_ChangeOwner" && owner(c.AlterTableCmd.newowner) === role
    );
}

/**
 * The rename candidates worth saying: pg-delta's exact ones, and of its near
 * misses (same own definition, children that differ), for each dropped
 * object the added one that shares the most child names, when it shares at
 * least half of them.
 */
function likelyRenames(
  candidates: RenameCandidate[],
  current: FactBase,
  desired: FactBase,
): RenameCandidate[] {
  const childNames = (facts: FactBase, id: StableId) =>
    new Set(facts.childrenOf(id).map((c) => String((c.id as { name?: string }).name)));
  const best = new Map<string, { candidate: RenameCandidate; shared: number }>();
  const kept: RenameCandidate[] = [];
  for (const candidate of candidates) {
    if (candidate.status !== "nearMiss") {
      kept.push(candidate);
      continue;
    }
    const from = childNames(current, candidate.from);
    const to = childNames(desired, candidate.to);
    const shared = [...from].filter((name) => to.has(name)).length;
    if (shared * 2 < Math.max(from.size, 1)) continue;
    const key = encodeId(candidate.from);
    if ((best.get(key)?.shared ?? -1) < shared) best.set(key, { candidate, shared });
  }
  return [...kept, ...[...best.values()].map((b) => b.candidate)];
}

/**
 * The ids an action names without those inside another it names: a table,
 * not its columns, defaults, constraints, grants and comments.
 */
function topLevel(ids: StableId[]): string[] {
  const encoded = new Set(ids.map(encodeId));
  const inside = (id: StableId) => {
    const fields = id as StableId & { schema?: string; table?: string; target?: StableId };
    if (fields.target && encoded.has(encodeId(fields.target))) return true;
    if (typeof fields.table === "string") {
      return [...encoded].some((e) => e.endsWith(`:${fields.schema}.${fields.table}`));
    }
    return false;
  };
  return [...new Set(ids.filter((id) => !inside(id)).map(encodeId))];
}

function stripSemicolons(sql: string): string {
  return sql.trim().replace(/[;\s]+$/, "");
}

function ddlStatement(action: Action, options: SchemaMigrationOptions): DdlStatement {
  const ids = [...action.produces, ...action.destroys, ...action.releases];
  const objects = topLevel(ids.length ? ids : action.consumes.slice(0, 1));
  const notes: string[] = [];
  let held: string | null = null;
  // A materialized view holds only what its query makes again (REFRESH): not held back.
  const dropsData = action.verb === "drop" &&
    (action.destroys.some((id) => HOLDS_DATA.has(id.kind)) ||
      (action.dataLoss === "destructive" && action.destroys[0]?.kind !== "materializedView"));
  if (dropsData && !options.allowDrops) {
    held = `drops ${objects.join(", ")} and what it holds: run with --allow-drops to write it`;
  }
  // ALTER TYPE ... ADD VALUE (commitBoundaryAfter) is the enum-add-value hazard's to say.
  if (action.transactionality === "nonTransactional") {
    notes.push("runs only outside a transaction block");
  }
  return {
    sql: stripSemicolons(action.sql),
    objects,
    verb: action.verb,
    held,
    notes,
    hazards: [],
  };
}

/**
 * An object dropped and made again (a change the DDL cannot make in place)
 * whose drop is held back: its new making is held back too, since it would
 * fail on the object still there.
 */
function holdWhatNeedsHeldDrops(statements: DdlStatement[]): void {
  const heldDrops = new Set<string>();
  for (const statement of statements) {
    if (statement.held) {
      for (const object of statement.objects) heldDrops.add(object);
    } else if (statement.objects.some((o) => heldDrops.has(o))) {
      statement.held = `makes again what a held-back drop above drops: write both with ` +
        `--allow-drops (what it holds is lost), or change it in place by hand`;
    }
  }
}

/** pg-delta's rename candidates, said on the drop and the add they were written as. */
function flagRenames(statements: DdlStatement[], candidates: RenameCandidate[]): void {
  for (const candidate of candidates) {
    const from = encodeId(candidate.from);
    const to = encodeId(candidate.to);
    const note = `${from} and ${to} look like one object renamed: written as a drop and an ` +
      `add, which loses what it holds; if it is a rename, write ALTER ... RENAME instead`;
    for (const statement of statements) {
      if (statement.objects.includes(from) || statement.objects.includes(to)) {
        statement.notes.push(note);
      }
    }
  }
}

/** A column's type on a side, from its facts. */
function columnType(side: Side, id: string): string | undefined {
  const payload = side.facts.getByEncoded(id)?.payload as { type?: unknown } | undefined;
  return typeof payload?.type === "string" ? payload.type : undefined;
}

/**
 * Each ALTER COLUMN ... TYPE whose old type has no assignment cast to the new
 * one: the USING written decides what every stored value becomes, said.
 */
async function flagTypeChanges(
  statements: DdlStatement[],
  sides: { current: Side; desired: Side; session: PgSession },
): Promise<void> {
  const changes: { statement: DdlStatement; id: string; from: string; to: string }[] = [];
  for (const statement of statements) {
    if (statement.verb !== "alter") continue;
    const tree = await singleTree(statement.sql);
    if (tree?.type !== "AlterTableStmt") continue;
    for (
      const cmd of (tree.node.cmds ?? []) as {
        AlterTableCmd?: { subtype?: string; name?: string };
      }[]
    ) {
      if (cmd.AlterTableCmd?.subtype !== "AT_AlterColumnType") continue;
      const id = statement.objects.find((o) => o.startsWith("column:")) ??
        columnIdOf(tree.node, cmd.AlterTableCmd);
      if (!id) continue;
      const from = columnType(sides.current, id);
      const to = columnType(sides.desired, id);
      if (from && to && from !== to) changes.push({ statement, id, from, to });
    }
  }
  if (changes.length === 0) return;
  const { rows } = await sides.session.query(await loadSql("schema_ddl_casts"), [
    changes.map((c) => c.from),
    changes.map((c) => c.to),
  ]);
  changes.forEach((change, i) => {
    if (rows[i]?.converts === true) return;
    change.statement.notes.push(
      `${change.id} changes type from ${change.from} to ${change.to}, which has no ` +
        `assignment cast: the USING written casts each stored value and fails on one that ` +
        `does not convert; check that it keeps the meaning, or write the USING yourself`,
    );
  });
}

function columnIdOf(
  node: { relation?: { schemaname?: string; relname?: string } },
  cmd: { name?: string },
): string | undefined {
  const relation = node.relation;
  if (!relation?.relname || !cmd.name) return undefined;
  return encodeId(
    {
      kind: "column",
      schema: relation.schemaname ?? "public",
      table: relation.relname,
      name: cmd.name,
    } as StableId,
  );
}

/** Statements parsed so far, by their text: each is read once however many passes look at it. */
const parsedTexts = new Map<string, Statement | undefined>();

/** `sql` parsed, when it is one statement. */
async function parsedOne(sql: string): Promise<Statement | undefined> {
  if (!parsedTexts.has(sql)) {
    const parsed = await parseStatements(sql, { tree: true });
    parsedTexts.set(sql, parsed.length === 1 ? parsed[0] : undefined);
  }
  return parsedTexts.get(sql);
}

/**
 * Parses the plan's statements in one call of the parser (thousands of them
 * for a whole schema), so that the passes find them read.
 */
async function parseAll(sqls: string[]): Promise<void> {
  const texts = sqls.map(stripSemicolons);
  const parsed = await parseStatements(texts.join(";\n"), { tree: true }).catch(() => []);
  if (parsed.length !== texts.length) return; // read one by one, as the passes ask
  texts.forEach((text, i) => parsedTexts.set(text, { ...parsed[i], text, index: 1, line: 1 }));
}

/** `sql`'s tree parsed on its own, with offsets into `sql`; undefined unless one statement. */
async function freshTree(sql: string): Promise<Statement["tree"] | undefined> {
  const parsed = await parseStatements(sql, { tree: true });
  return parsed.length === 1 ? parsed[0].tree : undefined;
}

/** The statement's parse tree when `sql` is one statement (its offsets are not to be used). */
async function singleTree(sql: string): Promise<Statement["tree"] | undefined> {
  return (await parsedOne(sql))?.tree;
}

/** True when B has the table and it is not partitioned (what a live table's safe forms need). */
function plainTableOnB(facts: FactBase, schema: string, table: string): boolean {
  const fact = facts.get({ kind: "table", schema, name: table } as StableId);
  if (!fact) return false;
  return (fact.payload as { partitionKey?: unknown }).partitionKey == null;
}

/**
 * On a table B has (in use, with rows): a foreign key or check added NOT
 * VALID and then validated, which scans without blocking writes; an index
 * built CONCURRENTLY. Each rewritten statement is parsed again, so what is
 * written is what was checked. A partitioned table keeps the plain forms:
 * PostgreSQL refuses NOT VALID and CONCURRENTLY there.
 */
async function useSaferForms(statements: DdlStatement[], current: FactBase): Promise<void> {
  const parser = await loadPgParser();
  for (let i = 0; i < statements.length; i++) {
    const statement = statements[i];
    if (statement.verb !== "create" || statement.held) continue;
    const tree = await singleTree(statement.sql);
    if (tree?.type === "AlterTableStmt") {
      const cmds = (tree.node.cmds ?? []) as {
        AlterTableCmd?: { subtype?: string; def?: { Constraint?: Record<string, unknown> } };
      }[];
      const constraint = cmds.length === 1 && cmds[0].AlterTableCmd?.subtype === "AT_AddConstraint"
        ? cmds[0].AlterTableCmd.def?.Constraint
        : undefined;
      const type = constraint?.contype;
      if (type !== "CONSTR_FOREIGN" && type !== "CONSTR_CHECK") continue;
      const relation = tree.node.relation as { schemaname?: string; relname?: string };
      const schema = relation.schemaname ?? "public";
      const table = relation.relname ?? "";
      if (!plainTableOnB(current, schema, table)) continue;
      const sql = `${statement.sql} NOT VALID`;
      const again = await singleTree(sql);
      if (again?.type !== "AlterTableStmt") continue;
      const def = ((again.node.cmds ?? []) as typeof cmds)[0]?.AlterTableCmd?.def?.Constraint;
      if (def?.skip_validation !== true) continue;
      statement.sql = sql;
      statements.splice(i + 1, 0, {
        sql: `ALTER TABLE ${quotedIdentifier(schema)}.${
          quotedIdentifier(table)
        } VALIDATE CONSTRAINT ${quotedIdentifier(String(constraint!.conname))}`,
        objects: statement.objects,
        verb: "alter",
        held: null,
        notes: [],
        hazards: [],
      });
      i++;
    } else if (tree?.type === "IndexStmt" && tree.node.concurrent !== true) {
      const relation = tree.node.relation as { schemaname?: string; relname?: string };
      if (!plainTableOnB(current, relation.schemaname ?? "public", relation.relname ?? "")) {
        continue;
      }
      // pg_get_indexdef writes CREATE [UNIQUE] INDEX name ON ...: the first keyword INDEX.
      const index = (await parser.scan(statement.sql)).tokens.find((t) =>
        t.keywordKind !== 0 && t.text.toUpperCase() === "INDEX"
      );
      if (!index) continue;
      const sql = `${statement.sql.slice(0, index.end)} CONCURRENTLY${
        statement.sql.slice(index.end)
      }`;
      const again = await singleTree(sql);
      if (again?.type !== "IndexStmt" || again.node.concurrent !== true) continue;
      statement.sql = sql;
    }
  }
}

/** The migration checks' hazards of the statements that run, on the statement of each. */
async function addHazards(statements: DdlStatement[], serverMajor?: number): Promise<void> {
  const running = statements.filter((s) => !s.held);
  const parsed: Statement[] = [];
  for (const statement of running) {
    const one = (await parsedOne(statement.sql))!;
    parsed.push({ ...one, index: parsed.length + 1 });
  }
  const hazards: Hazard[] = migrationHazards(parsed, { serverMajor });
  for (const hazard of hazards) {
    // How the whole file runs (its lock_timeout, the locks it holds together) is said once,
    // by the tables measured on B, and by migration_add.ts for the file it joins.
    if (FILE_RULES.has(hazard.rule)) continue;
    const where = (hazard.table ? ` on ${hazard.table}` : "") +
      (hazard.lock ? ` (${hazard.lock})` : "");
    running[hazard.statement - 1]?.hazards.push(`${hazard.rule}${where}: ${hazard.effect}`);
  }
}

/** Rules about the file a statement is in, not about the statement. */
const FILE_RULES = new Set(["lock-timeout-missing", "locks-held-together"]);

/**
 * Each table the running statements lock, measured on B now: its size, its
 * rows, the strongest lock the migration takes on it and who holds or waits
 * for one there.
 */
export async function measuredOnB(
  target: ConnectionTarget,
  migration: SchemaMigration,
): Promise<TableReport[]> {
  const statements: MigrationStatement[] = [];
  for (const statement of migration.statements.filter((s) => !s.held)) {
    const parsed = (await parsedOne(statement.sql))!;
    statements.push({
      file: "schema_diff",
      statement: { ...parsed, index: statements.length + 1 },
      alone: isAloneStep(parsed),
    });
  }
  return await measureTables(target, statements);
}

/** Each line of `text` as a SQL comment. */
function commented(text: string): string {
  // A carriage return ends a -- comment for PostgreSQL as a newline does.
  return text.split(/\r\n|\r|\n/).map((line) => `-- ${line}`.trimEnd()).join("\n");
}

/**
 * The migration as a SQL file: a header, then each statement with its notes
 * and hazards as comments above it; a held statement commented out whole.
 */
export function migrationSql(
  migration: SchemaMigration,
  options: { header: string; tables: TableReport[] },
): string {
  const held = migration.statements.filter((s) => s.held).length;
  const lines = [
    commented(options.header),
    commented(
      `${migration.statements.length - held} statement(s)` +
        (held ? `, ${held} held back as comments` : ""),
    ),
    ...migration.notes.map((n) => commented(`note: ${n}`)),
  ];
  if (options.tables.length) {
    lines.push(commented("The tables it locks, measured on b now (held together until COMMIT):"));
    for (const table of options.tables) {
      lines.push(commented(`  ${tableReportText(table, "will take")}`));
    }
  }
  for (const statement of migration.statements) {
    lines.push("");
    for (const note of statement.notes) lines.push(commented(`check: ${note}`));
    for (const hazard of statement.hazards) lines.push(commented(`hazard: ${hazard}`));
    if (statement.held) {
      lines.push(commented(`held back: ${statement.held}`));
      lines.push(commented(`${statement.sql};`));
    } else {
      lines.push(`${statement.sql};`);
    }
  }
  return `${lines.join("\n")}\n`;
}
