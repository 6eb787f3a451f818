#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Prints the server's PostgreSQL version. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: pg_version.ts [--json]

Prints the server's version (e.g. 16.4), its number form (160004) and the full
version banner, for the profile named by DB_PROFILE (default "local") or DB_URL.

Options:
  --json   one JSON object instead of the table
  --help   this text

Example:
  DB_PROFILE=local ./scripts/pg_version.ts`;

await runScript("pg_version", async () => {
  const { format } = parseCli({ name: "pg_version", usage, formats: ["json"] }, Deno.args);
  const { rows } = await querySqlFile(await resolveTarget({ session: "diagnostic" }), "pg_version");
  printOutput(renderRecord(rows[0], format));
});
