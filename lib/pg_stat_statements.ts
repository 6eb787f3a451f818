/**
 * Reading pg_stat_statements, shared by slow_queries.ts and
 * pg_stat_statements_top.ts: checks that the extension is installed and loaded
 * here, and reads the columns of the version that is installed (an upgraded
 * server can keep an old extension version: before 1.8 the times are
 * total_time / mean_time, from 1.8 on total_exec_time / mean_exec_time).
 *
 * @module
 */
import { SkillError } from "./cli.ts";
import { PgServerError, type PgSession, type QueryResult } from "./session.ts";
import { loadSql } from "./sql.ts";

/** How to order the statements. */
export type StatementOrder = "total" | "mean";

const ENABLE_HINT = "enable it: add pg_stat_statements to shared_preload_libraries in " +
  "postgresql.conf, restart the server, then run CREATE EXTENSION pg_stat_statements; " +
  "in this database";

/** True when extension version `version` predates the 1.8 column names. */
export function isLegacyVersion(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major < 1 || (major === 1 && minor < 8);
}

/** The top `limit` statements by total or mean execution time. */
export async function topStatements(
  session: PgSession,
  order: StatementOrder,
  limit: number,
): Promise<QueryResult & { extensionVersion: string }> {
  const installed = await session.query(await loadSql("pg_stat_statements_version"));
  const { database, version, schema } = installed.rows[0] as {
    database: string;
    version: string | null;
    schema: string | null;
  };
  if (version === null || schema === null) {
    throw new SkillError(
      `pg_stat_statements is not installed in database "${database}"; ${ENABLE_HINT}`,
    );
  }
  // The extension may live outside the search path; its schema comes from the catalog.
  await session.query(await loadSql("prepend_search_path"), [schema]);
  const sql = await loadSql(
    isLegacyVersion(version) ? "pg_stat_statements_top_legacy" : "pg_stat_statements_top",
  );
  try {
    return { ...await session.query(sql, [limit, order]), extensionVersion: version };
  } catch (error) {
    if (error instanceof PgServerError && /shared_preload_libraries/.test(error.message)) {
      throw new SkillError(
        `pg_stat_statements is installed (version ${version}) but not loaded by the server; ` +
          `add it to shared_preload_libraries in postgresql.conf and restart the server`,
      );
    }
    throw error;
  }
}
