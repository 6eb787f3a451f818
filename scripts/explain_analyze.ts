#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net
/**
 * Shows the plan of one statement: EXPLAIN (ANALYZE, BUFFERS) inside a
 * transaction that is rolled back (a read read-only, as the reader role; a
 * data change once the database's code it runs is read and found to stay
 * inside the transaction), or the plan alone with --no-analyze.
 */
import { escapeControl, note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { confirmAction } from "../lib/cli/prompt.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import { checkSessionRole, readOnlyRoleWarning } from "../lib/connection/reader_role.ts";
import { refuseProgramReads } from "../lib/connection/program_reads.ts";
import { withRollback } from "../lib/connection/transactions.ts";
import { databaseCode } from "../lib/connection/database_code.ts";
import { PgServerError, type PgSession } from "../lib/connection/session.ts";
import { loadSql } from "../lib/sql/sql_files.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { printOutput } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import {
  checkParamCount,
  describeStatement,
  EXPLAINABLE_COMMANDS,
  oneStatement,
  type Statement,
} from "../lib/sql/statements.ts";
import { stringifyJson } from "../lib/connection/values.ts";

/**
 * The one statement to explain, checked by PostgreSQL's parser: exactly one,
 * of a kind EXPLAIN takes, and (when it will run) nothing that acts outside
 * the transaction that is rolled back.
 */
async function explainable(text: string, analyze: boolean): Promise<Statement> {
  const statement = await oneStatement(text, {
    action: "explain",
    commands: EXPLAINABLE_COMMANDS,
    accepted: "EXPLAIN takes SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, CREATE TABLE AS or " +
      "DECLARE",
  });
  // Sequence calls are left to the server (a read's read-only transaction refuses them; a data
  // change's moves are named afterwards); the rest is refused, server files read too (an error
  // message can show what was read).
  const escapes = [...statement.readOnlyRefusals, ...statement.refusals];
  if (analyze && escapes.length) {
    throw new UsageError(
      `The statement uses ${escapes[0]}, which EXPLAIN ANALYZE would run for real ` +
        `(rolling back does not undo it); use --no-analyze to see the plan only`,
    );
  }
  return statement;
}

const usage =
  `Usage: explain_analyze.ts [--no-analyze | --write] [--param VALUE]... [--json] "<sql>"

Shows how the server runs one statement. By default it runs the statement with
EXPLAIN (ANALYZE, BUFFERS), inside a transaction that is always rolled back:
the plan shows real row counts, times and buffer use, and a DELETE, UPDATE or
INSERT leaves every row as it was. PostgreSQL's parser checks the text first:
exactly one statement of a kind EXPLAIN takes (SELECT, INSERT, UPDATE, DELETE,
MERGE, VALUES, CREATE TABLE AS, DECLARE); with ANALYZE, nothing that acts
outside the transaction (pg_terminate_backend, dblink, server files, SQL given
as text to query_to_xml ...), which rolling back cannot undo, nor a read of a
foreign table whose options run a program on the server (file_fdw's program),
also through views, parent tables and policies (the catalog is asked before the
statement is sent; planning alone runs no program, so --no-analyze shows its
plan).

A read runs read-only, as the profile's reader role when it has one
(readonly_role.ts), also when it calls nextval or setval or locks rows (FOR
UPDATE): the server then refuses it (SQLSTATE 25006); --no-analyze shows its
plan. Only a data change (rows written, a table made) runs as the profile's own
role, and only with --write and a confirmation (type YES, or DB_CONFIRM=YES
without a terminal): its rows come back, but the database's own code it fires
runs for real, and what of it acts outside the transaction stays. Before
ANALYZE runs one, the database's own code it would run is read
from the catalog: enabled triggers on the tables it writes (their partitions,
what their rules and views write and the tables foreign keys cascade to too),
rules, column defaults, generated columns, check and domain constraints, the
views and policies of every table it names, and the functions all of these
call, their SQL and PL/pgSQL bodies read as the statement is. Code that acts
outside the transaction, or that cannot be seen into (a function in C or
another language that is not built in, SQL built at run time), refuses ANALYZE
(exit 2, naming the object and what it does); code that only changes rows runs
and is rolled back. Code no catalog lookup here shows (index expressions,
operators, casts, a type's functions ...) is not checked: the confirmation says
so. Sequences the run moved stay moved (a rollback does not undo them): stderr
names them.

With --no-analyze the statement is only planned, never run; planning may still
call the stable and immutable functions it names (to fold constants and
estimate rows), so it too runs read-only, as the reader role when there is one.
The session carries a statement timeout (DB_STATEMENT_TIMEOUT_MS, default 30 s).

Options:
  --no-analyze   plan only (EXPLAIN without ANALYZE): the statement is not run
  --write        run a data change under ANALYZE (rolled back; a confirmation
                 follows); without it, ANALYZE of a data change is refused
  --param VALUE  a value for $1, $2 ... in order (repeatable); bound, never
                 spliced into the text, so the plan is the one the application's
                 parameterized query gets
  --json         the plan in EXPLAIN's JSON format
  --help         this text

Example:
  ./scripts/explain_analyze.ts "select * from orders where customer_id = 42"
  ./scripts/explain_analyze.ts "select * from orders where customer_id = \\$1" --param 42`;

await runScript("explain_analyze", async () => {
  const { positionals, values, format } = parseCli({
    name: "explain_analyze",
    usage,
    formats: ["json"],
    positionals: { min: 1, max: 1 },
    options: {
      "no-analyze": { type: "boolean" },
      write: { type: "boolean" },
      param: { type: "string", multiple: true },
    },
  }, Deno.args);
  const params = values.param ?? [];
  const analyze = values["no-analyze"] !== true;
  const statement = await explainable(positionals[0], analyze);
  checkParamCount([statement], params.length);
  const options = [
    ...(analyze ? ["ANALYZE", "BUFFERS"] : []),
    ...(format === "json" ? ["FORMAT JSON"] : []),
  ];
  // The text is the one statement the parser found, of a kind EXPLAIN takes,
  // so nothing else can ride along with it.
  const explain = `EXPLAIN ${options.length ? `(${options.join(", ")}) ` : ""}${statement.text}`;
  // Only a data change (rows written, a table made) runs as the profile's own role, read-write;
  // everything else runs where reads run (read-only, as the reader role when there is one),
  // however it is decorated: the server refuses nextval and FOR UPDATE there.
  const changesData = statement.writes.length > 0 || statement.changes.length > 0;
  const readOnly = !analyze || !changesData;
  // Run for real, a data change fires the database's own code (triggers, defaults, index
  // expressions, operators, casts ...) as the profile's user; no catalog reading finds all of
  // it, and what acts outside the transaction the rollback does not undo. So it is the user's
  // call, as a write is in run_sql.ts: --write, and a confirmation.
  if (!readOnly && values.write !== true) {
    throw new UsageError(
      `${describeStatement(statement)} changes data: EXPLAIN ANALYZE runs it for real in a ` +
        `transaction that is rolled back, firing the database's own code (triggers, defaults, ` +
        `index expressions ...), whose effects outside the transaction stay; use --no-analyze ` +
        `to see the plan only, or, if the user agreed, run again with --write (a confirmation ` +
        `follows)`,
    );
  }
  const target = await resolveTarget({
    session: readOnly ? "diagnostic" : "explain",
    userSearchPath: true,
  });
  let roleWarning: string | undefined;
  let sequenceNote: string | undefined;
  const plan = await withSession(target, async (session) => {
    // Run for real, a read of a foreign table whose options run a program (file_fdw's) runs it:
    // neither READ ONLY nor the rollback stops that. Planning alone does not.
    if (analyze) {
      await refuseProgramReads(session, [statement], {
        refused: "EXPLAIN ANALYZE, which runs it, refuses it (nothing was run); --no-analyze " +
          "shows the plan only",
      });
    }
    if (readOnly) {
      // The server refuses what the parser cannot see only for a role that can do no more;
      // said after the plan, so that a failure stays one line.
      roleWarning = readOnlyRoleWarning(await checkSessionRole(session), target);
      return await withRollback(session, () => readOnlyExplain(session, explain, params, analyze));
    }
    // A data change runs as the profile's own role: the database's own code it would run
    // (triggers, rules, defaults, constraints, views ...) is read first, and ANALYZE refused
    // when that code acts outside the transaction or cannot be seen into.
    const code = await databaseCode(session, statement);
    if (code.refusals.length) {
      throw new UsageError(
        `The statement runs the database's own code: ${code.refusals[0]}; EXPLAIN ANALYZE ` +
          `would run it for real, and a rollback does not undo what acts outside the ` +
          `transaction: use --no-analyze to see the plan only`,
      );
    }
    const read = code.functions.length;
    await confirmAction(
      `Run ${describeStatement(statement)} for real under EXPLAIN ANALYZE as "${target.user}", ` +
        `in a transaction that is then rolled back? Its rows come back; the database code it ` +
        `fires runs too (${
          read
            ? `${read} use${read === 1 ? "" : "s"} of functions read: they stay inside`
            : "none found"
        }; code no catalog lookup here shows, such as index expressions, operators and casts, ` +
        `is not checked)`,
    );
    const positions = await loadSql("sequence_positions");
    const before = await sequencePositions(session, positions);
    const result = await withRollback(session, () => session.query(explain, params));
    sequenceNote = movedSequences(before, await sequencePositions(session, positions), [
      ...statement.sequenceCalls,
      ...code.sequenceCalls,
    ]);
    return result;
  });
  if (format === "json") {
    // EXPLAIN's own JSON text, already indented: parsing it would fail on a deep plan.
    printOutput(stringifyJson(plan.rows[0]["QUERY PLAN"]));
  } else {
    // The plan quotes the statement's literals, which may hold control characters.
    printOutput(escapeControl(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")));
  }
  if (sequenceNote) note(sequenceNote);
  if (roleWarning) note(roleWarning);
});

/**
 * A read's EXPLAIN in the read-only transaction; the server's refusal of a
 * write there (SQLSTATE 25006: nextval, setval, FOR UPDATE ...) says how to
 * go on.
 */
async function readOnlyExplain(
  session: PgSession,
  explain: string,
  params: string[],
  analyze: boolean,
) {
  try {
    return await session.query(explain, params);
  } catch (error) {
    if (!(error instanceof PgServerError) || error.code !== "25006" || !analyze) throw error;
    throw new SkillError(
      `The server refused it in the read-only transaction a read runs in: ${error.message} ` +
        `(SQLSTATE 25006). A read runs read-only (as the reader role when the profile has one), ` +
        `also when it moves a sequence (nextval, setval) or locks rows (FOR UPDATE, FOR SHARE): ` +
        `use --no-analyze to see the plan, or explain the read without the sequence call or ` +
        `the locking clause to time it`,
    );
  }
}

/** Each sequence's position, by name (null: never used, or not readable by this role). */
async function sequencePositions(
  session: PgSession,
  sql: string,
): Promise<Map<string, string | null>> {
  const { rows } = await session.query(sql);
  return new Map(
    rows.map((row) => [String(row.name), row.last_value === null ? null : String(row.last_value)]),
  );
}

/**
 * What to say of sequences after a rolled-back run: those that moved (a
 * rollback does not undo it), else the calls that may have moved one.
 */
function movedSequences(
  before: Map<string, string | null>,
  after: Map<string, string | null>,
  calls: string[],
): string | undefined {
  const moved = [...after].filter(([name, value]) => before.has(name) && before.get(name) !== value)
    .map(([name, value]) => `${name} (${before.get(name) ?? "unused"} -> ${value ?? "?"})`);
  if (moved.length) {
    return `note: sequences the run moved stay moved (a rollback does not undo it): ` +
      `${moved.join(", ")}`;
  }
  // Measured, and nothing moved: a default that could move one did not fire (a DELETE's).
  // Only when no position could be read is what may move said instead.
  if (calls.length && before.size === 0) {
    return `note: the statement may move sequences, which a rollback does not undo: ` +
      `${calls.slice(0, 3).join("; ")}${calls.length > 3 ? ` and ${calls.length - 3} more` : ""}`;
  }
  return undefined;
}
