/**
 * Applying the pending migrations: every statement of every file, in order,
 * in one transaction, each sent once; rolled back after a check, committed
 * after an apply; then the catalog lookups that confirm what changed.
 *
 * @module
 */
import { type Environment, processEnvironment } from "../core/environment.ts";
import { SkillError } from "../core/errors.ts";
import { CommitLostError, commitTransaction } from "../connection/transactions.ts";
import { explainQueryError, withSession } from "../connection/script_sessions.ts";
import type { ObjectChange } from "../sql/ddl_objects.ts";
import type { ParsedPending } from "./folder.ts";
import type { ConnectionTarget } from "../connection/target.ts";
import { ConnectionLostError, PgServerError, type PgSession } from "../connection/session.ts";
import { loadSql } from "../sql/sql_files.ts";
import { calledFunctionNames, type Statement } from "../sql/statements.ts";
import {
  isAloneStep,
  LOCK_BLOCKS,
  LOCK_STRENGTH,
  type LockMode,
  locksOf,
  typeChangedColumns,
} from "./hazards.ts";

/** One statement of one pending file. */
export interface MigrationStatement {
  /** The pending file's name. */
  file: string;
  /** The statement as the parser read it. */
  statement: Statement;
  /**
   * True for a step PostgreSQL runs only outside a transaction block (CREATE
   * or DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY, VACUUM): it runs as
   * a step of its own, between the transactions of the statements around it.
   */
  alone: boolean;
}

/** One step of a run: one transaction of consecutive statements, or one statement alone. */
export interface MigrationStep {
  /** 1-based. */
  index: number;
  /** True for a step of one statement that runs outside a transaction block. */
  alone: boolean;
  /** The step's statements, in file order; exactly one when `alone`. */
  statements: MigrationStatement[];
}

/**
 * The run's steps in file order: the statements that must run alone each a
 * step of its own, the transactional ones between them one transaction each.
 */
export function planSteps(statements: MigrationStatement[]): MigrationStep[] {
  const steps: MigrationStep[] = [];
  for (const statement of statements) {
    const last = steps.at(-1);
    if (!statement.alone && last && !last.alone) last.statements.push(statement);
    else steps.push({ index: steps.length + 1, alone: statement.alone, statements: [statement] });
  }
  return steps;
}

/** `prerelease.sql line 3 (CREATE INDEX)` ... for a step: where it comes from. */
export function stepText(step: MigrationStep): string {
  const first = step.statements[0];
  const last = step.statements.at(-1)!;
  const where = (m: MigrationStatement) => `${m.file} line ${m.statement.line}`;
  return step.alone
    ? `step ${step.index}, ${where(first)} (${first.statement.command}, outside a transaction)`
    : `step ${step.index}, ${where(first)}${
      step.statements.length > 1 ? ` to ${where(last)}` : ""
    } (${step.statements.length} statement${
      step.statements.length === 1 ? "" : "s"
    } in a transaction)`;
}

/**
 * The statements of the pending files in order, or a refusal naming the
 * first that cannot run in the one transaction they share (CREATE INDEX
 * CONCURRENTLY, VACUUM, BEGIN/COMMIT, COPY FROM STDIN ...) or a file that does
 * not parse. For a check (`commit` false), which promises to change nothing,
 * also the first statement that acts where a rollback cannot undo it (a
 * program, a server file, a signal, a remote database, SQL given as text).
 * Nothing is sent to a server before this succeeds.
 */
export function planMigrations(
  files: ParsedPending[],
  options: { commit: boolean },
): MigrationStatement[] {
  const planned: MigrationStatement[] = [];
  for (const file of files) {
    if (file.error) {
      throw new SkillError(`"${file.name}" cannot be applied: ${file.error}; nothing was run`);
    }
    for (const statement of file.statements) {
      const where = `${file.name} line ${statement.line} (${statement.command})`;
      const alone = isAloneStep(statement);
      if (statement.outsideTransaction && !alone) {
        throw new SkillError(
          `${where} cannot run inside a transaction block, and is no migration step (only ` +
            `CREATE/DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY of an index or table and ` +
            `VACUUM run as steps of their own); run it on its own (run_sql.ts --ddl) and take ` +
            `it out of the file; nothing was run`,
        );
      }
      if (statement.refusals.length) {
        throw new SkillError(
          `${where} cannot be applied: ${statement.refusals[0]}; nothing was run`,
        );
      }
      if (!options.commit && statement.escapes.length) {
        throw new SkillError(
          `${where} uses ${statement.escapes[0]}, which acts outside the transaction: a check ` +
            `could not roll it back, so it is not checked; nothing was run (--apply runs it ` +
            `after a confirmation that names it)`,
        );
      }
      planned.push({ file: file.name, statement, alone });
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

/** What a catalog lookup is asked: sql/migration_verify.sql's arguments for one object. */
type Lookup = Pick<Expectation, "lookup" | "schema" | "object" | "item">;

/**
 * Looks each object up with sql/migration_verify.sql in `session`: what the
 * catalog holds for it (a relation's kind, a column's type ...), or null.
 */
/** What the catalog holds for one object looked up: its description, and whether it is INVALID. */
interface Found {
  /** The description (relation kind, column type ...), null when absent. */
  found: string | null;
  /** True for an index a failed concurrent build left: present, but not what the files make. */
  invalid: boolean;
}

async function lookUp(session: PgSession, wanted: Lookup[]): Promise<Found[]> {
  if (wanted.length === 0) return [];
  const { rows } = await session.query(await loadSql("migration_verify"), [
    wanted.map((w) => w.lookup),
    wanted.map((w) => w.schema),
    wanted.map((w) => w.object),
    wanted.map((w) => w.item),
  ]);
  return wanted.map((_, i) => ({
    found: rows[i]?.found === null || rows[i]?.found === undefined ? null : String(rows[i].found),
    invalid: rows[i]?.invalid === true,
  }));
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

/** A sequence that moved while a check ran: rolling back does not undo nextval or setval. */
export interface MovedSequence {
  /** schema.name */
  name: string;
  /** last_value before the check (null: never used). */
  before: string | null;
  /** last_value after its rollback. */
  after: string | null;
}

/**
 * Where the statements do one kind of thing, for a confirmation or a report:
 * `prerelease.sql line 3: pg_terminate_backend() ...`, one entry per
 * statement that does it (`what` picks it: its escapes, what a rollback
 * leaves, what cannot be seen into). Empty when none does.
 */
export function statementsThat(
  statements: MigrationStatement[],
  what: (statement: Statement) => string[],
): string[] {
  return statements.filter(({ statement }) => what(statement).length).map(({ file, statement }) =>
    `${file} line ${statement.line}: ${what(statement).join(", ")}`
  );
}

/** A table the run locks: as it was before, who used it then, and the lock the run took. */
export interface TableReport {
  /** The table as the catalog names it (or as the files do, when it did not exist before). */
  table: string;
  /** False for a table the run itself makes. */
  existed: boolean;
  /**
   * Its total size (the table, its indexes and TOAST) as pg_size_pretty writes
   * it; null for a table that did not exist.
   */
  size: string | null;
  /** The same size in bytes; null for a table that did not exist. */
  size_bytes: number | null;
  /** The planner's estimate of its rows; null when never counted or it did not exist. */
  estimated_rows: number | null;
  /**
   * For a partitioned table: its leaf partitions, each locked as it is (null too when every
   * statement names it ONLY, which locks the parent alone).
   */
  partitions: number | null;
  /** Other sessions holding a lock on it just before the run, and waiting for one. */
  sessions_holding: number;
  /** Other sessions waiting for a lock on it just before the run. */
  sessions_waiting: number;
  /** Seconds the oldest of those holders had been in its transaction. */
  oldest_holder_seconds: number | null;
  /** The strongest lock the run held on it, read from pg_locks inside its transaction. */
  lock_taken: string | null;
}

/**
 * For a lock timeout (SQLSTATE 55P03): who held locks on the run's tables
 * just before it, read then, so that the failure names the wait's likely
 * cause in the same line.
 */
function lockHolders(
  error: unknown,
  named: LockedTable[],
  beforeRun: Record<string, unknown>[],
): string {
  if (!(error instanceof PgServerError) || error.code !== "55P03") return "";
  const held = tableReports(named, beforeRun, []).filter((t) => t.sessions_holding > 0);
  if (held.length === 0) return "";
  return ` (just before the run, ${
    held.map((t) =>
      `${t.sessions_holding} other session${t.sessions_holding === 1 ? "" : "s"} held a lock ` +
      `on ${t.table}${
        t.oldest_holder_seconds !== null
          ? `, the oldest in its transaction for ${t.oldest_holder_seconds} s`
          : ""
      }`
    ).join("; ")
  })`;
}

/** sql/migration_tables.sql for the named tables: as they are now, and who uses them. */
async function readTables(
  session: PgSession,
  named: { schema: string | null; name: string }[],
): Promise<Record<string, unknown>[]> {
  if (named.length === 0) return [];
  return (await session.query(await loadSql("migration_tables"), [
    named.map((n) => n.schema),
    named.map((n) => n.name),
  ])).rows;
}

/** The tables the statements lock, as they are named (schema or null, name). */
function lockedTables(statements: MigrationStatement[]): LockedTable[] {
  const seen = new Map<string, LockedTable>();
  for (const { statement } of statements) {
    if (!statement.tree) continue;
    for (const { schema, name, only } of locksOf(statement)) {
      const key = JSON.stringify([schema, name]);
      seen.set(key, { schema, name, only: (seen.get(key)?.only ?? true) && only });
    }
  }
  return [...seen.values()];
}

/** A table the statements lock; `only` when every statement names it ONLY. */
interface LockedTable {
  schema: string | null;
  name: string;
  only: boolean;
}

/** What a run did. */
export interface MigrationRun {
  /** Statements sent, each once. */
  statements: number;
  /** True after --apply; a check always rolls back. */
  committed: boolean;
  /** True when COMMIT's answer was lost and the server, asked afterwards, records the commit. */
  commitLearntAfterwards: boolean;
  /** Each changed object as the catalog shows it afterwards. */
  verified: Verified[];
  /** For a check: sequences whose position moved and stays moved after the rollback. */
  movedSequences: MovedSequence[];
  /**
   * For a check: the database's own triggers on the tables the statements
   * write rows to (`trigger on table`), which ran unseen.
   */
  triggersRun: string[];
  /** The tables it locked, measured on the database: size, rows, who used them, the lock taken. */
  tables: TableReport[];
  /** How many steps it ran in (a transaction each, or a statement alone). */
  steps: number;
  /**
   * For a check: the database's own code the statements may run, which it
   * cannot read (`function public.f(integer)`, `event trigger audit`): what
   * it does beyond the transaction, if anything, is not known.
   */
  databaseCode: string[];
  /**
   * For a check: the steps that run only outside a transaction, which a check
   * does not run (a rollback could not undo them), each as stepText says it.
   */
  notChecked: string[];
  /** How many statements a check ran (all but those `notChecked` names); 0 for --apply. */
  checkedStatements: number;
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
  // A check does not run the steps alone, nor what needs them: it looks for what the rest leaves.
  const left = options.commit ? new Map<MigrationStatement, string>() : leftOutOfCheck(statements);
  const wanted = expectations(statements.filter((s) => !left.has(s)));
  const positionsSql = await loadSql("sequence_positions");
  const triggersSql = await loadSql("migration_triggers");
  return await withSession(target, async (session) => {
    const positions = async () =>
      new Map(
        (await session.query(positionsSql)).rows.map((row) => [
          String(row.name),
          row.last_value === null ? null : String(row.last_value),
        ]),
      );
    // An index made ON ONLY a partitioned table stays INVALID until every partition's index is
    // attached: in a check that left the attaching out, that is what the files leave so far.
    const attachedLater = new Set(
      [...left.keys()].flatMap(({ statement }) => statement.relations.map((r) => r.name)),
    );
    const verify = async (on = session): Promise<Verified[]> => {
      const all = await lookUp(on, wanted);
      return wanted.map((w, i) => {
        const { found, invalid } = all[i];
        const pending = invalid && w.kind === "index" && attachedLater.has(w.object);
        return {
          kind: w.kind,
          name: w.name,
          expected: w.expected,
          found: pending
            ? `${found} (INVALID until the statements the check left out attach its partitions')`
            : invalid
            ? `${found} (INVALID)`
            : found,
          // A failed concurrent build's INVALID index is not the index the files make.
          ok: (found !== null) === (w.expected === "present") &&
            !(w.expected === "present" && invalid && !pending),
        };
      });
    };
    const before = options.commit ? undefined : await positions();
    // Who uses the tables now, before the run's own locks make anyone wait.
    const named = lockedTables(statements);
    const beforeRun = await readTables(session, named);
    const steps = planSteps(statements);
    refuseConcurrentOnPartitioned(statements, named, beforeRun);
    if (options.commit && steps.some((s) => s.alone)) {
      const applied = await applyInSteps(session, target, steps);
      return {
        statements: statements.length,
        committed: true,
        commitLearntAfterwards: applied.learntAfterwards,
        // After a COMMIT whose answer was lost, that session is gone: look in a new one.
        verified: applied.learntAfterwards
          ? await withSession(target, (fresh) => verify(fresh))
          : await verify(),
        movedSequences: [],
        triggersRun: [],
        tables: tableReports(named, beforeRun, applied.taken),
        steps: steps.length,
        notChecked: [],
        checkedStatements: 0,
        databaseCode: [],
      };
    }
    // A check runs what a transaction can hold, and rolls it back; the steps alone are left out,
    // and so is what names an object one of them makes.
    const inOne = statements.filter((s) => !left.has(s));
    const notChecked = [
      ...steps.filter((s) => s.alone).map(stepText),
      ...[...left.values()].filter(Boolean),
    ];
    // The database's own code the statements call or fire, which no parser here can read.
    const databaseCode = options.commit ? [] : (await session.query(
      await loadSql("migration_database_code"),
      [
        [...new Set(inOne.flatMap(({ statement }) => calledFunctionNames(statement)))],
        inOne.some(({ statement }) => statement.kind === "ddl"),
      ],
    )).rows.map((r) => `${r.kind} ${r.name}`);
    let taken: Record<string, unknown>[] = [];
    await session.transaction("begin");
    let step = "";
    let verified: Verified[] = [];
    let commitLearntAfterwards = false;
    let triggersRun: string[] = [];
    try {
      for (const { file, statement } of inOne) {
        step = `${file} line ${statement.line} (${statement.command})`;
        // Alone in its message (extended protocol): the server runs exactly this statement.
        await session.query(statement.text);
      }
      if (!options.commit) {
        // A COMMIT would check deferred constraints (and fire deferred constraint triggers):
        // a check that never commits checks them here, or it would promise what --apply breaks.
        step = "Checking deferred constraints (SET CONSTRAINTS ALL IMMEDIATE, as COMMIT would)";
        await session.query("set constraints all immediate");
        step = "Looking up the triggers the written tables fired";
        const written = statements.flatMap(({ statement }) =>
          statement.changes.filter((c) => c.action === "data" && c.relation).map((c) => c.relation!)
        );
        if (written.length) {
          triggersRun = (await session.query(triggersSql, [[...new Set(written)]])).rows.map((
            row,
          ) => `${row.trigger} on ${row.table}`);
        }
      }
      step = "Reading the locks the run holds";
      taken = (await session.query(await loadSql("migration_locks_taken"))).rows;
      step = "Looking up the changed objects";
      if (!options.commit) verified = await verify();
      if (options.commit) {
        step = "COMMIT (deferred constraints are checked there)";
        commitLearntAfterwards = (await commitTransaction(session, target, {
          actedOutside: inOne.flatMap(({ statement: s }) => [...s.escapes, ...s.sequenceCalls]),
        })).learntAfterwards;
      } else {
        step = "ROLLBACK";
        await session.transaction("rollback");
      }
    } catch (error) {
      // A COMMIT that lost its answer: commitTransaction has said what became of it.
      if (error instanceof CommitLostError) throw error;
      await session.transaction("rollback").catch(() => {});
      const explained = explainQueryError(error, target);
      if (!(explained instanceof SkillError) || explained.exitCode !== 1) throw explained;
      // Said only when one moved: a rollback does not move a sequence back.
      const now = before ? await positions().catch(() => undefined) : undefined;
      const moved = now === undefined
        ? before !== undefined
        : [...now].some(([name, value]) => before!.has(name) && before!.get(name) !== value);
      throw new SkillError(
        `${step} failed: ${explained.message}${lockHolders(error, named, beforeRun)}; the ` +
          `transaction was rolled back: the database is as it was${
            moved ? " (but for sequences the statements advanced)" : ""
          }` +
          (notChecked.length
            ? ` (the check leaves out what runs outside a transaction: ${
              notChecked.join("; ")
            }; a statement that needs what one of them makes fails here)`
            : ""),
      );
    }
    const movedSequences: MovedSequence[] = [];
    if (before) {
      for (const [name, after] of await positions()) {
        if (before.has(name) && before.get(name) !== after) {
          movedSequences.push({ name, before: before.get(name)!, after });
        }
      }
    }
    if (options.commit) {
      // After a COMMIT whose answer was lost, that session is gone: look in a new one.
      verified = commitLearntAfterwards
        ? await withSession(target, (fresh) => verify(fresh))
        : await verify();
    }
    return {
      statements: statements.length,
      committed: options.commit,
      commitLearntAfterwards,
      verified,
      movedSequences,
      triggersRun,
      tables: tableReports(named, beforeRun, taken),
      steps: options.commit ? 1 : steps.length,
      notChecked,
      checkedStatements: inOne.length,
      databaseCode,
    };
  });
}

/**
 * What a check leaves out: each statement that must run alone (a rollback
 * could not undo it), and each that names an object one of those makes, or
 * that such a statement makes in turn (an ALTER INDEX ... ATTACH PARTITION of
 * the index a CREATE INDEX CONCURRENTLY builds): run without it, it would
 * fail for a reason --apply never meets. Names are compared without their
 * schemas, so a same-named object elsewhere leaves a statement unchecked
 * rather than failed. The value says why, for the dependants ("" for a step
 * alone, which stepText describes).
 */
function leftOutOfCheck(statements: MigrationStatement[]): Map<MigrationStatement, string> {
  const left = new Map<MigrationStatement, string>();
  const made = new Map<string, MigrationStatement>();
  for (const entry of statements) {
    const { statement } = entry;
    const named = [
      ...statement.relations.map((relation) => relation.name),
      ...statement.changes.map((change) => change.object),
    ];
    const needs = named.find((name) => made.has(name));
    if (!entry.alone && needs === undefined) continue;
    if (needs !== undefined && !entry.alone) {
      const maker = made.get(needs)!;
      left.set(
        entry,
        `${entry.file} line ${statement.line} (${statement.command}): it names ${needs}, which ` +
          `${maker.file} line ${maker.statement.line} (${maker.statement.command}) makes`,
      );
    } else {
      left.set(entry, "");
    }
    for (const change of statement.changes) {
      if (change.action === "create") made.set(change.object, entry);
    }
  }
  return left;
}

/**
 * Applies the steps in order, each once: a transaction step begun and
 * committed (its locks read before the commit), a step alone sent outside
 * any transaction. At the first failure nothing more runs, and the error says
 * which steps were applied and committed, what the failed one left (a failed
 * concurrent index build leaves an INVALID index, with the DROP INDEX
 * CONCURRENTLY that removes it) and how to resume.
 */
async function applyInSteps(
  session: PgSession,
  target: ConnectionTarget,
  steps: MigrationStep[],
): Promise<{ taken: Record<string, unknown>[]; learntAfterwards: boolean }> {
  const taken: Record<string, unknown>[] = [];
  const applied: string[] = [];
  const locksSql = await loadSql("migration_locks_taken");
  const resume = () =>
    applied.length
      ? ` Applied and committed before it: ${applied.join("; ")}. They stay in the pending ` +
        `files (the other databases need them too); to resume here, make them safe to run ` +
        `again (IF NOT EXISTS, IF EXISTS) and run again, or run the remaining statements by ` +
        `hand (run_sql.ts --ddl).`
      : " Nothing was applied; run again once it is fixed.";
  for (const step of steps) {
    let where = stepText(step);
    try {
      if (step.alone) {
        // Outside any transaction, behind a pooler too: PostgreSQL refuses it inside one.
        await session.query(step.statements[0].statement.text, [], { standalone: true });
      } else {
        await session.transaction("begin");
        for (const { file, statement } of step.statements) {
          where = `${stepText(step)}: ${file} line ${statement.line} (${statement.command})`;
          await session.query(statement.text);
        }
        taken.push(...(await session.query(locksSql)).rows);
        where = `${stepText(step)}: COMMIT`;
        const actedOutside = step.statements.flatMap(({ statement: s }) => [
          ...s.escapes,
          ...s.sequenceCalls,
        ]);
        if ((await commitTransaction(session, target, { actedOutside })).learntAfterwards) {
          applied.push(stepText(step));
          if (step !== steps.at(-1)) {
            throw new SkillError(
              `The connection was lost during the COMMIT of ${stepText(step)}; the server ` +
                `records it as committed, and the steps after it did not run.${resume()}`,
            );
          }
          return { taken, learntAfterwards: true };
        }
      }
      applied.push(stepText(step));
    } catch (error) {
      if (error instanceof SkillError && !(error instanceof CommitLostError)) throw error;
      if (error instanceof CommitLostError) {
        throw new SkillError(`${error.message}.${resume()}`);
      }
      if (step.alone && error instanceof ConnectionLostError) {
        // What became of it is not known from here: ask the server in a new session.
        const outcome = await aloneStepOutcome(target, step);
        if (outcome.finished) applied.push(stepText(step));
        throw new SkillError(
          `The connection was lost while ${stepText(step)} ran (${error.message}); ` +
            `${outcome.text}.${resume()}`,
        );
      }
      if (!step.alone) await session.transaction("rollback").catch(() => {});
      const explained = explainQueryError(error, target);
      if (!(explained instanceof SkillError) || explained.exitCode !== 1) throw explained;
      const left = step.alone ? await invalidIndexesLeft(session, step).catch(() => []) : [];
      throw new SkillError(
        `${where} failed: ${explained.message}; ` +
          (step.alone
            ? left.length
              ? `it left ${left.length === 1 ? "an INVALID index" : "INVALID indexes"} behind ` +
                `(kept up on every write, never used): remove with ${
                  left.map((i) => `DROP INDEX CONCURRENTLY ${i};`).join(" ")
                }`
              : "nothing of it stays"
            : "its transaction was rolled back") +
          `.${resume()}`,
      );
    }
  }
  return { taken, learntAfterwards: false };
}

/**
 * What a step alone whose connection was lost did, as far as the catalog
 * says: a concurrent index build's index, valid, INVALID or absent; for the
 * rest, that it is unknown and how to look.
 */
async function aloneStepOutcome(
  target: ConnectionTarget,
  step: MigrationStep,
): Promise<{ text: string; finished?: boolean }> {
  const { tree } = step.statements[0].statement;
  if (tree?.type !== "IndexStmt" || !tree.node.idxname) {
    return {
      text: `whether it finished is unknown: look in the catalog (migration_status.ts ` +
        `--applied, or find_objects.ts) before running it again`,
    };
  }
  const name = tree.node.idxname;
  const relation = tree.node.relation ?? {};
  try {
    const [found] = await withSession(target, (fresh) =>
      lookUp(fresh, [{
        lookup: "relation",
        schema: relation.schemaname ? relation.schemaname : null,
        object: name,
        item: null,
      }]));
    if (found.found === null) {
      return { text: `asked afterwards, the server has no index ${name}: it did not finish` };
    }
    return found.invalid
      ? {
        text: `asked afterwards, the server holds ${name} INVALID: it did not finish; remove ` +
          `it with DROP INDEX CONCURRENTLY ${name};`,
      }
      : { text: `asked afterwards, the server holds ${name}, valid: it finished`, finished: true };
  } catch {
    return {
      text: `whether it finished is unknown, and the server could not be asked: look for the ` +
        `index in the catalog before running it again`,
    };
  }
}

/**
 * The INVALID indexes a failed step alone left on its table: a failed CREATE
 * INDEX CONCURRENTLY leaves its index, a failed REINDEX CONCURRENTLY its
 * `_ccnew` copies.
 */
async function invalidIndexesLeft(session: PgSession, step: MigrationStep): Promise<string[]> {
  const { tree } = step.statements[0].statement;
  if (tree?.type !== "IndexStmt" && tree?.type !== "ReindexStmt") return [];
  const relation = tree.node.relation ?? {};
  const { rows } = await session.query(await loadSql("migration_invalid_indexes"), [
    relation.schemaname ?? null,
    relation.relname ?? "",
    tree.type === "ReindexStmt" && tree.node.kind === "REINDEX_OBJECT_INDEX",
  ]);
  return rows.map((r) => String(r.index));
}

/**
 * Before an apply is confirmed: each table the statements lock, as it is now
 * and who uses it, with the strongest lock the statements will take on it
 * (from the parse tree; the check reads the real ones from pg_locks).
 */
export async function measureTables(
  target: ConnectionTarget,
  statements: MigrationStatement[],
): Promise<TableReport[]> {
  const named = lockedTables(statements);
  if (named.length === 0) return [];
  const expected = new Map<string, LockMode>();
  for (const { statement } of statements) {
    if (!statement.tree) continue;
    for (const { table, lock } of locksOf(statement)) {
      const held = expected.get(table);
      if (!held || LOCK_STRENGTH[lock] > LOCK_STRENGTH[held]) expected.set(table, lock);
    }
  }
  const rows = await withSession(target, (session) => readTables(session, named));
  return tableReports(named, rows, []).map((report, i) => ({
    ...report,
    lock_taken: expected.get(
      named[i].schema ? `${named[i].schema}.${named[i].name}` : named[i].name,
    ) ?? null,
  }));
}

/**
 * The type each column the statements change the type of has now, keyed
 * `table.column` as the files write them (`schema.table.column` with a schema):
 * for the hazards, which tell a widening from a rewrite by it.
 */
export async function columnTypesNow(
  target: ConnectionTarget,
  statements: MigrationStatement[],
): Promise<Map<string, string>> {
  const columns = typeChangedColumns(statements.map((s) => s.statement));
  if (columns.length === 0) return new Map();
  const rows = await withSession(
    target,
    async (session) =>
      (await session.query(await loadSql("column_types"), [
        columns.map((c) => c.schema),
        columns.map((c) => c.table),
        columns.map((c) => c.column),
      ])).rows,
  );
  const types = new Map<string, string>();
  columns.forEach((c, i) => {
    const type = rows[i]?.type;
    if (type !== null && type !== undefined) {
      types.set(`${c.schema ? `${c.schema}.` : ""}${c.table}.${c.column}`, String(type));
    }
  });
  return types;
}

/** One line for people: the table, how big, the lock, who uses it now. */
export function tableReportText(
  report: TableReport,
  verb: "takes" | "took" | "will take",
): string {
  if (!report.existed) return `${report.table}: made by the run`;
  const rows = report.estimated_rows === null
    ? "rows not counted"
    : `~${report.estimated_rows} rows`;
  const lock = report.lock_taken
    ? `the run ${verb} ${report.lock_taken}${
      report.partitions ? ` on it and on each of its ${report.partitions} partitions` : ""
    }, which ${LOCK_BLOCKS[report.lock_taken as LockMode]}`
    : "the run takes no lock on it";
  const users = report.sessions_holding === 0 && report.sessions_waiting === 0
    ? "no other session holds or waits for a lock on it now"
    : `${report.sessions_holding} other session${report.sessions_holding === 1 ? "" : "s"} ` +
      `hold${report.sessions_holding === 1 ? "s" : ""} a lock on it now${
        report.oldest_holder_seconds !== null
          ? ` (the oldest in its transaction for ${report.oldest_holder_seconds} s)`
          : ""
      }, ${report.sessions_waiting} wait${report.sessions_waiting === 1 ? "s" : ""}`;
  return `${report.table} (${report.size}, ${rows}): ${lock}; ${users}`;
}

/** The measured tables: each named one as it was, with the lock the run took on it. */
function tableReports(
  named: LockedTable[],
  beforeRun: Record<string, unknown>[],
  taken: Record<string, unknown>[],
): TableReport[] {
  const lockByOid = new Map(taken.map((t) => [String(t.oid), String(t.mode)]));
  const number = (value: unknown) => value === null || value === undefined ? null : Number(value);
  return named.map((n, i) => {
    const row = beforeRun[i] ?? {};
    const oid = row.oid === null || row.oid === undefined ? null : String(row.oid);
    return {
      table: oid === null ? (n.schema ? `${n.schema}.${n.name}` : n.name) : String(row.table),
      existed: oid !== null,
      size: (row.size ?? null) as string | null,
      size_bytes: number(row.size_bytes),
      estimated_rows: number(row.estimated_rows),
      // Named ONLY (an index made on the parent alone), its partitions are not locked.
      partitions: n.only ? null : number(row.partitions),
      sessions_holding: number(row.sessions_holding) ?? 0,
      sessions_waiting: number(row.sessions_waiting) ?? 0,
      oldest_holder_seconds: number(row.oldest_holder_seconds),
      lock_taken: oid === null ? null : lockByOid.get(oid) ?? null,
    };
  });
}

/** Whether a pending file's objects are in a database, read from its catalog. */
export interface AppliedState {
  /** The pending file's name. */
  file: string;
  /**
   * `applied`: every object the file creates, renames or drops is as it
   * leaves it; `not applied`: none is; `partly`: some are; `unknown`: the file
   * makes no object a lookup can confirm (only data, grants, alterations).
   */
  state: "applied" | "not applied" | "partly" | "unknown";
  /** The objects as the file leaves them (`table orders present` ...). */
  as_left: string[];
  /** The objects not as the file leaves them. */
  not_as_left: string[];
  /** Why the state is unknown, when it is. */
  reason?: string;
}

/**
 * For each pending file, whether the database already holds what it makes,
 * from the catalog (there is no tracking table): the objects it creates, the
 * names it renames to or from, the objects it drops, each looked up as
 * migration_apply's verification does. What a file only alters (a table it
 * adds a column to) does not count for the table, only for the column.
 */
export async function appliedStates(
  target: ConnectionTarget,
  files: ParsedPending[],
): Promise<AppliedState[]> {
  const perFile = files.map((file, i) => ({
    file: file.name,
    ...(file.error
      ? { wanted: [] }
      : tellingExpectations(file, files.slice(0, i), files.slice(i + 1))),
  }));
  const all = perFile.flatMap((f) => f.wanted);
  const found = all.length === 0
    ? []
    : await withSession(target, (session) => lookUp(session, all));
  let at = 0;
  return perFile.map(({ file, wanted, reason }) => {
    const checked = wanted.map((w) => {
      const { found: value, invalid } = found[at++];
      const present = value !== null;
      // An INVALID index is what a failed concurrent build leaves, not what the file makes.
      return { w, ok: present === (w.expected === "present") && !invalid, invalid };
    });
    // An object missing is what a file not yet run leaves too: what it makes tells, and what
    // it removes only when it makes nothing.
    const makes = checked.filter((c) => c.w.expected === "present");
    const telling = makes.length ? makes : checked;
    const text = (c: typeof checked[number]) =>
      `${c.w.kind} ${c.w.name} ${c.w.expected}${
        c.invalid ? ` (found INVALID: DROP INDEX CONCURRENTLY ${c.w.name}; then apply again)` : ""
      }`;
    const good = telling.filter((c) => c.ok).length;
    const state = telling.length === 0 || reason
      ? "unknown" as const
      : good === telling.length
      ? (checked.every((c) => c.ok) ? "applied" as const : "partly" as const)
      : good === 0
      ? "not applied" as const
      : "partly" as const;
    return {
      file,
      state,
      as_left: checked.filter((c) => c.ok).map(text),
      not_as_left: checked.filter((c) => !c.ok).map(text),
      ...(reason || telling.length === 0
        ? { reason: reason ?? "it makes nothing a catalog lookup can tell from what was there" }
        : {}),
    };
  });
}

/**
 * The objects whose presence tells whether `file` ran: what it creates,
 * renames to, or removes, less what cannot tell. Not telling: temporary
 * objects (gone with the session), what it makes IF NOT EXISTS or OR REPLACE
 * (it may have been there before), what it both removes and makes (a swap,
 * DROP ... IF EXISTS then CREATE), what it makes and removes again (a scratch
 * table), and what a later pending file renames away or drops. A file that
 * sets search_path is not judged at all: its names resolve elsewhere.
 */
function tellingExpectations(
  file: ParsedPending,
  earlier: ParsedPending[],
  later: ParsedPending[],
): { wanted: Expectation[]; reason?: string } {
  const key = (
    c: { lookup?: string; schema: string | null; object: string; item: string | null },
  ) => [c.lookup, c.schema, c.object, c.item].join("\u0000");
  const setsPath = file.statements.some((s) =>
    s.tree?.type === "VariableSetStmt" &&
    String(s.tree.node.name ?? "").toLowerCase() === "search_path"
  );
  if (setsPath) {
    return {
      wanted: [],
      reason: "it sets search_path, so its names cannot be looked up as written",
    };
  }
  const untelling = new Set<string>();
  const created = new Set<string>();
  const removed = new Set<string>();
  const kept: Statement[] = [];
  for (const statement of file.statements) {
    const { tree } = statement;
    // The relations a statement can make temporary: CREATE TEMP TABLE's, TABLE AS's, VIEW's
    // (the parser marks no other relation temporary).
    const relation = tree?.type === "CreateStmt"
      ? tree.node.relation
      : tree?.type === "CreateTableAsStmt"
      ? tree.node.into?.rel
      : tree?.type === "ViewStmt"
      ? tree.node.view
      : undefined;
    if (relation?.relpersistence === "t") continue; // a temporary object
    const node = tree?.node ?? {};
    const maybeThere = ("if_not_exists" in node && node.if_not_exists === true) ||
      ("replace" in node && node.replace === true);
    for (const change of statement.changes) {
      const k = key(change);
      if (change.action === "create") {
        if (maybeThere || removed.has(k)) untelling.add(k);
        created.add(k);
      }
      if (change.action === "drop" || change.action === "rename") {
        if (created.has(k)) untelling.add(k);
        removed.add(k);
      }
    }
    kept.push(statement);
  }
  // What an earlier pending file makes is missing until that file runs: its absence here says
  // nothing of this file.
  const madeEarlier = new Set<string>();
  const relation = (c: { schema: string | null; object: string }) => `${c.schema}\u0000${c.object}`;
  for (const previous of earlier) {
    for (const statement of previous.statements) {
      for (const change of statement.changes) {
        if (change.action !== "create") continue;
        madeEarlier.add(key(change));
        // A table made earlier takes what it holds with it (an inline constraint, a column).
        if (change.lookup === "relation") madeEarlier.add(relation(change));
      }
    }
  }
  for (const next of later) {
    for (const statement of next.statements) {
      for (const change of statement.changes) {
        if (change.action === "drop" || change.action === "rename") untelling.add(key(change));
      }
    }
  }
  const wanted = expectations(kept.map((statement) => ({
    file: file.name,
    alone: false,
    statement: {
      ...statement,
      changes: statement.changes.filter((c) => ["create", "rename", "drop"].includes(c.action)),
    },
  }))).filter((w) =>
    !untelling.has(key(w)) &&
    !(w.expected === "absent" && (madeEarlier.has(key(w)) || madeEarlier.has(relation(w))))
  );
  return { wanted };
}

/** The applied state of the pending files on one profile's database, or why it could not be read. */
export interface ProfileApplied {
  /** The profile's name, or `DB_URL` for the database that variable names. */
  profile: string;
  /** Each file's state; absent when the database could not be read. */
  files?: AppliedState[];
  /** Why the database could not be read (unreachable, refused ...). */
  error?: string;
}

/**
 * The applied state of the pending files on the database of every profile in
 * the profiles file (and DB_URL's, when set), each read as
 * migration_status.ts --applied reads one; a profile that cannot be read
 * says why, and the others are read all the same.
 */
export async function appliedOnProfiles(
  files: ParsedPending[],
  env: Environment = processEnvironment(),
): Promise<ProfileApplied[]> {
  const { findProjectRoot, tomlPathFor } = await import("../config/project_root.ts");
  const { loadConfig, profileNames } = await import("../config/profiles_file.ts");
  const { resolveTarget } = await import("../connection/resolve.ts");
  const names: string[] = [];
  try {
    names.push(...profileNames(await loadConfig(tomlPathFor(findProjectRoot(env).path))));
  } catch {
    // No profiles file: only DB_URL, if set, can be read.
  }
  const results: ProfileApplied[] = [];
  const read = async (profile: string, resolve: () => Promise<ConnectionTarget>) => {
    try {
      results.push({ profile, files: await appliedStates(await resolve(), files) });
    } catch (error) {
      results.push({ profile, error: error instanceof Error ? error.message : String(error) });
    }
  };
  if (env.DB_URL) {
    await read(
      "DB_URL",
      () => resolveTarget({ session: "diagnostic", userSearchPath: true, env }),
    );
  }
  for (const name of names) {
    await read(
      name,
      () => resolveTarget({ profile: name, session: "diagnostic", userSearchPath: true, env }),
    );
  }
  return results;
}

/**
 * Refuses, before anything runs, a CREATE INDEX CONCURRENTLY on a table the
 * database has as partitioned: the server refuses it there (the check, which
 * leaves such steps out, would pass what --apply then fails), and names the
 * form that works.
 */
function refuseConcurrentOnPartitioned(
  statements: MigrationStatement[],
  named: { schema: string | null; name: string }[],
  beforeRun: Record<string, unknown>[],
): void {
  for (const { file, statement } of statements) {
    const { tree } = statement;
    if (tree?.type !== "IndexStmt" || tree.node.concurrent !== true) continue;
    const relation = tree.node.relation ?? {};
    const i = named.findIndex((n) =>
      n.name === relation.relname && (n.schema ?? null) === (relation.schemaname ?? null)
    );
    if (i === -1 || beforeRun[i]?.partitions === null || beforeRun[i]?.partitions === undefined) {
      continue;
    }
    throw new SkillError(
      `${file} line ${statement.line}: CREATE INDEX CONCURRENTLY on "${relation.relname}", ` +
        `which is partitioned: PostgreSQL refuses that; write CREATE INDEX ... ON ONLY ` +
        `${relation.relname} (instant, INVALID until attached), CREATE INDEX CONCURRENTLY on ` +
        `each partition, then ALTER INDEX ... ATTACH PARTITION each; nothing was run`,
    );
  }
}
