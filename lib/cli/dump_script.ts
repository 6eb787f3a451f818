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

/** Runs the script that dumps `kind` (the data only, or the schema only) to a file. */
export function runDumpScript(kind: "data" | "schema", usage: string): Promise<never> {
  const name = `${kind}_dump`;
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
