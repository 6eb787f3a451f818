#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/** Compares the schemas of two connections as a unified diff, or as a summary by object kind. */
import { EXIT_USAGE, parseCli, runScript, SkillError, UsageError } from "../lib/cli.ts";
import { schemaDumpText } from "../lib/dump.ts";
import { compareDumps, normalizeDump, unifiedDiff } from "../lib/schema_diff.ts";
import { describeSource, resolveTarget } from "../lib/resolve.ts";
import { printOutput } from "../lib/render.ts";

const usage = `Usage: schema_diff.ts [profile_a profile_b] [--json]

Compares the schema-only dumps (pg_dump, without owners, privileges and
comments) of two connections and prints a unified diff from A to B, or
"No structural differences." Noise that is not structure (pg_dump's version
banners, session settings, \\restrict keys) is left out.
A and B: the two profiles given, else DB_PROFILE_A and DB_PROFILE_B; DB_URL_A and
DB_URL_B, when set, override them (one-off connections, no TOML needed).
Exit status as diff has it: 0 the same, 1 different, 2 trouble (a connection
or dump failed, a usage error).

Options:
  --json   {same, only_in_a, only_in_b, different, diff}: the objects (kind and
           name: table, column, index, constraint, view, function, sequence,
           type, trigger, extension) only in A, only in B, and in both but
           different, plus the unified diff
  --help   this text

Example:
  ./scripts/schema_diff.ts local staging`;

await runScript("schema_diff", async () => {
  try {
    const { positionals, format } = parseCli({
      name: "schema_diff",
      usage,
      formats: ["json"],
      positionals: { min: 0, max: 2 },
    }, Deno.args);
    if (positionals.length === 1) {
      throw new UsageError("Give two profiles, or none and set DB_PROFILE_A/B");
    }
    const side = async (name: "A" | "B", index: number) => {
      const url = Deno.env.get(`DB_URL_${name}`);
      const profile = positionals[index] ?? Deno.env.get(`DB_PROFILE_${name}`);
      if (!url && !profile) {
        throw new UsageError(
          `No connection for ${name}: give two profiles, or set DB_PROFILE_${name} or DB_URL_${name}`,
        );
      }
      const target = await resolveTarget({ urlVariable: `DB_URL_${name}`, profile });
      return { target, label: describeSource(target) };
    };
    const a = await side("A", 0);
    const b = await side("B", 1);
    const [textA, textB] = await Promise.all([schemaDumpText(a.target), schemaDumpText(b.target)]);
    const linesA = normalizeDump(textA);
    const linesB = normalizeDump(textB);
    const diff = unifiedDiff(linesA, linesB, { a: `a: ${a.label}`, b: `b: ${b.label}` });
    const same = diff === "";
    if (format === "json") {
      printOutput(JSON.stringify({ same, ...compareDumps(linesA, linesB), diff }, null, 2));
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
