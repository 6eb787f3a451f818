#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Checks that the connection works: connects (with the SSL fallback), runs
 * one round trip and reports where it landed and how long it took.
 */
import { parseCli, runScript } from "../lib/cli.ts";
import { withSession } from "../lib/database.ts";
import { printOutput, renderRecord } from "../lib/render.ts";
import { describeServer, describeSource, resolveTarget } from "../lib/resolve.ts";
import { loadSql } from "../lib/sql.ts";

const usage = `Usage: test_connection.ts [--json]

Connects with the profile named by DB_PROFILE (default "local") from
<project-root>/.skills/postgres/postgres.toml, or with DB_URL, runs one query,
and prints the server, database, user, version, SSL use and the time taken.
Exit status: 0 connected, 1 could not connect, 2 usage error.

Options:
  --json   one JSON object instead of the table
  --help   this text

Example:
  DB_PROFILE=local ./scripts/test_connection.ts`;

await runScript("test_connection", async () => {
  const { format } = parseCli({ name: "test_connection", usage, formats: ["json"] }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const started = performance.now();
  const sql = await loadSql("test_connection");
  const report = await withSession(target, async (session, { ssl }) => {
    const { rows } = await session.query(sql);
    const row = rows[0];
    return {
      status: "ok",
      server: describeServer(target),
      database: row.database,
      user: row.user,
      server_version: row.server_version,
      ssl: row.ssl ?? ssl,
      source: describeSource(target),
      elapsed_ms: Math.round(performance.now() - started),
    };
  });
  printOutput(renderRecord(report, format));
});
