#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists roles, their privileges and their memberships. */
import { runSqlReport } from "../lib/cli/sql_report.ts";

const usage = `Usage: roles_overview.ts [limit | --limit N] [--all] [--json | --csv]

Lists roles: login, superuser, createdb, createrole, inherit, replication,
bypassrls, connection limit (-1: none), password expiry (valid_until), the
roles each is a member of and its own members, by name. limit: how many
(default 200, at most 10000); a last line says when there are more.

Options:
  --limit N   the same as [limit]
  --all       include the predefined pg_* roles
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every role, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/roles_overview.ts`;

await runSqlReport({
  name: "roles_overview",
  usage,
  sql: "roles_overview",
  limit: 200,
  options: { all: { type: "boolean" } },
  params: ({ values, limit }) => [values.all === true, limit],
});
