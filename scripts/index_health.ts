#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Index health in one report: tables that want an index, indexes never used,
 * invalid indexes, and indexes made redundant by another.
 */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { parsePositiveInt } from "../lib/core/numbers.ts";
import { runScript } from "../lib/cli/run.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { indexHealth, indexHealthTable } from "../lib/reports/index_health.ts";
import {
  isTruncated,
  printOutput,
  renderLists,
  renderRows,
  truncationText,
} from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: index_health.ts [limit | --limit N] [--min-rows N] [--json | --csv]

Checks indexes and lists the findings of each check in its own section:
  missing_index    a table of at least --min-rows live rows (default 10000) read
                   mostly by sequential scans: a candidate for an index
  unused_index     an index never scanned since statistics were reset that
                   enforces nothing (not unique, not a primary key)
  invalid_index    an index left invalid (e.g. a failed CREATE INDEX
                   CONCURRENTLY): maintained on every write, never used
  duplicate_index  an index whose key columns equal or are a prefix of another
                   index's on the same table (covered_by names it)
limit: findings per check (default 20, at most 10000); a check with more says
so. Usage counts come from the statistics since the last reset: while they
cover a week or less (doctor.ts's stats_age), an unused_index finding says
"too soon to call it unused" instead of "never scanned".

Options:
  --limit N      the same as [limit]
  --min-rows N   smallest table (live rows) for missing_index (default 10000)
  --json         {"missing_index": {"rows": [...], "total": N, "truncated":
                 false, "limit": N}, "unused_index": {...}, ...}
  --csv          every finding in one CSV, with its check (stderr says which
                 checks the limit cut)
  --help         this text

Example:
  ./scripts/index_health.ts 20`;

await runScript("index_health", async () => {
  const { values, format, limit } = parseCli({
    name: "index_health",
    usage,
    formats: ["json", "csv"],
    limit: { fallback: 20 },
    options: { "min-rows": { type: "string" } },
  }, Deno.args);
  const minRows = values["min-rows"] !== undefined
    ? parsePositiveInt(values["min-rows"], "--min-rows", { max: 1_000_000_000 })
    : 10_000;
  const target = await resolveTarget({ session: "diagnostic" });
  const lists = await withSession(target, (session) => indexHealth(session, { limit, minRows }));
  if (format !== "csv") return printOutput(renderLists(lists, format));
  // CSV is one table: every finding with its check (stderr says which checks the limit cut).
  for (const [check, list] of Object.entries(lists)) {
    if (isTruncated(list)) note(`${check}: ${truncationText(list)}`);
  }
  printOutput(renderRows(indexHealthTable(lists), "csv"));
});
