/**
 * The migrations folder's CHANGELOG.md: dated entries for changes to the
 * pending (prerelease) migrations, read however the user wrote them (a date
 * leading each entry, or a date heading above entries) and edited as text, so
 * everything else in the file stays as it was.
 *
 * @module
 */
import { escapeControl } from "../core/text.ts";

/** One entry: a list item with its continuation lines. */
export interface ChangelogEntry {
  /** 1-based first and last line. */
  line: number;
  /** 1-based last line (continuation lines included). */
  endLine: number;
  /** `YYYY-MM-DD`: the entry's own date, else its heading's; null when undated. */
  date: string | null;
  /** The entry's text, its lines joined. */
  text: string;
  /** The migration files it names (`*.sql`). */
  files: string[];
}

/** A list item at the left margin (nested items belong to the one above). */
const ITEM = /^[-*+]\s+/;
const DATE = /\d{4}-\d{2}-\d{2}/;
/** A date leading the item: `- 2026-11-25 ...`, `- **2026-11-25** ...`, `- [2026-11-25] ...`. */
const ITEM_DATE = /^[-*+]\s+[*_[(]*(\d{4}-\d{2}-\d{2})/;
const HEADING = /^#{1,6}\s+(.*)$/;
const SQL_FILE = /[\w.-]+\.sql\b/gi;

/**
 * `edit` applied to `text` with its line endings as `\n`, the result given
 * back the file's own way: a file written with CRLF stays CRLF throughout.
 */
function inLineEndingsOf(
  text: string | undefined,
  edit: (lf: string | undefined) => string,
): string {
  const crlf = text !== undefined && text.includes("\r\n");
  const result = edit(crlf ? text.replaceAll("\r\n", "\n") : text);
  return crlf ? result.replaceAll("\n", "\r\n") : result;
}

/** A day in local time as `YYYY-MM-DD`. */
export function localDate(when: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
}

/** The entries of a changelog's text. */
export function parseChangelog(text: string): ChangelogEntry[] {
  const lines = text.split(/\r?\n/);
  const entries: ChangelogEntry[] = [];
  let headingDate: string | null = null;
  let current: ChangelogEntry | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = line.match(HEADING);
    if (heading) {
      headingDate = heading[1].match(DATE)?.[0] ?? null;
      current = undefined;
      continue;
    }
    if (ITEM.test(line)) {
      current = {
        line: i + 1,
        endLine: i + 1,
        date: line.match(ITEM_DATE)?.[1] ?? headingDate,
        text: line,
        files: [],
      };
      entries.push(current);
      continue;
    }
    if (current && line.trim() !== "" && /^\s/.test(line)) {
      current.endLine = i + 1;
      current.text += `\n${line}`;
      continue;
    }
    current = undefined;
  }
  for (const entry of entries) {
    entry.files = [...new Set(entry.text.match(SQL_FILE) ?? [])];
  }
  return entries;
}

/** The text of a new changelog. */
const NEW_CHANGELOG = `# Database changelog

Pending changes to the database structure: one dated entry for every change to a prerelease
migration in this folder. Entries are removed when their migration is released.
`;

/**
 * One entry line: the date, the file in backticks, the message, and the
 * objects it touches.
 */
export function entryLine(
  options: { date: string; file: string; message?: string; objects: string[] },
): string {
  const what = [options.message?.trim(), options.objects.length ? options.objects.join("; ") : ""]
    .filter(Boolean).join(" — ");
  // One line, with nothing in it that could drive a terminal showing the file.
  return escapeControl(
    `- ${options.date} \`${options.file}\`: ${what || "changed"}`.replace(/\s*[\r\n\t]\s*/g, " "),
    { newlines: false },
  );
}

/** The changelog with `line` appended at its end (a new changelog when there is none). */
export function appendEntry(text: string | undefined, line: string): string {
  return inLineEndingsOf(text, (lf) => appendEntryLf(lf, line));
}

function appendEntryLf(text: string | undefined, line: string): string {
  const base = text ?? NEW_CHANGELOG;
  const body = base.replace(/\n*$/, "");
  // Right after the last entry when the file ends with one, else after a blank line.
  const lastLine = body.split("\n").at(-1) ?? "";
  const joiner = ITEM.test(lastLine) || /^\s+\S/.test(lastLine) ? "\n" : "\n\n";
  return `${body}${joiner}${line}\n`;
}

/**
 * The changelog without `entries`: their lines go, with a blank line they
 * leave doubled, and a date heading they leave empty; everything else stays.
 */
export function removeEntries(text: string, entries: ChangelogEntry[]): string {
  return inLineEndingsOf(text, (lf) => removeEntriesLf(lf ?? "", entries));
}

function removeEntriesLf(text: string, entries: ChangelogEntry[]): string {
  const lines = text.split("\n");
  const drop = new Set<number>();
  const headings = new Set<number>();
  for (const entry of entries) {
    for (let line = entry.line; line <= entry.endLine; line++) drop.add(line - 1);
    for (let i = entry.line - 2; i >= 0; i--) {
      const heading = lines[i].match(HEADING);
      if (heading) {
        if (DATE.test(heading[1])) headings.add(i);
        break;
      }
    }
  }
  for (const i of headings) {
    // Empty once the entries are gone: only blank lines (or dropped ones) up to the next heading.
    let j = i + 1;
    while (j < lines.length && !HEADING.test(lines[j]) && (drop.has(j) || lines[j].trim() === "")) {
      j++;
    }
    if (j === lines.length || HEADING.test(lines[j])) {
      for (let k = i; k < j; k++) drop.add(k);
      if (j < lines.length) drop.delete(j - 1); // keep one blank line before the next heading
    }
  }
  const kept: string[] = [];
  lines.forEach((line, i) => {
    if (drop.has(i)) return;
    // A blank line right after a blank one, where removed lines stood between them, goes.
    if (line.trim() === "" && kept.length && kept.at(-1)!.trim() === "" && drop.has(i - 1)) return;
    kept.push(line);
  });
  return kept.join("\n");
}
