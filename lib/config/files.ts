/**
 * Files the skill reads and writes (postgres.toml, AGENTS.md, .gitignore,
 * dumps, migrations): only regular files, each path resolved once, written
 * whole or not at all, one writer at a time, through a symlink to its target,
 * and never over a file its owner made read-only.
 *
 * Why a write cannot be redirected, without openat or O_NOFOLLOW in Deno:
 * the path is resolved once ({@linkcode resolveFile}) into a folder whose path
 * holds no symlink and a name in it. The new text goes into a temporary file
 * made there with O_EXCL, which never follows a symlink, and is written
 * through the open handle. The last step is rename(2) onto the resolved name,
 * and rename never follows a symlink in its final component: a link swapped
 * in for the file after the check is replaced, its target untouched, so the
 * write lands in the folder that was checked. Just before the rename the
 * folder must still resolve to itself and the name still hold nothing or a
 * regular file, else nothing is written. What remains is a folder on the
 * resolved path itself being replaced by a symlink between that last check and
 * the rename: that takes write access to the folder above it, and without
 * openat no path-based API can close it. Reads are closed by the same
 * resolution and a comparison: the file opened must be the very file (device
 * and inode) that lstat found at the resolved name.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { decodeUtf8 } from "../core/text.ts";
import { EXIT_FAILURE, SkillError } from "../core/errors.ts";

/** A path resolved once: where reading or writing it really lands. */
export interface ResolvedFile {
  /** The path as given, for messages. */
  path: string;
  /** Where it is: symlinks followed (a dangling one too), in a folder whose path holds none. */
  real: string;
}

/** Symlinks followed on one path before it counts as a loop (Linux's own limit). */
const MAX_SYMLINKS = 40;

/**
 * Where `path` really lies: every symlink on it followed, the last one too,
 * even when its target does not exist yet (writing creates it there); parts
 * that do not exist are kept as written below the nearest folder that does.
 * Synchronous, so that a check which must stay synchronous can use it too.
 */
export function realLocation(path: string): string {
  const hops = { left: MAX_SYMLINKS };
  const locate = (absolute: string): string => {
    try {
      return Deno.realPathSync(absolute);
    } catch {
      // Missing, or a dangling symlink: resolved part by part below.
    }
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    const here = join(locate(parent), basename(absolute));
    let link: string | undefined;
    try {
      if (Deno.lstatSync(here).isSymlink) link = Deno.readLinkSync(here);
    } catch {
      return here;
    }
    if (link === undefined) return here;
    if (--hops.left < 0) {
      throw new SkillError(
        `"${path}" leads through more than ${MAX_SYMLINKS} symlinks (a loop?); fix the links`,
      );
    }
    return locate(resolve(dirname(here), link));
  };
  return locate(resolve(path));
}

/** What is at `path`, in words, for a refusal. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isSymlink) return "a symlink";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return info.isFile ? "a regular file" : "of an unknown kind";
}

async function lstatOrNothing(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new SkillError(`Cannot look at "${path}": ${(error as Error).message}`);
  }
}

function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The refusal of something that is not a regular file where one is read or written. */
function notRegular(file: ResolvedFile, info: Deno.FileInfo): SkillError {
  if (info.isDirectory) {
    return new SkillError(`"${file.path}" is a folder; give a file name (inside it, or another)`);
  }
  const where = file.real === resolve(file.path) ? "" : ` leads to "${file.real}", which`;
  return new SkillError(
    `"${file.path}"${where} is ${kindOf(info)}, not a regular file; the skill reads and ` +
      `writes only regular files; nothing was read or written; give another path`,
  );
}

/**
 * Resolves `path` once ({@linkcode realLocation}) and checks what is there: a
 * regular file, or nothing (a missing folder included). Anything else (a
 * folder, a FIFO, a device node, a socket) is refused in one line.
 */
export async function resolveFile(path: string): Promise<ResolvedFile> {
  const file = { path, real: realLocation(path) };
  const info = await lstatOrNothing(file.real);
  if (info && !info.isFile) throw notRegular(file, info);
  return file;
}

/**
 * The file that writing `path` replaces (through symlinks, resolved once),
 * checked before anything is written or connected: a regular file or
 * nothing, in a folder that exists, and not made read-only by its owner.
 * Each problem is one line naming the path and the fix.
 */
export async function replaceableTarget(path: string | ResolvedFile): Promise<ResolvedFile> {
  const file = typeof path === "string" ? await resolveFile(path) : path;
  const folder = dirname(file.real);
  const folderInfo = await Deno.stat(folder).catch(() => undefined);
  if (!folderInfo?.isDirectory) {
    throw new SkillError(
      `The folder "${folder}" does not exist; create it or give a path in an existing folder`,
    );
  }
  const existing = await lstatOrNothing(file.real);
  if (existing && !existing.isFile) throw notRegular(file, existing);
  if (existing?.mode !== undefined && existing.mode !== null && !(existing.mode & 0o200)) {
    throw new SkillError(
      `"${file.path}" is read-only (mode ${
        (existing.mode & 0o777).toString(8)
      }); nothing was written; make it writable (chmod 600) if the skill should change it`,
    );
  }
  return file;
}

/**
 * A resolved file's text, or undefined when there is none. What is read is
 * the regular file lstat found at the resolved name (same device and inode
 * as the handle opened), so a symlink swapped in meanwhile is refused, not
 * followed. A leading byte order mark is kept: the caller decides.
 */
export async function readResolved(file: ResolvedFile): Promise<string | undefined> {
  // A writer's rename between the look and the open replaces the file whole: read the new one.
  // Each attempt checks again, so a symlink swapped in is still refused, never followed.
  for (let attempt = 1;; attempt++) {
    const text = await readOnce(file, attempt === READ_ATTEMPTS);
    if (text !== REPLACED) return text;
  }
}

/** How often a read starts again when the file is replaced while it is opened. */
const READ_ATTEMPTS = 5;
const REPLACED = Symbol("replaced while opened");

async function readOnce(
  file: ResolvedFile,
  last: boolean,
): Promise<string | undefined | typeof REPLACED> {
  const before = await lstatOrNothing(file.real);
  if (before === undefined) return undefined;
  if (!before.isFile) throw notRegular(file, before);
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file.real, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new SkillError(`Cannot read "${file.path}": ${(error as Error).message}`);
  }
  try {
    if (!sameFile(await handle.stat(), before)) {
      if (!last) return REPLACED;
      throw new SkillError(
        `"${file.path}" changed while it was being read; nothing was changed; run it again`,
      );
    }
    const bytes = await new Response(handle.readable).arrayBuffer();
    // Bytes that are not UTF-8 are refused, not replaced: an edit would write the
    // replacement back, and SQL would reach the server changed.
    return decodeUtf8(new Uint8Array(bytes), {
      source: `The file "${file.path}"`,
      exitCode: EXIT_FAILURE,
    });
  } finally {
    try {
      handle.close();
    } catch {
      // Already closed by reading its stream to the end.
    }
  }
}

/**
 * Runs `work` while holding an exclusive lock for `path`, so that writers of
 * one file (five `update_sslmode.ts` at once, say) take turns and each reads
 * what the one before wrote. The lock is a hidden regular file beside the
 * resolved target, made with O_EXCL (never through a symlink) and removed
 * when done; a waiter that finds it replaced meanwhile locks again.
 */
export async function withFileLock<T>(
  path: string | ResolvedFile,
  work: () => Promise<T>,
): Promise<T> {
  const file = typeof path === "string" ? await resolveFile(path) : path;
  const lockPath = join(dirname(file.real), `.${basename(file.real)}.lock`);
  const cannot = (why: string) =>
    new SkillError(
      `Cannot lock "${file.real}" for writing (${why}); check that its folder is writable`,
    );
  let lock: Deno.FsFile;
  while (true) {
    const found = await lstatOrNothing(lockPath);
    if (found && !found.isFile) {
      throw cannot(`"${lockPath}" is ${kindOf(found)}; remove it`);
    }
    try {
      lock = found
        ? await Deno.open(lockPath, { read: true })
        : await Deno.open(lockPath, { read: true, write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      // Made or removed by another writer between the look and the open: look again.
      if (error instanceof Deno.errors.AlreadyExists || error instanceof Deno.errors.NotFound) {
        continue;
      }
      throw cannot((error as Error).message);
    }
    await lock.lock(true);
    const held = await lock.stat();
    const now = await lstatOrNothing(lockPath);
    if (now?.isFile && sameFile(now, held)) break;
    lock.close(); // Removed (or replaced) by the writer before us: lock the new one.
  }
  try {
    return await work();
  } finally {
    await Deno.remove(lockPath).catch(() => {});
    lock.close();
  }
}

/**
 * Just before a rename onto `target`: its folder still resolves to itself, its
 * name still holds nothing or a regular file, and the temporary file is still
 * the one made (`made`). Otherwise nothing may be renamed.
 */
async function confirmUnchanged(
  target: ResolvedFile,
  temp: string,
  made: Deno.FileInfo,
): Promise<void> {
  const folder = dirname(target.real);
  const realFolder = await Deno.realPath(folder).catch(() => undefined);
  const now = await lstatOrNothing(target.real);
  const tempNow = await lstatOrNothing(temp);
  const changed = realFolder !== folder
    ? `its folder now resolves to "${realFolder ?? "nothing"}"`
    : now && !now.isFile
    ? `it is now ${kindOf(now)}`
    : !tempNow?.isFile || !sameFile(tempNow, made)
    ? `the temporary file "${temp}" was replaced`
    : undefined;
  if (changed) {
    throw new SkillError(
      `"${target.path}" changed while it was being written (${changed}); nothing was written; ` +
        `look at it and run again`,
    );
  }
}

/**
 * Replaces `target` whole or not at all: a temporary file beside it, made
 * with O_EXCL and `mode` (0600 by default), filled by `fill` (given its path
 * and open handle), checked unchanged, then renamed over the target (or, with
 * `createNew`, linked to its name, which fails when the name is taken). On any
 * failure the temporary file goes and the target stays as it was. This is
 * the one writer behind {@linkcode writeFileAtomic} and dumps.
 */
export async function replaceFile(
  target: ResolvedFile,
  fill: (temp: { path: string; file: Deno.FsFile }) => Promise<void>,
  options: { mode?: number; createNew?: boolean } = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const temp = join(dirname(target.real), `.${basename(target.real)}.${crypto.randomUUID()}.tmp`);
  let made: Deno.FileInfo | undefined;
  try {
    using file = await Deno.open(temp, { write: true, createNew: true, mode });
    made = await file.stat();
    if ((made.mode! & 0o777) !== mode) {
      // The umask took bits away; the path still leads to the file made, checked just before.
      const now = await lstatOrNothing(temp);
      if (!now?.isFile || !sameFile(now, made)) throw new SkillError(`"${temp}" was replaced`);
      await Deno.chmod(temp, mode);
    }
    await fill({ path: temp, file });
    await confirmUnchanged(target, temp, made);
    if (options.createNew) {
      await Deno.link(temp, target.real);
      await Deno.remove(temp).catch(() => {});
    } else {
      await Deno.rename(temp, target.real);
    }
  } catch (error) {
    // Never remove what someone else put at the temporary name.
    const left = made && await lstatOrNothing(temp).catch(() => undefined);
    if (left && made && sameFile(left, made)) await Deno.remove(temp).catch(() => {});
    if (error instanceof Deno.errors.AlreadyExists && options.createNew) {
      throw new SkillError(`"${target.path}" already exists; nothing was written`);
    }
    if (error instanceof SkillError) throw error;
    throw new SkillError(
      `Cannot write "${target.path}": ${(error as Error).message}; nothing was written`,
    );
  }
}

/**
 * Writes `text` to `path` whole or not at all ({@linkcode replaceFile}), mode
 * 0600 by default (the profiles file holds passwords). A symlink is written
 * through (the link stays, its target changes); a file without write
 * permission for its owner, a folder, a FIFO or a device node is refused.
 * With `createNew` an existing file is never replaced.
 */
export async function writeFileAtomic(
  path: string | ResolvedFile,
  text: string,
  options: { mode?: number; createNew?: boolean } = {},
): Promise<void> {
  const target = await replaceableTarget(path);
  const bytes = new TextEncoder().encode(text);
  await replaceFile(target, async ({ file }) => {
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
  }, options);
}

/**
 * Reads, changes and writes a text file as one step under its lock, so that
 * concurrent writers each see the other's change; the path is resolved once
 * for the read and the write. `edit` gets the current text (undefined when
 * there is no file) and returns the new text, or undefined to leave the file
 * as it is.
 */
export async function editFileLocked(
  path: string,
  edit: (text: string | undefined) => string | undefined,
  options: { mode?: number } = {},
): Promise<void> {
  const file = await resolveFile(path);
  await withFileLock(file, async () => {
    const text = await readResolved(file);
    const updated = edit(text);
    if (updated !== undefined && updated !== text) await writeFileAtomic(file, updated, options);
  });
}

/** True when something (a file, a folder, a link to one) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
