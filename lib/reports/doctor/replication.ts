/**
 * Doctor's checks of replication and WAL archiving: standby lag, replication
 * slots and the WAL they keep, and archiving failures.
 *
 * @module
 */
import { type Check, grade, NEEDS_STATS, plural, round, SEVERITY, type Status } from "./check.ts";

function worst(statuses: Status[]): Status {
  return statuses.reduce<Status>(
    (a, b) => SEVERITY[b] > SEVERITY[a] ? b : a,
    "ok",
  );
}

/** `standby_lag`: how far standbys are behind (on a standby, its replay). */
export const standbyLag: Check = {
  name: "standby_lag",
  threshold: "standby-lag",
  minVersion: 130000,
  about: "how far standbys are behind (on a standby: its own replay delay)",
  see: "replication_status.ts",
  async run(context) {
    if (context.inRecovery) {
      const [row] = await context.query("replication_receiver");
      const seconds = Number(row?.replay_lag_seconds ?? 0);
      return {
        status: grade(context, "standby-lag", seconds),
        value: round(seconds),
        summary: `this standby replays ${round(seconds)} seconds behind ` +
          `(${Number(row?.replay_lag_bytes ?? 0)} bytes received, not replayed); ` +
          `receiver ${row?.receiver_status ?? "not running"}`,
        action: "look at the standby's I/O and at long queries on it holding replay back " +
          "(max_standby_streaming_delay)",
        items: row ? [row] : [],
      };
    }
    const rows = await context.query("replication_standbys");
    if (rows.length === 0) return { status: "ok", value: 0, summary: "no standbys connected" };
    if (!context.readsAllStats) {
      return { status: "skipped", summary: `${plural(rows.length, "standby")}; ${NEEDS_STATS}` };
    }
    // A caught-up standby of an idle primary reports no lag time at all.
    const lag = (r: Record<string, unknown>) => Number(r.replay_lag_seconds ?? 0);
    const longest = Math.max(...rows.map(lag));
    const bytes = Math.max(...rows.map((r) => Number(r.replay_lag_bytes ?? 0)));
    return {
      status: grade(context, "standby-lag", longest),
      value: round(longest),
      summary: `${plural(rows.length, "standby", "standbys")}; the furthest ${
        round(longest)
      } seconds and ${bytes} bytes behind`,
      action: "look at the network and the standby's I/O; replication_status.ts shows each",
      items: rows,
      objects: [...rows].sort((a, b) => lag(b) - lag(a)).map((r) =>
        `${r.application || "?"} (${r.client_addr ?? "local"})`
      ),
    };
  },
};

/** `replication_slots`: inactive replication slots and the WAL they keep. */
export const replicationSlots: Check = {
  name: "replication_slots",
  threshold: "slot-wal",
  minVersion: 130000,
  about: "inactive replication slots and the WAL they keep",
  see: "replication_status.ts",
  async run(context) {
    const rows = await context.query("replication_slots");
    if (rows.length === 0) return { status: "ok", value: 0, summary: "no replication slots" };
    const mib = (r: Record<string, unknown>) => Number(r.wal_retained_bytes ?? 0) / 1048576;
    const statuses = rows.map((r): Status => {
      if (r.wal_status === "lost") return "critical";
      const byWal = grade(context, "slot-wal", mib(r));
      return r.active === true ? byWal : worst([byWal, "warning"]);
    });
    const inactive = rows.filter((r) => r.active !== true).length;
    const most = Math.max(...rows.map(mib));
    const lost = rows.filter((r) => r.wal_status === "lost").length;
    const status = worst(statuses);
    return {
      status,
      value: round(most),
      summary: `${plural(rows.length, "slot")}, ${inactive} inactive` +
        (lost ? `, ${lost} lost` : "") + `; the most WAL kept ${round(most)} MiB`,
      action: status === "ok" ? "" : "drop slots no consumer will use again " +
        "(pg_drop_replication_slot); an inactive slot keeps WAL until the disk fills; set " +
        "max_slot_wal_keep_size to bound it",
      items: rows.filter((_, i) => statuses[i] !== "ok").slice(0, context.limit),
      objects: rows.filter((_, i) => statuses[i] !== "ok").map((r) => String(r.slot_name)),
    };
  },
};

/** `archiver`: WAL archiving failures. */
export const archiver: Check = {
  name: "archiver",
  about: "WAL archiving failures (archive_mode on)",
  async run(context) {
    const [row] = await context.query("doctor_archiver");
    if (row.archive_mode === "off") {
      return { status: "ok", summary: "archive_mode is off; nothing to archive" };
    }
    const failed = Number(row.failed_count);
    if (row.failing === true) {
      return {
        status: "critical",
        value: failed,
        summary: `archiving is failing: ${failed} failures, the last on ${row.last_failed_wal} ` +
          `at ${row.last_failed_time}`,
        action: "fix archive_command (see the server log); until it succeeds WAL piles up in " +
          "pg_wal and the disk can fill",
        items: [row],
      };
    }
    return {
      status: "ok",
      value: failed,
      summary: `${row.archived_count} files archived` +
        (failed ? `; ${failed} failures earlier, archiving works now` : ""),
    };
  },
};
