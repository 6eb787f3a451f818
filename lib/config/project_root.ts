/**
 * Where the project is: its root (an override, the git top level, the working
 * directory, or the project holding an installed skill) and where its
 * profiles file lives.
 *
 * @module
 */

import { type Environment, processEnvironment } from "../core/environment.ts";
import { fileURLToPath } from "node:url";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { SkillError } from "../core/errors.ts";

/** Where the profiles file lives, relative to the project root. */
export const TOML_RELATIVE_PATH = ".skills/postgres/postgres.toml";

/** The skill's own folder (the one holding `scripts/` and `lib/`). */
export function skillRoot(): string {
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

/** The project root and how it was found. */
export interface ProjectRoot {
  /** The root's absolute path. */
  path: string;
  /**
   * What named it: an environment variable, the git top level, the working
   * directory, or the project holding the installed skill.
   */
  source: "DB_PROJECT_ROOT" | "PROJECT_ROOT" | "git" | "cwd" | "skill folder";
}

/**
 * Finds the project root: `DB_PROJECT_ROOT`, then `PROJECT_ROOT`, then the git
 * top level of the working directory, then the working directory. A root
 * inside the skill's own folder means the project holding it when the skill
 * is installed as `<project>/.skills/<name>`, and is refused otherwise: the
 * profiles belong to the project, not to the skill.
 *
 * Under `deno task` the working directory is the skill folder; the directory
 * the task was started from is in `INIT_CWD`, and that is what counts.
 */
export function findProjectRoot(env: Environment = processEnvironment()): ProjectRoot {
  for (const name of ["DB_PROJECT_ROOT", "PROJECT_ROOT"] as const) {
    const value = env[name];
    if (value) return { path: resolve(value), source: name };
  }
  const cwd = resolve(env.INIT_CWD || Deno.cwd());
  const git = gitTopLevel(cwd);
  const root: ProjectRoot = git ? { path: git, source: "git" } : { path: cwd, source: "cwd" };
  const skill = skillRoot();
  if (isInside(root.path, skill)) {
    // Run from the skill's own folder (a clone has its own .git, a copy has
    // none): when the skill sits where it is installed, <project>/.skills/<name>,
    // the project is the folder holding .skills, either way.
    if (basename(dirname(skill)) === ".skills") {
      return { path: dirname(dirname(skill)), source: "skill folder" };
    }
    throw new SkillError(
      `The project root resolved to "${root.path}", inside the skill's own folder; ` +
        `run from your project's root or set DB_PROJECT_ROOT=/path/to/project`,
    );
  }
  return root;
}

/** True when `path` is `folder` or lies under it (both absolute). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The nearest folder at or above `start` holding `.git` (a folder or a worktree file). */
function gitTopLevel(start: string): string | undefined {
  let dir = start;
  while (true) {
    try {
      Deno.statSync(join(dir, ".git"));
      return dir;
    } catch {
      // Not here; go up.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The path of `postgres.toml` for a project root. */
export function tomlPathFor(projectRoot: string): string {
  return join(projectRoot, TOML_RELATIVE_PATH);
}
