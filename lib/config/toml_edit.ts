/**
 * Edits to a TOML file's text that keep everything else as the user wrote it
 * (comments, order, spacing, line endings): one value set or removed at a
 * time, each edit checked by parsing the result.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { parse } from "smol-toml";
import { SkillError } from "../core/errors.ts";

/** A TOML table as smol-toml returns it. */
export type TomlTable = Record<string, unknown>;

/** A TOML literal for a string, boolean or number value. */
export function tomlLiteral(value: string | boolean | number): string {
  if (typeof value === "string") {
    return JSON.stringify(value).replace(/[\u007f]/g, "\\u007f");
  }
  return String(value);
}

interface HeaderLine {
  index: number;
  path: string[];
}

/** Splits a table header's key path: `database . "local"` -> ["database", "local"]. */
function headerPath(inner: string): string[] | undefined {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  let offset = 0;
  while (offset < inner.length && (match = re.exec(inner)) !== null) {
    const quoted = match[1] !== undefined ? JSON.parse(`"${match[1]}"`) as string : undefined;
    parts.push(quoted ?? match[2] ?? match[3]);
    offset = re.lastIndex;
    if (match[4] === "") break;
  }
  return offset >= inner.length ? parts : undefined;
}

function findHeaders(lines: string[]): HeaderLine[] {
  const headers: HeaderLine[] = [];
  lines.forEach((line, index) => {
    const m = line.match(/^\s*\[(?!\[)([^\]]*)\]\s*(?:#.*)?$/);
    const path = m ? headerPath(m[1].trim()) : undefined;
    if (path) headers.push({ index, path });
  });
  return headers;
}

/** Where a value ends on its line, so that a trailing comment can be kept. */
function valueEnd(rest: string): number {
  if (rest.startsWith('"')) {
    for (let i = 1; i < rest.length; i++) {
      if (rest[i] === "\\") i++;
      else if (rest[i] === '"') return i + 1;
    }
    return rest.length;
  }
  if (rest.startsWith("'")) {
    const close = rest.indexOf("'", 1);
    return close === -1 ? rest.length : close + 1;
  }
  const hash = rest.indexOf("#");
  const value = hash === -1 ? rest : rest.slice(0, hash);
  return value.trimEnd().length;
}

/**
 * Sets `key = value` in table `section` (e.g. `["database", "local"]`) of the
 * TOML text, touching nothing else: an existing value is replaced in place
 * (keeping its trailing comment), a new key goes after the section's last
 * entry, a missing section is appended. Returns the new text.
 */
export function setTomlValue(
  text: string,
  section: string[],
  key: string,
  value: string | boolean | number,
): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const headers = findHeaders(lines);
  const literal = tomlLiteral(value);
  const at = headers.findIndex((h) => h.path.join("\u0000") === section.join("\u0000"));
  if (at === -1) {
    const header = `[${section.map((p) => BARE_KEY.test(p) ? p : JSON.stringify(p)).join(".")}]`;
    if (section.length === 1 && section[0] === "configuration") {
      // The file's own settings read best first: after its opening comments,
      // unless top-level keys come before the first table.
      // The opening comment block (up to its first blank line) stays on top;
      // a comment that runs straight into the first table belongs to it.
      const firstHeader = headers[0]?.index ?? lines.length;
      const hasTopLevelKeys = lines.slice(0, firstHeader).some((l) => !/^\s*(#.*)?$/.test(l));
      if (!hasTopLevelKeys) {
        let top = 0;
        while (top < firstHeader && /^\s*#/.test(lines[top])) top++;
        if (top >= firstHeader || lines[top]?.trim() !== "") top = 0;
        else top++;
        lines.splice(top, 0, header, `${key} = ${literal}`, "");
        return lines.join(eol);
      }
    }
    const body = lines.join(eol).replace(/(\r?\n)*$/, "");
    return `${body}${body ? eol + eol : ""}${header}${eol}${key} = ${literal}${eol}`;
  }
  const start = headers[at].index + 1;
  const end = at + 1 < headers.length ? headers[at + 1].index : lines.length;
  const keyPattern = new RegExp(`^(\\s*(?:${key}|"${key}"|'${key}')\\s*=\\s*)(.*)$`);
  for (let i = start; i < end; i++) {
    const m = lines[i].match(keyPattern);
    if (!m) continue;
    const rest = m[2];
    const cut = valueEnd(rest);
    const tail = rest.slice(cut);
    const spacer = tail.startsWith("#") ? " " : "";
    lines[i] = `${m[1]}${literal}${spacer}${tail}`;
    return lines.join(eol);
  }
  let insertAt = start;
  for (let i = start; i < end; i++) {
    const trimmed = lines[i].trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) insertAt = i + 1;
  }
  lines.splice(insertAt, 0, `${key} = ${literal}`);
  return lines.join(eol);
}

/** Removes the line `key = ...` from table `section` of the TOML text; unchanged if absent. */
export function removeTomlKey(text: string, section: string[], key: string): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const headers = findHeaders(lines);
  const at = headers.findIndex((h) => h.path.join("\u0000") === section.join("\u0000"));
  if (at === -1) return text;
  const end = at + 1 < headers.length ? headers[at + 1].index : lines.length;
  const keyPattern = new RegExp(`^(\\s*)(?:${key}|"${key}"|'${key}')\\s*=\\s*(.*)$`);
  for (let i = headers[at].index + 1; i < end; i++) {
    const m = lines[i].match(keyPattern);
    if (!m) continue;
    // The user's trailing comment outlives the value it described.
    const comment = m[2].slice(valueEnd(m[2])).trim();
    if (comment.startsWith("#")) lines[i] = `${m[1]}${comment}`;
    else lines.splice(i, 1);
    return lines.join(eol);
  }
  return text;
}

/** One change to a TOML document: set a value, or remove a key. */
export type TomlEdit =
  | { section: string[]; key: string; value: string | boolean | number }
  | { section: string[]; key: string; remove: true };

/** Applies edits to TOML text, touching nothing else (see {@linkcode setTomlValue}). */
export function applyTomlEdits(text: string, edits: TomlEdit[]): string {
  let out = text;
  for (const edit of edits) {
    out = "remove" in edit
      ? removeTomlKey(out, edit.section, edit.key)
      : setTomlValue(out, edit.section, edit.key, edit.value);
  }
  return out;
}

/** The document `text` holds as it should be after `edits`. */
function expectedAfter(text: string, edits: TomlEdit[]): TomlTable {
  // A fresh parse, not a clone of the caller's: structuredClone turns TOML dates into plain
  // Dates, which a strict comparison with the reparsed TomlDates would count as a change.
  const expected = parse(text) as TomlTable;
  for (const edit of edits) {
    let table: TomlTable = expected;
    for (const part of edit.section) {
      table[part] = asTable(table[part]) ?? {};
      table = table[part] as TomlTable;
    }
    if ("remove" in edit) delete table[edit.key];
    else table[edit.key] = edit.value;
  }
  return expected;
}

/**
 * Edits TOML text and checks the result by parsing it: it must equal the old
 * document with exactly these edits applied, or an error says what to set by
 * hand. Returns the new text.
 */
export function editTomlText(path: string, text: string, edits: TomlEdit[]): string {
  const updated = applyTomlEdits(text, edits);
  let reparsed: unknown;
  try {
    reparsed = parse(updated);
  } catch {
    reparsed = undefined;
  }
  if (!isDeepStrictEqual(reparsed, expectedAfter(text, edits))) {
    const wanted = edits.map((e) =>
      "remove" in e
        ? `remove ${e.key} from [${e.section.join(".")}]`
        : `set ${e.key} = ${tomlLiteral(e.value)} under [${e.section.join(".")}]`
    ).join("; ");
    throw new SkillError(`Could not edit "${path}" safely; ${wanted} by hand`);
  }
  return updated;
}

/** Keys TOML takes without quotes. */
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** `value` as a TOML table, or undefined when it is not one. */
export function asTable(value: unknown): TomlTable | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
      !(value instanceof Date)
    ? value as TomlTable
    : undefined;
}
