#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net
/**
 * Runs ad-hoc SQL safely: checked by PostgreSQL's own parser before anything
 * is sent, read-only unless --write or --ddl (and a confirmation) allow
 * more, every statement exactly once, results streamed.
 */
import { confirmAction } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { parsePositiveInt } from "../lib/core/numbers.ts";
import { readInputText } from "../lib/cli/input.ts";
import { runScript } from "../lib/cli/run.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import { CommitLostError, commitTransaction } from "../lib/connection/transactions.ts";
import { explainQueryError, withSession } from "../lib/connection/script_sessions.ts";
import { checkSessionRole, readOnlyRoleWarning } from "../lib/connection/reader_role.ts";
import { refuseProgramReads } from "../lib/connection/program_reads.ts";
import { ResultStream, type StreamFormat } from "../lib/output/render.ts";
import { describeServer } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { copyCsv, describeStatement, parseStatements, planRun } from "../lib/sql/statements.ts";
import { LIFTOFF_ONLY, relaunchWithV8Flag } from "../lib/cli/v8_flags.ts";

const usage = `Usage: run_sql.ts [options] "<sql>"
       run_sql.ts [options] -f FILE
       run_sql.ts [options] -          (the SQL from stdin)

Runs SQL on the profile named by DB_PROFILE (default "local") or DB_URL.
PostgreSQL's own parser reads the text first; nothing is sent unless every
statement is allowed, and then each statement goes to the server alone (the
server refuses a message that hides a second one), read the way the parser
read it (standard_conforming_strings and client_encoding are pinned; SQL that
changes them is refused, and a run whose session sees them changed stops):
  read-only (the default)  plain reads, in a READ ONLY transaction that is
                           rolled back, as the profile's reader role when it
                           has one (readonly_role.ts); refused anywhere in the
                           text (CTEs, EXPLAIN ANALYZE, PREPARE ...): data and
                           structure changes, transaction control, SET of
                           read-only, role or timeout settings, COPY with
                           files or programs, DO blocks, and functions that
                           act outside the transaction or run SQL given as
                           text (pg_terminate_backend, dblink, lo_*,
                           query_to_xml, ts_stat ...), also when called in
                           attribute notation ((42).pg_terminate_backend),
                           and reads of a foreign table whose options run a
                           program on the server (file_fdw's program), also
                           through views, parent tables and policies, as the
                           catalog shows them (looked up before sending);
                           what functions, views and policies do inside is
                           for the role's privileges to refuse, and a run
                           whose role can do more than read says so
  --write                  also data changes (INSERT, UPDATE, DELETE, MERGE,
                           TRUNCATE, VACUUM ...) and the calls read-only
                           refuses (the confirmation names those that act
                           outside the transaction)
  --ddl                    also structure changes (CREATE, ALTER, DROP, GRANT,
                           DO, CALL ...)
With --write or --ddl the statements run in one transaction, all or nothing,
each exactly once, after a confirmation naming each statement and what it
touches (type YES on a terminal, or set DB_CONFIRM=YES). A statement that
cannot run in a transaction (CREATE INDEX CONCURRENTLY, VACUUM, CREATE
DATABASE, ALTER SYSTEM ...) must be the whole input; it runs outside one and
the output says so. BEGIN, COMMIT and ROLLBACK of your own are refused. When
the connection is lost during COMMIT, the server is asked afterwards whether
the transaction committed, and its answer (or "unknown", with the query that
tells) is reported. COPY ... TO STDOUT prints what the server writes, as psql
does (not with --json or --ndjson).
Notices go to stderr. Ctrl-C cancels the running statement on the server.

Options:
  -f, --file FILE   read the SQL from FILE
  --param VALUE     a value for $1, $2 ... in order (repeatable); bound, never
                    spliced into the text
  --write           allow data changes (see above)
  --ddl             allow structure and data changes (see above)
  --max-rows N      rows of each result in the table and in --json (default
                    200; 0: all); --csv and --ndjson always give all
  --json            one JSON document: mode, role (the role it connected
                    as), results (statement, columns, rows, command,
                    row_count: all rows the statement returned, truncated:
                    true when rows holds only the first --max-rows, omitted:
                    how many were left out), transaction
  --csv             the rows of the one statement that returns rows, as COPY
                    CSV writes them (server text; NULL empty, '' quoted)
  --ndjson          the same rows, one JSON object per line
  --help            this text

Exit status: 0 done, 1 failed (nothing was changed: the transaction was rolled
back), 2 usage error or a statement that needs a flag, 130 interrupted.

Example:
  ./scripts/run_sql.ts "select id, email from users where id = \\$1" --param 42
  ./scripts/run_sql.ts --write "update users set active = false where id = \\$1" --param 42
  ./scripts/run_sql.ts --csv -f report.sql > report.csv`;

// Started without the flag (`deno run -A scripts/run_sql.ts`), the parser's optimizing compile
// would take more memory than the streamed result: start again with it (lib/cli/v8_flags.ts).
relaunchWithV8Flag(LIFTOFF_ONLY);

await runScript("run_sql", async () => {
  const { values, positionals, format: baseFormat } = parseCli({
    name: "run_sql",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
    options: {
      file: { type: "string", short: "f" },
      param: { type: "string", multiple: true },
      write: { type: "boolean" },
      ddl: { type: "boolean" },
      "max-rows": { type: "string" },
      ndjson: { type: "boolean" },
    },
  }, Deno.args);
  if (values.ndjson && baseFormat !== "table") {
    throw new UsageError("Choose one of --json, --csv and --ndjson");
  }
  const format: StreamFormat = values.ndjson ? "ndjson" : baseFormat;
  const maxRows = values["max-rows"] === undefined
    ? 200
    : parsePositiveInt(values["max-rows"], "--max-rows", { min: 0, max: 1_000_000_000 });
  const sql = await readInputText({
    argument: positionals[0],
    file: values.file,
    what: "SQL",
  });
  const params = values.param ?? [];
  const statements = await parseStatements(sql);
  const plan = planRun(statements, {
    params: params.length,
    write: values.write === true,
    ddl: values.ddl === true,
  });

  const copy = statements.find((s) => s.copyToStdout);
  if (copy && (format === "json" || format === "ndjson")) {
    throw new UsageError(
      `Statement ${copy.index}, ${describeStatement(copy)}, writes COPY's own format, which ` +
        `--${format} cannot hold; run it without --${format}, or select the rows instead`,
    );
  }

  const target = await resolveTarget({
    session: plan.mode === "read-only" ? "diagnostic" : "explain",
    userSearchPath: true,
  });
  if (plan.mode !== "read-only") {
    // What acts beyond the transaction is named: the flag allows it, the user should see it.
    const lines = statements.map((s) =>
      `${s.index}. ${describeStatement(s)}` +
      (s.escapes.length ? `; outside the transaction: ${s.escapes.join(", ")}` : "") +
      (s.unseen.length ? `; not seen into: ${s.unseen.join(", ")}` : "")
    );
    await confirmAction(
      `Run on database "${target.database}" at ${describeServer(target)}:\n  ` +
        `${lines.join("\n  ")}\n${
          plan.outsideTransaction ? "outside a transaction" : "in one transaction"
        }?`,
    );
  }

  const results = new ResultStream(format, {
    maxRows,
    prologue: { mode: plan.mode, role: target.user },
  });
  let transaction = plan.outsideTransaction ? "none (ran outside a transaction)" : "rolled back";
  let roleWarning: string | undefined;
  await withSession(target, async (session) => {
    let shown = 0;
    const flushNotices = () => {
      for (const notice of session.notices.slice(shown)) {
        note(`${notice.severity}:  ${notice.message}`);
      }
      shown = session.notices.length;
    };
    if (session.pooled) {
      // Session state would stay on a server connection that other clients of the pooler get.
      const committed = plan.mode !== "read-only";
      for (const statement of statements) {
        const left = statement.outlivesTransaction.find((o) => committed || !o.rollbackUndoes);
        if (left) {
          throw new UsageError(
            `Statement ${statement.index}, ${describeStatement(statement)}, leaves ${left.what} ` +
              `on the server connection, and behind a pooler in transaction mode other clients ` +
              `get that connection next; nothing was sent (use SET LOCAL, or connect past the ` +
              `pooler)`,
          );
        }
      }
    }
    if (plan.mode === "read-only") {
      // The server refuses what the parser cannot see only for a role that can do no more;
      // said after the results, so that a failure stays one line.
      roleWarning = readOnlyRoleWarning(await checkSessionRole(session), target);
      // A foreign table that runs a program when read (file_fdw's program option) runs it in a
      // READ ONLY transaction too: the catalog says which the statements read, before any is sent.
      await refuseProgramReads(session, statements);
    }
    if (!plan.outsideTransaction) {
      await session.transaction(plan.mode === "read-only" ? "begin read only" : "begin");
    }
    let step = "";
    try {
      for (const statement of statements) {
        step = `Statement ${statement.index}, ${describeStatement(statement)},`;
        const values = params.slice(0, statement.maxParam);
        if (format === "csv" && statements.length === 1 && statement.plainQuery && !params.length) {
          // The server writes the CSV itself: no JavaScript value per field.
          const copy = await copyCsv(statement);
          await results.copy(statement.index, (write) => session.copyOut(copy, write));
        } else if (statement.copyToStdout) {
          // COPY's own output, passed on as the server writes it (as psql does).
          await results.copyOut(statement.index, (write) => session.copyOut(statement.text, write));
        } else {
          await results.statement(
            statement.index,
            session.batches(statement.text, values, { serverText: format === "csv" }),
          );
        }
        flushNotices();
      }
      if (!plan.outsideTransaction) {
        if (plan.mode === "read-only") {
          await session.transaction("rollback");
        } else {
          step = "COMMIT (deferred constraints are checked there)";
          const outcome = await commitTransaction(session, target, {
            actedOutside: statements.flatMap((s) => [...s.escapes, ...s.sequenceCalls]),
          });
          transaction = "committed";
          if (outcome.learntAfterwards) {
            note(
              "note: the connection was lost during COMMIT; asked afterwards, the server records " +
                "the transaction as committed",
            );
          }
        }
      }
    } catch (error) {
      flushNotices();
      if (error instanceof CommitLostError) throw error; // It says what became of the transaction.
      if (!plan.outsideTransaction) await session.transaction("rollback").catch(() => {});
      const explained = explainQueryError(error, target);
      if (!(explained instanceof SkillError) || explained.exitCode !== 1) throw explained;
      const undone = plan.outsideTransaction
        ? "it ran outside a transaction"
        : plan.mode === "read-only"
        ? "nothing was changed"
        : "the transaction was rolled back, nothing was changed";
      throw new SkillError(
        `${step} failed: ` +
          `${explained.message}; ${undone}`,
      );
    }
  });
  results.end({ transaction });
  if (roleWarning) note(roleWarning);
  if (plan.outsideTransaction && format === "table") {
    note(`note: ran outside a transaction (${statements[0].command} cannot run inside one)`);
  }
});
