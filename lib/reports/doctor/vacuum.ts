/**
 * Doctor's checks of tables, vacuum and bloat: tables past their autovacuum
 * trigger, space tables are estimated to waste, and autovacuum turned off.
 *
 * @module
 */
import { type Check, itemsOf, listed, MIB, plural, qualified, round, totalOf } from "./check.ts";

/** `vacuum`: tables with more dead rows than should start autovacuum. */
export const vacuum: Check = {
  name: "vacuum",
  about: "tables with more dead rows than should start autovacuum",
  see: "vacuum_analyze_status.ts",
  async run(context) {
    const rows = await context.query("doctor_vacuum_due", [listed(context)]);
    if (rows.length === 0) {
      return { status: "ok", value: 0, summary: "no table past its autovacuum trigger" };
    }
    const total = totalOf(rows);
    const off = rows.filter((r) => r.autovacuum !== true).length;
    return {
      status: "warning",
      value: total,
      summary: `${plural(total, "table")} past the dead-row count that starts autovacuum` +
        (off ? ` (${off} of those listed with autovacuum off)` : ""),
      action: "VACUUM (ANALYZE) them; if autovacuum is on and lags, look for long " +
        "transactions and raise autovacuum_max_workers or lower cost delays",
      items: itemsOf(rows, context.limit),
      objects: rows.map(qualified("table")),
      total,
    };
  },
};

/** `table_bloat`: space tables waste, estimated from their statistics. */
export const tableBloat: Check = {
  name: "table_bloat",
  threshold: "table-bloat",
  about: "space tables waste, estimated from their statistics (as check_postgres\n" +
    "                         and PgHero do): past both --table-bloat thresholds",
  async run(context) {
    const bytes = context.thresholds["table-bloat"];
    const ratio = context.thresholds["table-bloat-ratio"];
    const rows = await context.query("doctor_table_bloat", [
      bytes.warning * MIB,
      ratio.warning,
      (bytes.critical ?? bytes.warning) * MIB,
      ratio.critical ?? ratio.warning,
      listed(context),
    ]);
    const [counts] = rows;
    const tables = rows.filter((r) => r.table !== null);
    const unestimated = Number(counts.unestimated);
    const unmeasured = unestimated
      ? ` (${plural(unestimated, "table")} not estimated: never analyzed, or columns this ` +
        "role may not read)"
      : "";
    if (Number(counts.estimated) === 0 && unestimated > 0) {
      return { status: "skipped", summary: `no table could be estimated${unmeasured}` };
    }
    const past = `${bytes.warning} MiB and ${ratio.warning}%`;
    if (tables.length === 0) {
      return {
        status: "ok",
        value: 0,
        summary: `no table estimated to waste ${past} of its pages${unmeasured}`,
      };
    }
    const total = Number(counts.total);
    const most = Number(tables[0].wasted_bytes) / MIB;
    return {
      status: Number(counts.critical) > 0 ? "critical" : "warning",
      value: round(most),
      summary: `${plural(total, "table")} estimated to waste ${past} or more of their ` +
        `pages; the most ${round(most)} MiB${unmeasured}`,
      action: "VACUUM only makes the space reusable; to give it back rewrite the table: " +
        "pg_repack (no long lock) or VACUUM FULL (locks it throughout); then find what let " +
        "dead rows pile up (autovacuum settings, long transactions)",
      items: tables.slice(0, context.limit).map((r) => ({
        schema: r.schema,
        table: r.table,
        table_bytes: r.table_bytes,
        rows: r.rows,
        fillfactor: r.fillfactor,
        wasted_bytes: r.wasted_bytes,
        wasted_pct: r.wasted_pct,
      })),
      objects: tables.map((r) =>
        `${r.schema}.${r.table} (${round(Number(r.wasted_bytes) / MIB)} MiB, ${
          Number(r.wasted_pct)
        }%)`
      ),
      total,
    };
  },
};

/** `autovacuum_off`: autovacuum turned off for the server or for tables. */
export const autovacuumOff: Check = {
  name: "autovacuum_off",
  about: "autovacuum turned off for the server or for tables",
  async run(context) {
    const rows = await context.query("doctor_autovacuum_off");
    if (rows.length === 0) return { status: "ok", value: 0, summary: "autovacuum is on" };
    const server = rows.some((r) => r.scope === "server");
    return {
      status: server ? "critical" : "warning",
      value: rows.length,
      summary: server
        ? "autovacuum is off for the whole server"
        : `${plural(rows.length, "table")} with autovacuum off`,
      action: "turn it back on (ALTER TABLE ... RESET (autovacuum_enabled), or in " +
        "postgresql.conf): without it dead rows pile up and wraparound comes closer",
      items: rows.slice(0, context.limit),
      objects: rows.map((r) => r.scope === "server" ? String(r.setting) : `${r.schema}.${r.table}`),
    };
  },
};
