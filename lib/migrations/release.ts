/**
 * Releasing the pending migrations (migration_release.ts): one released file
 * made from them in order, the changelog entries it carries, written whole
 * before the pending files are removed.
 *
 * @module
 */
import { join } from "node:path";
import { SkillError, UsageError } from "../core/errors.ts";
import { type ChangelogEntry, localDate, parseChangelog, removeEntries } from "./changelog.ts";
import { readResolved, replaceableTarget, withFileLock, writeFileAtomic } from "../config/files.ts";
import {
  CHANGELOG,
  describeChange,
  fileInFolder,
  listMigrations,
  modeOf,
  type ParsedPending,
  parsePending,
  readChangelog,
  releasedFileName,
  slugify,
  terminated,
} from "./folder.ts";

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
