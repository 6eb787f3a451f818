#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Checks that the connection works: connects (with the SSL fallback), runs
 * one round trip and reports where it landed and how long it took.
 */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { type ConnectionTarget, describeServer, describeSource } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { loadSql } from "../lib/sql/sql_files.ts";

const usage = `Usage: test_connection.ts [--json]

Connects with the profile named by DB_PROFILE (default "local") from
<project-root>/.skills/postgres/postgres.toml, or with DB_URL, runs one query,
and prints the server, database, user, version, SSL use and the time taken.
A profile with a reader role (readonly_user, made by readonly_role.ts) is
checked twice: as its own user, which writes and migrates, and as the reader,
which read-only runs and the diagnostic scripts use.
Exit status: 0 connected, 1 could not connect, 2 usage error.

Options:
  --json   one JSON object instead of the table
  --help   this text

Example:
  DB_PROFILE=local ./scripts/test_connection.ts`;

await runScript("test_connection", async () => {
  const { format } = parseCli({ name: "test_connection", usage, formats: ["json"] }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic", ownRole: true });
  const asReader = await resolveTarget({ session: "diagnostic" });
  const sql = await loadSql("test_connection");
  const check = async (on: ConnectionTarget) => {
    const started = performance.now();
    return await withSession(on, async (session, { ssl }) => {
      const row = (await session.query(sql)).rows[0];
      return {
        status: "ok",
        server: describeServer(on),
        database: row.database,
        user: row.user,
        server_version: row.server_version,
        ssl: row.ssl ?? ssl,
        source: describeSource(on),
        elapsed_ms: Math.round(performance.now() - started),
      };
    });
  };
  const report: Record<string, unknown> = await check(target);
  if (asReader.reader) {
    const reader = await check(asReader);
    report.reader_user = reader.user;
    report.reader_elapsed_ms = reader.elapsed_ms;
  }
  printOutput(renderRecord(report, format));
});
