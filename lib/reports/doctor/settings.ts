/**
 * Doctor's checks of the server's settings: checkpoints that WAL volume
 * rather than the timer starts, and settings that trade crash safety or
 * integrity away.
 *
 * @module
 */
import { type Check, grade, plural, round } from "./check.ts";

/** `checkpoints`: checkpoints requested (WAL full) more often than timed. */
export const checkpoints: Check = {
  name: "checkpoints",
  threshold: "checkpoints-requested",
  about: "checkpoints requested (WAL full) more often than timed",
  async run(context) {
    const [row] = await context.query(
      context.versionNum >= 170000 ? "doctor_checkpoints" : "doctor_checkpoints_legacy",
    );
    const timed = Number(row.timed);
    const requested = Number(row.requested);
    const total = timed + requested;
    const pct = total ? (100 * requested) / total : 0;
    if (total < 10) {
      return {
        status: "ok",
        value: round(pct),
        summary: `${requested} requested, ${timed} timed: too few checkpoints to judge yet`,
      };
    }
    const status = grade(context, "checkpoints-requested", pct);
    return {
      status,
      value: round(pct),
      summary: `${requested} requested, ${timed} timed (max_wal_size ${row.max_wal_size})`,
      action: status === "ok"
        ? ""
        : "raise max_wal_size so that checkpoint_timeout, not WAL volume, starts checkpoints",
    };
  },
};

/** `risky_settings`: settings that trade crash safety or integrity away. */
export const riskySettings: Check = {
  name: "risky_settings",
  about: "fsync or full_page_writes off; zero_damaged_pages or\n" +
    "                         ignore_checksum_failure on",
  see: "settings_overview.ts",
  async run(context) {
    const rows = await context.query("doctor_risky_settings");
    if (rows.length === 0) return { status: "ok", value: 0, summary: "none" };
    return {
      status: "critical",
      value: rows.length,
      summary: `${plural(rows.length, "setting")} trading crash safety or integrity away`,
      action: "set them back (fsync and full_page_writes on; the others off) in " +
        "postgresql.conf and reload: a crash can corrupt the cluster",
      items: rows,
      objects: rows.map((r) => `${r.name} = ${r.setting} (${r.source})`),
    };
  },
};
