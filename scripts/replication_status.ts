#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Replication at a glance: primary or standby, standbys and their lag, slots, subscriptions. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { querySqlFiles } from "../lib/connection/script_sessions.ts";
import { cutList, printOutput, renderLists, resultRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";

const usage = `Usage: replication_status.ts [limit | --limit N] [--json]

Shows replication as the profile's server sees it, in sections:
  server         primary or standby, wal_level, WAL positions (current; or
                 received and replayed), max_wal_senders, max_replication_slots
  standbys       servers streaming from this one: state, sync state, positions,
                 bytes not yet replayed, write/flush/replay lag in seconds
                 (positions and lags need pg_read_all_stats or superuser)
  receiver       on a standby: where WAL comes from, bytes received but not
                 replayed, seconds behind (0 when all received is replayed)
  slots          replication slots: type, plugin, database, active, WAL kept
                 (bytes), wal_status
  subscriptions  logical replication subscriptions and their workers
Read-only; every section comes from one snapshot. limit: rows per section
(default 200, at most 10000); a section with more says so.

Options:
  --limit N   the same as [limit]
  --json      one JSON object: section -> {"rows": [...], "total": N,
              "truncated": false, "limit": N}
  --help      this text

Example:
  ./scripts/replication_status.ts`;

await runScript("replication_status", async () => {
  const { format, limit } = parseCli({
    name: "replication_status",
    usage,
    formats: ["json"],
    limit: { fallback: 200 },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const names = [
    "replication_role",
    "replication_standbys",
    "replication_receiver",
    "replication_slots",
    "replication_subscriptions",
  ];
  const [server, standbys, receiver, slots, subscriptions] = (await querySqlFiles(
    target,
    names.map((name) => ({ name, params: [] })),
    { sessions: 1 },
  )).map(resultRows);
  const hidden = standbys.rows.filter((r) => r.replay_lsn === null && r.state === null).length;
  if (hidden) {
    note(
      `${hidden} standby positions are hidden from this role; pg_read_all_stats (or ` +
        `pg_monitor) shows them`,
    );
  }
  const sections = { server, standbys, receiver, slots, subscriptions };
  printOutput(renderLists(
    Object.fromEntries(
      Object.entries(sections).map(([name, rows]) => [name, cutList(rows, limit)]),
    ),
    format,
  ));
});
