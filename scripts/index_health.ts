#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Index health in one list: tables that want an index, indexes never used,
 * invalid indexes, and indexes made redundant by another.
 */
import { parseCli, parseLimit, parsePositiveInt, runScript } from "../lib/cli.ts";
import { withSession } from "../lib/database.ts";
import { printOutput, renderRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";
import { loadSql } from "../lib/sql.ts";

const usage = `Usage: index_health.ts [limit] [--min-rows N] [--json | --csv]

Checks indexes and prints one row per finding, with its check:
  missing_index    a table of at least --min-rows live rows (default 10000) read
                   mostly by sequential scans: a candidate for an index
  unused_index     an index never scanned since statistics were reset that
                   enforces nothing (not unique, not a primary key)
  invalid_index    an index left invalid (e.g. a failed CREATE INDEX
                   CONCURRENTLY): maintained on every write, never used
  duplicate_index  an index whose key columns equal or are a prefix of another
                   index's on the same table (covered_by names it)
limit: findings per check (default 20, at most 10000). Usage counts come from
the statistics since the last reset, so check on a server that has been running.

Options:
  --min-rows N   smallest table (live rows) for missing_index (default 10000)
  --json         an array of findings
  --csv          CSV with a header
  --help         this text

Example:
  ./scripts/index_health.ts 20`;

const COLUMNS = [
  "check",
  "schema",
  "table",
  "index",
  "covered_by",
  "size_bytes",
  "seq_scan",
  "seq_tup_read",
  "idx_scan",
  "live_rows",
  "detail",
];

await runScript("index_health", async () => {
  const { positionals, values, format } = parseCli({
    name: "index_health",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 0, max: 1 },
    options: { "min-rows": { type: "string" } },
  }, Deno.args);
  const limit = parseLimit(positionals[0], 20);
  const minRows = values["min-rows"] !== undefined
    ? parsePositiveInt(values["min-rows"] as string, "--min-rows", { max: 1_000_000_000 })
    : 10_000;
  const target = await resolveTarget({ session: "diagnostic" });
  const findings = await withSession(target, async (session) => {
    const run = async (name: string, params: unknown[]) =>
      (await session.query(await loadSql(name), params)).rows;
    const rows: Record<string, unknown>[] = [];
    for (const r of await run("index_missing_candidates", [limit, minRows])) {
      rows.push({
        check: "missing_index",
        ...r,
        detail:
          `${r.seq_scan} sequential scans read ${r.seq_tup_read} rows; ${r.idx_scan} index scans`,
      });
    }
    for (const r of await run("index_unused", [limit])) {
      rows.push({ check: "unused_index", ...r, detail: "never scanned; enforces nothing" });
    }
    for (const r of await run("index_invalid", [limit])) {
      rows.push({ check: "invalid_index", ...r, detail: `invalid: ${r.definition}` });
    }
    for (const r of await run("index_duplicates", [limit])) {
      rows.push({ check: "duplicate_index", ...r, detail: `${r.reason} as ${r.covered_by}` });
    }
    return rows.map((r) => Object.fromEntries(COLUMNS.map((c) => [c, r[c] ?? null])));
  });
  printOutput(renderRows({ columns: COLUMNS, rows: findings }, format));
});
