/**
 * Reading pg_stat_statements, shared by slow_queries.ts and
 * pg_stat_statements_top.ts: checks that the extension is installed and loaded
 * here, reads the connected database's statements (or every database's)
 * without the skill's own, and the columns of the version that is installed (an upgraded
 * server can keep an old extension version: before 1.8 the times are
 * total_time / mean_time, from 1.8 on total_exec_time / mean_exec_time).
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import { PgServerError, type PgSession, type QueryResult } from "../connection/session.ts";
import type { List } from "../output/render.ts";
import { loadSql, SQL_MARK_PATTERN } from "../sql/sql_files.ts";

/** How to order the statements. */
export type StatementOrder = "total" | "mean";

/** Which statements to read, and how many. */
export interface TopStatementsOptions {
  /** By total execution time, or by mean time per call. */
  order: StatementOrder;
  /** How many statements to return at most. */
  limit: number;
  /** Every database's statements, not only the connected one's. */
  allDatabases?: boolean;
  /** The skill's own statements too (those of its sql/ files). */
  includeOwn?: boolean;
}

const PRELOAD_HINT = "add pg_stat_statements to shared_preload_libraries in postgresql.conf " +
  "and restart the server";

/** True when extension version `version` predates the 1.8 column names. */
export function isLegacyVersion(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major < 1 || (major === 1 && minor < 8);
}

/** pg_stat_statements as installed in this database: its version and its schema (quoted). */
export interface StatementsExtension {
  /** The installed version, e.g. `1.10`. */
  version: string;
  /** The schema, quoted by the server's quote_ident. */
  schema: string;
}

/**
 * pg_stat_statements' version and schema here. When it is missing or not
 * loaded, the error says the one step left: CREATE EXTENSION when the server
 * already loads the library, else the preload and restart first.
 */
export async function statementsExtension(session: PgSession): Promise<StatementsExtension> {
  const installed = await session.query(await loadSql("pg_stat_statements_version"));
  const { database, version, schema, loaded } = installed.rows[0] as {
    database: string;
    version: string | null;
    schema: string | null;
    loaded: boolean;
  };
  if (version === null || schema === null) {
    throw new SkillError(
      loaded
        ? `pg_stat_statements is loaded by the server but not created in database ` +
          `"${database}"; run CREATE EXTENSION pg_stat_statements; in that database (no ` +
          `restart needed), as a role that may create extensions there`
        : `pg_stat_statements is not installed in database "${database}"; enable it: ` +
          `${PRELOAD_HINT}, then run CREATE EXTENSION pg_stat_statements; in this database`,
    );
  }
  if (!loaded) throw notLoadedError(version);
  return { version, schema };
}

function notLoadedError(version: string): SkillError {
  return new SkillError(
    `pg_stat_statements is installed (version ${version}) but not loaded by the server; ` +
      PRELOAD_HINT,
  );
}

/**
 * The top `limit` statements by total or mean execution time. When the
 * extension is missing here, the error says the one step left: CREATE
 * EXTENSION when the server already loads the library, else the preload and
 * restart first.
 */
export async function topStatements(
  session: PgSession,
  options: TopStatementsOptions,
): Promise<QueryResult & { extensionVersion: string }> {
  const { version, schema } = await statementsExtension(session);
  // The extension may live in any schema (from the catalog); it is searched after pg_catalog.
  await session.query(await loadSql("extension_search_path"), [schema]);
  const sql = await loadSql(
    isLegacyVersion(version) ? "pg_stat_statements_top_legacy" : "pg_stat_statements_top",
  );
  try {
    return {
      ...await session.query(sql, [
        options.limit,
        options.order,
        options.allDatabases === true,
        options.includeOwn === true,
        SQL_MARK_PATTERN,
      ]),
      extensionVersion: version,
    };
  } catch (error) {
    // 55000 object_not_in_prerequisite_state: the library is not in shared_preload_libraries.
    if (error instanceof PgServerError && error.code === "55000") throw notLoadedError(version);
    throw error;
  }
}

/**
 * The help text both scripts share: which statements are shown, and the
 * options that widen it.
 */
export const STATEMENTS_SCOPE_HELP =
  `Shown by default: the statements run in the connected database (as PgHero
shows them), without the skill's own. Those are told by their text: each
query the skill sends from its sql/ folder ends with the comment
"/* postgres-skill sql/<name>.sql */" (its BEGIN, COMMIT and ROLLBACK with
"/* postgres-skill */"), and pg_stat_statements keeps a
statement's text, comments included, as its first run sent it (so a statement
that the skill and an application both run shows as whoever ran it first
wrote it). Neither the role (the skill may connect as the application's) nor
application_name (pg_stat_statements does not keep it) could tell them.`;

/** The columns shown: the database only when every database is. */
export function statementColumns(list: List, allDatabases: boolean): List {
  if (allDatabases) return list;
  const at = list.columns.indexOf("database");
  return {
    ...list,
    columns: list.columns.filter((_, i) => i !== at),
    ...(list.labels ? { labels: list.labels.filter((_, i) => i !== at) } : {}),
    rows: list.rows.map(({ database: _database, ...row }) => row),
  };
}
