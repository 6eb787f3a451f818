/**
 * Doctor's checks of indexes and constraints: invalid indexes, constraints
 * never validated, redundant and unused indexes, and foreign keys no index
 * supports.
 *
 * @module
 */
import {
  type Check,
  grade,
  itemsOf,
  listed,
  MIB,
  plural,
  qualified,
  round,
  type Status,
  totalOf,
} from "./check.ts";

/** Rows a check counts before it says "or more". */
const COUNT_LIMIT = 10_000;

/**
 * A catalog list where any row is a finding of fixed severity. The SQL takes
 * a row limit and counts its rows (total).
 */
function listCheck(options: {
  name: string;
  about: string;
  sql: string;
  status: Status;
  one: string;
  many: string;
  action: string;
  see?: string;
  object: (row: Record<string, unknown>) => string;
}): Check {
  return {
    name: options.name,
    about: options.about,
    see: options.see,
    async run(context) {
      const rows = await context.query(options.sql, [listed(context)]);
      const count = totalOf(rows);
      return {
        status: count ? options.status : "ok",
        value: count,
        summary: count ? plural(count, options.one, options.many) : `no ${options.many}`,
        action: rows.length ? options.action : "",
        items: itemsOf(rows, context.limit),
        objects: rows.map(options.object),
        total: count,
      };
    },
  };
}

/**
 * The check, skipped while the activity counters are younger than the
 * stats-age threshold: an index not scanned in the hours since a reset is not
 * unused. Its objects are still named, its action is not given.
 */
function youngStatsSkip(check: Check): Check {
  return {
    ...check,
    async run(context) {
      const outcome = await check.run(context);
      const age = await context.statsAge();
      if (outcome.status === "ok" || !age.young) return outcome;
      return {
        ...outcome,
        status: "skipped",
        summary: `${plural(outcome.total ?? 0, "index", "indexes")} not scanned in the ` +
          `${age.span} the counters cover: too soon to call them unused (stats_age)`,
      };
    },
  };
}

/** `invalid_indexes`: indexes a failed CREATE INDEX CONCURRENTLY left invalid. */
export const invalidIndexes: Check = listCheck({
  name: "invalid_indexes",
  about: "indexes left invalid (a failed CREATE INDEX CONCURRENTLY)",
  sql: "index_invalid",
  status: "warning",
  one: "invalid index",
  many: "invalid indexes",
  action: "DROP INDEX CONCURRENTLY it, then CREATE INDEX CONCURRENTLY it again; it is " +
    "maintained on every write and never used",
  see: "index_health.ts",
  object: qualified("index"),
});

/** `not_valid_constraints`: constraints added NOT VALID and never validated. */
export const notValidConstraints: Check = listCheck({
  name: "not_valid_constraints",
  about: "constraints added NOT VALID and never validated",
  sql: "doctor_not_valid_constraints",
  status: "warning",
  one: "constraint not validated",
  many: "constraints not validated",
  action: "ALTER TABLE ... VALIDATE CONSTRAINT ... (a light lock) so older rows are checked too",
  object: (row) => `${row.constraint} on ${row.schema}.${row.table}`,
});

/** `duplicate_indexes`: indexes another index makes redundant. */
export const duplicateIndexes: Check = listCheck({
  name: "duplicate_indexes",
  about: "indexes another index makes redundant (same or prefix columns)",
  sql: "index_duplicates",
  status: "warning",
  one: "redundant index",
  many: "redundant indexes",
  action: "drop the redundant index (DROP INDEX CONCURRENTLY) after checking that no " +
    "query plan needs it; index_health.ts lists the same",
  see: "index_health.ts",
  object: qualified("index"),
});

/** `unused_indexes`: indexes never scanned since the stats reset, enforcing nothing. */
export const unusedIndexes: Check = youngStatsSkip(listCheck({
  name: "unused_indexes",
  about: "indexes never scanned since the stats reset, enforcing nothing (as\n" +
    "                         index_health.ts's unused_index: the same SQL)",
  sql: "index_unused",
  status: "warning",
  one: "unused index",
  many: "unused indexes",
  action: "check on the primary and every standby, over a full business cycle, before " +
    "dropping (DROP INDEX CONCURRENTLY)",
  see: "index_health.ts",
  object: qualified("index"),
}));

/** `foreign_key_indexes`: foreign keys no index supports, on tables past a size. */
export const foreignKeyIndexes: Check = {
  name: "foreign_key_indexes",
  threshold: "fk-table-size",
  about: "foreign keys no index supports, on tables past a size (as\n" +
    "                         missing_fk_indexes.ts finds them: the same SQL)",
  see: "missing_fk_indexes.ts",
  async run(context) {
    const { warning } = context.thresholds["fk-table-size"];
    // Largest tables first: those past the size are the first rows.
    const rows = (await context.query("missing_fk_indexes", [COUNT_LIMIT]))
      .filter((r) => Number(r.table_bytes) / MIB >= warning);
    if (rows.length === 0) {
      return {
        status: "ok",
        value: 0,
        summary: `no foreign key without an index on a table of ${warning} MiB or more`,
      };
    }
    const largest = Number(rows[0].table_bytes) / MIB;
    return {
      status: grade(context, "fk-table-size", largest),
      value: round(largest),
      summary: `${plural(rows.length, "foreign key")}${
        rows.length === COUNT_LIMIT ? " or more" : ""
      } without an index on tables of ${warning} MiB or more; the largest ${round(largest)} MiB`,
      action: "create the index each suggestion names (CREATE INDEX CONCURRENTLY, " +
        "missing_fk_indexes.ts lists them): without it every delete or key update of the " +
        "referenced table scans the whole table",
      items: itemsOf(rows, context.limit),
      objects: rows.map((r) => `${r.schema}.${r.table} (${(r.columns as string[]).join(", ")})`),
    };
  },
};
