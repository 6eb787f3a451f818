#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** One row per health check: status, measured value, threshold, and what to do. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { UsageError } from "../lib/core/errors.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import {
  CHECKS,
  findingText,
  parseCheckNames,
  runChecks,
  thresholdText,
  valueText,
} from "../lib/reports/doctor.ts";
import { OBJECTS_NAMED, SEVERITY, type Status } from "../lib/reports/doctor/check.ts";
import { parseThresholds, thresholdOptions, THRESHOLDS } from "../lib/reports/doctor/thresholds.ts";
import { printOutput, renderRows } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { loadSql } from "../lib/sql/sql_files.ts";

const pad = (text: string, width: number) => text.padEnd(width);
const usage = `Usage: doctor.ts [limit] [--check NAMES] [--fail-on warning|critical]
                 [threshold options] [--json]

Runs every health check on the profile's database (and its server) and prints
one row each: status (ok, warning, critical, or skipped with the reason when
the server is too old or the role lacks a privilege: never ok unmeasured), the
measured value, the thresholds, what was found and what to do. Read-only, with
the diagnostic timeouts.

A finding that is not ok names up to ${OBJECTS_NAMED} of the objects it is about, worst
first, and how many there are, with the script that lists them all:
"31 unused indexes: public.a, public.b, ... (31 in all: index_health.ts)".
Unused indexes and the cache hit ratio rest on the activity counters: while
they are younger than --stats-age-warning (reset by pg_stat_reset() or crash
recovery), stats_age warns, unused_indexes is skipped (its indexes still named)
and cache_hit is at most a warning.

Checks:
${CHECKS.map((c) => `  ${pad(c.name, 23)}${c.about}`).join("\n")}

Thresholds (warning / critical; decimals allowed):
${
  THRESHOLDS.map((t) => {
    const unit = t.unit === "%" ? "%" : ` ${t.unit}`;
    return t.critical === null
      ? `  --${t.name}-warning N\n      ${t.help}; default ${t.warning}${unit} (never critical)`
      : `  --${t.name}-warning N, --${t.name}-critical N\n      ${t.help}; default ` +
        `${t.warning} / ${t.critical}${unit}`;
  }).join("\n")
}

Options:
  --fail-on LEVEL   exit 1 when any check is at LEVEL or worse (warning or critical);
                    without it the exit status says only whether the checks ran
  --check NAMES     only these checks (comma-separated names from the list above)
  [limit], --limit N  items listed per check in --json (default 10, at most 10000)
  --json            {checks: [{check, status, value, unit, threshold, summary,
                    action, items, objects, total, see}], counts}; objects (up to
                    ${OBJECTS_NAMED}), total and see only on a finding that is not ok
  --help            this text

Example:
  ./scripts/doctor.ts --fail-on critical`;

await runScript("doctor", async () => {
  const { values, format, limit } = parseCli({
    name: "doctor",
    usage,
    formats: ["json"],
    limit: { fallback: 10 },
    options: {
      "fail-on": { type: "string" },
      check: { type: "string" },
      ...Object.fromEntries(
        thresholdOptions().map((name) => [name, { type: "string" as const }]),
      ),
    },
  }, Deno.args);
  const failOn = values["fail-on"];
  if (failOn !== undefined && failOn !== "warning" && failOn !== "critical") {
    throw new UsageError(`--fail-on must be warning or critical, got "${failOn}"`);
  }
  const thresholds = parseThresholds(values);
  const only = values.check === undefined ? undefined : parseCheckNames(String(values.check));
  const target = await resolveTarget({ session: "diagnostic" });
  const findings = await withSession(target, async (session) => {
    const query = async (name: string, params: unknown[] = []) =>
      (await session.query(await loadSql(name), params)).rows;
    const [server] = await query("doctor_server");
    return await runChecks({
      query,
      versionNum: Number(server.version_num),
      inRecovery: server.in_recovery === true,
      readsAllStats: server.reads_all_stats === true,
      thresholds,
      limit,
    }, only);
  });
  const counts: Record<Status, number> = { critical: 0, warning: 0, skipped: 0, ok: 0 };
  for (const finding of findings) counts[finding.status]++;
  if (format === "json") {
    printOutput(JSON.stringify({ checks: findings, counts }, null, 2));
  } else {
    printOutput(renderRows({
      columns: ["check", "status", "value", "threshold", "finding", "action"],
      rows: findings.map((f) => ({
        check: f.check,
        status: f.status,
        value: valueText(f),
        threshold: thresholdText(f),
        finding: findingText(f),
        action: f.action,
      })),
    }, format));
  }
  note(
    `${counts.critical} critical, ${counts.warning} warning, ${counts.skipped} skipped, ` +
      `${counts.ok} ok`,
  );
  if (failOn && findings.some((f) => SEVERITY[f.status] >= SEVERITY[failOn as Status])) return 1;
});
