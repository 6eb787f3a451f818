#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Shows blocked sessions and the sessions blocking them. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFile } from "../lib/connection/script_sessions.ts";
import { cutList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: locks_overview.ts [limit | --limit N] [--json | --csv]

One row per blocked session and each session blocking it: both pids, users and
queries, how long the blocked query has been running, the lock it waits for
(type and mode), the relation involved, how long the blocker's transaction has
been open, and whether the blocker is itself waiting (blocking_is_waiting): a
chain A blocks B blocks C shows as two rows linked by B's pid. Longest wait first.
No rows: nothing is blocked. limit: how many rows (default 50, at most 10000);
a last line says when there are more.

Options:
  --limit N   the same as [limit]
  --json      {"rows": [...], "total": N, "truncated": false, "limit": N}; total
              counts every row, those past the limit too
  --csv       CSV with a header (stderr says when the limit cut it)
  --help      this text

Example:
  ./scripts/locks_overview.ts`;

await runScript("locks_overview", async () => {
  const { format, limit } = parseCli(
    { name: "locks_overview", usage, formats: ["json", "csv"], limit: { fallback: 50 } },
    Deno.args,
  );
  const target = await resolveTarget({ session: "diagnostic" });
  // Every row is read (doctor.ts counts them all too): no more than the server has sessions.
  const result = await querySqlFile(target, "locks_overview");
  printOutput(renderList(cutList(resultRows(result), limit), format));
});
