/**
 * What the migrations folder holds and how the skill may change it: pending
 * migrations (`prerelease.sql`, `1_prerelease.sql`, `2_prerelease.sql` ...)
 * in order, released items (names ending in `released`, any case) that are
 * never written, renamed, deleted or taken for pending ones, nothing read or
 * written outside the folder (symlinks followed and checked, each path
 * resolved once: lib/config/files.ts says why a write then cannot be redirected),
 * and the findings of `migration_status.ts`: the changelog's state and
 * candidates for compaction.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { SkillError, UsageError } from "../core/errors.ts";
import {
  appendEntry,
  type ChangelogEntry,
  entryLine,
  localDate,
  parseChangelog,
  removeEntries,
} from "./changelog.ts";
import {
  pathExists,
  readResolved,
  replaceableTarget,
  type ResolvedFile,
  resolveFile,
  withFileLock,
  writeFileAtomic,
} from "../config/files.ts";
import { findProjectRoot, isInside, tomlPathFor } from "../config/project_root.ts";
import { checkProfileName } from "../config/profile_name.ts";
import { loadConfig, profileSettings } from "../config/profiles_file.ts";
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
export async function resolveMigrationsFolder(profile?: string): Promise<MigrationsFolder> {
  const root = findProjectRoot().path;
  const name = profile ?? (Deno.env.get("DB_PROFILE") || "local");
  checkProfileName(name);
  const tomlPath = tomlPathFor(root);
  const config = await pathExists(tomlPath) ? await loadConfig(tomlPath) : undefined;
  // A profile named on purpose must exist: a typo would otherwise pick another folder quietly.
  const named = profile !== undefined || Boolean(Deno.env.get("DB_PROFILE"));
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

/** A problem with the changelog, for migration_status.ts. */
export interface ChangelogFinding {
  /** What is wrong. */
  problem: "no dated entry" | "left after release" | "undated";
  /** The migration file concerned, if any. */
  file: string | null;
  /** The changelog line of the entry concerned, if any. */
  line: number | null;
  /** The details in words. */
  detail: string;
}

/**
 * What is wrong with the changelog: a pending file changed on a day with no
 * dated entry naming it; entries naming only files that are not pending (a
 * released or removed migration) or dated before the latest release (a
 * release takes every pending file, so its entries should have gone);
 * entries without a date.
 */
export function changelogFindings(
  pending: PendingFile[],
  released: ReleasedItem[],
  entries: ChangelogEntry[],
): ChangelogFinding[] {
  const findings: ChangelogFinding[] = [];
  const pendingNames = new Set(pending.map((f) => f.name));
  for (const file of pending) {
    const covered = entries.some((e) => e.date === file.modified && e.files.includes(file.name));
    if (!covered) {
      findings.push({
        problem: "no dated entry",
        file: file.name,
        line: null,
        detail: `${file.name} changed on ${file.modified} and no entry of that date names it`,
      });
    }
  }
  const lastRelease = released
    .map((item) => item.name.match(/^(\d{4})(\d{2})(\d{2})_/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
    .sort()
    .at(-1);
  for (const entry of entries) {
    const summary = entry.text.split("\n")[0].replace(/^[-*+]\s+/, "").slice(0, 80);
    if (entry.date === null) {
      findings.push({ problem: "undated", file: null, line: entry.line, detail: summary });
      continue;
    }
    const stale = entry.files.length > 0 && entry.files.every((f) => !pendingNames.has(f));
    const beforeRelease = lastRelease !== undefined && entry.date < lastRelease;
    if (stale || beforeRelease) {
      findings.push({
        problem: "left after release",
        file: entry.files[0] ?? null,
        line: entry.line,
        detail: stale
          ? `names ${entry.files.join(", ")}, not pending: ${summary}`
          : `dated ${entry.date}, before the latest release (${lastRelease}): ${summary}`,
      });
    }
  }
  return findings;
}

/** An object changed in more than one pending file on the same day. */
export interface CompactionCandidate {
  /** The object: a relation (with what belongs to it), or a kind and name. */
  object: string;
  /** The day (`YYYY-MM-DD`). */
  date: string;
  /** The pending files that change it that day. */
  files: string[];
}

/**
 * Objects (a table or view with what belongs to it, or a function, type ...)
 * changed in two or more pending files on the same day: the day a file last
 * changed or a day its changelog entries carry.
 */
export function compactionCandidates(
  files: ParsedPending[],
  entries: ChangelogEntry[],
): CompactionCandidate[] {
  const seen = new Map<string, Set<string>>();
  for (const file of files) {
    const days = new Set([
      file.modified,
      ...entries.filter((e) => e.date && e.files.includes(file.name)).map((e) => e.date!),
    ]);
    const objects = new Set(
      file.statements.flatMap((s) => s.changes.map((c) => c.relation ?? `${c.kind} ${c.name}`)),
    );
    for (const day of days) {
      for (const object of objects) {
        const key = `${day}\u0000${object}`;
        seen.set(key, (seen.get(key) ?? new Set()).add(file.name));
      }
    }
  }
  return [...seen]
    .filter(([, names]) => names.size > 1)
    .map(([key, names]) => {
      const [date, object] = key.split("\u0000");
      return { object, date, files: [...names] };
    })
    .sort((a, b) => a.date.localeCompare(b.date) || a.object.localeCompare(b.object));
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

/** What migration_add.ts did. */
export interface AddReport {
  /** The migration file written. */
  file: string;
  /** True when the file was new. */
  created: boolean;
  /** Statements added. */
  statements: number;
  /** The changes they make, described. */
  objects: string[];
  /** The changelog's path. */
  changelog: string;
  /** The entry added. */
  entry: string;
  /** What the statements added will do to a database in use (numbered as in the file). */
  hazards: Hazard[];
}

/** `sql` ended so that nothing appended after it can join its last statement. */
function terminated(sql: string): string {
  const body = sql.trimEnd();
  if (body.endsWith(";")) return `${body}\n`;
  // After a line comment a semicolon on the same line would be part of the comment.
  return `${body}${body.split("\n").at(-1)!.includes("--") ? "\n;" : ";"}\n`;
}

async function modeOf(path: string): Promise<number> {
  const stat = await Deno.stat(path).catch(() => undefined);
  return stat?.mode ? stat.mode & 0o777 : 0o644;
}

/**
 * Appends parsed SQL to the latest pending migration of `folder` (creating
 * `prerelease.sql` when there is none) and a dated entry naming the objects
 * to CHANGELOG.md (created when missing), under the folder's lock. Each file
 * is written whole or not at all; when the changelog cannot be written, the
 * migration is put back as it was. Released items and anything outside the
 * folder are refused before anything is written.
 */
export async function addToLatestPending(
  folder: string,
  sql: string,
  options: { message?: string; now?: Date },
): Promise<AddReport> {
  const added = await parseStatements(sql);
  if (added.length === 0) {
    throw new UsageError("The SQL holds no statement; give at least one");
  }
  await ensureFolder(folder);
  const changelog = await fileInFolder(folder, CHANGELOG);
  return await withFileLock(changelog, async () => {
    const { pending } = await listMigrations(folder);
    const name = pending.at(-1)?.name ?? "prerelease.sql";
    // Resolved once: the file read is the file written, whatever is swapped in meanwhile.
    const migration = await fileInFolder(folder, name);
    const before = await readResolved(migration);
    const existing = before === undefined ? [] : await parseStatements(before).catch((error) => {
      throw new SkillError(
        `"${name}" does not parse (${error.message}); fix it before adding to it`,
      );
    });
    const base = before === undefined || before.trim() === "" ? "" : terminated(before);
    const text = `${base}${base ? "\n" : ""}${terminated(sql)}`;
    const whole = await parseStatements(text, { tree: true });
    if (whole.length !== existing.length + added.length) {
      throw new SkillError(
        `Appending to "${name}" would join statements; end the SQL with a semicolon`,
      );
    }
    // Judged as part of the file it joins (one transaction), after the earlier pending files.
    const earlier = (await parsePending(pending.filter((p) => p.name !== name)))
      .flatMap((file) => file.statements);
    const hazards = migrationHazards(whole, { before: earlier })
      .filter((h) => h.statement > existing.length);
    const objects = describeChanges(added);
    const entry = entryLine({
      date: localDate(options.now),
      file: name,
      message: options.message,
      objects,
    });
    const changelogBefore = await readResolved(changelog);
    const mode = await modeOf(migration.real);
    await writeFileAtomic(migration, text, { mode });
    try {
      await writeFileAtomic(changelog, appendEntry(changelogBefore, entry), {
        mode: await modeOf(changelog.real),
      });
    } catch (error) {
      if (before === undefined) await Deno.remove(migration.real).catch(() => {});
      else await writeFileAtomic(migration, before, { mode }).catch(() => {});
      throw new SkillError(
        `${(error as Error).message}; "${name}" was put back as it was`,
      );
    }
    return {
      file: migration.real,
      created: before === undefined,
      statements: added.length,
      objects,
      changelog: changelog.real,
      entry,
      hazards,
    };
  });
}

/** What a release will do: the files it takes and the released file it makes. */
export interface ReleasePlan {
  /** The migrations folder. */
  folder: string;
  /** The pending files released, in order. */
  files: ParsedPending[];
  /** The released file's name: `<YYYYMMDD>_<slug>_released.sql`. */
  name: string;
  /** The released file's text. */
  text: string;
  /** Statements in it. */
  statements: number;
  /** The changelog entries naming the files, removed by the release. */
  entries: ChangelogEntry[];
}

/** The message of an entry migration_add.ts wrote: "- DATE `file`: message — objects". */
function entryMessage(entry: ChangelogEntry): string | undefined {
  const m = entry.text.match(/^[-*+]\s+\S+\s+`[^`]+`:\s+(.*?)\s+—\s/);
  return m?.[1];
}

/**
 * Plans the release of every pending file of `folder`: refused when there is
 * none, when one does not parse or when they hold no statement, and when the
 * released name is taken. The slug is `name` when given, else the message of
 * the first changelog entry for the files, else their first change.
 */
export async function planRelease(
  folder: string,
  options: { name?: string; now?: Date },
): Promise<ReleasePlan> {
  const { pending } = await listMigrations(folder);
  if (pending.length === 0) {
    throw new SkillError(`No pending migrations in "${folder}"; nothing to release`);
  }
  const files = await parsePending(pending);
  const broken = files.find((f) => f.error);
  if (broken) {
    throw new SkillError(
      `"${broken.name}" cannot be released: ${broken.error}; fix it first; nothing was changed`,
    );
  }
  const statements = files.reduce((n, f) => n + f.statements.length, 0);
  if (statements === 0) {
    throw new SkillError(`The pending files hold no statement; nothing to release`);
  }
  const names = new Set(pending.map((f) => f.name));
  const changelog = await readChangelog(folder) ?? "";
  const entries = parseChangelog(changelog).filter((e) => e.files.some((f) => names.has(f)));
  const firstChange = files.flatMap((f) => f.statements.flatMap((s) => s.changes)).at(0);
  const slug = slugify(
    options.name ?? entries.map(entryMessage).find(Boolean) ??
      (firstChange ? describeChange(firstChange) : "migration"),
  );
  if (!slug) {
    throw new UsageError(
      `The name "${options.name}" has no letter or digit to name the released file with; ` +
        `give --name with words`,
    );
  }
  const name = releasedFileName(options.now ?? new Date(), slug);
  if (await Deno.lstat(join(folder, name)).then(() => true, () => false)) {
    throw new SkillError(
      `"${join(folder, name)}" already exists; give another --name; nothing was changed`,
    );
  }
  const when = localDate(options.now);
  const text = [
    `-- Released ${when} from ${files.map((f) => f.name).join(", ")}.\n`,
    ...files.map((f) => `-- ${f.name}\n${terminated(f.text)}`),
  ].join("\n");
  return { folder, files, name, text, statements, entries };
}

/** What a release did. */
export interface ReleaseReport {
  /** The released file's path. */
  file: string;
  /** The pending files it took. */
  released: string[];
  /** Statements in it. */
  statements: number;
  /** Changelog entries removed. */
  changelog_entries_removed: number;
}

/**
 * Carries out a plan under the changelog's lock: writes the released file
 * (never over an existing one), removes the files' changelog entries (the
 * released file is removed again when the changelog cannot be written), then
 * the pending files. Refused, with nothing changed, when the pending files
 * changed since the plan was made.
 */
export async function releasePending(plan: ReleasePlan): Promise<ReleaseReport> {
  const changelog = await fileInFolder(plan.folder, CHANGELOG);
  return await withFileLock(changelog, async () => {
    // Listed again under the lock, each pending file checked again (links out or to released items).
    const now = await parsePending((await listMigrations(plan.folder)).pending);
    const same = now.length === plan.files.length &&
      now.every((f, i) => f.name === plan.files[i].name && f.text === plan.files[i].text);
    if (!same) {
      throw new SkillError(
        `The pending migrations changed while the release waited; run it again; nothing was ` +
          `changed`,
      );
    }
    const paths = plan.files.map((file) => join(plan.folder, file.name));
    // Its own name in the folder, never followed: a link put there makes the write fail.
    const releasedPath = join(plan.folder, plan.name);
    const released = await replaceableTarget({ path: releasedPath, real: releasedPath });
    await writeFileAtomic(released, plan.text, {
      mode: await modeOf(plan.files[0].path),
      createNew: true,
    });
    const changelogText = await readResolved(changelog);
    let removed = 0;
    if (changelogText !== undefined) {
      const names = new Set(plan.files.map((f) => f.name));
      const entries = parseChangelog(changelogText).filter((e) =>
        e.files.some((f) => names.has(f))
      );
      removed = entries.length;
      try {
        await writeFileAtomic(changelog, removeEntries(changelogText, entries), {
          mode: await modeOf(changelog.real),
        });
      } catch (error) {
        await Deno.remove(releasedPath).catch(() => {});
        throw new SkillError(
          `${(error as Error).message}; the released file was removed again: nothing was changed`,
        );
      }
    }
    const left: string[] = [];
    for (const path of paths) {
      await Deno.remove(path).catch((error) => left.push(`${path} (${error.message})`));
    }
    if (left.length) {
      throw new SkillError(
        `Released into "${releasedPath}" but could not remove ${left.join(", ")}; remove ` +
          `${left.length === 1 ? "it" : "them"} by hand before adding new changes`,
      );
    }
    return {
      file: releasedPath,
      released: plan.files.map((f) => f.name),
      statements: plan.statements,
      changelog_entries_removed: removed,
    };
  });
}
