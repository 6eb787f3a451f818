/**
 * The migrations folder: resolved in the documented order (the profile's
 * `migrations_path`, `[migrations].path`, `DB_MIGRATIONS_PATH` in AGENTS.md,
 * `db/migrations`), checked before it is written anywhere, and recorded in
 * AGENTS.md.
 *
 * @module
 */

import { isAbsolute, join, relative, resolve } from "node:path";
import { UsageError } from "./cli.ts";
import { editFileLocked } from "./files.ts";
import { asTable, type TomlTable } from "./toml_edit.ts";

/** The migrations folder when nothing names another, relative to the project root. */
export const DEFAULT_MIGRATIONS_PATH = "db/migrations";

/** `DB_MIGRATIONS_PATH` as recorded in the project's AGENTS.md, if it is. */
export async function agentsMigrationsPath(projectRoot: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(join(projectRoot, "AGENTS.md"));
    const m = text.match(/^\s*[-*]?\s*`?DB_MIGRATIONS_PATH`?\s*[=:]\s*`?([^`\s]+)`?\s*$/m);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Where a migrations path came from. */
export type MigrationsSource = "profile" | "[migrations].path" | "AGENTS.md" | "default";

/**
 * Checks a migrations folder before anything is written with it (a folder
 * made, a line in AGENTS.md, a TOML value): a path inside the project root,
 * without line breaks, control characters, spaces or backticks (AGENTS.md
 * holds it as one word). Returns it relative to the root.
 */
export function checkMigrationsPath(projectRoot: string, path: string): string {
  if (path.trim() === "") throw new UsageError("The migrations path is empty");
  if ([...path].some((c) => c <= " " || c === "`" || (c >= "\x7f" && c <= "\x9f"))) {
    throw new UsageError(
      `The migrations path ${JSON.stringify(path)} holds a space, a line break, a backtick or ` +
        `a control character; give a plain path relative to the project root`,
    );
  }
  const inside = relative(projectRoot, resolve(projectRoot, path));
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) {
    throw new UsageError(
      `The migrations path "${path}" is not inside the project root "${projectRoot}"; ` +
        `give a folder within the project`,
    );
  }
  return inside;
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
