/**
 * Adding statements to the latest pending migration (migration_add.ts): the
 * objects each changes, described for the changelog, appended whole under the
 * folder's lock.
 *
 * @module
 */
import { SkillError, UsageError } from "../core/errors.ts";
import { appendEntry, entryLine, localDate } from "./changelog.ts";
import { readResolved, withFileLock, writeFileAtomic } from "../config/files.ts";
import { parseStatements } from "../sql/statements.ts";
import { type Hazard, migrationHazards } from "./hazards.ts";
import {
  CHANGELOG,
  describeChanges,
  ensureFolder,
  fileInFolder,
  listMigrations,
  modeOf,
  parsePending,
  terminated,
} from "./folder.ts";

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
