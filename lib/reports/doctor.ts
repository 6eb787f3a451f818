/**
 * The health checks of `doctor.ts`: every check, in report order, and the
 * run that measures them. A check's logic lives in its area's module in
 * `doctor/` (its SQL is its own file in `sql/`); the thresholds that grade
 * the checks (options with defaults) are in `doctor/thresholds.ts`. A check
 * that cannot measure (an older server, a missing privilege) is skipped with
 * the reason, never reported ok.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { isPermissionDenied, PgServerError } from "../connection/session.ts";
import {
  type Check,
  type CheckContext,
  type Finding,
  OBJECTS_NAMED,
  type Outcome,
  type RunContext,
  type StatsAge,
} from "./doctor/check.ts";
import { THRESHOLDS } from "./doctor/thresholds.ts";
import {
  blockedSessions,
  connections,
  idleInTransaction,
  longQueries,
  preparedTransactions,
} from "./doctor/connections.ts";
import { cacheHit, measureStatsAge, statsAge } from "./doctor/statistics.ts";
import { multixactWraparound, sequences, xidWraparound } from "./doctor/id_limits.ts";
import {
  duplicateIndexes,
  foreignKeyIndexes,
  invalidIndexes,
  notValidConstraints,
  unusedIndexes,
} from "./doctor/indexes.ts";
import { autovacuumOff, tableBloat, vacuum } from "./doctor/vacuum.ts";
import { archiver, replicationSlots, standbyLag } from "./doctor/replication.ts";
import { checkpoints, riskySettings } from "./doctor/settings.ts";

/** Every check, in report order. */
export const CHECKS: Check[] = [
  connections,
  statsAge,
  cacheHit,
  xidWraparound,
  multixactWraparound,
  sequences,
  idleInTransaction,
  longQueries,
  preparedTransactions,
  blockedSessions,
  invalidIndexes,
  notValidConstraints,
  duplicateIndexes,
  unusedIndexes,
  foreignKeyIndexes,
  vacuum,
  tableBloat,
  autovacuumOff,
  standbyLag,
  replicationSlots,
  archiver,
  checkpoints,
  riskySettings,
];

/** The check names `--check` takes (comma-separated), or a usage error naming the unknown. */
export function parseCheckNames(text: string): string[] {
  const names = text.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !CHECKS.some((c) => c.name === name));
  if (names.length === 0 || unknown.length) {
    throw new UsageError(
      `Unknown check "${unknown[0] ?? text}"; the checks are ${
        CHECKS.map((c) => c.name).join(", ")
      }`,
    );
  }
  return names;
}

/**
 * A finding in words for a table: the summary, then the objects it names and
 * how many there are in all, with the script that lists them all: "31 unused
 * indexes: public.a, public.b, ... (31 in all: index_health.ts)".
 */
export function findingText(finding: Finding): string {
  const objects = finding.objects ?? [];
  if (objects.length === 0) return finding.summary;
  const total = finding.total ?? objects.length;
  const more = total > objects.length ? ", ..." : "";
  return `${finding.summary}: ${objects.join(", ")}${more} (${total} in all` +
    `${finding.see ? `: ${finding.see}` : ""})`;
}

/** A finding's value for a table: `95%`, `1,607 IDs`, `3` (a count); empty when unmeasured. */
export function valueText(finding: Finding): string {
  if (finding.value === null) return "";
  const value = finding.value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return finding.unit === "count"
    ? value
    : finding.unit === "%"
    ? `${value}%`
    : `${value} ${finding.unit}`;
}

/** A finding's thresholds for a table: `>= 70 / 90%` (warning / critical); empty when fixed. */
export function thresholdText(finding: Finding): string {
  if (!finding.threshold) return "";
  const name = CHECKS.find((c) => c.name === finding.check)?.threshold;
  const spec = THRESHOLDS.find((t) => t.name === name)!;
  const sign = spec.worse === "below" ? "<=" : ">=";
  const unit = spec.unit === "%" ? "%" : ` ${spec.unit}`;
  const n = (v: number) => v.toLocaleString("en-US");
  const { warning, critical } = finding.threshold;
  return `${sign} ${n(warning)}${critical === undefined ? "" : ` / ${n(critical)}`}${unit}`;
}

/**
 * Runs every check (or those named in `only`); one that fails for want of a
 * privilege, or with any other server error, is skipped with the server's
 * reason. A finding that is not ok names up to {@linkcode OBJECTS_NAMED}
 * objects, how many there are and the script that lists them.
 */
export async function runChecks(
  context: CheckContext,
  only: string[] = CHECKS.map((c) => c.name),
): Promise<Finding[]> {
  const findings: Finding[] = [];
  // Measured once, on first use: the checks that rest on the counters ask too.
  let statsAge: Promise<StatsAge> | undefined;
  const run: RunContext = {
    ...context,
    statsAge: () => statsAge ??= measureStatsAge(context),
  };
  for (const check of CHECKS.filter((c) => only.includes(c.name))) {
    let outcome: Outcome;
    try {
      outcome = check.minVersion && context.versionNum < check.minVersion
        ? {
          status: "skipped",
          summary: `needs PostgreSQL ${Math.floor(check.minVersion / 10000)} or later`,
        }
        : await check.run(run);
    } catch (error) {
      if (!(error instanceof PgServerError)) throw error;
      outcome = {
        status: "skipped",
        summary: isPermissionDenied(error)
          ? `needs a privilege this role lacks: ${error.message}`
          : `the server refused the check: ${error.message} (SQLSTATE ${error.code})`,
      };
    }
    const spec = THRESHOLDS.find((t) => t.name === check.threshold);
    const objects = outcome.status === "ok" ? [] : outcome.objects ?? [];
    findings.push({
      check: check.name,
      status: outcome.status,
      value: outcome.value ?? null,
      unit: outcome.value === undefined || outcome.value === null ? null : spec?.unit ?? "count",
      threshold: spec ? context.thresholds[spec.name] : null,
      summary: outcome.summary,
      action: outcome.status === "ok" || outcome.status === "skipped" ? "" : outcome.action ?? "",
      items: outcome.items ?? [],
      ...(objects.length
        ? {
          objects: objects.slice(0, OBJECTS_NAMED),
          total: outcome.total ?? objects.length,
          ...(check.see ? { see: check.see } : {}),
        }
        : {}),
    });
  }
  return findings;
}
