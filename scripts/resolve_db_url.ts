#!/usr/bin/env -S deno run --allow-env --allow-read
/**
 * Prints the resolved connection as shell assignments for
 * `eval "$(./scripts/resolve_db_url.ts)"`, or as JSON.
 */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { shellQuote } from "../lib/core/text.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { targetUrl } from "../lib/connection/url.ts";

const usage = `Usage: resolve_db_url.ts [--with-password] [--json]

Resolves the connection from DB_URL (a one-off, no TOML needed) or from the
profile named by DB_PROFILE (default "local") in
<project-root>/.skills/postgres/postgres.toml, and prints shell assignments:

  DB_URL=...  DB_SSLMODE=...  DB_PROFILE=...  DB_URL_SOURCE=...  DB_TOML_PATH=...

DB_URL_SOURCE is "toml" or "env". DB_SSLMODE is libpq's sslmode (a profile's
sslmode = false is "disable", true is "require"). The values are quoted for
POSIX shells. The password is left out of DB_URL unless --with-password is
given, because whatever prints it puts it in logs and transcripts; to run psql
with the password kept out of sight, use psql_with_ssl_fallback.ts.

Options:
  --with-password   put the password in DB_URL (it will appear in the output)
  --json            one JSON object instead of shell assignments
  --help            this text

Example:
  eval "$(./scripts/resolve_db_url.ts)" && echo "$DB_URL"`;

await runScript("resolve_db_url", async () => {
  const { values, format } = parseCli({
    name: "resolve_db_url",
    usage,
    formats: ["json"],
    options: { "with-password": { type: "boolean" } },
  }, Deno.args);
  const target = await resolveTarget();
  const assignments = {
    DB_URL: targetUrl(target, { withPassword: values["with-password"] === true }),
    DB_SSLMODE: target.sslmode,
    DB_PROFILE: target.profile ?? "",
    DB_URL_SOURCE: target.source === "toml" ? "toml" : "env",
    DB_TOML_PATH: target.tomlPath ?? "",
  };
  if (format === "json") {
    console.log(JSON.stringify(assignments, null, 2));
    return;
  }
  for (const [name, value] of Object.entries(assignments)) {
    console.log(`${name}=${value === "" ? "''" : shellQuote(value)}`);
  }
});
