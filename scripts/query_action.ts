#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Finds the sessions running a matching query, lets the user pick PIDs,
 * confirms, cancels or terminates them, and reports each result.
 */
import { askLine, canAsk, confirmAction } from "../lib/cli/prompt.ts";
import { escapeControl, note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { UsageError } from "../lib/core/errors.ts";
import {
  checkChosen,
  parsePid,
  reportOutcomes,
  sessionsRunning,
  signalBackends,
} from "../lib/reports/backends.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { countedList, printOutput, renderList, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage =
  `Usage: query_action.ts <cancel|terminate> [limit | --limit N] --query "<text>" [--user NAME] [--pid PID]... [--json | --csv]

Lists the non-idle sessions (not this one) whose query matches <text>, case-
insensitively, anywhere in it: * matches any characters and ? any one, as in
find_objects.ts; % and _ are literal. --user keeps only that user's sessions.

On a terminal: shows the matches, asks which PIDs to act on ("all" for every
one), asks you to type YES, acts, and reports each PID's result.
Without a terminal: give the PIDs with --pid (each must be among the matches)
and set DB_CONFIRM=YES; without --pid the matches are only listed (exit 0) and
nothing is signalled. A session is signalled only while it still runs the
query that matched (checked in the statement that signals): one that moved on
to another query by then is left alone. Each result is reported truthfully:
signalled, terminated, already gone, moved on, not permitted (exit 1 unless all
were signalled).

Options:
  --query TEXT   the query text to look for, or a pattern with * and ? (required)
  --user NAME    only sessions of this user
  --limit N      at most N matches, the same as [limit] (default 50, at most
                 10000); a last line says when more matched
  --pid PID      act on this PID without asking which (repeatable)
  --json         JSON output; the matches as {"rows": [...], "total": N,
                 "truncated": false, "limit": N}
  --csv          CSV output
  --help         this text

Example:
  ./scripts/query_action.ts cancel --query "select * from events"`;

await runScript("query_action", async () => {
  const { positionals, values, format, limit } = parseCli({
    name: "query_action",
    usage,
    formats: ["json", "csv"],
    positionals: { min: 1, max: 1 },
    limit: { fallback: 50 },
    options: {
      query: { type: "string" },
      user: { type: "string" },
      pid: { type: "string", multiple: true },
    },
  }, Deno.args);
  const action = positionals[0];
  if (action !== "cancel" && action !== "terminate") {
    throw new UsageError(`The action must be cancel or terminate, got "${action}"`);
  }
  const text = values.query;
  if (!text) throw new UsageError('Give the query to look for with --query "<text>"');
  const pids = (values.pid ?? []).map(parsePid);

  const outcomes = await withSession(await resolveTarget(), async (session) => {
    const { shown: matches, sessions: matching } = await sessionsRunning(session, {
      text,
      user: values.user,
      limit,
    });
    let chosen = pids;
    if (!pids.length && !canAsk()) {
      printOutput(renderList(countedList(resultRows(matches), limit), format));
      note(
        `note: nothing was signalled; to ${action}, pass the PIDs with --pid and set DB_CONFIRM=YES`,
      );
      return undefined;
    } else if (!pids.length) {
      if (matches.rows.length === 0) {
        note(`No running query matches "${text}"; nothing to do`);
        return [];
      }
      console.log(renderList(countedList(resultRows(matches), limit), "table"));
      chosen = await pickPids(action, matching);
      if (chosen.length === 0) {
        note("Nothing chosen; nothing was signalled");
        return [];
      }
    }
    const targets = await checkChosen(session, { pids: chosen, matching, text });
    await confirmAction(
      `${action === "cancel" ? "Cancel the queries of" : "Terminate"} ${targets.length} ` +
        `session${targets.length === 1 ? "" : "s"} (${
          targets.map((t) => `PID ${t.pid}: ${escapeControl(t.query.slice(0, 80))}`).join("; ")
        })?`,
    );
    // Chosen for the query it ran: signalled only while it still runs that query.
    return await signalBackends(session, targets, { action, sameQuery: true });
  });
  return outcomes === undefined ? 0 : reportOutcomes(outcomes, format);
});

/** Asks which of the listed PIDs to act on until the answer names only listed ones. */
async function pickPids(action: string, matching: Map<number, unknown>): Promise<number[]> {
  while (true) {
    const answer = (await askLine(`PIDs to ${action} (space-separated, "all", empty to quit): `))
      ?.trim() ?? "";
    if (answer === "") return [];
    if (answer.toLowerCase() === "all") return [...matching.keys()];
    const words = answer.split(/[\s,]+/);
    const picked = words.filter((w) => /^\d+$/.test(w)).map(Number);
    const wrong = words.filter((w) => !/^\d+$/.test(w) || !matching.has(Number(w)));
    if (wrong.length === 0) return [...new Set(picked)];
    note(`Not among the listed PIDs: ${wrong.join(", ")}`);
  }
}
