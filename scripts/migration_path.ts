#!/usr/bin/env -S deno run --allow-env --allow-read
/** Prints the migrations folder, the rule that chose it, and whether it exists. */
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { resolveMigrationsFolder } from "../lib/migrations/folder.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";

const usage = `Usage: migration_path.ts [--profile NAME] [--json]

Resolves <migrations_path> in the documented order and prints it, the rule that
gave it, and whether the folder exists:
  1. [database.<profile>].migrations_path in postgres.toml
  2. [migrations].path in postgres.toml
  3. DB_MIGRATIONS_PATH in the project's AGENTS.md
  4. db/migrations (the default)
Relative paths resolve from the project root. The profile is --profile, else
DB_PROFILE, else local; postgres.toml is optional here. The folder must lie
inside the project once symlinks are resolved: one that leads out (through
.., an absolute path or a symlinked folder) is refused by every migration
script, naming the rule that chose it. "path" is where the folder really is.

Options:
  --profile NAME   the profile whose migrations_path counts
  --json           one JSON object
  --help           this text

Example:
  ./scripts/migration_path.ts --json`;

await runScript("migration_path", async () => {
  const { values, format } = parseCli({
    name: "migration_path",
    usage,
    connects: false,
    formats: ["json"],
    options: { profile: { type: "string" } },
  }, Deno.args);
  const folder = await resolveMigrationsFolder(values.profile);
  printOutput(renderRecord({
    path: folder.absolute,
    configured: folder.path,
    rule: folder.source,
    profile: folder.profile,
    exists: folder.exists,
    project_root: folder.projectRoot,
  }, format));
});
