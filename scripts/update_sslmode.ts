#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-run=git
/** Sets `sslmode` of one profile in postgres.toml, keeping the rest of the file as it is. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { UsageError } from "../lib/core/errors.ts";
import {
  loadConfig,
  parseSslSwitch,
  profileSettings,
  updateTomlFile,
} from "../lib/config/profiles_file.ts";
import { findProjectRoot, tomlPathFor } from "../lib/config/project_root.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";

const usage = `Usage: update_sslmode.ts <profile> <true|false> [--json]

Sets sslmode for [database.<profile>] in <project-root>/.skills/postgres/postgres.toml:
true (SSL required) or false (no SSL, with the automatic SSL retry when the
server demands it). Also accepted: require/disable, yes/no, on/off, 1/0.
Only that one value changes: comments, order and every other key stay as they
are; the file is replaced whole (temporary file and rename) with mode 0600.

Options:
  --json   one JSON object instead of the table
  --help   this text

Example:
  ./scripts/update_sslmode.ts local true`;

await runScript("update_sslmode", async () => {
  const { positionals, format } = parseCli({
    name: "update_sslmode",
    usage,
    connects: false,
    formats: ["json"],
    positionals: { min: 2, max: 2 },
  }, Deno.args);
  const [profile, text] = positionals;
  const sslmode = parseSslSwitch(text);
  if (sslmode === undefined) {
    throw new UsageError(`sslmode must be true or false (or require/disable), got "${text}"`);
  }
  const path = tomlPathFor(findProjectRoot().path);
  const config = await loadConfig(path);
  const inherited = profileSettings(config, profile).sslmode ?? false;
  // Read and written under the file's lock: what "previous" says is what this run replaced.
  const { previous: own } = await updateTomlFile(path, ["database", profile], "sslmode", sslmode);
  const previous = typeof own === "boolean" ? own : inherited;
  printOutput(renderRecord({
    profile,
    sslmode,
    previous,
    changed: previous !== sslmode,
    path,
  }, format));
});
