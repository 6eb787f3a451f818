/**
 * Argument parsing, exit codes and error reporting shared by every script.
 *
 * Contract: exit 0 on success, 1 on failure, 2 on a usage error; an error is
 * one line on stderr that names what to do next, never a stack trace and never
 * a password.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Exit status of a script that did what it was asked. */
export const EXIT_OK = 0;
/** Exit status of a script that tried and failed. */
export const EXIT_FAILURE = 1;
/** Exit status of a script that was called wrongly. */
export const EXIT_USAGE = 2;

/** A failure the user can fix: printed as one line, exit status 1 unless given. */
export class SkillError extends Error {
  /** The exit status this error ends the script with. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = "SkillError";
    this.exitCode = exitCode;
  }
}

/** A wrong invocation (bad flag, argument or environment value): exit status 2. */
export class UsageError extends SkillError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

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

/** How a script renders its result. */
export type OutputFormat = "table" | "json" | "csv";

/** One option a script accepts, in the shape `node:util` parseArgs takes. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

/** What a script declares about itself so that {@linkcode parseCli} can parse it. */
export interface ScriptSpec {
  /** The script's file name without extension, used as the prefix of error lines. */
  name: string;
  /** The full `--help` text. */
  usage: string;
  /** Options beyond `--help` (and `--json`/`--csv` when `formats` is set). */
  options?: Record<string, OptionSpec>;
  /** Output formats besides the table; adds `--json` and/or `--csv`. */
  formats?: ("json" | "csv")[];
  /** Smallest and largest number of positional arguments accepted. */
  positionals?: { min: number; max: number };
  /**
   * The script lists rows up to a limit: it takes `[limit]`, the positional
   * after its own, or `--limit N` (not both), 1 to 10000; `fallback` when
   * neither is given. The result is {@linkcode ParsedCli.limit}.
   */
  limit?: { fallback: number };
  /**
   * Pass the arguments through (psql wrapper): only the script's own options
   * (and the connection flags) are read, and only as long as they lead; from
   * the first other argument (or after a `--`) everything is a positional,
   * untouched. `--help` counts only as a leading argument, `-h` only alone.
   */
  passthrough?: boolean;
  /**
   * The script resolves a connection (default true): it takes `--profile NAME`
   * and `--database NAME` ({@linkcode CONNECTION_OPTIONS}), which
   * `resolveTarget` then uses, and its `--help` lists them. A script that never
   * connects says false and refuses them as unknown options.
   */
  connects?: boolean;
}

/**
 * The connection flags every connecting script takes. An explicit flag wins
 * over the environment: `--profile` over `DB_PROFILE` and over `DB_URL`;
 * `--database` keeps the credentials (of the profile, or of `DB_URL`) and
 * changes only the database.
 */
export const CONNECTION_OPTIONS: Record<"profile" | "database", OptionSpec> = {
  profile: { type: "string" },
  database: { type: "string" },
};

/** Profile names: lowercase letters, digits and underscores. */
export const PROFILE_NAME = /^[a-z0-9_]+$/;

/** The usage lines of {@linkcode CONNECTION_OPTIONS}, added to each connecting script's help. */
const CONNECTION_USAGE: Record<keyof typeof CONNECTION_OPTIONS, string> = {
  profile: "  --profile NAME    the profile in postgres.toml to use (wins over DB_PROFILE and\n" +
    "                    over DB_URL)",
  database: "  --database NAME   another database on the same server, with the same\n" +
    "                    credentials (the profile's, or DB_URL's)",
};

/** What the command line said about the connection, for `resolveTarget`. */
export interface ConnectionFlags {
  profile?: string;
  database?: string;
}

let connectionChoice: ConnectionFlags = {};

/**
 * The `--profile` and `--database` that {@linkcode parseCli} read (checked
 * already), or none. Kept here, once per process, so that every script's
 * `resolveTarget` call honours them without passing them along.
 */
export function connectionFlags(): ConnectionFlags {
  return { ...connectionChoice };
}

/** The longest database name PostgreSQL keeps (NAMEDATALEN - 1 bytes); it cuts longer ones. */
const MAX_NAME_BYTES = 63;

function recordConnectionFlags(values: ParsedCli["values"]): void {
  const profile = values.profile as string | undefined;
  const database = values.database as string | undefined;
  if (profile !== undefined && !PROFILE_NAME.test(profile)) {
    throw new UsageError(
      `Invalid profile name "${profile}" given to --profile; use lowercase letters, digits ` +
        `and underscores only`,
    );
  }
  if (database !== undefined) {
    // Sent as the startup packet's database, never in SQL; the server would cut a longer name
    // and connect to whatever database the cut name is.
    const bytes = new TextEncoder().encode(database).length;
    if (database === "" || database.includes("\0") || bytes > MAX_NAME_BYTES) {
      throw new UsageError(
        `Invalid database name "${database}" given to --database; give a name of 1 to ` +
          `${MAX_NAME_BYTES} bytes without NUL`,
      );
    }
  }
  connectionChoice = { profile, database };
}

/** The `--help` text: the script's own, with the connection flags it does not list itself. */
function helpText(spec: ScriptSpec): string {
  const usage = spec.usage.trimEnd();
  if (spec.connects === false) return usage;
  const lines = (Object.keys(CONNECTION_USAGE) as (keyof typeof CONNECTION_USAGE)[])
    // A script that explains a flag in its own options list keeps its own words.
    .filter((name) => !new RegExp(`^ +--${name} NAME`, "m").test(usage))
    .map((name) => CONNECTION_USAGE[name]);
  if (!lines.length) return usage;
  const fragment = `Connection:\n${lines.join("\n")}`;
  // Before the example, which stays the last thing the help shows.
  const example = usage.search(/\n\nExamples?:\n(?![\s\S]*\n\nExamples?:\n)/);
  return example === -1
    ? `${usage}\n\n${fragment}`
    : `${usage.slice(0, example)}\n\n${fragment}${usage.slice(example)}`;
}

/** The parsed command line. */
export interface ParsedCli {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  format: OutputFormat;
  /** The limit of a script whose spec has `limit` (0 for one without). */
  limit: number;
}

/**
 * Parses `args` strictly: unknown flags, missing values and the wrong number of
 * positionals are usage errors. `--help` prints the usage and exits 0.
 */
export function parseCli(spec: ScriptSpec, args: string[]): ParsedCli {
  if (spec.passthrough) return parsePassthrough(spec, args);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText(spec));
    Deno.exit(EXIT_OK);
  }
  const options: Record<string, OptionSpec> = {
    ...(spec.connects === false ? {} : CONNECTION_OPTIONS),
    ...spec.options,
  };
  if (spec.limit) options.limit = { type: "string" };
  for (const format of spec.formats ?? []) options[format] = { type: "boolean" };
  const end = args.indexOf("--");
  const takesValue = (arg: string) =>
    Object.entries(options).some(([name, option]) =>
      option.type === "string" && (arg === `--${name}` || arg === `-${option.short}`)
    );
  const text = (end === -1 ? args : args.slice(0, end)).find((arg, i) =>
    /^-/.test(arg) && /\s/.test(arg.split("=")[0]) && !(i > 0 && takesValue(args[i - 1]))
  );
  if (text !== undefined) {
    // SQL that opens with a comment ("-- why ...") reads as an option otherwise.
    const shown = escapeControl(text.length > 40 ? `${text.slice(0, 40)}...` : text, {
      newlines: false,
    });
    throw new UsageError(
      `The argument "${shown}" starts with "-" but is not an option; put -- before it ` +
        `(${spec.name}.ts [options] -- "<text>"), or pass it with -f FILE or on stdin`,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeParseError(error)}; run with --help for usage`);
  }
  const positionals = parsed.positionals;
  const own = spec.positionals ?? { min: 0, max: 0 };
  const { min } = own;
  // The limit, when given as a positional, is the one after the script's own.
  const max = own.max + (spec.limit ? 1 : 0);
  if (positionals.length < min) {
    throw new UsageError(
      `Missing argument (expected ${
        min === max ? min : `at least ${min}`
      }); run with --help for usage`,
    );
  }
  if (positionals.length > max) {
    throw new UsageError(
      `Unexpected argument "${positionals[max]}"; run with --help for usage`,
    );
  }
  const values = parsed.values as ParsedCli["values"];
  if (values.json && values.csv) {
    throw new UsageError("Choose one of --json and --csv, not both");
  }
  const format: OutputFormat = values.json ? "json" : values.csv ? "csv" : "table";
  if (spec.connects !== false) recordConnectionFlags(values);
  let limit = 0;
  if (spec.limit) {
    const given = positionals.length > own.max ? positionals.pop() : undefined;
    if (given !== undefined && values.limit !== undefined) {
      throw new UsageError(
        `Give the limit once, as [limit] or --limit N, not both (got "${given}" and ` +
          `"${values.limit}")`,
      );
    }
    limit = parseLimit(given ?? values.limit as string | undefined, spec.limit.fallback);
  }
  return { values, positionals, format, limit };
}

/**
 * A passthrough script's command line: its own options and the connection
 * flags while they lead (`--name value` or `--name=value`), then everything
 * else untouched as positionals.
 */
function parsePassthrough(spec: ScriptSpec, args: string[]): ParsedCli {
  if ((args.length === 1 && args[0] === "-h")) {
    console.log(helpText(spec));
    Deno.exit(EXIT_OK);
  }
  const options: Record<string, OptionSpec> = {
    ...(spec.connects === false ? {} : CONNECTION_OPTIONS),
    ...spec.options,
  };
  const values: ParsedCli["values"] = {};
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "--help") {
      console.log(helpText(spec));
      Deno.exit(EXIT_OK);
    }
    const match = arg.match(/^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/);
    const option = match ? options[match[1]] : undefined;
    if (!match || !option) break;
    const [, name, inline] = match;
    if (option.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`Option "--${name}" takes no value`);
      values[name] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`Option "--${name}" needs a value`);
    values[name] = value;
  }
  if (spec.connects !== false) recordConnectionFlags(values);
  return { values, positionals: args.slice(i), format: "table", limit: 0 };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = message.match(/Unknown option '([^']+)'/);
  if (unknown) return `Unknown option "${unknown[1]}"`;
  const ambiguous = message.match(/Option '([^']+)' argument is ambiguous/);
  if (ambiguous) {
    const name = ambiguous[1].split(",").at(-1)!.trim().split(" ")[0];
    return `The value given to ${name} starts with "-"; write it as ${name}=<value>`;
  }
  const missing = message.match(/Option '([^']+)'.*argument missing/);
  if (missing) return `Option "${missing[1].split(",")[0].trim()}" needs a value`;
  return message.split("\n")[0].replace(/\.$/, "");
}

/**
 * Parses a positive integer argument such as a row limit (`bounds.min` 0
 * admits 0 too, where it means "all"). Anything else (a sign, a fraction,
 * SQL text) is a usage error, so no user text reaches SQL.
 */
export function parsePositiveInt(
  text: string,
  what: string,
  bounds: { max: number; min?: 0 | 1 } = { max: 1_000_000 },
): number {
  const min = bounds.min ?? 1;
  const kind = min === 0 ? "a whole number of at least 0" : "a positive integer";
  if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`${what} must be ${kind}, got "${text}"`);
  const value = Number(text);
  if (value < min || value > bounds.max) {
    throw new UsageError(`${what} must be between ${min} and ${bounds.max}, got "${text}"`);
  }
  return value;
}

/**
 * Parses a number of at least 0 with up to three decimals (minutes, seconds,
 * a percentage) and at most `max`. Anything else is a usage error naming
 * `what`, so no user text reaches SQL.
 */
export function parseDecimal(text: string, what: string, bounds: { max: number }): number {
  if (!/^\d{1,10}(\.\d{1,3})?$/.test(text)) {
    throw new UsageError(`${what} must be a number of at least 0, got "${text}"`);
  }
  const value = Number(text);
  if (value > bounds.max) {
    throw new UsageError(`${what} must be at most ${bounds.max}, got "${text}"`);
  }
  return value;
}

/**
 * The optional `[limit]` argument of a report: a positive integer up to 10000, else `fallback`.
 * Scripts declare `limit` in their {@linkcode ScriptSpec} instead, which takes `[limit]` and
 * `--limit N` alike.
 */
export function parseLimit(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parsePositiveInt(text, "limit", { max: 10_000 });
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

/** Writes one line to stderr (for notes and warnings; results go to stdout). */
export function note(line: string): void {
  console.error(escapeControl(maskPasswords(line)));
}

/**
 * A path the user typed, made absolute from the folder they typed it in (under
 * `deno task` that is `INIT_CWD`, not the skill's folder).
 */
export function resolveUserPath(path: string): string {
  if (path.trim() === "") throw new UsageError("The file name is empty; give a path");
  if (path.startsWith("/")) return path;
  const base = Deno.env.get("INIT_CWD") || Deno.cwd();
  return `${base.replace(/\/$/, "")}/${path}`;
}

/**
 * The text a script works on: the argument, the file given with `-f` (a path
 * as the user typed it), or stdin when the argument is `-`. Exactly one. A
 * file or stdin that is not valid UTF-8 is refused (a usage error naming
 * where), as the server would refuse it, instead of being sent with
 * replacement characters in place of the bytes.
 */
export async function readInputText(
  options: { argument?: string; file?: string; what: string },
): Promise<string> {
  if (options.file !== undefined && options.argument !== undefined) {
    throw new UsageError(
      `Give the ${options.what} once: as an argument, with -f FILE, or - for stdin`,
    );
  }
  if (options.file !== undefined) {
    const path = resolveUserPath(options.file);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      throw new UsageError(`Cannot read "${options.file}"; check the path given to -f`);
    }
    return decodeUtf8(bytes, { source: `The file "${options.file}"` });
  }
  if (options.argument === "-") {
    const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    return decodeUtf8(bytes, { source: `The ${options.what} on stdin` });
  }
  if (options.argument === undefined || options.argument.trim() === "") {
    throw new UsageError(
      `Give the ${options.what} as an argument, with -f FILE, or - to read it from stdin`,
    );
  }
  return options.argument;
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

/** True when a person can answer a question: stdin and stderr are terminals. */
export function canAsk(): boolean {
  return Deno.stdin.isTerminal() && Deno.stderr.isTerminal();
}

/**
 * Asks a question on the terminal (prompt on stderr) and returns the answer
 * line without its newline, or undefined at end of input.
 */
export async function askLine(prompt: string): Promise<string | undefined> {
  await Deno.stderr.write(new TextEncoder().encode(escapeControl(prompt)));
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await Deno.stdin.read(one);
    if (n === null) {
      return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : undefined;
    }
    if (one[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
    bytes.push(one[0]);
  }
}

/** Asks for a line of text; an empty answer takes `fallback` (shown in brackets). */
export async function askText(question: string, fallback = ""): Promise<string> {
  const answer = await askLine(fallback !== "" ? `${question} [${fallback}]: ` : `${question}: `);
  if (answer === undefined) throw new SkillError("Input ended before the answers were complete");
  return answer.trim() === "" ? fallback : answer.trim();
}

/** Asks a yes/no question until it gets y, yes, n, no or an empty answer (the default). */
export async function askYesNo(question: string, fallback: boolean): Promise<boolean> {
  while (true) {
    const answer = await askLine(`${question} [${fallback ? "Y/n" : "y/N"}] `);
    if (answer === undefined) throw new SkillError("Input ended before the answers were complete");
    const word = answer.trim().toLowerCase();
    if (word === "") return fallback;
    if (word === "y" || word === "yes") return true;
    if (word === "n" || word === "no") return false;
  }
}

/**
 * Asks for a secret without echoing it: the terminal is put in raw mode, so
 * nothing typed appears on screen (backspace works, Ctrl-C aborts).
 */
export async function askSecret(question: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(question));
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  Deno.stdin.setRaw(true);
  try {
    while (true) {
      const n = await Deno.stdin.read(one);
      if (n === null || one[0] === 13 || one[0] === 10 || one[0] === 4) break;
      if (one[0] === 3) throw new SkillError("Interrupted; nothing was written");
      if (one[0] === 127 || one[0] === 8) bytes.pop();
      else bytes.push(one[0]);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  const secret = new TextDecoder().decode(new Uint8Array(bytes));
  return secret;
}

/**
 * Confirms an action that changes a database. `DB_CONFIRM=YES` confirms it
 * outright; otherwise, on a terminal, the user must type YES; without a
 * terminal the action is refused with the way to confirm it.
 */
export async function confirmAction(question: string): Promise<void> {
  if (Deno.env.get("DB_CONFIRM") === "YES") return;
  if (!canAsk()) {
    throw new SkillError(
      `Not confirmed: ${
        question.replace(/\s*\n\s*/g, " ").replace(/\?$/, "")
      } needs confirmation; ` +
        `run it on a terminal and type YES, or set DB_CONFIRM=YES`,
    );
  }
  const answer = await askLine(`${question} Type YES to confirm: `);
  if (answer?.trim() !== "YES") {
    throw new SkillError("Not confirmed (the answer was not YES); nothing was done");
  }
}

/**
 * Runs a script's body and turns its outcome into an exit status: the number it
 * returns (default 0), 1 for a failure, 2 for a usage error. Errors print as one
 * line `<name>: <message>`; set `DB_DEBUG=1` to see a stack trace.
 */
export async function runScript(
  name: string,
  body: () => Promise<number | void>,
): Promise<never> {
  let code: number;
  try {
    code = (await body()) ?? EXIT_OK;
  } catch (error) {
    code = error instanceof SkillError ? error.exitCode : EXIT_FAILURE;
    const message = error instanceof Error ? error.message : String(error);
    // Our own messages are one line by design: a line break in one came from a value (a host
    // name, a path) and is shown escaped, not cut. Anything else shows its first line.
    const text = error instanceof SkillError
      ? `${name}: ${message.trim()}`
      : `${name}: unexpected error: ${firstLine(message)}`;
    console.error(escapeControl(maskPasswords(text), { newlines: false }));
    if (Deno.env.get("DB_DEBUG") === "1" && error instanceof Error && error.stack) {
      console.error(escapeControl(maskPasswords(error.stack)));
    }
  }
  Deno.exit(code);
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return line.trim();
}
