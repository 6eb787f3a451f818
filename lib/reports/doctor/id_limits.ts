/**
 * Doctor's checks of the IDs that run out: transaction and multixact IDs
 * nearing wraparound, and sequences nearing the end of their range or of the
 * column type they feed.
 *
 * @module
 */
import { type Check, grade, listed, plural, qualified, round } from "./check.ts";

/** The wraparound check of transaction IDs (`xid`) or of multixact IDs. */
function wraparoundCheck(kind: "xid" | "multixact"): Check {
  return {
    name: kind === "xid" ? "xid_wraparound" : "multixact_wraparound",
    threshold: "wraparound",
    about: `oldest ${kind === "xid" ? "transaction" : "multixact"} ID age: databases, tables`,
    async run(context) {
      const column = kind === "xid" ? "xid_age" : "multixact_age";
      const databases = (await context.query("doctor_wraparound_databases"))
        .sort((a, b) => Number(b[column]) - Number(a[column]));
      const oldest = databases[0];
      const age = Number(oldest[column]);
      const status = grade(context, "wraparound", age);
      const { warning } = context.thresholds.wraparound;
      const tables = status === "ok" ? [] : (await context.query("doctor_wraparound_tables", [
        listed(context),
        warning,
      ])).sort((a, b) => Number(b[column]) - Number(a[column]));
      // The tables of this database past the warning age; else the databases that are.
      const oldTables = tables.filter((t) => Number(t[column]) >= warning);
      const oldDatabases = databases.filter((d) => Number(d[column]) >= warning);
      return {
        status,
        value: age,
        summary: `oldest: database ${oldest.database} at ${age.toLocaleString("en-US")} ` +
          `(${round((100 * age) / 2 ** 31)}% of the way to wraparound; autovacuum freezes ` +
          `from ${Number(oldest.freeze_max_age).toLocaleString("en-US")})`,
        action: status === "ok" ? "" : `VACUUM (FREEZE) the oldest tables of ${oldest.database}; ` +
          "end what holds the horizon back: long transactions, prepared transactions, stale " +
          "replication slots",
        items: [
          ...databases.slice(0, context.limit).map((d) => ({
            database: d.database,
            age: d[column],
          })),
          ...tables.slice(0, context.limit).map((t) => ({
            schema: t.schema,
            table: t.table,
            age: t[column],
          })),
        ],
        ...(oldTables.length
          ? {
            objects: oldTables.map(qualified("table")),
            total: Number(tables[0][kind === "xid" ? "xid_total" : "multixact_total"]),
          }
          : { objects: oldDatabases.map((d) => String(d.database)) }),
      };
    },
  };
}

/** `xid_wraparound`: the oldest transaction ID's age, in databases and tables. */
export const xidWraparound: Check = wraparoundCheck("xid");

/** `multixact_wraparound`: the oldest multixact ID's age, in databases and tables. */
export const multixactWraparound: Check = wraparoundCheck("multixact");

/** `sequences`: sequences near their limit or their column type's. */
export const sequences: Check = {
  name: "sequences",
  threshold: "sequence",
  about: "sequences near their limit; int columns fed by a bigint sequence",
  async run(context) {
    const rows = await context.query("doctor_sequences");
    if (rows.length === 0) return { status: "ok", value: 0, summary: "no sequences" };
    const unreadable = new Set(
      rows.filter((r) => r.readable !== true).map((r) => `${r.schema}.${r.sequence}`),
    );
    const used = rows
      .filter((r) => r.readable === true && r.last_value !== null)
      .map((r) => {
        const last = Number(r.last_value);
        const limit = Number(r.limit_value);
        const ofSequence = (100 * last) / limit;
        const ofColumn = r.column_max !== null && last > 0
          ? (100 * last) / Number(r.column_max)
          : 0;
        return {
          schema: r.schema,
          sequence: r.sequence,
          last_value: r.last_value,
          limit: ofColumn > ofSequence ? r.column_max : r.limit_value,
          column: r.feeds_column,
          column_type: r.column_type,
          used_pct: round(Math.max(ofSequence, ofColumn), 2),
          bounded_by: ofColumn > ofSequence ? `column type ${r.column_type}` : "sequence",
        };
      })
      .sort((a, b) => b.used_pct - a.used_pct);
    const top = used[0]?.used_pct ?? 0;
    const status = grade(context, "sequence", top);
    const flagged = used.filter((u) => grade(context, "sequence", u.used_pct) !== "ok");
    if (status === "ok" && unreadable.size) {
      return {
        status: "skipped",
        value: top,
        summary: `${plural(unreadable.size, "sequence")} this role may not read ` +
          `(needs SELECT or USAGE on it)`,
        objects: [...unreadable],
      };
    }
    const first = flagged[0];
    return {
      status,
      value: top,
      summary: first
        ? `${
          plural(flagged.length, "sequence")
        } past ${context.thresholds.sequence.warning}%; worst ${first.schema}.${first.sequence} at ${first.used_pct}% of its ${first.bounded_by}` +
          (first.column ? ` (feeds ${first.column})` : "")
        : `highest ${top}% of ${plural(used.length, "sequence")}`,
      action: status === "ok" ? "" : "widen the column to bigint (and ALTER SEQUENCE ... AS " +
        "bigint) before it runs out; a long ALTER TABLE rewrites the table, so plan it",
      items: flagged.slice(0, context.limit),
      objects: flagged.map(qualified("sequence")),
    };
  },
};
