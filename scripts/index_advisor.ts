#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/**
 * Index advice the planner has proved: the indexes a query (or the costliest
 * statements of pg_stat_statements) would use, each tried as a hypothetical
 * index (hypopg) and recommended only when the plan uses it and it cuts the
 * cost by the share asked for. Runs EXPLAIN only; builds nothing.
 */
import { parseCli } from "../lib/cli/args.ts";
import { readInputText } from "../lib/cli/input.ts";
import { runScript } from "../lib/cli/run.ts";
import { parseDecimal, parsePositiveInt } from "../lib/core/numbers.ts";
import { UsageError } from "../lib/core/errors.ts";
import { note, shellQuote } from "../lib/core/text.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { stringifyJson } from "../lib/connection/values.ts";
import { printOutput } from "../lib/output/render.ts";
import { checkParamCount, oneStatement } from "../lib/sql/statements.ts";
import {
  ADVISED_COMMANDS,
  adviseIndexes,
  type AdvisorQuery,
  hypopgHint,
  type Workload,
  workloadQueries,
} from "../lib/reports/index_advisor.ts";
import {
  beyondReading,
  checkSessionRole,
  readOnlyRoleWarning,
} from "../lib/connection/reader_role.ts";
import { adviceSql, adviceText } from "../lib/reports/index_advisor/report.ts";

const usage = `Usage: index_advisor.ts "<sql>" [--param VALUE]... [--min-gain PCT] [--json]
       index_advisor.ts -f FILE ... | index_advisor.ts - ...   (the SQL from stdin)
       index_advisor.ts --top N [--min-gain PCT] [--json]
       ... --sql | migration_add.ts - -m TEXT   (add what is recommended)

Says which indexes would make a query cheaper, proved by the planner: the query
is planned with EXPLAIN (never run), the indexes its conditions, joins, ORDER BY
... LIMIT and GROUP BY could use are proposed from the plan (equality columns
first, the most selective leading, then a range or sort column; join keys;
partial indexes for tests every wanted row passes; INCLUDE columns where an
index-only scan would follow), never one an existing index already serves, and
each is tried as a hypothetical index (the hypopg extension: the planner sees
it in this session only; nothing is built). An index is recommended when the
plan uses it and it cuts the query's cost by at least --min-gain (default 20%)
and by 10 or more of the planner's units (about ten pages read),
largest gain first, each with its CREATE INDEX CONCURRENTLY and the
migration_add.ts command that adds it (on a partitioned table: the statements
that build it partition by partition, and what a plain build would lock).

--top N advises on the N costliest statements (total time) of this database in
pg_stat_statements, together: the best candidates are combined greedily, each
weighted by its calls, and one is kept only when, with those kept before it, it
still cuts a query's cost by --min-gain. Their constants are $1, $2 ... there:
they are planned as generic plans (plan_cache_mode = force_generic_plan), the
plan a prepared statement gets without its values; a query given with $n and
no --param is planned that way too, one with --param with those values.

Planning runs the functions a query calls that the planner folds or estimates
with (IMMUTABLE and STABLE ones, also inside views and policies) with this
role's rights, in a read-only transaction: so --top plans only the statements
this role ran itself, unless it is a reader (the profile's reader role from
readonly_role.ts, which can do no more than read) or --all-roles is given.

Without hypopg the candidates are listed, marked "not verified", with how to
get it: Debian/Ubuntu package postgresql-<major>-hypopg, then CREATE EXTENSION
hypopg (a change to the database: run_sql.ts --ddl, with the user's approval).
Runs read-only (as the profile's reader role when it has one), in the role's
own search_path; costs are the planner's estimates, in its units.

Options:
  -f, --file FILE   read the query from FILE
  --param VALUE     a value for $1, $2 ... in order (repeatable); bound
  --top N           the N costliest statements of pg_stat_statements (1-100)
  --min-gain PCT    the least cut of a query's cost to recommend (default 20)
  --time-limit S    stop trying new candidates after S seconds (default 60);
                    those left are "not tried"
  --all-roles       with --top, plan other roles' statements too when this
                    role can do more than read (see above)
  --sql             print only the recommended statements, as SQL for
                    migration_add.ts - (nothing else on stdout)
  --json            {"hypopg": {"version", "schema", "available", "major"},
                    "minGain", "queries": [{"query", "queryId", "calls", "plan",
                    "cost", "costAfter", "error", "note", "candidates":
                    [{"index", "reason", "cost" (with it), "gain" (share cut),
                    "used", "bytes", "verdict", "instead", "error",
                    "statement" (not verified)}]}], "recommendations":
                    [{"name", "table", "keys", "index", "bytes", "gains":
                    [{"query", "gain"}], "statements", "note"}], "workload":
                    {"cost", "costAfter"} (with hypopg), "timeLimitReached",
                    "skipped", "otherRoles": {"skipped", "roles"} (--top)}
  --help            this text

Example:
  ./scripts/index_advisor.ts "select * from orders where customer_id = 42"
  ./scripts/index_advisor.ts --top 20 --json`;

await runScript("index_advisor", async () => {
  const { positionals, values, format } = parseCli({
    name: "index_advisor",
    usage,
    formats: ["json"],
    positionals: { min: 0, max: 1 },
    options: {
      file: { type: "string", short: "f" },
      param: { type: "string", multiple: true },
      top: { type: "string" },
      "min-gain": { type: "string" },
      sql: { type: "boolean" },
      "time-limit": { type: "string" },
      "all-roles": { type: "boolean" },
    },
  }, Deno.args);
  if (values.sql && format === "json") throw new UsageError("Give --sql or --json, not both");
  const minGain = values["min-gain"] === undefined
    ? 0.2
    : parseDecimal(values["min-gain"], "--min-gain", { max: 100 }) / 100;
  const seconds = values["time-limit"] === undefined
    ? 60
    : parsePositiveInt(values["time-limit"], "--time-limit", { max: 3600 });
  const top = values.top === undefined ? undefined : parsePositiveInt(values.top, "--top", {
    max: 100,
  });
  if (top !== undefined && (positionals.length || values.file !== undefined || values.param)) {
    throw new UsageError("Give a query or --top N, not both");
  }
  let given: AdvisorQuery | undefined;
  if (top === undefined) {
    const text = await readInputText({
      argument: positionals[0],
      file: values.file,
      what: "query",
    });
    const statement = await oneStatement(text, {
      action: "advise on",
      commands: ADVISED_COMMANDS,
      accepted: "The index advisor plans SELECT, INSERT, UPDATE, DELETE and MERGE",
    });
    if (values.param) checkParamCount([statement], values.param.length);
    given = { statement, params: values.param, calls: 1 };
  }
  const target = await resolveTarget({ session: "diagnostic", userSearchPath: true });
  let roleWarning: string | undefined;
  const { advice, workload } = await withSession(target, async (session) => {
    // A role that can do more than read runs only its own statements' code (see --all-roles).
    const role = await checkSessionRole(session);
    roleWarning = readOnlyRoleWarning(role, target);
    const workload: Workload = given
      ? { queries: [given], skipped: 0, otherRoles: { skipped: 0, roles: [] } }
      : await workloadQueries(session, {
        limit: top!,
        otherRoles: values["all-roles"] === true || beyondReading(role) === undefined,
      });
    return {
      advice: await adviseIndexes(session, { queries: workload.queries, minGain, seconds }),
      workload,
    };
  });
  const { skipped } = workload;
  if (values.sql) {
    printOutput(adviceSql(advice));
    if (!advice.recommendations.length) note("No index is recommended: there is no SQL to add");
  } else if (format === "json") {
    printOutput(
      stringifyJson(
        top === undefined ? advice : { ...advice, skipped, otherRoles: workload.otherRoles },
      ),
    );
  } else {
    // The command again, with --sql, adds every recommendation; stdin cannot be read twice.
    const rerun = positionals[0] === "-"
      ? undefined
      : ["./scripts/index_advisor.ts", ...Deno.args].map(shellQuote).join(" ");
    printOutput(adviceText(advice, rerun));
  }
  if (skipped) {
    note(
      `${skipped} costlier statements of pg_stat_statements were passed over: utility ` +
        `statements (SET, COPY, DDL ...) or texts of several statements; the advisor plans ` +
        `SELECT, INSERT, UPDATE, DELETE and MERGE`,
    );
  }
  if (workload.otherRoles.skipped) {
    note(
      `${workload.otherRoles.skipped} costlier statements of other roles ` +
        `(${workload.otherRoles.roles.map((r) => `"${r}"`).join(", ")}) were not planned: ` +
        `planning runs the functions a statement calls (IMMUTABLE and STABLE ones, also in ` +
        `views) with this role's rights, and this role can do more than read; advise as the ` +
        `profile's reader role (readonly_role.ts), or add --all-roles if those roles are trusted`,
    );
  }
  if (!advice.hypopg.schema) note(hypopgHint(advice.hypopg));
  if (roleWarning) note(roleWarning);
});
