/**
 * Keeping the profiles file (it holds passwords) out of git: whether git
 * ignores it, and adding it to the project's .gitignore.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { editFileLocked } from "./files.ts";
import { TOML_RELATIVE_PATH } from "./project_root.ts";

/**
 * A warning when `path` sits in a git work tree that does not ignore it;
 * undefined when it is ignored, not in a repository, or git may not be run.
 */
export async function gitIgnoreWarning(path: string): Promise<string | undefined> {
  const permission = await Deno.permissions.query({ name: "run", command: "git" });
  if (permission.state !== "granted") return undefined;
  try {
    const result = await new Deno.Command("git", {
      args: ["check-ignore", "-q", path],
      cwd: dirname(path),
      stdout: "null",
      stderr: "null",
    }).output();
    if (result.code !== 1) return undefined; // 0: ignored; 128: not a repository
    return `warning: "${path}" holds passwords and is not git-ignored; ` +
      `add ${TOML_RELATIVE_PATH} to your project's .gitignore`;
  } catch {
    return undefined; // git is not installed
  }
}

/** Adds the profiles file to the project's .gitignore (creating it); false if already listed. */
export async function addToGitignore(projectRoot: string): Promise<boolean> {
  const file = join(projectRoot, ".gitignore");
  let added = false;
  await editFileLocked(file, (existing) => {
    const text = existing ?? "";
    const listed = text.split(/\r?\n/).some((l) =>
      l.trim().replace(/^\//, "") === TOML_RELATIVE_PATH
    );
    if (listed) return undefined;
    added = true;
    const joiner = text === "" || text.endsWith("\n") ? "" : "\n";
    return `${text}${joiner}${TOML_RELATIVE_PATH}\n`;
  }, { mode: 0o644 });
  return added;
}
