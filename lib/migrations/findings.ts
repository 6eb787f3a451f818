/**
 * What migration_status.ts finds in the migrations folder beyond its files:
 * the changelog's state against the pending files, and pending files that
 * could be compacted into one.
 *
 * @module
 */
import { type ChangelogEntry } from "./changelog.ts";
import { type ParsedPending, type PendingFile, type ReleasedItem } from "./folder.ts";

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
