/**
 * The SQL the scripts run lives in `sql/<name>.sql`, one query per file, with
 * a header comment saying what it answers and which server versions it
 * supports. Parameters are `$1`, `$2` ... and are always bound, never spliced.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";

/** The folder holding the SQL files. */
export const SQL_DIR = new URL("../../sql/", import.meta.url);

/**
 * The comment that ends the text of `sql/<name>.sql` as loadSql returns it:
 * how the skill's own statements are told apart in pg_stat_statements, which
 * keeps a statement's text as its first run sent it, comments included. It
 * goes at the end because PostgreSQL 18 leaves out the comments before a
 * statement's first word (and a trailing block comment survives being wrapped,
 * as in `COPY (...)`, or followed by psql's `\gset`).
 */
export function sqlMark(name: string): string {
  return `/* postgres-skill sql/${name}.sql */`;
}

/**
 * The comment that ends the skill's own transaction control (`BEGIN ...`,
 * `COMMIT`, `ROLLBACK`), which is no file's: it marks them as the skill's in
 * pg_stat_statements as {@linkcode sqlMark} marks the rest.
 */
export const SESSION_MARK = "/* postgres-skill */";

/**
 * A regular expression in the server's syntax (POSIX, for `~`) that finds
 * {@linkcode sqlMark}'s or {@linkcode SESSION_MARK}'s comment at the end of a
 * statement's text.
 */
export const SQL_MARK_PATTERN: string = String
  .raw`/\* postgres-skill( sql/[a-z0-9_]+\.sql)? \*/[[:space:]]*$`;

/** Reads `sql/<name>.sql`, with {@linkcode sqlMark}'s comment after its last line. */
export async function loadSql(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new SkillError(`Invalid SQL file name "${name}"`);
  try {
    const text = await Deno.readTextFile(new URL(`${name}.sql`, SQL_DIR));
    return `${text.trimEnd()}\n${sqlMark(name)}\n`;
  } catch {
    throw new SkillError(
      `The skill's SQL file "sql/${name}.sql" is missing; reinstall the skill folder`,
    );
  }
}

/** A schema name as the server's quote_ident writes it: bare, or one double-quoted name. */
const QUOTED_IDENTIFIER = /^(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")$/;

/**
 * Reads `sql/<name>.sql` as {@linkcode loadSql} does, with `@extschema@` (as
 * an extension's own scripts write it) replaced by `quotedSchema`: the
 * schema an extension was created in, quoted by the server's quote_ident, so
 * that its functions are called by their full names whatever the search_path
 * holds. Anything but one quoted name is refused.
 */
export async function loadExtensionSql(name: string, quotedSchema: string): Promise<string> {
  if (!QUOTED_IDENTIFIER.test(quotedSchema)) {
    throw new SkillError(`The extension schema "${quotedSchema}" is not one quoted name`);
  }
  return (await loadSql(name)).replaceAll("@extschema@", quotedSchema);
}
