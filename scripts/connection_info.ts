#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Prints the connection's details and the server settings that matter. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";
import { describeSource } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: connection_info.ts [--json | --csv]

Prints where the connection comes from (profile or DB_URL, requested sslmode),
who and where the session is (database, user, server address, backend pid),
whether it uses SSL, the server's version, recovery state, uptime, connection
counts, database size, encoding, and the session settings that change query
behaviour (time zone, search_path, timeouts, read-only default).

Options:
  --json   one JSON object instead of the table
  --csv    field,value lines
  --help   this text

Example:
  DB_PROFILE=local ./scripts/connection_info.ts`;

await runScript("connection_info", async () => {
  const { format } = parseCli(
    { name: "connection_info", usage, formats: ["json", "csv"] },
    Deno.args,
  );
  // It reports the role's own search_path.
  const target = await resolveTarget({ session: "diagnostic", userSearchPath: true });
  const { rows } = await querySqlFile(target, "connection_info");
  printOutput(renderRecord({
    source: describeSource(target),
    profile: target.profile ?? null,
    sslmode: target.sslmode,
    ...rows[0],
  }, format));
});
