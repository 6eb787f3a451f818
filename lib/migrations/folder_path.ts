/**
 * The migrations folder: resolved in the documented order (the profile's
 * `migrations_path`, `[migrations].path`, `DB_MIGRATIONS_PATH` in AGENTS.md,
 * `db/migrations`), checked before it is written anywhere, and recorded in
 * AGENTS.md.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import { SkillError, UsageError } from "../core/errors.ts";
import { editFileLocked, readResolved, realLocation, resolveFile } from "../config/files.ts";
import { isInside } from "../config/project_root.ts";
import { asTable, type TomlTable } from "../config/toml_edit.ts";

/** The migrations folder when nothing names another, relative to the project root. */
export const DEFAULT_MIGRATIONS_PATH = "db/migrations";

/** `DB_MIGRATIONS_PATH` as recorded in the project's AGENTS.md, if it is. */
export async function agentsMigrationsPath(projectRoot: string): Promise<string | undefined> {
  const text = await readResolved(await resolveFile(join(projectRoot, "AGENTS.md")));
  const m = text?.match(/^\s*[-*]?\s*`?DB_MIGRATIONS_PATH`?\s*[=:]\s*`?([^`\s]+)`?\s*$/m);
  return m?.[1];
}

/** Where a migrations path came from. */
export type MigrationsSource = "profile" | "[migrations].path" | "AGENTS.md" | "default";

/**
 * Where a migrations folder really lies, its symlinks resolved (for one that
 * does not exist yet, those of the folders above it), and whether that is
 * strictly inside the project root, itself resolved. `..`, an absolute path,
 * a symlinked folder on the way or the folder itself a symlink can each lead
 * out; this sees through all of them.
 */
function locateMigrationsFolder(
  projectRoot: string,
  path: string,
): { real: string; root: string; inside: boolean } {
  const root = realLocation(projectRoot);
  const real = realLocation(resolve(projectRoot, path));
  return { real, root, inside: real !== root && isInside(real, root) };
}

/**
 * Checks a migrations folder before anything is written with it (a folder
 * made, a line in AGENTS.md, a TOML value): a path inside the project root
 * (after resolving symlinks), without line breaks, control characters, spaces
 * or backticks (AGENTS.md holds it as one word). Returns it relative to the
 * root.
 */
export function checkMigrationsPath(projectRoot: string, path: string): string {
  if (path.trim() === "") throw new UsageError("The migrations path is empty");
  if ([...path].some((c) => c <= " " || c === "`" || (c >= "\x7f" && c <= "\x9f"))) {
    throw new UsageError(
      `The migrations path ${JSON.stringify(path)} holds a space, a line break, a backtick or ` +
        `a control character; give a plain path relative to the project root`,
    );
  }
  const { real, inside } = locateMigrationsFolder(projectRoot, path);
  const lexical = resolve(projectRoot, path);
  if (!inside || !isInside(lexical, projectRoot)) {
    throw new UsageError(
      `The migrations path "${path}" is not inside the project root "${projectRoot}"` +
        `${
          real === lexical ? "" : ` (it resolves to "${real}")`
        }; give a folder within the project`,
    );
  }
  return relative(projectRoot, lexical);
}

/** The rule that chose a migrations folder, as a message names it. */
export function describeMigrationsSource(source: MigrationsSource, profile: string): string {
  switch (source) {
    case "profile":
      return `migrations_path of [database.${profile}] in postgres.toml`;
    case "[migrations].path":
      return "[migrations].path in postgres.toml";
    case "AGENTS.md":
      return "DB_MIGRATIONS_PATH in AGENTS.md";
    case "default":
      return `the default ${DEFAULT_MIGRATIONS_PATH}`;
  }
}

/**
 * The migrations folder's real location, refused in one line naming the rule
 * that chose it when it is not strictly inside the project: the skill writes
 * migrations only there.
 */
export function migrationsFolderInside(
  projectRoot: string,
  chosen: { path: string; source: MigrationsSource; profile: string },
): { real: string; root: string } {
  const { real, root, inside } = locateMigrationsFolder(projectRoot, chosen.path);
  if (inside) return { real, root };
  const rule = describeMigrationsSource(chosen.source, chosen.profile);
  const where = real === root
    ? `is the project root "${root}" itself`
    : real === resolve(projectRoot, chosen.path)
    ? `lies outside the project "${root}"`
    : `resolves to "${real}", outside the project "${root}"`;
  const fix = chosen.source === "default"
    ? `make ${DEFAULT_MIGRATIONS_PATH} a folder inside the project, or set [migrations].path`
    : `point ${rule} at a folder inside the project`;
  throw new SkillError(
    `The migrations folder "${chosen.path}" (chosen by ${rule}) ${where}; the skill reads and ` +
      `writes migrations only inside the project: ${fix}`,
  );
}

/**
 * The migrations folder, in the seed's order: the profile's `migrations_path`,
 * `[migrations].path`, `DB_MIGRATIONS_PATH` in AGENTS.md, `db/migrations`.
 * Relative paths resolve from the project root.
 */
export async function resolveMigrationsPath(
  projectRoot: string,
  data: TomlTable | undefined,
  profile: string | undefined,
): Promise<{ path: string; absolute: string; source: MigrationsSource }> {
  const database = asTable(data?.database);
  const own = profile ? asTable(database?.[profile])?.migrations_path : undefined;
  const section = asTable(data?.migrations)?.path;
  const agents = await agentsMigrationsPath(projectRoot);
  const [path, source]: [string, MigrationsSource] = typeof own === "string" && own
    ? [own, "profile"]
    : typeof section === "string" && section
    ? [section, "[migrations].path"]
    : agents
    ? [agents, "AGENTS.md"]
    : [DEFAULT_MIGRATIONS_PATH, "default"];
  return { path, absolute: resolve(projectRoot, path), source };
}

/**
 * Records `DB_MIGRATIONS_PATH=<path>` in AGENTS.md: an existing line is
 * replaced, otherwise a short section is appended; the file is created only
 * when `create` is true. Returns what was done.
 */
export async function recordAgentsMigrationsPath(
  projectRoot: string,
  path: string,
  options: { create: boolean },
): Promise<"replaced" | "appended" | "created" | "missing"> {
  const file = join(projectRoot, "AGENTS.md");
  const line = `DB_MIGRATIONS_PATH=${path}`;
  const pattern = /^(\s*[-*]?\s*`?)DB_MIGRATIONS_PATH(`?\s*[=:]\s*`?)[^`\s]+(`?\s*)$/m;
  let outcome: "replaced" | "appended" | "created" | "missing" = "missing";
  await editFileLocked(file, (text) => {
    if (text === undefined) {
      if (!options.create) return undefined;
      outcome = "created";
      return `# Agent notes\n\n## Database migrations\n\n${line}\n`;
    }
    if (pattern.test(text)) {
      outcome = "replaced";
      return text.replace(pattern, `$1DB_MIGRATIONS_PATH$2${path}$3`);
    }
    outcome = "appended";
    const joiner = text.endsWith("\n") ? "\n" : "\n\n";
    return `${text}${joiner}## Database migrations\n\n${line}\n`;
  }, { mode: 0o644 });
  return outcome;
}
