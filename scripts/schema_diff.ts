#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/** Compares the schemas of two connections as a unified diff, or as a summary by object kind. */
import { EXIT_USAGE, SkillError, UsageError } from "../lib/core/errors.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { findClientTools } from "../lib/cli/client_tools.ts";
import { schemaDumpText } from "../lib/tools/dump.ts";
import {
  compareDumps,
  comparisonRows,
  KINDS,
  normalizeDump,
  unifiedDiff,
} from "../lib/tools/schema_diff.ts";
import { describeSource } from "../lib/connection/target.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { printOutput, renderRows } from "../lib/output/render.ts";
import { connect } from "../lib/connection/script_sessions.ts";
import type { ConnectionTarget } from "../lib/connection/target.ts";

/** The migration that makes B match A, printed as SQL or JSON; 0 when there is nothing to do. */
async function printMigration(
  a: { target: ConnectionTarget; label: string },
  b: { target: ConnectionTarget; label: string },
  options: { allowDrops: boolean; comments: boolean; json: boolean },
): Promise<number> {
  // pg-delta is loaded only here: the dump comparison and --help do without it.
  const { measuredOnB, migrationSql, schemaMigration } = await import(
    "../lib/migrations/schema_migration.ts"
  );
  const desired = await connect(a.target);
  try {
    const current = await connect(b.target);
    try {
      const migration = await schemaMigration(
        { current: current.session, desired: desired.session },
        { allowDrops: options.allowDrops, comments: options.comments },
      );
      const same = migration.statements.length === 0;
      const tables = await measuredOnB(b.target, migration);
      if (options.json) {
        printOutput(JSON.stringify({ same, ...migration, tables }, null, 2));
      } else {
        printOutput(migrationSql(migration, {
          header: `schema_diff.ts --sql: the DDL that makes b (${b.label}) match a (${a.label})`,
          tables,
        }));
      }
      return same ? 0 : 1;
    } finally {
      await current.session.close();
    }
  } finally {
    await desired.session.close();
  }
}

/** The kinds, each with the pg_dump types it stands for, one per line. */
function kindsHelp(): string {
  const types = new Map<string, string[]>([["table", []], ["column", ["a line of CREATE TABLE"]]]);
  for (const [type, kind] of Object.entries(KINDS)) {
    types.set(kind, [...(types.get(kind) ?? []), type]);
  }
  return [...types].map(([kind, list]) => `  ${kind.padEnd(18)}  ${list.join(", ")}`).join("\n");
}

const usage = `Usage: schema_diff.ts [profile_a profile_b] [--ignore-comments] [--summary] [--json]
       schema_diff.ts [profile_a profile_b] --sql [--allow-drops] [--json]

Compares the schema-only dumps (pg_dump, without owners and privileges) of two
connections and prints a unified diff from A to B, or "No structural
differences." Comments on objects are compared too, unless --ignore-comments.
Noise that is not structure is left out: pg_dump's version banners, session
settings, \\restrict keys, and the public schema's entry that only says initdb
made it (present or not depending on the database's age).
A and B: the two profiles given (they win over the environment), else DB_URL_A
and DB_URL_B (one-off connections, no TOML needed), else DB_PROFILE_A and
DB_PROFILE_B. Each side has its own connection, so the --profile and --database
of the other scripts are not taken here: to compare two databases of one
server, give two profiles, or two URLs in DB_URL_A and DB_URL_B.
Exit status as diff has it: 0 the same, 1 different, 2 trouble (a connection
or dump failed, a usage error).

Options:
  --ignore-comments   leave comments on objects out of the comparison
  --summary           what differs, without the diff: one row per object
                      (difference, kind, name), then the counts; with --json,
                      the same document without "diff" (a whole schema's diff
                      can run to megabytes)
  --json              {same, only_in_a, only_in_b, different, diff}: the objects
                      only in A, only in B, and in both but different, each as
                      {kind, name}, plus the unified diff
  --sql               the DDL that makes B match A, as a migration file for
                      migration_add.ts - (see below); exit 0 when there is
                      nothing to do, 1 when there is
  --allow-drops       with --sql: write the drops of what holds data (tables,
                      columns, types, domains, sequences, schemas, extensions)
                      as statements; without it they are written commented
                      out, with the reason

--sql reads both catalogs (in read-only transactions; nothing is sent to B but
reads) and plans with @supabase/pg-delta, in an order the server accepts:
schemas, extensions, types (an enum value added in place), domains, sequences,
tables and columns (type, default, nullability, identity, generated),
constraints, indexes, partitions (attached and detached with their rows),
views and materialized views (only those that differ, with their dependants),
functions, procedures, triggers, policies and row security, comments, grants.
Owners are as pg_dump -O has them: what the migration makes is its runner's.
On a table B has, a foreign key or check is added NOT VALID and then
validated, and an index is built CONCURRENTLY (a step of its own for
migration_apply.ts). Above each statement, as comments: "check:" what to look
at first (a column type without an assignment cast, whose USING decides each
value; an object that looks renamed, written as a drop and an add), "hazard:"
what the migration checks find (the lock, a rewrite), "held back:" a drop
without --allow-drops. The header lists each table the migration locks,
measured on B now: size, rows, the lock, who holds or waits for one. A role B's
server lacks is said in a note: grants to it are left out.
With --json: {same, statements: [{sql, objects, verb, held, notes, hazards}],
notes, tables}, objects as pg-delta names them (table:public.film).
  --help              this text

Kinds in --json, with the pg_dump object types they stand for:
${kindsHelp()}
  anything else       its pg_dump type in lower case (operator, cast, collation,
                      publication, text search configuration ...)
Names are schema-qualified; a column, constraint, trigger, policy or rule is
schema.table.name; a comment is named by its object ("column public.t.id").
What belongs to an object that is only on one side (a new table's columns and
inline checks, comments on new objects) is part of it and not listed again;
the diff shows every line.

Example:
  ./scripts/schema_diff.ts local staging
  ./scripts/schema_diff.ts --sql local staging | ./scripts/migration_add.ts - -m "sync staging"`;

await runScript("schema_diff", async () => {
  try {
    const { positionals, values, format } = parseCli({
      name: "schema_diff",
      usage,
      formats: ["json"],
      connects: false,
      positionals: { min: 0, max: 2 },
      options: {
        "ignore-comments": { type: "boolean" },
        summary: { type: "boolean" },
        sql: { type: "boolean" },
        "allow-drops": { type: "boolean" },
      },
    }, Deno.args);
    const comments = values["ignore-comments"] !== true;
    if (positionals.length === 1) {
      throw new UsageError(
        `Give two profiles, or none and set DB_URL_A and DB_URL_B (or DB_PROFILE_A and ` +
          `DB_PROFILE_B)`,
      );
    }
    const side = async (name: "A" | "B", index: number) => {
      const url = Deno.env.get(`DB_URL_${name}`);
      // A profile given here wins over DB_URL_<side>; DB_PROFILE_<side> does not.
      const profile = positionals[index] ??
        (url ? undefined : Deno.env.get(`DB_PROFILE_${name}`) || undefined);
      if (!url && !profile) {
        throw new UsageError(
          `No connection for ${name}: give two profiles, or set DB_URL_A and DB_URL_B ` +
            `(or DB_PROFILE_A and DB_PROFILE_B)`,
        );
      }
      // --sql reads each catalog in a read-only session the server enforces, as the profile's
      // own role: the one that applies migrations, whose objects are its own.
      const target = await resolveTarget({
        urlVariable: `DB_URL_${name}`,
        profile,
        ...(values.sql === true ? { session: "diagnostic" as const, ownRole: true } : {}),
      });
      return { target, label: describeSource(target) };
    };
    const a = await side("A", 0);
    const b = await side("B", 1);
    if (values["allow-drops"] === true && values.sql !== true) {
      throw new UsageError("--allow-drops goes with --sql: give both, or neither");
    }
    if (values.sql === true && values.summary === true) {
      throw new UsageError("--summary and --sql are two answers: give one");
    }
    if (values.sql === true) {
      return await printMigration(a, b, {
        comments,
        allowDrops: values["allow-drops"] === true,
        json: format === "json",
      });
    }
    // Found once for both dumps (one question at most); a profile's TOML may be updated.
    const tools = await findClientTools(a.target.source === "DB_URL" ? b.target : a.target);
    const [textA, textB] = await Promise.all([
      schemaDumpText(a.target, { comments, tools }),
      schemaDumpText(b.target, { comments, tools }),
    ]);
    const linesA = normalizeDump(textA);
    const linesB = normalizeDump(textB);
    const diff = unifiedDiff(linesA, linesB, { a: `a: ${a.label}`, b: `b: ${b.label}` });
    const same = diff === "";
    const summary = values.summary === true;
    if (format === "json") {
      const objects = compareDumps(linesA, linesB);
      printOutput(JSON.stringify({ same, ...objects, ...(summary ? {} : { diff }) }, null, 2));
    } else if (summary && !same) {
      printOutput(renderRows(comparisonRows(compareDumps(linesA, linesB)), "table"));
    } else {
      printOutput(same ? "No structural differences." : diff);
    }
    return same ? 0 : 1;
  } catch (error) {
    // diff's convention: trouble is 2, whatever kind of trouble.
    if (error instanceof SkillError && error.exitCode !== EXIT_USAGE) {
      throw new SkillError(error.message, EXIT_USAGE);
    }
    throw error;
  }
});
