/**
 * Text made safe to show: passwords masked, control characters escaped, words
 * quoted for a shell, bytes decoded as strict UTF-8. Any module may import this
 * one.
 *
 * @module
 */
import { EXIT_USAGE, SkillError } from "./errors.ts";

/**
 * Masks passwords where text carries them as values: in URLs
 * (`scheme://user:***@host`, the userinfo running to its last `@`, so an
 * unencoded `@` in a password hides all of it), and in conninfo strings or
 * environment assignments (`password=***`, `PGPASSWORD=***`). Nothing else is
 * touched: a word that happens to equal a password stays as it is. Messages
 * are built without passwords in the first place; this is the safety net for
 * text from elsewhere (a client tool's error, a URL the user typed).
 */
export function maskPasswords(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:\/?#@]*):[^\s\/?#]*@/gi, "$1:***@")
    .replace(
      /\b((?:ssl)?password|PGPASSWORD)(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;&'"]+)/gi,
      "$1$2***",
    );
}

/**
 * Text from a server (a query, a name, a message) made safe for a terminal:
 * control characters are shown as `\xNN` escapes, so that none can move the
 * cursor, repaint a prompt or change colours. Line breaks stay unless
 * `newlines` is false.
 */
export function escapeControl(text: string, options: { newlines?: boolean } = {}): string {
  let out = "";
  for (const char of text) {
    const code = char.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    out += control && !(code === 0x0a && options.newlines !== false)
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : char;
  }
  return out;
}

/**
 * Decodes UTF-8 strictly: bytes that are not UTF-8 (text saved as Latin-1 or
 * Windows-1252, a binary file) are an error that names `source` (e.g.
 * `The file "q.sql"`), the line and byte offset of the first bad bytes and
 * the bytes themselves, rather than U+FFFD in their place; it ends the script
 * with `exitCode` (default 2, a usage error). A leading byte order mark is
 * kept, as `Deno.readTextFile` keeps it.
 */
export function decodeUtf8(
  bytes: Uint8Array,
  { source, exitCode = EXIT_USAGE }: { source: string; exitCode?: number },
): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  const { offset, length } = firstInvalidUtf8(bytes);
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  const shown = [...bytes.subarray(offset, offset + length)]
    .map((byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ");
  throw new SkillError(
    `${source} is not valid UTF-8: line ${line} (byte offset ${offset}) holds ${shown}; ` +
      `save it as UTF-8 (iconv -f <its encoding> -t UTF-8 converts it) and run again`,
    exitCode,
  );
}

/**
 * Where the first bytes that are not UTF-8 start, and how many there are (a
 * sequence cut short counts with the byte that cut it), found with the
 * platform's own decoder: the longest prefix it accepts, with an incomplete
 * sequence allowed at its end, ends where the error is.
 */
function firstInvalidUtf8(bytes: Uint8Array): { offset: number; length: number } {
  const decodes = (end: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
        .decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  // Lengths of a prefix that decodes and one that does not; when the whole
  // text decodes as a prefix, what is wrong is a sequence cut short at its end.
  let good = decodes(bytes.length) ? bytes.length : 0;
  let bad = bytes.length;
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (decodes(middle)) good = middle;
    else bad = middle;
  }
  // The byte at `good` is refused; a sequence it was meant to finish started
  // after the last complete character.
  const complete = new TextEncoder().encode(
    new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(0, good), {
      stream: true,
    }),
  ).length;
  return { offset: complete, length: Math.min(good + 1, bytes.length) - complete };
}

/** Quotes a word for POSIX shells (single quotes unless it is plainly safe). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Writes one line to stderr (for notes and warnings; results go to stdout). */
export function note(line: string): void {
  console.error(escapeControl(maskPasswords(line)));
}

/**
 * The `candidates` closest to a name the user typed, closest first, at most
 * `limit`: the same name in another case, then names a few edits away (about
 * one edit in three characters), then names that contain it or that it contains.
 */
export async function closeMatches(
  name: string,
  candidates: string[],
  limit = 3,
): Promise<string[]> {
  // Loaded when needed: every script imports this module, few ever suggest a name.
  const { distance } = await import("fastest-levenshtein");
  const typed = name.toLowerCase();
  const allowed = Math.max(1, Math.floor(typed.length / 3));
  return candidates
    .map((candidate) => {
      const lower = candidate.toLowerCase();
      const edits = distance(typed, lower);
      const contained = (typed.length >= 3 && lower.includes(typed)) ||
        (lower.length >= 3 && typed.includes(lower));
      return { candidate, rank: edits <= allowed ? edits : contained ? allowed + 1 : Infinity };
    })
    .filter((match) => match.rank !== Infinity && match.candidate !== name)
    .sort((a, b) => a.rank - b.rank || a.candidate.localeCompare(b.candidate))
    .slice(0, limit)
    .map((match) => match.candidate);
}
