/**
 * Doctor's checks of the activity counters: how long they have counted (the
 * age the usage-based findings rest on, measured once per run) and the cache
 * hit ratio they give.
 *
 * @module
 */
import { type Check, type CheckContext, grade, plural, round, type StatsAge } from "./check.ts";
import { THRESHOLDS } from "./thresholds.ts";

/** `stats_age`: how long this database's activity counters have counted. */
export const statsAge: Check = {
  name: "stats_age",
  threshold: "stats-age",
  about: "how long this database's activity counters have counted (unused indexes\n" +
    "                         and the cache hit ratio rest on them)",
  async run(context) {
    const age = await context.statsAge();
    if (age.hours === null) {
      return { status: "skipped", summary: "the server says nothing of its statistics' age" };
    }
    return {
      status: grade(context, "stats-age", age.hours),
      value: round(age.hours, 2),
      summary:
        (age.reset === null
          ? `the counters were never reset: they count for ${age.span} at most (since the ` +
            "server's statistics began, or the database was created)"
          : `the counters were reset ${age.span} ago`) +
        (age.young
          ? "; too soon to call an index unused, and the cache hit ratio covers that time only"
          : ""),
      action: "judge unused indexes once the counters have covered a full business cycle " +
        "(run doctor again then); pg_stat_reset() and crash recovery restart them",
      items: [{ stats_reset: age.reset, counting_since: age.since }],
    };
  },
};

/** `cache_hit`: table and index blocks found in shared buffers. */
export const cacheHit: Check = {
  name: "cache_hit",
  threshold: "cache-hit",
  about: "table and index blocks found in shared buffers (this database)",
  async run(context) {
    const rows = await context.query("doctor_cache_hit");
    const counted = rows
      .map((r) => ({ what: String(r.what), hit: Number(r.hit), read: Number(r.read) }));
    const judged = counted.filter((r) => r.hit + r.read >= 1000);
    if (judged.length === 0) {
      return {
        status: "skipped",
        summary: "fewer than 1000 block reads since the statistics were reset; too few to judge",
        items: counted,
      };
    }
    const ratios = judged.map((r) => ({ ...r, pct: (100 * r.hit) / (r.hit + r.read) }));
    const lowest = Math.min(...ratios.map((r) => r.pct));
    const worstKind = ratios.find((r) => r.pct === lowest)!.what;
    const named = rows.find((r) => r.what === worstKind)!;
    const age = await context.statsAge();
    const graded = grade(context, "cache-hit", lowest);
    // A short window (often just after a restart, with a cold cache) is no reason for alarm.
    const status = age.young && graded === "critical" ? "warning" : graded;
    return {
      status,
      value: round(lowest, 2),
      summary: ratios.map((r) => `${r.what} ${round(r.pct, 2)}%`).join(", ") +
        (age.young ? ` (the counters cover ${age.span} only: see stats_age)` : "") +
        (status === "ok" ? "" : `; the ${worstKind} read most from disk`),
      action: "raise shared_buffers (about a quarter of memory), or find the queries reading " +
        "the most from disk (pg_stat_statements_top.ts)",
      items: ratios,
      objects: named.most_read as string[],
      total: Number(named.reading),
    };
  },
};

/** Hours in words: `40 minutes`, `3.2 hours`, `12 days`. */
function durationWords(hours: number): string {
  if (hours < 1 / 60) return "less than a minute";
  if (hours < 1) return plural(Math.round(hours * 60), "minute");
  if (hours < 48) return `${round(hours, 1)} hours`;
  return plural(Math.round(hours / 24), "day");
}

/** The stats-age threshold's default: counters younger than this are too young to judge by. */
export const STATS_AGE_WARNING_HOURS: number =
  THRESHOLDS.find((t) => t.name === "stats-age")!.warning;

/**
 * The age of the activity counters from sql/doctor_stats_age.sql, young when
 * at most `context.thresholds["stats-age"].warning` hours (doctor's option;
 * index_health passes the default).
 */
export async function measureStatsAge(
  context: Pick<CheckContext, "query" | "thresholds">,
): Promise<StatsAge> {
  const [row] = await context.query("doctor_stats_age");
  const seconds = row?.age_seconds === null || row?.age_seconds === undefined
    ? null
    : Number(row.age_seconds);
  const hours = seconds === null ? null : Math.max(seconds, 0) / 3600;
  return {
    reset: (row?.stats_reset ?? null) as string | null,
    since: (row?.counting_since ?? null) as string | null,
    hours,
    young: hours !== null && hours <= context.thresholds["stats-age"].warning,
    span: hours === null ? "an unknown time" : durationWords(hours),
  };
}
