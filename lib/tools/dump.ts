/**
 * Dumps and restores through pg_dump, pg_restore and psql: the SSL fallback
 * and the server version settled before a tool starts, dump files that appear
 * whole or not at all, restores in one transaction by default, progress on a
 * terminal, and a report of what happened.
 *
 * @module
 */
import { join } from "node:path";
import { loadPgParser } from "../sql/parser.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";
import { SkillError } from "../core/errors.ts";
import { replaceableTarget, replaceFile } from "../config/files.ts";
import { probeForTools, withSession } from "../connection/script_sessions.ts";
import { transactionStatus } from "../connection/transactions.ts";
import { isPermissionDenied } from "../connection/session.ts";
import { loadSql } from "../sql/sql_files.ts";
import type { ConnectionTarget } from "../connection/target.ts";
import {
  type ClientTools,
  requireRestrictingPsql,
  runTool,
  toolEnvironment,
  toolErrorLine,
  toolForServer,
  toolHasRestrict,
  ToolInputError,
  ToolInterruptedError,
  toolOutput,
  toolPath,
} from "./client_tools.ts";

/** What a dump holds. */
export type DumpKind = "schema" | "data";

/**
 * pg_dump's options for each kind: without owners and privileges (they name
 * roles the target may not have). Comments stay: they document the schema.
 */
const DUMP_OPTIONS: Record<DumpKind, string[]> = {
  schema: ["--schema-only", "--no-owner", "--no-privileges"],
  data: ["--data-only", "--no-owner", "--no-privileges"],
};

/** `schema_<profile>_<YYYYMMDD_HHMMSS>.dump` (or `data_...`), in local time. */
export function defaultDumpName(kind: DumpKind, profile: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}_` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${kind}_${profile}_${stamp}.dump`;
}

/** Plain SQL when the name ends in .sql, else pg_dump's custom format. */
export function isPlainSql(file: string): boolean {
  return file.toLowerCase().endsWith(".sql");
}

/** What a dump did. */
export interface DumpReport {
  /** The dump file's path, as given. */
  file: string;
  /** Plain SQL (a `.sql` name) or pg_dump's custom format. */
  format: "custom" | "plain";
  /** The size of the file written, in bytes. */
  bytes: number;
  /** How long pg_dump took, in milliseconds. */
  elapsed_ms: number;
  /** The database dumped. */
  database: string;
  /** The server's version, as its `server_version` setting reports it. */
  server_version: string;
}

async function size(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** The client tools, checked against the server, and the tool environment. */
async function prepare(
  target: ConnectionTarget,
  tool: "pg_dump" | "pg_restore" | "psql",
  tools: ClientTools,
) {
  const probe = await probeForTools(target);
  const path = await toolForServer(tools, tool, probe.serverMajor);
  return { probe, path, env: toolEnvironment(target, tools, { sslmode: probe.sslmode }) };
}

/**
 * Dumps to `file` through a temporary file beside it, renamed into place only
 * when pg_dump succeeds: on any failure no file appears and an existing file
 * of that name is left as it was. The target is resolved once, before
 * connecting: a regular file or nothing (a symlink to one is followed), never
 * a folder, FIFO or device node (files.ts's replaceFile says why the rename
 * cannot be redirected). pg_dump writes to its stdout, which goes into the
 * temporary file through the handle that made it: no path is opened twice,
 * so a symlink swapped in for the temporary name meanwhile gets nothing.
 */
export async function dumpToFile(
  target: ConnectionTarget,
  { kind, file, tools }: {
    kind: DumpKind;
    file: string;
    /** Finds the client tools; called once the file is known to be one the dump may replace. */
    tools: () => Promise<ClientTools>;
  },
): Promise<DumpReport> {
  const destination = await replaceableTarget(file);
  const { probe, path, env } = await prepare(target, "pg_dump", await tools());
  const plain = isPlainSql(file);
  const started = performance.now();
  await replaceFile(destination, async ({ file: temp }) => {
    let result;
    try {
      result = await runTool(
        path,
        [...DUMP_OPTIONS[kind], plain ? "--format=plain" : "--format=custom"],
        env,
        { stdoutFile: temp, progressLabel: `${kind} dump` },
      );
    } catch (error) {
      if (error instanceof SkillError) {
        throw new SkillError(`${error.message}; no file was written`, error.exitCode);
      }
      throw new SkillError(`The dump failed: ${(error as Error).message}; no file was written`);
    }
    if (result.code !== 0) {
      throw new SkillError(`pg_dump failed: ${toolErrorLine(result.stderr)}; no file was written`);
    }
    // pg_dump syncs a file it opens itself, not its stdout: on disk before the rename.
    await temp.sync();
  }, { mode: 0o600 });
  return {
    file,
    format: plain ? "plain" : "custom",
    bytes: await size(file),
    elapsed_ms: Math.round(performance.now() - started),
    database: target.database,
    server_version: probe.serverVersion,
  };
}

/** The schema-only dump of a database as text (for comparisons), with comments unless told. */
export async function schemaDumpText(
  target: ConnectionTarget,
  options: { comments: boolean; tools: ClientTools },
): Promise<string> {
  const { path, env } = await prepare(target, "pg_dump", options.tools);
  const args = [...DUMP_OPTIONS.schema, ...(options.comments ? [] : ["--no-comments"])];
  const result = await runTool(path, [...args, "--format=plain"], env, { captureStdout: true });
  if (result.code !== 0) throw new SkillError(`pg_dump failed: ${toolErrorLine(result.stderr)}`);
  return new TextDecoder().decode(result.stdout);
}

/** What a restore did. */
export interface RestoreReport {
  /** The dump file's path, as given. */
  file: string;
  /** The database restored into. */
  database: string;
  /** What read the dump: psql a `.sql` file, pg_restore an archive. */
  tool: "psql" | "pg_restore";
  /** True when the restore ran in one transaction. */
  single_transaction: boolean;
  /** True for a dump that holds rows only. */
  data_only: boolean;
  /** Whether triggers and foreign-key checks fired while the rows went in. */
  triggers: "on" | "off";
  /** The size of the dump file, in bytes. */
  bytes: number;
  /** How long the restore took, in milliseconds. */
  elapsed_ms: number;
  /** `restored`: a restore that fails throws instead of reporting. */
  result: string;
}

/**
 * The SQL a restore runs through psql, read twice: once to check it, before
 * anything is asked, and once to hand it to psql. A plain .sql file, or the
 * SQL that pg_restore writes for a custom-format archive: the same for the
 * same archive and options, so it is written again rather than kept (a dump
 * may be larger than memory and than the free disk), and the second read must
 * give what the first gave ({@linkcode RestoreSqlCheck.blocks}).
 */
export interface SqlSource {
  /** What it is, for messages: `"dump.sql"`, `the SQL that pg_restore writes for "x.dump"`. */
  name: string;
  /** Its bytes from the start, a chunk at a time; each call reads it anew. */
  read(): AsyncIterable<Uint8Array>;
}

/** A plain SQL file as a restore's source. */
export function sqlFileSource(file: string): SqlSource {
  return {
    name: `"${file}"`,
    read: async function* () {
      yield* (await Deno.open(file, { read: true })).readable;
    },
  };
}

/** A statement or psql meta-command of a restore's SQL, where it starts. */
export interface FileCommand {
  /** The statement's command (`BEGIN`, `SET` ...), the meta-command, or the variable's name. */
  command: string;
  /** The 1-based line of the restore's SQL that it is on. */
  line: number;
}

/** Where a restore's SQL controls transactions itself. */
export type TransactionControl = FileCommand;

/**
 * What the check of a restore's SQL found, read a line at a time the way
 * psql reads it: SQL (split and classified by PostgreSQL's parser), COPY
 * rows (after a COPY ... FROM stdin that the parser confirms ends its line,
 * up to `\.`), and psql meta-commands (a backslash where psql's lexer is
 * outside quotes and comments). Nothing here is a guard: psql runs the SQL under
 * `\restrict` and the transaction is checked on the server; this says what
 * is wrong before anything is asked or run.
 */
export interface RestoreSqlCheck {
  /** psql meta-commands, each with its line (after a statement on a line: the first one). */
  metaCommands: FileCommand[];
  /** BEGIN, COMMIT, ROLLBACK ...: such a file cannot run in the restore's one transaction. */
  transactionControl: TransactionControl[];
  /**
   * Statements that change how psql and the server read the text from then
   * on: standard_conforming_strings (the check reads it as on), or
   * client_encoding to an encoding that is not ASCII-safe (SJIS, BIG5 ...,
   * where a multibyte character can take the quote or backslash after it).
   */
  lexingChanges: FileCommand[];
  /**
   * References to psql variables that psql fills in even under `\restrict`
   * (`:ROW_COUNT`, `:'LAST_ERROR_MESSAGE'` ...): the server would run text
   * the check never read.
   */
  variables: FileCommand[];
  /** pg_dump's own `\restrict <key>` line and its `\unrestrict <key>` line, if it has them. */
  ownRestrict?: { key: string; lines: number[] };
  /**
   * The lines of pg_restore --single-transaction's own BEGIN (the first
   * statement) and COMMIT (the last), each alone on its line: psql's own
   * transaction takes their place, so they are handed over blank.
   */
  ownTransaction?: { lines: [number, number] };
  /**
   * The first string whose end moves when standard_conforming_strings goes
   * off (`'C:\'`) or the client encoding becomes one like SJIS (a multibyte
   * character that takes the backslash after it): a file that changed those
   * unseen (a function or DO block can) would be read differently by psql.
   */
  readsDifferently?: { line: number };
  /** What statements do that no rollback undoes (a program run, a session signalled ...). */
  escapes: { what: string; line: number }[];
  /** The file moves sequences (setval, nextval), which no rollback undoes. */
  movesSequences: boolean;
  /** pg_dump's entry types, from its `-- Name: ...; Type: ...;` headers. */
  entryTypes: string[];
  /** A line with a NUL byte: psql drops the rest of such a line, the parser the rest of the file. */
  nulLine?: number;
  /** Why the SQL could not be checked (it does not parse, a COPY that does not end its line). */
  unchecked?: string;
  /** What was read, a mebibyte at a time: see {@linkcode ReadBlocks}. */
  blocks: ReadBlocks;
}

/**
 * What a check read, block by block ({@linkcode DIGEST_BLOCK} bytes each, the
 * last one shorter), for the restore that reads it again.
 */
export interface ReadBlocks {
  /**
   * The SHA-256 of each block, one after the other: the restore hands psql a
   * block only once it has found it to be the block that was checked.
   */
  digests: Uint8Array;
  /** How many line ends (`\n`) each block holds: the restore finds the lines it blanks without reading every line. */
  lineEnds: Uint32Array;
}

/** The bytes a restore reads and compares with what its check read, at a time. */
export const DIGEST_BLOCK = 1 << 20;

/** A line that may end a COPY ... FROM stdin whose rows follow (confirmed by the parser). */
const COPY_FROM_STDIN_CANDIDATE = /\bstdin\b.*;\s*$/i;

/** psql's meta-command word: a backslash and letters, or one other character (`\!`, `\?`). */
const META_COMMAND = /^\s*(\\(?:[A-Za-z]+|[^A-Za-z\s]?))/;

/** The dump's own `\restrict <key>`, as pg_dump writes it. */
const OWN_RESTRICT = /^\\restrict ([A-Za-z0-9]+)$/;

/**
 * Reads a restore's SQL as psql will and says what it holds that decides
 * whether and how it may be restored; see {@linkcode RestoreSqlCheck}. It is
 * read a line at a time (a dump may be larger than memory). `wrapped`: the
 * SQL of pg_restore --single-transaction, whose first statement is its own
 * BEGIN and whose last its own COMMIT.
 */
export async function checkRestoreSql(
  source: SqlSource,
  options: { wrapped?: boolean } = {},
): Promise<RestoreSqlCheck> {
  const check: RestoreSqlCheck = {
    metaCommands: [],
    transactionControl: [],
    lexingChanges: [],
    variables: [],
    escapes: [],
    movesSequences: false,
    entryTypes: [],
    blocks: { digests: new Uint8Array(0), lineEnds: new Uint32Array(0) },
  };
  const state: CheckState = { check };
  const digests = blockDigests();
  const lineEnds: number[] = [];
  // Read as it comes, a piece at a time, not a block: between pieces the pipe
  // from pg_restore is read on, so it keeps writing while the lines are checked.
  const recorded = async function* () {
    for await (const piece of inPieces(source.read())) {
      await digests.add(piece.bytes);
      yield piece;
    }
  };
  let chunk: string[] = []; // SQL lines since the last COPY rows, meta-commands blanked
  let chunkStart = 1;
  let lineNumber = 0;
  let inCopyRows = false;
  let seenSql = false;
  let unrestrictLine: number | undefined;
  for await (const { lines, lineEnds: ends, block } of readLines(recorded())) {
    if (block !== undefined) lineEnds[block] = (lineEnds[block] ?? 0) + ends!;
    for (const line of lines) {
      lineNumber++;
      if (line.includes("\0")) check.nulLine ??= lineNumber;
      if (inCopyRows) {
        if (line === "\\.") inCopyRows = false;
        continue;
      }
      if (unrestrictLine !== undefined && !isBlankOrComment(line)) {
        check.metaCommands.push({ command: "\\unrestrict", line: unrestrictLine });
        unrestrictLine = undefined;
      }
      if (chunk.length === 0) chunkStart = lineNumber;
      const meta = line.match(META_COMMAND)?.[1];
      if (meta !== undefined && await outsideQuotesAndComments(chunk)) {
        const ownKey = line.match(OWN_RESTRICT)?.[1];
        if (!seenSql && ownKey !== undefined && check.ownRestrict === undefined) {
          check.ownRestrict = { key: ownKey, lines: [lineNumber] };
        } else if (
          check.ownRestrict?.lines.length === 1 && unrestrictLine === undefined &&
          line === `\\unrestrict ${check.ownRestrict.key}`
        ) {
          unrestrictLine = lineNumber; // pg_dump's, if nothing but comments follows
        } else {
          check.metaCommands.push({ command: meta, line: lineNumber });
        }
        chunk.push("");
        continue;
      }
      chunk.push(line);
      if (!isBlankOrComment(line)) seenSql = true;
      const header = line.match(/^-- (?:Data for )?Name: .*; Type: ([A-Z ]+); Schema: /);
      if (header) check.entryTypes.push(header[1]);
      if (COPY_FROM_STDIN_CANDIDATE.test(line)) {
        const statements = await parsedOrUndefined(chunk.join("\n"));
        const last = statements?.at(-1);
        if (last?.copyFromStdin) {
          await inspectChunk(state, chunk, chunkStart, statements!);
          chunk = [];
          inCopyRows = true;
        }
      }
    }
  }
  if (unrestrictLine !== undefined) check.ownRestrict!.lines.push(unrestrictLine);
  await inspectChunk(state, chunk, chunkStart);
  if (options.wrapped) claimOwnTransaction(state);
  check.blocks = { digests: await digests.end(), lineEnds: Uint32Array.from(lineEnds) };
  return check;
}

/** {@linkcode checkRestoreSql} of a plain SQL file. */
export function checkPlainFile(file: string): Promise<RestoreSqlCheck> {
  return checkRestoreSql(sqlFileSource(file));
}

/** A statement where it starts, and the text of that line. */
interface PlacedStatement {
  command: string;
  line: number;
  lineText: string;
}

/** A check under way: what it found, and the first and the last statement so far. */
interface CheckState {
  check: RestoreSqlCheck;
  first?: PlacedStatement;
  last?: PlacedStatement;
}

/**
 * Moves pg_restore --single-transaction's own BEGIN and COMMIT from the
 * transaction control found to {@linkcode RestoreSqlCheck.ownTransaction}:
 * only when the first statement is a BEGIN and the last a COMMIT, each alone
 * on its line as pg_restore writes them. Anything else stays transaction
 * control (refused in one transaction).
 */
function claimOwnTransaction({ check, first, last }: CheckState): void {
  const control = check.transactionControl;
  if (
    first?.command === "BEGIN" && first.lineText === "BEGIN;" &&
    last?.command === "COMMIT" && last.lineText === "COMMIT;" &&
    control.length >= 2 && control[0].line === first.line && control.at(-1)!.line === last.line
  ) {
    check.ownTransaction = { lines: [first.line, last.line] };
    check.transactionControl = control.slice(1, -1);
  }
}

function isBlankOrComment(line: string): boolean {
  const text = line.trim();
  return text === "" || text.startsWith("--");
}

/** Whether, after `lines`, psql's lexer is outside quotes and comments (a backslash is a command). */
async function outsideQuotesAndComments(lines: string[]): Promise<boolean> {
  if (lines.every(isBlankOrComment)) return true;
  const { scan } = await loadPgParser();
  try {
    await scan(`${lines.join("\n")}\n`);
    return true;
  } catch {
    return false; // an unterminated string, quoted name or comment
  }
}

async function parsedOrUndefined(sql: string): Promise<Statement[] | undefined> {
  try {
    return await parseStatements(sql);
  } catch {
    return undefined;
  }
}

/**
 * Adds what one stretch of SQL (between COPY rows) holds to `check`:
 * `statements` when the stretch ends with a COPY ... FROM stdin already
 * parsed, else it is parsed here (the file's last stretch).
 */
async function inspectChunk(
  state: CheckState,
  lines: string[],
  firstLine: number,
  parsed?: Statement[],
): Promise<void> {
  const { check } = state;
  if (lines.every((line) => line.trim() === "")) return;
  const sql = lines.join("\n");
  const endsWithCopy = parsed !== undefined;
  let statements = parsed;
  if (statements === undefined) {
    try {
      statements = await parseStatements(sql);
    } catch (error) {
      await explainUnparsed(check, sql, firstLine, error);
      return;
    }
  }
  for (const [index, statement] of statements.entries()) {
    const line = statement.line + firstLine - 1;
    state.last = { command: statement.command, line, lineText: lines[statement.line - 1] };
    state.first ??= state.last;
    if (statement.endsTransaction) {
      check.transactionControl.push({ command: statement.command, line });
    }
    // client_encoding is not pinned for a restore (pg_dump sets the dump's own, always an
    // ASCII-safe server encoding); one that is not ASCII-safe changes how text is read.
    if (statement.pinnedChanges.some(changesLexing)) {
      check.lexingChanges.push({ command: statement.command, line });
    }
    for (const what of statement.escapes) check.escapes.push({ what, line });
    if (statement.sequenceCalls.length) check.movesSequences = true;
    if (statement.copyFromStdin && !(endsWithCopy && index === statements.length - 1)) {
      check.unchecked ??= `the ${statement.command} ... FROM stdin at line ${line} does not ` +
        `end its line, so which lines are its rows cannot be told`;
    }
  }
  if (check.readsDifferently === undefined) {
    const line = await firstLexingSensitiveString(sql);
    if (line !== undefined) check.readsDifferently = { line: line + firstLine - 1 };
  }
  for (const { name, line } of await psqlVariables(sql)) {
    check.variables.push({ command: name, line: line + firstLine - 1 });
  }
}

/** Client encodings that are not ASCII-safe (PostgreSQL's client-only ones), as it cleans names. */
const UNSAFE_CLIENT_ENCODINGS = new Set([
  "sjis",
  "shiftjis",
  "mskanji",
  "win932",
  "windows932",
  "shiftjis2004",
  "big5",
  "win950",
  "windows950",
  "gbk",
  "win936",
  "windows936",
  "uhc",
  "win949",
  "windows949",
  "gb18030",
  "johab",
]);

/** Whether a change of a pinned setting changes how the rest of the file is read. */
function changesLexing(change: Statement["pinnedChanges"][number]): boolean {
  if (change.name === "standard_conforming_strings") return true;
  if (change.name !== "client_encoding" || change.reset) return false;
  // A computed value cannot be told safe.
  return change.value === undefined ||
    UNSAFE_CLIENT_ENCODINGS.has(change.value.toLowerCase().replace(/[^a-z0-9]/g, ""));
}

/**
 * Variables psql sets itself (and the restore's own), which it substitutes
 * for `:name`, `:'name'` and `:"name"` in SQL even under `\restrict`; a
 * name psql has not set stays as written, so only these matter.
 */
const PSQL_VARIABLES = new Set([
  "AUTOCOMMIT",
  "COMP_KEYWORD_CASE",
  "DBNAME",
  "ECHO",
  "ECHO_HIDDEN",
  "ENCODING",
  "ERROR",
  "FETCH_COUNT",
  "HIDE_TABLEAM",
  "HIDE_TOAST_COMPRESSION",
  "HISTCONTROL",
  "HISTFILE",
  "HISTSIZE",
  "HOST",
  "IGNOREEOF",
  "LASTOID",
  "LAST_ERROR_MESSAGE",
  "LAST_ERROR_SQLSTATE",
  "ON_ERROR_ROLLBACK",
  "ON_ERROR_STOP",
  "PORT",
  "PROMPT1",
  "PROMPT2",
  "PROMPT3",
  "QUIET",
  "ROW_COUNT",
  "SERVER_VERSION_NAME",
  "SERVER_VERSION_NUM",
  "SERVICE",
  "PIPELINE_COMMAND_COUNT",
  "PIPELINE_RESULT_COUNT",
  "PIPELINE_SYNC_COUNT",
  "SHELL_ERROR",
  "SHELL_EXIT_CODE",
  "SHOW_ALL_RESULTS",
  "SHOW_CONTEXT",
  "SINGLELINE",
  "SINGLESTEP",
  "SQLSTATE",
  "USER",
  "VERBOSITY",
  "VERSION",
  "VERSION_NAME",
  "VERSION_NUM",
  "WATCH_INTERVAL",
  "skill_restore_xid",
  "skill_restore_same",
]);

/**
 * Where `sql` refers to a psql variable psql would fill in: a `:` (not
 * `::`) outside quotes and comments, right before the variable's name, in
 * single or double quotes or bare, as PostgreSQL's lexer reads the tokens.
 */
async function psqlVariables(sql: string): Promise<{ name: string; line: number }[]> {
  if (!sql.includes(":")) return [];
  const { scan } = await loadPgParser();
  let tokens;
  try {
    tokens = (await scan(sql)).tokens;
  } catch {
    return [];
  }
  const bytes = encoder.encode(sql);
  const found: { name: string; line: number }[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    const [colon, next] = [tokens[i], tokens[i + 1]];
    if (colon.text !== ":" || next.start !== colon.end) continue;
    const name = next.text.replace(/^(['"])(.*)\1$/s, "$2");
    if (PSQL_VARIABLES.has(name)) {
      found.push({ name: `:${next.text}`, line: lineAt(bytes, colon.start) });
    }
  }
  return found;
}

/** Why a stretch of SQL did not parse: a meta-command after a statement, or the parser's error. */
async function explainUnparsed(
  check: RestoreSqlCheck,
  sql: string,
  firstLine: number,
  error: unknown,
): Promise<void> {
  const { scan } = await loadPgParser();
  try {
    const bytes = encoder.encode(sql);
    // psql reads a backslash outside quotes as a meta-command wherever it stands.
    const backslash = (await scan(sql)).tokens.find((token) => token.text === "\\");
    if (backslash) {
      const word = sql.slice(0).length === bytes.length
        ? sql.slice(backslash.start).match(META_COMMAND)?.[1]
        : decoder.decode(bytes.subarray(backslash.start)).match(META_COMMAND)?.[1];
      check.metaCommands.push({
        command: word ?? "\\",
        line: lineAt(bytes, backslash.start) + firstLine - 1,
      });
      return;
    }
  } catch {
    // Not even the lexer reads it; the parser's error says why.
  }
  // Parsed again after blank lines, so that the error names the file's own line.
  try {
    await parseStatements("\n".repeat(firstLine - 1) + sql);
  } catch (shifted) {
    check.unchecked ??= (shifted as Error).message;
    return;
  }
  check.unchecked ??= (error as Error).message;
}

/** 1-based line of a byte offset. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * The line (in `sql`) of the first string constant that PostgreSQL's lexer
 * would end elsewhere under other settings: a standard string in which an
 * odd run of backslashes comes right before a quote (with
 * standard_conforming_strings off, `\'` does not end it), or any string in
 * which a non-ASCII character comes right before a backslash (in SJIS, BIG5,
 * GBK, UHC, GB18030 or JOHAB that byte can start a character that takes the
 * backslash, so it no longer escapes the quote after it).
 */
async function firstLexingSensitiveString(sql: string): Promise<number | undefined> {
  const { scan } = await loadPgParser();
  let tokens;
  try {
    tokens = (await scan(sql)).tokens;
  } catch {
    return undefined;
  }
  const sensitive = tokens.find((token) =>
    token.tokenName === "SCONST" &&
    ((token.text.startsWith("'") && /(?<!\\)(?:\\\\)*\\'/.test(token.text)) ||
      /[\u0080-\u{10FFFF}]\\/u.test(token.text))
  );
  return sensitive ? lineAt(encoder.encode(sql), sensitive.start) : undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The lines of UTF-8 text, as many as each piece completes (a dump may be
 * larger than memory), without their line ends (`\n`, `\r\n`): for each
 * piece, the lines it completes, how many line ends it holds and its block;
 * last, a line that no line end completes (with neither, for it is no piece).
 */
async function* readLines(
  pieces: AsyncIterable<Piece>,
): AsyncGenerator<{ lines: string[]; lineEnds?: number; block?: number }> {
  const utf8 = new TextDecoder();
  let rest = "";
  const withoutCr = (line: string) => line.endsWith("\r") ? line.slice(0, -1) : line;
  for await (const { bytes, block } of pieces) {
    const text = utf8.decode(bytes, { stream: true });
    if (!text.includes("\n")) {
      rest += text; // one long line: joined once, when it ends
      yield { lines: [], lineEnds: 0, block };
      continue;
    }
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    yield { lines: lines.map(withoutCr), lineEnds: lines.length, block };
  }
  rest += utf8.decode();
  if (rest !== "") yield { lines: [withoutCr(rest)] };
}

/** Bytes as read, within one block of {@linkcode DIGEST_BLOCK} bytes, and that block's number. */
interface Piece {
  bytes: Uint8Array;
  block: number;
}

/** `bytes` as they are read, cut where each block of {@linkcode DIGEST_BLOCK} bytes ends. */
async function* inPieces(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Piece> {
  let block = 0;
  let filled = 0;
  for await (const chunk of bytes) {
    for (let at = 0; at < chunk.length;) {
      const taken = Math.min(DIGEST_BLOCK - filled, chunk.length - at);
      yield { bytes: chunk.subarray(at, at + taken), block };
      filled += taken;
      at += taken;
      if (filled === DIGEST_BLOCK) {
        block++;
        filled = 0;
      }
    }
  }
}

/** `bytes` in blocks of {@linkcode DIGEST_BLOCK} bytes (the last one shorter), each a new array. */
async function* inBlocks(
  bytes: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let block = new Uint8Array(DIGEST_BLOCK);
  let filled = 0;
  let number = 0;
  for await (const piece of inPieces(bytes)) {
    if (piece.block !== number) {
      yield block;
      block = new Uint8Array(DIGEST_BLOCK);
      filled = 0;
      number = piece.block;
    }
    block.set(piece.bytes, filled);
    filled += piece.bytes.length;
  }
  if (filled > 0) yield block.subarray(0, filled);
}

/**
 * The SHA-256 of each block of the bytes added, one after the other, each
 * computed off the main thread while reading goes on (waiting on the one two
 * blocks back, so that at most three blocks are held).
 */
function blockDigests() {
  const digests: Promise<Uint8Array>[] = [];
  let block = new Uint8Array(DIGEST_BLOCK);
  let filled = 0;
  return {
    async add(bytes: Uint8Array): Promise<void> {
      for (let at = 0; at < bytes.length;) {
        const taken = Math.min(DIGEST_BLOCK - filled, bytes.length - at);
        block.set(bytes.subarray(at, at + taken), filled);
        filled += taken;
        at += taken;
        if (filled === DIGEST_BLOCK) {
          await digests.at(-2);
          digests.push(digestOf(block));
          block = new Uint8Array(DIGEST_BLOCK);
          filled = 0;
        }
      }
    },
    async end(): Promise<Uint8Array> {
      if (filled > 0) digests.push(digestOf(block.subarray(0, filled)));
      return concat(await Promise.all(digests));
    },
  };
}

async function digestOf(block: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", block));
}

/** pg_dump's entry types that carry rows, not definitions (names old and new). */
const DATA_ENTRIES = [
  "TABLE DATA",
  "SEQUENCE SET",
  "BLOBS",
  "BLOB DATA",
  "BLOB",
  "LARGE OBJECTS",
  "LARGE OBJECT DATA",
  "LARGE OBJECT",
];

/** The entry types of a custom-format dump, from its table of contents (pg_restore --list). */
async function archiveEntryTypes(
  file: string,
  pgRestore: string,
  env: Record<string, string>,
): Promise<string[]> {
  const result = await runTool(pgRestore, ["--list", file], env, { captureStdout: true });
  if (result.code !== 0) {
    throw new SkillError(
      `"${file}" is not a dump pg_restore can read: ${toolErrorLine(result.stderr)}; give a ` +
        `custom-format dump (a plain one must be named *.sql), made by a pg_dump no newer ` +
        `than this pg_restore (${pgRestore})`,
    );
  }
  // "3362; 0 0 SEQUENCE SET public t_id_seq owner": the type follows the ids.
  return new TextDecoder().decode(result.stdout).split("\n")
    .map((line) => line.match(/^\d+; \d+ \d+ (.+)$/)?.[1])
    .filter((entry): entry is string => entry !== undefined)
    .map((entry) => DATA_ENTRIES.find((type) => entry.startsWith(`${type} `)) ?? entry);
}

/**
 * Whether the role may turn triggers off for its session
 * (session_replication_role = replica): a superuser, or from PostgreSQL 15 a
 * role granted SET on that parameter. Tried, not guessed; nothing stays set.
 */
async function maySkipTriggers(target: ConnectionTarget): Promise<boolean> {
  const sql = await loadSql("may_skip_triggers");
  return await withSession(target, async (session) => {
    try {
      await session.query(sql);
      return true;
    } catch (error) {
      if (isPermissionDenied(error)) return false;
      throw error;
    }
  });
}

/**
 * Why a data-only restore that kept triggers on may have failed, and what to
 * do. Said on every failure of one: whether the error came from a trigger or
 * a foreign key shows only in the server's (translated) text, which the skill
 * never reads for a decision.
 */
function triggersAdvice(target: ConnectionTarget): string {
  return `; if the error comes from a trigger or a foreign key: this data-only restore ran ` +
    `with triggers and foreign-key checks on because role ` +
    `"${target.user}" may not turn them off: restore as a superuser, or have one run ` +
    `GRANT SET ON PARAMETER session_replication_role TO "${target.user}" (PostgreSQL 15+)`;
}

/** How a dump will be restored, settled before asking for confirmation. */
export interface RestorePlan {
  /** The dump file's path, as given. */
  file: string;
  /** What reads the dump: psql a .sql file, pg_restore an archive (writing SQL that psql runs). */
  tool: "psql" | "pg_restore";
  /** In one transaction (the default), or statement by statement. */
  singleTransaction: boolean;
  /** The dump holds rows only (pg_dump --data-only): the tables exist already. */
  dataOnly: boolean;
  /**
   * Triggers and foreign-key checks are off while it runs: a data-only dump
   * whose role may turn them off. Its rows were consistent where they came
   * from; firing triggers again would run them twice (and pg_dump's empty
   * search_path breaks many), and its tables come in name order, not key order.
   */
  skipTriggers: boolean;
  /** The SQL that psql runs: the file, or what pg_restore writes for the archive. */
  source: SqlSource;
  /** What its check found (what to refuse, which lines psql skips, what no rollback undoes). */
  check: RestoreSqlCheck;
  /** The client tools the restore runs. */
  tools: ClientTools;
}

/**
 * How `file` will be restored: which tool reads it, the SQL psql will run
 * and what its check found, whether it is data only, and whether triggers go
 * off. A plain file is checked (unless `check`, its check, is given); for an
 * archive, the SQL that pg_restore writes for it is checked. Either needs a
 * psql with `\restrict`. Nothing is refused here: the caller decides from the
 * check, before anything is asked.
 */
export async function planRestore(
  target: ConnectionTarget,
  file: string,
  options: { singleTransaction: boolean; check?: RestoreSqlCheck; tools: ClientTools },
): Promise<RestorePlan> {
  const tools = options.tools;
  await requireRestrictingPsql(toolPath(tools, "psql"));
  const single = options.singleTransaction;
  let types: string[];
  let source: SqlSource;
  let check: RestoreSqlCheck;
  if (isPlainSql(file)) {
    source = sqlFileSource(file);
    check = options.check ?? await checkRestoreSql(source);
    types = check.entryTypes;
  } else {
    const pgRestore = await toolForServer(tools, "pg_restore", 0);
    const env = toolEnvironment(target, tools);
    types = await archiveEntryTypes(file, pgRestore, env);
    source = await archiveSql(file, pgRestore, env, single);
    check = await checkRestoreSql(source, { wrapped: single });
  }
  const dataOnly = types.length > 0 && types.every((type) => DATA_ENTRIES.includes(type));
  return {
    file,
    tool: isPlainSql(file) ? "psql" : "pg_restore",
    singleTransaction: single,
    dataOnly,
    skipTriggers: dataOnly && await maySkipTriggers(target),
    source,
    check,
    tools,
  };
}

/**
 * The SQL that pg_restore writes for an archive (`--file -`), without owners
 * and privileges: with `--single-transaction` when the restore runs in one,
 * so that its large objects need no transactions of their own, and with one
 * `--restrict-key` for every read, so that every read gives the same bytes.
 */
async function archiveSql(
  file: string,
  pgRestore: string,
  env: Record<string, string>,
  singleTransaction: boolean,
): Promise<SqlSource> {
  const args = [
    "--no-owner",
    "--no-privileges",
    ...(singleTransaction ? ["--single-transaction"] : []),
    ...(await toolHasRestrict(pgRestore) ? [`--restrict-key=${randomKey()}`] : []),
    "--file",
    "-",
    file,
  ];
  return {
    name: `the SQL that pg_restore writes for "${file}"`,
    read: () => toolOutput(pgRestore, args, env),
  };
}

/** Letters and digits that nobody can guess, fit for `\restrict`. */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Restores the planned dump once, through psql, stopping at the first error:
 * a plain file as it is, an archive as the SQL pg_restore writes for it; in
 * each case exactly the SQL that was checked. By default in one transaction,
 * so a failure leaves the database as it was; when the SQL ended that
 * transaction itself, the failure says what the server records. Never
 * started a second time.
 */
export async function restoreFile(
  target: ConnectionTarget,
  plan: RestorePlan,
): Promise<RestoreReport> {
  const { file, tool, dataOnly, skipTriggers, singleTransaction } = plan;
  const { path, env } = await prepare(target, "psql", plan.tools);
  if (skipTriggers) {
    env.PGOPTIONS = [env.PGOPTIONS, "-c session_replication_role=replica"].filter(Boolean)
      .join(" ");
  }
  const started = performance.now();
  await restoreThroughPsql({
    plan,
    target,
    path,
    env,
    advice: dataOnly && !skipTriggers ? triggersAdvice(target) : "",
  });
  return {
    file,
    database: target.database,
    tool,
    single_transaction: singleTransaction,
    data_only: dataOnly,
    triggers: skipTriggers ? "off" : "on",
    bytes: await size(file),
    elapsed_ms: Math.round(performance.now() - started),
    result: "restored",
  };
}

/** How messages name the dump, and a line of the SQL that psql runs. */
interface DumpWords {
  noun: string;
  line: (line: number) => string;
}

function dumpWords(plan: RestorePlan): DumpWords {
  return plan.tool === "psql"
    ? { noun: "the file", line: (line) => `line ${line}` }
    : { noun: "the archive", line: (line) => `line ${line} of the SQL pg_restore writes for it` };
}

/** What one restore run needs besides the plan. */
interface RestoreRun {
  plan: RestorePlan;
  target: ConnectionTarget;
  /** psql's path, and its environment. */
  path: string;
  env: Record<string, string>;
  /** What to add to a failure's message: what may have caused it and what to do. */
  advice: string;
}

/** The lines psql writes on stderr for the skill (with the run's key, which the file never sees). */
const MARK = {
  xid: "skill_restore_xid",
  same: "skill_restore_same",
  ended: "skill_restore_ended",
  started: "skill_restore_started",
} as const;

/**
 * The planned SQL through psql, which reads it only after `\restrict <key>`
 * (no meta-command in it runs; the key is random, so its own `\unrestrict`
 * cannot lift it), block by block as it was checked. pg_dump's and
 * pg_restore's own `\restrict`/`\unrestrict` lines, and pg_restore's own
 * BEGIN and COMMIT, are handed over blank. In one transaction, psql records the
 * transaction's id before the SQL (in a variable the SQL cannot set) and
 * checks after it that the transaction is still that one; a failure is
 * reported by what the server records for it.
 */
async function restoreThroughPsql(run: RestoreRun): Promise<void> {
  const { check, source, singleTransaction: single } = run.plan;
  const dump = dumpWords(run.plan);
  await requireRestrictingPsql(run.path);
  // Read as the check read it until the SQL says otherwise, whatever
  // PGCLIENTENCODING or the database and role defaults say.
  run.env.PGCLIENTENCODING = "UTF8";
  const key = randomKey();
  const dir = await Deno.makeTempDir({ prefix: "pgskill-restore-" });
  try {
    const prologue = join(dir, "before.psql");
    const epilogue = join(dir, "after.psql");
    if (single) {
      const transactionId = (await loadSql("restore_transaction_id")).trimEnd();
      const same = (await loadSql("restore_same_transaction")).trimEnd();
      await writePrivate(
        prologue,
        `${transactionId} \\gset\n\\warn ${MARK.xid} ${key} :skill_restore_xid\n` +
          `\\restrict ${key}\n`,
      );
      await writePrivate(
        epilogue,
        `\\unrestrict ${key}\n${same} \\gset\n\\if :skill_restore_same\n` +
          `\\warn ${MARK.same} ${key}\n\\else\n\\warn ${MARK.ended} ${key}\n` +
          // Undo what the SQL left open; what it committed is reported.
          `rollback;\n\\endif\n`,
      );
    } else {
      await writePrivate(prologue, `\\warn ${MARK.started} ${key}\n\\restrict ${key}\n`);
    }
    const args = [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      ...(single ? ["--single-transaction"] : []),
      "-f",
      prologue,
      "-f",
      "-",
      ...(single ? ["-f", epilogue] : []),
    ];
    const blank = new Set([
      ...check.ownRestrict?.lines ?? [],
      ...check.ownTransaction?.lines ?? [],
    ]);
    let stderr: string;
    let code: number | undefined;
    let stopped: SkillError | undefined;
    try {
      const result = await runTool(run.path, args, run.env, {
        stdin: linesBlanked(asChecked(source, check), blank, check.blocks.lineEnds),
        progressLabel: "restore",
      });
      ({ stderr, code } = result);
    } catch (error) {
      if (!(error instanceof ToolInterruptedError || error instanceof ToolInputError)) throw error;
      ({ stderr } = error);
      stopped = error;
    }
    const marks = markers(stderr, key);
    const failure = stopped?.message ?? `The restore failed: ${toolErrorLine(marks.stderr)}`;
    const exitCode = stopped?.exitCode ?? 1;
    if (!single) {
      if (code === 0) return;
      throw new SkillError(
        `${failure}; ` + (!marks.started
          ? `nothing of ${dump.noun} ran`
          : stopped
          ? "what ran before it stays"
          : "it stopped at the first error; what ran before it stays") +
          run.advice,
        exitCode,
      );
    }
    if (marks.ended) {
      const status = await transactionStatus(run.target, marks.xid!);
      throw new SkillError(
        `The restore did not run as one transaction: ${dump.noun} ended the restore's transaction ` +
          `itself (a COMMIT or ROLLBACK that the check before the restore could not see), so ` +
          (status === "committed"
            ? "what it ran before that stays"
            : status === "aborted"
            ? "what it ran before that was rolled back"
            : `whether what it ran before that stays is unknown (select pg_xact_status('${marks.xid}') tells)`) +
          ", and what it ran after that outside a transaction of its own stays; check the " +
          "database before restoring anything again",
      );
    }
    if (code === 0) return; // the check after the SQL found the restore's own transaction
    if (marks.xid === undefined) {
      throw new SkillError(`${failure}; nothing of ${dump.noun} ran`, exitCode);
    }
    const status = await transactionStatus(run.target, marks.xid);
    if (status === "committed" && marks.same) {
      // The answer to psql's COMMIT was lost (or psql was stopped just then).
      throw new SkillError(
        `${failure}; but the server records the restore's transaction (${marks.xid}) as ` +
          `committed: the restore is complete, do not run it again`,
        exitCode,
      );
    }
    if (status === "committed") {
      throw new SkillError(
        `${failure}; ${dump.noun} committed the restore's transaction itself before that (a COMMIT ` +
          `the check before the restore could not see), so what ran before the error stays; ` +
          `check the database before restoring anything again`,
        exitCode,
      );
    }
    if (status === "aborted") {
      throw new SkillError(
        `${failure}; ${rolledBack(check, marks.same, dump)}${run.advice}`,
        exitCode,
      );
    }
    throw new SkillError(
      `${failure}; whether the restore's transaction committed is unknown (${
        status === undefined ? "the server could not be asked" : `the server says "${status}"`
      }): check with select pg_xact_status('${marks.xid}') before restoring anything again`,
      exitCode,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * What a rolled-back restore leaves: nothing, unless the file could have
 * ended the transaction earlier unseen, or did what no rollback undoes.
 */
function rolledBack(check: RestoreSqlCheck, ranToTheEnd: boolean, dump: DumpWords): string {
  if (!ranToTheEnd && check.readsDifferently) {
    return `the restore's transaction was rolled back, but whether ${dump.noun} had ended it ` +
      `itself before the error cannot be told: ${dump.line(check.readsDifferently.line)} holds ` +
      `a string that psql reads differently once standard_conforming_strings or ` +
      `client_encoding change, which a function or DO block of ${dump.noun} can do unseen; ` +
      `check the database before restoring anything again`;
  }
  const kept = [
    ...check.escapes.slice(0, 1).map(({ what, line }) =>
      `${what} at ${dump.line(line)}` +
      (check.escapes.length > 1 ? ` (and ${check.escapes.length - 1} more such)` : "")
    ),
    ...(check.movesSequences ? ["sequences it may have moved (setval, nextval)"] : []),
  ];
  return "the transaction was rolled back, so the database is as it was" +
    (kept.length ? `, except what no rollback undoes: ${kept.join("; ")}` : "");
}

/** The skill's own lines on psql's stderr (those with this run's key), and the rest. */
function markers(stderr: string, key: string) {
  const found: { xid?: string; same: boolean; ended: boolean; started: boolean; stderr: string } = {
    same: false,
    ended: false,
    started: false,
    stderr: "",
  };
  const rest: string[] = [];
  for (const line of stderr.split("\n")) {
    const [mark, lineKey, value] = line.split(" ");
    if (lineKey !== key) {
      rest.push(line);
    } else if (mark === MARK.xid && /^\d+$/.test(value ?? "")) {
      found.xid = value;
      found.started = true;
    } else if (mark === MARK.same) {
      found.same = true;
    } else if (mark === MARK.ended) {
      found.ended = true;
    } else if (mark === MARK.started) {
      found.started = true;
    } else {
      rest.push(line);
    }
  }
  found.stderr = rest.join("\n");
  return found;
}

/** A file only the user can read, made new. */
async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
}

/**
 * A restore's SQL read again, a block at a time, each block handed on only
 * once it is found to be the block its check read (the same SHA-256): when a
 * file changed since, or pg_restore now writes other SQL, reading stops with
 * an error before the first block that differs reaches psql (and runTool
 * stops psql rather than show it an end of input).
 */
async function* asChecked(
  source: SqlSource,
  check: RestoreSqlCheck,
): AsyncGenerator<Uint8Array> {
  const { digests } = check.blocks;
  let offset = 0; // into digests
  for await (const block of inBlocks(source.read())) {
    const digest = await digestOf(block);
    const expected = digests.subarray(offset, offset + digest.length);
    if (!digest.every((byte, i) => byte === expected[i])) {
      throw new Error(
        `${source.name} changed since it was checked (from byte ${
          (offset / digest.length) * DIGEST_BLOCK
        } on)`,
      );
    }
    offset += digest.length;
    yield block;
  }
  if (offset !== digests.length) {
    throw new Error(`${source.name} changed since it was checked (it is shorter)`);
  }
}

/**
 * The blocks a check read ({@linkcode ReadBlocks}), with the lines in `blank`
 * (line numbers) handed over empty, their line ends kept, so that line
 * numbers stay true. A block that holds none of them is handed on as it is,
 * unread: the check counted its line ends.
 */
async function* linesBlanked(
  blocks: AsyncIterable<Uint8Array>,
  blank: Set<number>,
  lineEnds: Uint32Array,
): AsyncGenerator<Uint8Array> {
  const lines = [...blank];
  let line = 1; // where the next byte is
  let blanking = blank.has(1);
  let index = 0;
  for await (const block of blocks) {
    const ends = lineEnds[index++] ?? 0;
    // A blanked line L starts in this block when line L - 1 ends in it.
    if (!blanking && !lines.some((l) => l > line && l <= line + ends)) {
      line += ends;
      yield block;
      continue;
    }
    let from = 0; // bytes of this block before it are handed over (or blanked)
    let at = 0;
    while (true) {
      const newline = block.indexOf(0x0a, at);
      if (blanking) {
        if (newline === -1) {
          from = block.length;
          break;
        }
        blanking = false;
        from = newline; // the newline itself stays
      } else if (newline === -1) {
        break;
      }
      at = newline + 1;
      line++;
      if (blank.has(line)) {
        if (at > from) yield block.subarray(from, at);
        from = at;
        blanking = true;
      }
    }
    if (!blanking && from < block.length) yield block.subarray(from);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
