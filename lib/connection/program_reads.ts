/**
 * Relations whose read runs a program on the server: a foreign table with a
 * `program` option (file_fdw's runs a shell command, as the server's OS user,
 * whenever the table is scanned, in a READ ONLY transaction too), and what
 * reads one as far as the catalog shows (views, BEGIN ATOMIC functions,
 * policies, parent tables), from `sql/program_reads.sql`.
 *
 * A read-only run refuses a statement that reads one before sending it
 * ({@linkcode refuseProgramReads}); readonly_role.ts leaves them out of the
 * reader's grants and flags a role that may read one.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { loadSql } from "../sql/sql_files.ts";
import { describeStatement, type Statement } from "../sql/statements.ts";
import type { PgSession } from "./session.ts";

/** One relation whose read runs a program, and the foreign table behind it. */
export interface ProgramRead {
  /** The relation's oid. */
  oid: number;
  /** Its name as the server writes a regclass (schema-qualified unless on search_path). */
  relation: string;
  /** Its relkind (`f` foreign table, `v` view, `r`/`p` a table ...). */
  relkind: string;
  /** The foreign table whose read runs the program (the relation itself when it is one). */
  foreignTable: string;
  /** Whose options name the program: the table's, its server's or its wrapper's. */
  optionOf: "table" | "server" | "wrapper";
  /** The 1-based position of the name that resolved to it, among those asked about. */
  named?: number;
  /** True when the session's user may grant SELECT on it. */
  grantable: boolean;
  /** With a role: the REVOKE that takes SELECT on it from that role (and whom it has it through). */
  revoke?: string;
}

/**
 * The relations whose read runs a program: those `relations` name (resolved
 * as the session would, or in every schema when `anywhere`), or all of the
 * database's; with `role`, only those that role may SELECT (whole or some
 * columns; `public` for every role's). One round trip.
 */
export async function programReads(
  session: PgSession,
  options: {
    relations?: { schema?: string; name: string }[];
    anywhere?: boolean;
    role?: string;
  } = {},
): Promise<ProgramRead[]> {
  const { relations, role } = options;
  const { rows } = await session.query(await loadSql("program_reads"), [
    relations ? relations.map((r) => r.schema ?? null) : null,
    relations ? relations.map((r) => r.name) : null,
    options.anywhere === true,
    role ?? null,
  ]);
  return rows.map((row) => ({
    oid: Number(row.oid),
    relation: String(row.relation),
    relkind: String(row.relkind),
    foreignTable: String(row.foreign_table),
    optionOf: String(row.option_of) as ProgramRead["optionOf"],
    ...(row.named === null ? {} : { named: Number(row.named) }),
    grantable: row.grantable === true,
    ...(row.revoke === null ? {} : { revoke: String(row.revoke) }),
  }));
}

/** Why reading `read` runs a program, as words that follow its name. */
export function programReason(read: ProgramRead): string {
  const option = read.optionOf === "table"
    ? "whose option program"
    : `whose ${read.optionOf === "server" ? "server's" : "wrapper's"} option program`;
  const what = `runs a program on the server whenever it is read`;
  return read.relation === read.foreignTable
    ? `is a foreign table ${option} ${what}`
    : `reads foreign table ${read.foreignTable}, ${option} ${what}`;
}

/**
 * Refuses (usage error, exit 2), before anything of them is sent, statements
 * that read a relation whose read runs a program (see
 * {@linkcode programReads}): a READ ONLY transaction does not stop the
 * program, nor does a rollback undo it. One catalog query for all the
 * relations the statements name; none when they name none. What functions
 * the statements call read is not seen (only BEGIN ATOMIC bodies are in the
 * catalog).
 */
export async function refuseProgramReads(
  session: PgSession,
  statements: Statement[],
  context: { refused: string } = {
    refused: "a read-only run refuses it; the statement was not sent",
  },
): Promise<void> {
  const relations: Statement["relations"] = [];
  const statementOf: Statement[] = [];
  for (const statement of statements) {
    for (const relation of statement.relations) {
      relations.push(relation);
      statementOf.push(statement);
    }
  }
  if (!relations.length) return;
  const found = await programReads(session, {
    relations,
    // A function called before a later statement may set search_path itself (set_config in
    // its body): names of the statements after it are then matched in every schema too.
    anywhere: statements.some((s) => s.changesSearchPath) ||
      statements.slice(0, -1).some((s) => s.calls.length > 0),
  });
  const first = found.find((read) => read.named !== undefined);
  if (!first) return;
  const statement = statementOf[first.named! - 1];
  throw new UsageError(
    `Statement ${statement.index}, ${describeStatement(statement)}, reads ${first.relation}, ` +
      `which ${programReason(first)} (a read-only transaction does not stop it, a rollback ` +
      `does not undo it), so ${context.refused}`,
  );
}
