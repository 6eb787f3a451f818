/**
 * The SQL inside PL/pgSQL code (a DO block, a function body), read by
 * PostgreSQL's own PL/pgSQL parser (npm:libpg-query's parsePlPgSQL): every
 * statement and expression the code runs, as text the SQL parser can check,
 * and the EXECUTEs whose SQL is built at run time. lib/sql/statements.ts checks
 * the texts as it checks any statement; this module only finds them.
 *
 * @module
 */

/** What a PL/pgSQL body runs. */
export interface BodySql {
  /** Statements and expressions (as `SELECT <expression>`), each one text for the SQL parser. */
  texts: string[];
  /** The expressions EXECUTE runs: SQL given as text, seen only when it is a constant. */
  executed: string[];
  /** Why the body could not be read, when it could not (the server would refuse it too). */
  unreadable?: string;
}

import { loadPgParser, type PgParser } from "./parser.ts";

/**
 * True for an object of the PL/pgSQL parser's JSON (a node, or a node's
 * fields), not a list. @pgsql/types has no types for that tree: it is read
 * as JSON, field by field.
 */
function isFields(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** PL/pgSQL statements whose `query` is SQL given as text (OPEN and RETURN QUERY have `dynquery`). */
const DYNAMIC_STATEMENTS = new Set(["PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"]);

/**
 * The SQL of a `CREATE FUNCTION ... LANGUAGE plpgsql` statement's body (or
 * of a DO block's, given as `body`): every PL/pgSQL expression and embedded
 * statement, in the order written.
 */
export async function plpgsqlBodySql(
  code: { createFunction: string } | { doBlock: string },
): Promise<BodySql> {
  const { parsePlPgSQL, scan } = await loadPgParser();
  const text = "createFunction" in code ? code.createFunction : asFunction(code.doBlock);
  let tree: unknown;
  try {
    tree = await parsePlPgSQL(text);
  } catch (error) {
    return { texts: [], executed: [], unreadable: (error as Error).message };
  }
  const found: BodySql = { texts: [], executed: [] };
  // Iterative, in the order written: a body may nest deeply. `within` is the
  // PL/pgSQL statement whose fields are being visited.
  type Visit = { value: unknown; dynamic: boolean; within?: string };
  const stack: Visit[] = [{ value: tree, dynamic: false }];
  while (stack.length) {
    const { value, dynamic, within } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], dynamic });
      continue;
    }
    if (!isFields(value)) continue;
    const expr = value.PLpgSQL_expr;
    if (isFields(expr)) {
      const query = String(expr.query ?? "");
      const mode = Number(expr.parseMode ?? 0);
      if (dynamic) found.executed.push(query);
      else if (mode === 0) found.texts.push(query);
      else {
        for (const part of await expressions(query, mode, scan)) found.texts.push(`SELECT ${part}`);
      }
      continue;
    }
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      if (/^PLpgSQL_stmt_/.test(key)) {
        stack.push({ value: child, dynamic: false, within: key });
        continue;
      }
      const executed = key === "dynquery" ||
        (key === "query" && within !== undefined && DYNAMIC_STATEMENTS.has(within));
      stack.push({ value: child, dynamic: dynamic || executed });
    }
  }
  return found;
}

/**
 * The expressions of a PL/pgSQL expression text: itself, or for an
 * assignment (`x := f()`, `a[g()] = h()`: parse modes 3 to 5) the value and,
 * when the target has subscripts, the target too (`a[g()]` calls g). The
 * target ends at the first `:=` or `=` the lexer finds.
 */
async function expressions(
  query: string,
  mode: number,
  scan: PgParser["scan"],
): Promise<string[]> {
  if (mode < 3) return [query];
  try {
    const { tokens } = await scan(query);
    const assign = tokens.find((token) => token.text === ":=" || token.text === "=");
    if (assign) {
      const bytes = new TextEncoder().encode(query);
      const decoder = new TextDecoder();
      const target = decoder.decode(bytes.subarray(0, assign.start));
      const value = decoder.decode(bytes.subarray(assign.end));
      return target.includes("[") ? [target, value] : [value];
    }
  } catch {
    // Not lexed: checked as it is, which fails to parse and so is reported unreadable.
  }
  return [query];
}

/** A DO block's body as a function the PL/pgSQL parser takes, in a dollar quote it cannot end. */
function asFunction(body: string): string {
  let tag = "$skill$";
  for (let n = 0; body.includes(tag); n++) tag = `$skill${n}$`;
  return `CREATE FUNCTION pg_temp.skill_do_block() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}`;
}
