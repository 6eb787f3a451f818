/**
 * The SQL the scripts run lives in `sql/<name>.sql`, one query per file, with
 * a header comment saying what it answers and which server versions it
 * supports. Parameters are `$1`, `$2` ... and are always bound, never spliced.
 *
 * @module
 */
import { SkillError } from "./cli.ts";

/** The folder holding the SQL files. */
export const SQL_DIR = new URL("../sql/", import.meta.url);

/** Reads `sql/<name>.sql`. */
export async function loadSql(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new SkillError(`Invalid SQL file name "${name}"`);
  try {
    return await Deno.readTextFile(new URL(`${name}.sql`, SQL_DIR));
  } catch {
    throw new SkillError(
      `The skill's SQL file "sql/${name}.sql" is missing; reinstall the skill folder`,
    );
  }
}
