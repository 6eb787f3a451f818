#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Shows blocked sessions and the sessions blocking them. */
import { parseCli, runScript } from "../lib/cli.ts";
import { querySqlFile } from "../lib/database.ts";
import { printOutput, renderRows, resultRows } from "../lib/render.ts";
import { resolveTarget } from "../lib/resolve.ts";

const usage = `Usage: locks_overview.ts [--json | --csv]

One row per blocked session and each session blocking it: both pids, users and
queries, how long the blocked query has been running, the lock it waits for
(type and mode), the relation involved, how long the blocker's transaction has
been open, and whether the blocker is itself waiting (blocking_is_waiting): a
chain A blocks B blocks C shows as two rows linked by B's pid. Longest wait first.
No rows: nothing is blocked.

Options:
  --json   an array of rows
  --csv    CSV with a header
  --help   this text

Example:
  ./scripts/locks_overview.ts`;

await runScript("locks_overview", async () => {
  const { format } = parseCli(
    { name: "locks_overview", usage, formats: ["json", "csv"] },
    Deno.args,
  );
  const target = await resolveTarget({ session: "diagnostic" });
  const result = await querySqlFile(target, "locks_overview");
  printOutput(renderRows(resultRows(result), format));
});
