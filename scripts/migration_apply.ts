#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net
/** Checks (or, confirmed, applies) the pending migrations in one transaction, then verifies. */
import { confirmAction, confirmedInAdvance } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { SkillError } from "../lib/core/errors.ts";
import {
  listMigrations,
  parsePending,
  pendingHazards,
  resolveMigrationsFolder,
} from "../lib/migrations/folder.ts";
import { hazardText } from "../lib/migrations/hazards.ts";
import {
  appliedStates,
  columnTypesNow,
  measureTables,
  type MigrationStatement,
  planMigrations,
  planSteps,
  runMigrations,
  statementsThat,
  stepText,
  tableReportText,
} from "../lib/migrations/run.ts";
import { printOutput, renderRows } from "../lib/output/render.ts";
import { describeServer, describeSource } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: migration_apply.ts [--apply] [--profile NAME] [--json]

Runs the pending migrations (prerelease.sql, 1_prerelease.sql ... in order; see
migration_status.ts) on the profile's database (DB_PROFILE, --profile, or
DB_URL), every statement once, all in one transaction, stopping at the first
error, which names the file and line; the transaction is then rolled back and
the database is as it was.
By default it only checks: it runs everything and rolls back, proving the
files would succeed now, and changes nothing (a check takes the same locks and
time as the real run; it carries the diagnostic timeouts, 30 s per statement
and 2 s per lock wait, unless DB_STATEMENT_TIMEOUT_MS / DB_LOCK_TIMEOUT_MS say
otherwise). --apply commits; it names the database and needs YES on a terminal,
or DB_CONFIRM=YES without one. It too waits at most 2 s for a lock (a structure
change queued behind a long transaction stalls every query behind it; the whole
run is rolled back, try again when the lock is free, or raise
DB_LOCK_TIMEOUT_MS), but has no statement timeout unless DB_STATEMENT_TIMEOUT_MS
sets one.
Statements PostgreSQL runs only outside a transaction are steps of their own:
CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY
(of an index or a table) and VACUUM run alone, in file order, each once, and the
statements between them run in one transaction each. A check shows that plan
and checks the transactional parts (in one transaction, rolled back); it does
not run the steps alone, which a rollback could not undo. --apply runs the
steps in order with the lock timeout, and stops at the first failure, saying
which steps were applied and committed and how to resume; a failed concurrent
build leaves an INVALID index, named with the DROP INDEX CONCURRENTLY that
removes it. Other statements that cannot run in a transaction (CREATE
DATABASE, ALTER SYSTEM ...) and transaction control of the files' own (BEGIN,
COMMIT) are refused before anything runs. A check also refuses what a rollback cannot
undo (COPY to or from a program, server files, pg_terminate_backend, dblink,
SQL given as text ...); --apply names those in its confirmation. Sequences a
check advances (nextval, inserts into serial columns) stay advanced, and the
check says which moved. Each statement is sent alone (the extended protocol),
so the server runs exactly the statement that was checked. A check checks
deferred constraints as COMMIT would (SET CONSTRAINTS ALL IMMEDIATE), and names
what it ran without seeing into: EXECUTE of SQL built at run time, bodies in
other languages, and the database's own code: triggers on the tables it wrote,
functions the statements call, event triggers that fire on its DDL.
For each table the files lock, it reports (on stderr; "tables" in --json) its
size and estimated rows, how many other sessions hold or wait for a lock on it
just before the run (and how long the oldest has been in its transaction), and
the strongest lock the run took on it, read from pg_locks inside the
transaction: "orders (2.3 GB, ~9000000 rows): the run takes ACCESS EXCLUSIVE,
which blocks every read and write of it; 14 other sessions hold a lock on it
now". --apply says the same (with the locks the statements will take) in its
confirmation, and both list the hazards of the pending statements
(references/migration_hazards.md), judged with the column types the database
has now: a varchar made longer is no rewrite.
Before anything runs, the database's catalog is read for what each pending
file makes (as migration_status.ts --applied does): a file found applied, or
partly, is refused with what is there, instead of failing on its first CREATE.
Afterwards each object the files create, alter, rename or drop is looked up in
the catalog with the cheapest query that confirms it (inside the transaction
for a check), and listed: expected present or absent, and what was found. Exit
1 when any is not as expected.

Options:
  --apply          commit (after confirmation) instead of rolling back
  --profile NAME   the profile to apply to (and whose migrations_path counts)
  --json           {mode, database, files, statements, committed, verified,
                   steps, not_checked, tables, hazards}
  --help           this text

Example:
  ./scripts/migration_apply.ts
  DB_CONFIRM=YES ./scripts/migration_apply.ts --apply`;

await runScript("migration_apply", async () => {
  const { values, format } = parseCli({
    name: "migration_apply",
    usage,
    formats: ["json"],
    options: { apply: { type: "boolean" }, profile: { type: "string" } },
  }, Deno.args);
  const apply = values.apply === true;
  const profile = values.profile;
  const folder = await resolveMigrationsFolder(profile);
  const { pending } = await listMigrations(folder.absolute);
  if (pending.length === 0) {
    note(`No pending migrations in "${folder.absolute}"; nothing to ${apply ? "apply" : "check"}`);
    return 0;
  }
  const parsed = await parsePending(pending);
  const statements = planMigrations(parsed, { commit: apply });
  const files = pending.map((f) => f.name);
  const steps = planSteps(statements);
  const plan = steps.map(stepText);
  const target = await resolveTarget({ profile, session: apply ? "migration" : "explain" });
  const where = `database "${target.database}" at ${describeServer(target)} ` +
    `(${describeSource(target)})`;
  const what = `${statements.length} statement${statements.length === 1 ? "" : "s"} from ` +
    `${files.join(", ")}`;
  // A file whose objects the database already holds is said to be applied, not run into 42P07.
  const done = (await appliedStates(target, parsed)).filter((s) =>
    s.state === "applied" || s.state === "partly"
  );
  if (done.length) {
    throw new SkillError(
      `${where} already holds ${
        done.map((d) =>
          `"${d.file}" ${d.state === "applied" ? "(applied: " : "in part ("}${
            d.as_left.slice(0, 3).join(", ")
          }${d.as_left.length > 3 ? ", ..." : ""}${
            d.state === "partly" ? `; not: ${d.not_as_left.slice(0, 3).join(", ")}` : ""
          })`
        ).join(", ")
      }; nothing was run: release what is applied (migration_release.ts), or take out what ` +
        `is there already (migration_status.ts --applied lists it all)`,
    );
  }
  // The hazards, with the column types the database has now (a widening rewrites nothing).
  const types = await columnTypesNow(target, statements);
  // lock-timeout-missing is about other tools: this one sets the lock timeout itself.
  const hazards = pendingHazards(parsed, {
    columnType: (table, column) => types.get(`${table}.${column}`),
  }).filter((h) => h.rule !== "lock-timeout-missing");
  if (apply) {
    const escaping = statementsThat(statements, (s) => s.escapes);
    // Said before YES: what each table will be locked with, how big it is, who uses it now.
    const tables = (await measureTables(target, statements)).map((t) =>
      tableReportText(t, "will take")
    );
    await confirmAction(
      `Apply ${what} to ${where}, ${
        steps.length === 1 ? "in one transaction" : `in ${steps.length} steps`
      }?` + (steps.length > 1 ? `\n  ${plan.join("\n  ")}` : "") +
        (tables.length ? `\nTables locked until COMMIT:\n  ${tables.join("\n  ")}` : "") +
        (hazards.length
          ? `\nHazards (references/migration_hazards.md):\n  ${
            hazards.map(hazardText).join("\n  ")
          }`
          : "") +
        (escaping.length
          ? `\nThese act outside the transaction, and a failure later does not undo them:\n  ` +
            escaping.join("\n  ")
          : ""),
    );
  }
  const run = await runMigrations(target, statements, { commit: apply });
  const wrong = run.verified.filter((v) => !v.ok);
  const moved = run.movedSequences.map((m) => `${m.name} ${m.before ?? "unused"} -> ${m.after}`);
  note(
    apply
      ? `Applied ${what} to ${where}: committed${
        run.commitLearntAfterwards
          ? " (the connection was lost during COMMIT; the server records it as committed)"
          : ""
      }.`
      : run.checkedStatements === 0
      ? `Checked nothing on ${where}: ${
        statements.length === 1 ? "the statement runs" : "every statement runs or needs what runs"
      } outside a transaction, which a check cannot roll back (--apply runs ${
        statements.length === 1 ? "it" : "them"
      }); nothing was changed.`
      : `Checked ${
        run.checkedStatements === statements.length
          ? what
          : `${run.checkedStatements} of the ${statements.length} statements`
      } on ${where}: ${run.checkedStatements === 1 ? "it applies" : "they apply"}; rolled back, ${
        moved.length
          ? `nothing was changed but sequences, which a rollback does not move back: ${
            moved.join(", ")
          } (other sessions may have moved them too)`
          : "nothing was changed"
      }.` + checkCaveats(statements, [
        ...run.triggersRun.map((t) => `trigger ${t}`),
        ...run.databaseCode,
      ]),
  );
  if (steps.length > 1) note(`  ${steps.length} steps:\n    ${plan.join("\n    ")}`);
  if (run.notChecked.length) {
    note(
      `  not run by the check (outside a transaction, which a rollback cannot undo, or naming ` +
        `what such a step makes; --apply runs them): ${run.notChecked.join("; ")}`,
    );
  }
  // What the run locked, measured: the locks from pg_locks, the users from just before.
  for (const table of run.tables) note(`  ${tableReportText(table, apply ? "took" : "takes")}`);
  // After an apply confirmed without a prompt (DB_CONFIRM=YES), the prompt's hazards are said
  // here, once it succeeded: a failure stays one line.
  if (!apply || confirmedInAdvance()) {
    for (const hazard of hazards) note(`  hazard: ${hazardText(hazard)}`);
  }
  if (format === "json") {
    printOutput(JSON.stringify(
      {
        mode: apply ? "apply" : "check",
        database: target.database,
        files,
        statements: run.statements,
        committed: run.committed,
        verified: run.verified,
        steps: plan,
        ...listed("not_checked", run.notChecked),
        tables: run.tables,
        hazards,
        ...(run.movedSequences.length ? { moved_sequences: run.movedSequences } : {}),
        ...listed("not_undone", statementsThat(statements, (s) => s.notUndone)),
        ...listed("unseen", statementsThat(statements, (s) => s.unseen)),
        ...listed("triggers_run", run.triggersRun),
        ...listed("database_code", run.databaseCode),
      },
      null,
      2,
    ));
  } else {
    const columns = ["kind", "name", "expected", "found", "ok"];
    printOutput(renderRows({
      columns,
      // A check's lookups ran inside the transaction it then rolled back: nothing stays.
      ...(apply ? {} : { labels: columns.with(3, "found before the rollback") }),
      rows: run.verified.map((v) => ({ ...v })),
    }, format));
  }
  if (wrong.length) {
    note(
      `${wrong.length} object${wrong.length === 1 ? " is" : "s are"} not as the files leave ` +
        `${wrong.length === 1 ? "it" : "them"}: ${
          wrong.map((v) => `${v.kind} ${v.name} (${v.expected} expected)`).join(", ")
        }`,
    );
    return 1;
  }
});

/**
 * What a check's "nothing was changed" does not cover: what a rollback
 * leaves (ANALYZE's statistics), and code the check ran without seeing into.
 */
function checkCaveats(statements: MigrationStatement[], databaseCode: string[]): string {
  const left = statementsThat(statements, (s) => s.notUndone);
  const unseen = [
    ...statementsThat(statements, (s) => s.unseen),
    ...(databaseCode.length ? [`the database's own ${databaseCode.join(", ")}`] : []),
  ];
  return (left.length ? ` A rollback does not undo: ${left.join("; ")}.` : "") +
    (unseen.length
      ? ` Not seen into, so not checked for effects outside the transaction: ${unseen.join("; ")}.`
      : "");
}

/** `{ [key]: items }`, or nothing when there are none (JSON leaves out empty lists). */
function listed(key: string, items: string[]): Record<string, string[]> {
  return items.length ? { [key]: items } : {};
}
