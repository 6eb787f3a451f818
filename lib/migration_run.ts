/**
 * Applying the pending migrations: every statement of every file, in order,
 * in one transaction, each sent once; rolled back after a check, committed
 * after an apply; then the catalog lookups that confirm what changed.
 *
 * @module
 */
import { SkillError } from "./cli.ts";
import { explainQueryError, withSession } from "./database.ts";
import type { ObjectChange } from "./ddl_objects.ts";
import type { ParsedPending } from "./migration_folder.ts";
import type { ConnectionTarget } from "./resolve.ts";
import { loadSql } from "./sql.ts";
import type { Statement } from "./statements.ts";

/** One statement of one pending file. */
export interface MigrationStatement {
  /** The pending file's name. */
  file: string;
  /** The statement as the parser read it. */
  statement: Statement;
}

/**
 * The statements of the pending files in order, or a refusal naming the
 * first that cannot run in the one transaction they share (CREATE INDEX
 * CONCURRENTLY, VACUUM, BEGIN/COMMIT, COPY FROM STDIN ...) or a file that does
 * not parse. Nothing is sent to a server before this succeeds.
 */
export function planMigrations(files: ParsedPending[]): MigrationStatement[] {
  const planned: MigrationStatement[] = [];
  for (const file of files) {
    if (file.error) {
      throw new SkillError(`"${file.name}" cannot be applied: ${file.error}; nothing was run`);
    }
    for (const statement of file.statements) {
      const where = `${file.name} line ${statement.line} (${statement.command})`;
      if (statement.outsideTransaction) {
        throw new SkillError(
          `${where} cannot run inside a transaction block, and the pending files are applied ` +
            `in one transaction so that a failure leaves nothing behind; run it on its own ` +
            `(run_sql.ts --ddl) and take it out of the file; nothing was run`,
        );
      }
      if (statement.refusals.length) {
        throw new SkillError(
          `${where} cannot be applied: ${
            statement.refusals[0].replace(/run_sql\.ts/, "migration_apply.ts")
          }; nothing was run`,
        );
      }
      planned.push({ file: file.name, statement });
    }
  }
  if (planned.length === 0) throw new SkillError("The pending files hold no statement to apply");
  return planned;
}

/** An object to confirm in the catalog, and what the migration leaves it as. */
export interface Expectation {
  /** What the object is (table, column, function ...). */
  kind: string;
  /** The object as the files name it. */
  name: string;
  /** What the files leave behind. */
  expected: "present" | "absent";
  /** How sql/migration_verify.sql looks it up. */
  lookup: NonNullable<ObjectChange["lookup"]>;
  /** Its schema as written; null resolves through search_path. */
  schema: string | null;
  /** The relation, routine, type ... name. */
  object: string;
  /** The column, constraint, trigger or policy (or a routine's argument types). */
  item: string | null;
}

const ITEM_LOOKUPS = new Set(["column", "constraint", "trigger", "policy"]);

/**
 * What the statements leave behind, each object once (in the order first
 * changed) with its last state: a drop leaves it absent, a rename leaves the
 * old name absent and the new one present, anything else leaves it present.
 * Columns, constraints, triggers and policies follow their table when it is
 * renamed or moved, and go with it when it is dropped; a dropped schema takes
 * what was expected in it. Comments, grants and row changes name no object to
 * look up.
 */
export function expectations(statements: MigrationStatement[]): Expectation[] {
  const byKey = new Map<string, Expectation>();
  const keyOf = (e: Pick<Expectation, "lookup" | "schema" | "object" | "item">) =>
    [e.lookup, e.schema, e.object, e.item].join("\u0000");
  // Listed where it first changed, as it is last left.
  const set = (expectation: Expectation) => byKey.set(keyOf(expectation), expectation);
  const itemsOf = (schema: string | null, object: string) =>
    [...byKey.values()].filter((e) =>
      ITEM_LOOKUPS.has(e.lookup) && e.schema === schema && e.object === object
    );
  for (const { statement } of statements) {
    for (const change of statement.changes) {
      if (!change.lookup) continue;
      const before = {
        kind: change.kind,
        lookup: change.lookup,
        schema: change.schema,
        object: change.object,
        item: change.item,
      };
      if (change.action === "rename" && change.after) {
        set({ ...before, name: change.name, expected: "absent" });
        set({ ...before, ...change.after, name: change.newName!, expected: "present" });
        if (change.lookup === "relation") {
          for (const item of itemsOf(change.schema, change.object)) {
            byKey.delete(keyOf(item));
            set({
              ...item,
              schema: change.after.schema,
              object: change.after.object,
              name: `${change.newName}.${item.item}`,
            });
          }
        }
        continue;
      }
      const expected = change.action === "drop" ? "absent" : "present";
      set({ ...before, name: change.name, expected });
      if (expected === "present") continue;
      const gone = change.lookup === "relation"
        ? itemsOf(change.schema, change.object)
        : change.lookup === "schema"
        ? [...byKey.values()].filter((e) => e.schema === change.object)
        : [];
      for (const item of gone) set({ ...item, expected: "absent" });
    }
  }
  return [...byKey.values()];
}

/** An object as the catalog shows it after the migration. */
export interface Verified {
  /** What the object is (table, column, function ...). */
  kind: string;
  /** The object as the files name it. */
  name: string;
  /** What the files leave behind. */
  expected: "present" | "absent";
  /** What the catalog holds (relkind, column type ...), null when absent. */
  found: string | null;
  /** True when what was found is what the files leave behind. */
  ok: boolean;
}

/** What a run did. */
export interface MigrationRun {
  /** Statements sent, each once. */
  statements: number;
  /** True after --apply; a check always rolls back. */
  committed: boolean;
  /** Each changed object as the catalog shows it afterwards. */
  verified: Verified[];
}

/**
 * Runs the statements in one transaction, each once, stopping at the first
 * error (the transaction is then rolled back and the error names the file and
 * line); `commit` false rolls back at the end too, after looking the objects
 * up inside the transaction, so a check leaves no trace. With `commit` the
 * objects are looked up after the commit.
 */
export async function runMigrations(
  target: ConnectionTarget,
  statements: MigrationStatement[],
  options: { commit: boolean },
): Promise<MigrationRun> {
  const wanted = expectations(statements);
  const verifySql = await loadSql("migration_verify");
  return await withSession(target, async (session) => {
    const verify = async (): Promise<Verified[]> => {
      if (wanted.length === 0) return [];
      const { rows } = await session.query(verifySql, [
        wanted.map((w) => w.lookup),
        wanted.map((w) => w.schema),
        wanted.map((w) => w.object),
        wanted.map((w) => w.item),
      ]);
      return wanted.map((w, i) => {
        const found = rows[i]?.found === null || rows[i]?.found === undefined
          ? null
          : String(rows[i].found);
        return {
          kind: w.kind,
          name: w.name,
          expected: w.expected,
          found,
          ok: (found !== null) === (w.expected === "present"),
        };
      });
    };
    await session.simpleQuery("begin");
    let step = "";
    let verified: Verified[] = [];
    try {
      for (const { file, statement } of statements) {
        step = `${file} line ${statement.line} (${statement.command})`;
        await session.simpleQuery(statement.text);
      }
      step = "Looking up the changed objects";
      if (!options.commit) verified = await verify();
      step = options.commit ? "COMMIT (deferred constraints are checked there)" : "ROLLBACK";
      await session.simpleQuery(options.commit ? "commit" : "rollback");
    } catch (error) {
      await session.simpleQuery("rollback").catch(() => {});
      const explained = explainQueryError(error, target);
      if (!(explained instanceof SkillError) || explained.exitCode !== 1) throw explained;
      throw new SkillError(
        `${step} failed: ${explained.message}; the transaction was rolled back: the database ` +
          `is as it was`,
      );
    }
    if (options.commit) verified = await verify();
    return { statements: statements.length, committed: options.commit, verified };
  });
}
