/**
 * The dump script, declared once: data_dump.ts and schema_dump.ts take an
 * optional file name (default `<kind>_<profile>_<time>.dump` in the current
 * folder), dump with pg_dump into it whole or not at all, and report the file.
 *
 * @module
 */
import { parseCli } from "./args.ts";
import { resolveUserPath } from "./input.ts";
import { runScript } from "./run.ts";
import { findClientTools } from "./client_tools.ts";
import { resolveTarget } from "../connection/resolve.ts";
import { printOutput, renderRecord } from "../output/render.ts";
import { defaultDumpName, dumpToFile } from "../tools/dump.ts";

/** What each kind of dump holds, as its help says it. */
const WHAT: Record<"data" | "schema", string> = {
  data: "Dumps the data only (no schema), leaving out owners and privileges,\nwith pg_dump.",
  schema: "Dumps the schema only (no data), comments on objects included, leaving out\n" +
    "owners and privileges (they name roles the target may not have), with pg_dump.",
};

function usageOf(kind: "data" | "schema"): string {
  return `Usage: ${kind}_dump.ts [file] [--json]

${WHAT[kind]}
The file defaults to ${kind}_<profile>_<YYYYMMDD_HHMMSS>.dump in the current
folder. Format: plain SQL when the name ends in .sql, else pg_dump's
custom format (restore it with restore_dump.ts).
The dump goes to a private (0600) temporary file beside the target, which
pg_dump fills through its standard output (no path is opened twice, so a
symlink swapped in meanwhile gets nothing), and is renamed into place only when
pg_dump succeeds: on failure, Ctrl-C, TERM or a hang-up no file appears and an
existing file of that name is left as it was. A symlink is written through
(the link stays); a missing folder, a folder or a read-only file as the target
is refused before connecting. The client tools must be at least as new as the
server; if not, the error says which pg_bin_path to set. On a terminal, a dump
that takes a while shows its progress.

Options:
  --json   the report as JSON
  --help   this text

Example:
  ./scripts/${kind}_dump.ts ${kind}.sql`;
}

/** Runs the script that dumps `kind` (the data only, or the schema only) to a file. */
export function runDumpScript(kind: "data" | "schema"): Promise<never> {
  const name = `${kind}_dump`;
  const usage = usageOf(kind);
  return runScript(name, async () => {
    const { positionals, format } = parseCli({
      name,
      usage,
      formats: ["json"],
      positionals: { min: 0, max: 1 },
    }, Deno.args);
    const target = await resolveTarget();
    const file = resolveUserPath(positionals[0] ?? defaultDumpName(kind, target.profile ?? "url"));
    const report = await dumpToFile(target, { kind, file, tools: () => findClientTools(target) });
    printOutput(renderRecord({ ...report }, format));
  });
}
