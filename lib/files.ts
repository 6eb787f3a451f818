/**
 * Files the skill writes (postgres.toml, AGENTS.md, .gitignore): whole or not
 * at all, one writer at a time, through a symlink to its target, and never
 * over a file its owner made read-only.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { SkillError } from "./cli.ts";

/**
 * The file a path names, through any symlinks, even one whose target does not
 * exist yet (writing creates it there); the path itself when nothing is there.
 */
async function targetOf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    let current = path;
    for (let hops = 0; hops < 40; hops++) {
      const info = await Deno.lstat(current).catch(() => undefined);
      if (!info?.isSymlink) return current;
      current = resolve(dirname(current), await Deno.readLink(current));
    }
    return current;
  }
}

/**
 * The file that writing `path` replaces (through symlinks), checked before
 * anything is written or connected: its folder must exist, and the name must
 * not be a folder or a file its owner made read-only. Each problem is one
 * line naming the path and the fix.
 */
export async function replaceableTarget(path: string): Promise<string> {
  const target = await targetOf(path);
  const folder = dirname(target);
  const folderInfo = await Deno.stat(folder).catch(() => undefined);
  if (!folderInfo?.isDirectory) {
    throw new SkillError(
      `The folder "${folder}" does not exist; create it or give a path in an existing folder`,
    );
  }
  const existing = await Deno.stat(target).catch(() => undefined);
  if (existing?.isDirectory) {
    throw new SkillError(`"${path}" is a folder; give a file name (inside it, or another)`);
  }
  if (existing?.mode !== undefined && existing.mode !== null && !(existing.mode & 0o200)) {
    throw new SkillError(
      `"${path}" is read-only (mode ${
        (existing.mode & 0o777).toString(8)
      }); nothing was written; ` +
        `make it writable (chmod 600) if the skill should change it`,
    );
  }
  return target;
}

/**
 * Runs `work` while holding an exclusive lock for `path`, so that writers of
 * one file (five `update_sslmode.ts` at once, say) take turns and each reads
 * what the one before wrote. The lock is a hidden file beside the target,
 * removed when done; a waiter that finds it replaced meanwhile locks again.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const target = await targetOf(path);
  const lockPath = join(dirname(target), `.${basename(target)}.lock`);
  let lock: Deno.FsFile;
  while (true) {
    try {
      lock = await Deno.open(lockPath, { read: true, write: true, create: true, mode: 0o600 });
    } catch (error) {
      throw new SkillError(
        `Cannot lock "${target}" for writing (${(error as Error).message}); check that its ` +
          `folder is writable`,
      );
    }
    await lock.lock(true);
    const held = await lock.stat();
    const now = await Deno.stat(lockPath).catch(() => undefined);
    if (now && now.ino === held.ino && now.dev === held.dev) break;
    lock.close(); // Removed by the writer before us: lock the new one.
  }
  try {
    return await work();
  } finally {
    await Deno.remove(lockPath).catch(() => {});
    lock.close();
  }
}

/**
 * Writes `text` to `path` whole or not at all: a temporary file beside the
 * target with `mode` (0600 by default: the profiles file holds passwords),
 * then a rename over it. A symlink is written through (the link stays, its
 * target changes); a file without write permission for its owner is refused.
 * With `createNew` an existing file is never replaced: the temporary file is
 * linked to the name, which fails when the name is taken.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: { mode?: number; createNew?: boolean } = {},
): Promise<void> {
  const target = await replaceableTarget(path);
  const mode = options.mode ?? 0o600;
  const temp = join(dirname(target), `.${basename(target)}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(temp, text, { mode, createNew: true });
    await Deno.chmod(temp, mode);
    if (options.createNew) {
      await Deno.link(temp, target);
      await Deno.remove(temp).catch(() => {});
    } else {
      await Deno.rename(temp, target);
    }
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new SkillError(`"${path}" already exists; nothing was written`);
    }
    throw new SkillError(`Cannot write "${path}": ${(error as Error).message}`);
  }
}

/**
 * Reads, changes and writes a text file as one step under its lock, so that
 * concurrent writers each see the other's change. `edit` gets the current
 * text (undefined when there is no file) and returns the new text, or
 * undefined to leave the file as it is.
 */
export async function editFileLocked(
  path: string,
  edit: (text: string | undefined) => string | undefined,
  options: { mode?: number } = {},
): Promise<void> {
  await withFileLock(path, async () => {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    const updated = edit(text);
    if (updated !== undefined && updated !== text) await writeFileAtomic(path, updated, options);
  });
}
