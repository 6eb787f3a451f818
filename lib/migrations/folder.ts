/**
 * What the migrations folder holds and how the skill may change it: pending
 * migrations (`prerelease.sql`, `1_prerelease.sql`, `2_prerelease.sql` ...)
 * in order, released items (names ending in `released`, any case) that are
 * never written, renamed, deleted or taken for pending ones, nothing read or
 * written outside the folder (symlinks followed and checked, each path
 * resolved once: lib/config/files.ts says why a write then cannot be redirected),
 * and what the other migration modules read through it (findings.ts,
 * add.ts, release.ts).
 *
 * @module
 */
import { type Environment, processEnvironment } from "../core/environment.ts";
import { join, relative, resolve } from "node:path";
import { SkillError } from "../core/errors.ts";
import { localDate } from "./changelog.ts";
import { pathExists, readResolved, type ResolvedFile, resolveFile } from "../config/files.ts";
import { findProjectRoot, isInside, tomlPathFor } from "../config/project_root.ts";
import { checkProfileName } from "../config/profile_name.ts";
import { DEFAULT_PROFILE, loadConfig, profileSettings } from "../config/profiles_file.ts";
import type { ObjectChange } from "../sql/ddl_objects.ts";
import {
  migrationsFolderInside,
  type MigrationsSource,
  resolveMigrationsPath,
} from "./folder_path.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";
import { type Hazard, type HazardContext, migrationHazards } from "./hazards.ts";

/** The changelog's file name in the migrations folder. */
export const CHANGELOG = "CHANGELOG.md";

/** A released migration's name: `<YYYYMMDD>_<slug>_released.sql`. */
export function releasedFileName(date: Date, slug: string): string {
  return `${localDate(date).replaceAll("-", "")}_${slug}_released.sql`;
}

/** True for a name the skill never touches: it ends in "released" (any case), extension aside. */
export function isReleasedName(name: string): boolean {
  return /released$/i.test(name) || /released$/i.test(name.replace(/\.[^.]*$/, ""));
}

/** The place of a pending migration in the order (prerelease.sql first), or null. */
export function pendingOrder(name: string): number | null {
  const m = name.match(/^(?:(\d+)_)?prerelease\.sql$/i);
  return m ? (m[1] === undefined ? 0 : Number(m[1])) : null;
}

/** Where the migrations folder is, for the profile, and which rule said so. */
export interface MigrationsFolder {
  /** The project root the path is relative to, symlinks resolved. */
  projectRoot: string;
  /** The profile whose settings counted. */
  profile: string;
  /** As configured (relative to the project root unless absolute). */
  path: string;
  /** Where the folder really is: absolute, symlinks resolved, inside the project. */
  absolute: string;
  /** The rule that chose it. */
  source: MigrationsSource;
  /** True when the folder is there. */
  exists: boolean;
}

/**
 * Resolves the migrations folder for `profile` (else `DB_PROFILE`, else
 * `local`): postgres.toml is read when there is one (a project may keep its
 * migrations without profiles); a profile named by option or `DB_PROFILE`
 * must be in it. Wherever the path came from, the folder must lie inside the
 * project once symlinks are resolved, else it is refused naming the rule
 * that chose it; the path returned is that resolved one, so that what is
 * checked here is what the other functions of this module read and write.
 */
export async function resolveMigrationsFolder(
  profile?: string,
  env: Environment = processEnvironment(),
): Promise<MigrationsFolder> {
  const root = findProjectRoot(env).path;
  const name = profile ?? (env.DB_PROFILE || DEFAULT_PROFILE);
  checkProfileName(name);
  const tomlPath = tomlPathFor(root);
  const config = await pathExists(tomlPath) ? await loadConfig(tomlPath) : undefined;
  // A profile named on purpose must exist: a typo would otherwise pick another folder quietly.
  const named = profile !== undefined || Boolean(env.DB_PROFILE);
  if (config && named) profileSettings(config, name);
  const data = config?.data;
  const resolved = await resolveMigrationsPath(root, data, name);
  const inside = migrationsFolderInside(root, { ...resolved, profile: name });
  const stat = await Deno.stat(inside.real).catch(() => undefined);
  if (stat && !stat.isDirectory) {
    throw new SkillError(
      `The migrations path "${resolved.absolute}" (${resolved.source}) is not a folder; ` +
        `fix the setting or move the file`,
    );
  }
  return {
    projectRoot: inside.root,
    profile: name,
    path: resolved.path,
    absolute: inside.real,
    source: resolved.source,
    exists: stat !== undefined,
  };
}

/** A pending migration file. */
export interface PendingFile {
  /** The file's name (`1_prerelease.sql`). */
  name: string;
  /** Where it really is (a symlink's target, inside the folder). */
  path: string;
  /** Its place in the order: 0 for prerelease.sql, else its number. */
  order: number;
  /** Its last change, as a local date (`YYYY-MM-DD`). */
  modified: string;
}

/** A released item: a file or a folder whose name ends in "released". */
export interface ReleasedItem {
  /** The item's name. */
  name: string;
  /** A file or a folder. */
  kind: "file" | "folder";
}

/**
 * The folder's pending migrations in order and its released items by name.
 * A pending name that leads out of the folder, to a released item (by a
 * symlink, or a hard link to a released file) or to something other than a
 * regular file is refused: it would be applied, or written, as pending.
 */
export async function listMigrations(
  folder: string,
): Promise<{ pending: PendingFile[]; released: ReleasedItem[] }> {
  const pending: PendingFile[] = [];
  const released: ReleasedItem[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(folder));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new SkillError(`Cannot read the migrations folder "${folder}": ${error}`);
    }
  }
  const linked: { file: PendingFile; stat: Deno.FileInfo }[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (isReleasedName(entry.name)) {
      const stat = await Deno.stat(path).catch(() => undefined);
      released.push({ name: entry.name, kind: stat?.isDirectory ? "folder" : "file" });
      continue;
    }
    const order = pendingOrder(entry.name);
    if (order === null) continue;
    const file = await fileInFolder(folder, entry.name);
    const stat = await Deno.stat(file.real).catch(() => undefined);
    if (!stat?.isFile) continue; // a dangling symlink: nothing pending there
    const found = {
      name: entry.name,
      path: file.real,
      order,
      modified: localDate(stat.mtime ?? new Date()),
    };
    pending.push(found);
    if ((stat.nlink ?? 1) > 1) linked.push({ file: found, stat });
  }
  if (linked.length) await refuseHardLinksToReleased(folder, released, linked);
  pending.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  released.sort((a, b) => a.name.localeCompare(b.name));
  return { pending, released };
}

/** Refuses a pending file that is another name (a hard link) of a released file. */
async function refuseHardLinksToReleased(
  folder: string,
  released: ReleasedItem[],
  linked: { file: PendingFile; stat: Deno.FileInfo }[],
): Promise<void> {
  const files = new Map<string, string>();
  const walk = async (path: string) => {
    const info = await Deno.lstat(path).catch(() => undefined);
    if (info?.isFile) files.set(`${info.dev}:${info.ino}`, path);
    if (!info?.isDirectory) return;
    for await (const entry of Deno.readDir(path)) await walk(join(path, entry.name));
  };
  for (const item of released) {
    const path = join(folder, item.name);
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.isFile) files.set(`${info.dev}:${info.ino}`, path);
    else if (info?.isDirectory) await walk(path);
  }
  for (const { file, stat } of linked) {
    const same = files.get(`${stat.dev}:${stat.ino}`);
    if (same) {
      throw new SkillError(
        `"${join(folder, file.name)}" is a hard link to "${same}", a released item (its name ` +
          `ends in "released"); the skill never takes those for pending migrations: make it a ` +
          `file of its own (cp, then rm the link); nothing was changed`,
      );
    }
  }
}

/**
 * `name` in `folder`, resolved once: the path the skill may read, write,
 * rename or delete, or a refusal: a name (or a symlink's target) ending in
 * "released", a symlink leading outside the folder, something other than a
 * regular file, or a folder that no longer resolves to itself (it must be
 * given as {@linkcode resolveMigrationsFolder} resolved it). A name with
 * nothing there resolves to itself.
 */
export async function fileInFolder(folder: string, name: string): Promise<ResolvedFile> {
  const path = join(folder, name);
  if (isReleasedName(name)) {
    throw new SkillError(
      `"${path}" is a released item (its name ends in "released"); the skill never writes, ` +
        `renames or deletes those; nothing was changed`,
    );
  }
  const realFolder = await Deno.realPath(folder).catch(() => undefined);
  if (realFolder === undefined) return { path, real: path }; // no folder: nothing in it yet
  if (realFolder !== folder) {
    throw new SkillError(
      `The migrations folder "${folder}" now resolves to "${realFolder}"; it changed since it ` +
        `was checked; nothing was changed; run it again`,
    );
  }
  const file = await resolveFile(path);
  if (file.real === path) return file;
  if (!isInside(file.real, realFolder) || file.real === realFolder) {
    throw new SkillError(
      `"${path}" is a symlink to "${file.real}", outside the migrations folder "${folder}"; the ` +
        `skill reads and writes only inside it; nothing was changed`,
    );
  }
  if (relative(realFolder, file.real).split(/[\\/]/).some(isReleasedName)) {
    throw new SkillError(
      `"${path}" is a symlink to "${file.real}", a released item (its name ends in ` +
        `"released"); the skill never writes, renames or deletes those, nor takes them for ` +
        `pending migrations; nothing was changed`,
    );
  }
  return file;
}

/** The folder's CHANGELOG.md text, undefined when there is none (checked like any file in it). */
export async function readChangelog(folder: string): Promise<string | undefined> {
  return await readResolved(await fileInFolder(folder, CHANGELOG));
}

/** A pending file with its text and its statements as the parser reads them. */
export interface ParsedPending extends PendingFile {
  /** The file's text. */
  text: string;
  /** Its statements, as the parser reads them. */
  statements: Statement[];
  /** Why it could not be read or parsed; statements are empty then. */
  error?: string;
}

/**
 * Reads and parses each pending file (the very file {@linkcode listMigrations}
 * found); a file that cannot be read or does not parse carries its error.
 */
export async function parsePending(files: PendingFile[]): Promise<ParsedPending[]> {
  const parsed: ParsedPending[] = [];
  for (const file of files) {
    try {
      const text = await readResolved({ path: file.path, real: file.path }) ?? "";
      parsed.push({ ...file, text, statements: await parseStatements(text, { tree: true }) });
    } catch (error) {
      parsed.push({
        ...file,
        text: "",
        statements: [],
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return parsed;
}

/**
 * The hazards of each pending file that parses, in the order they apply:
 * each file judged as the one transaction it runs in, after the files before
 * it (a table one of them makes is new in the next).
 */
export function pendingHazards(
  parsed: ParsedPending[],
  context: Omit<HazardContext, "before"> = {},
): (Hazard & { file: string })[] {
  const hazards: (Hazard & { file: string })[] = [];
  const before: Statement[] = [];
  for (const file of parsed) {
    if (file.error) continue;
    for (const hazard of migrationHazards(file.statements, { ...context, before })) {
      hazards.push({ file: file.name, ...hazard });
    }
    before.push(...file.statements);
  }
  return hazards;
}

/** A slug for a released file's name: lowercase words joined by `_`, at most 60 characters. */
export function slugify(text: string): string {
  return text.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")
    .slice(0, 60).replace(/_+$/, "");
}

/** The folder a path is in, made when missing (for a first pending migration). */
export async function ensureFolder(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true }).catch((error) => {
    throw new SkillError(`Cannot create the migrations folder "${path}": ${error.message}`);
  });
}

/** `path` shown relative to the project root when it is inside it. */
export function shown(projectRoot: string, path: string): string {
  const absolute = resolve(path);
  return absolute !== projectRoot && isInside(absolute, projectRoot)
    ? relative(projectRoot, absolute)
    : path;
}

/** How a change reads in a changelog entry or a status row. */
export function describeChange(change: ObjectChange): string {
  const { action, kind, name, newName } = change;
  switch (action) {
    case "create":
      // A column or constraint is created by ALTER TABLE ... ADD.
      return `${kind === "column" || kind === "constraint" ? "add" : "create"} ${kind} ${name}`;
    case "rename":
      return `rename ${kind} ${name}${newName ? ` to ${newName}` : ""}`;
    case "comment":
      return `comment on ${kind} ${name}`;
    case "grant":
      return `change privileges on ${name}`;
    case "data":
      return kind === "materialized view" ? `refresh ${kind} ${name}` : `change rows of ${name}`;
    default:
      return `${action} ${kind} ${name}`;
  }
}

/** The objects statements change, each once: "create table app.orders", "add column t.b". */
export function describeChanges(statements: Statement[]): string[] {
  return [...new Set(statements.flatMap((s) => s.changes.map(describeChange)))];
}

/** `sql` ended so that nothing appended after it can join its last statement. */
export function terminated(sql: string): string {
  const body = sql.trimEnd();
  if (body.endsWith(";")) return `${body}\n`;
  // After a line comment a semicolon on the same line would be part of the comment.
  return `${body}${body.split("\n").at(-1)!.includes("--") ? "\n;" : ";"}\n`;
}

/** The permission bits of the file at `path` (0644 when it is not there), kept when it is rewritten. */
export async function modeOf(path: string): Promise<number> {
  const stat = await Deno.stat(path).catch(() => undefined);
  return stat?.mode ? stat.mode & 0o777 : 0o644;
}
