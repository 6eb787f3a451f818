#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/**
 * Runs psql on the resolved connection with every argument passed through,
 * `-X` added so that no ~/.psqlrc changes the output, the password in the
 * environment, and the SSL fallback decided before psql starts.
 */
import { parseCli, runScript, SkillError } from "../lib/cli.ts";
import { sslModeForTools } from "../lib/database.ts";
import { resolveTarget } from "../lib/resolve.ts";
import { resolveClientTools, runToolInteractive, toolEnvironment, toolPath } from "../lib/tools.ts";

const usage = `Usage: psql_with_ssl_fallback.ts [psql arguments...]

Runs psql against the profile named by DB_PROFILE (default "local") or DB_URL.
Every argument goes to psql unchanged; -X is added so that a ~/.psqlrc cannot
change the output. The password reaches psql through the environment, never the
command line. When the profile has sslmode = false and the server demands SSL,
a probe connection finds that out before psql starts, and psql runs once, with
SSL; set DB_AUTO_UPDATE_SSLMODE=1 to save sslmode = true, otherwise the command
that would is printed. The exit status is psql's own (1 for an SQL error with
-c, 3 for an error in a script run with ON_ERROR_STOP, 2 when the connection
fails); anything that stops psql from connecting here (a missing profile, an
unreachable server, psql not installed) also exits 2.

Options: all of psql's (see psql --help). --help here prints this text.

Example:
  ./scripts/psql_with_ssl_fallback.ts -v ON_ERROR_STOP=1 -c "select 1;"`;

await runScript("psql_with_ssl_fallback", async () => {
  if (Deno.args.length === 1 && (Deno.args[0] === "--help" || Deno.args[0] === "-h")) {
    parseCli({ name: "psql_with_ssl_fallback", usage }, Deno.args);
  }
  let psql: string, tools, sslmode, target;
  try {
    target = await resolveTarget();
    tools = await resolveClientTools(target);
    psql = toolPath(tools, "psql");
    sslmode = await sslModeForTools(target);
  } catch (error) {
    // Whatever stops psql from connecting ends as psql ends then: status 2.
    if (error instanceof SkillError && error.exitCode === 1) throw new SkillError(error.message, 2);
    throw error;
  }
  return await runToolInteractive(
    psql,
    ["-X", ...Deno.args],
    toolEnvironment(target, tools, sslmode),
  );
});
