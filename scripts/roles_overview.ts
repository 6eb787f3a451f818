#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists roles, their privileges and their memberships. */
import { parseCli, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: roles_overview.ts [--all] [--json | --csv]

Lists roles: login, superuser, createdb, createrole, inherit, replication,
bypassrls, connection limit (-1: none), password expiry (valid_until), the
roles each is a member of and its own members.

Options:
  --all    include the predefined pg_* roles
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/roles_overview.ts`;

await runScript("roles_overview", async () => {
  const { values, format } = parseCli({
    name: "roles_overview",
    usage,
    formats: ["json", "csv"],
    options: { all: { type: "boolean" } },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "roles_overview", [values.all === true]);
  printOutput(renderRows(resultRows(result), format));
});
