/**
 * Dumps and restores through pg_dump, pg_restore and psql: the SSL fallback
 * and the server version settled before a tool starts, dump files that appear
 * whole or not at all, restores in one transaction by default, progress on a
 * terminal, and a report of what happened.
 *
 * @module
 */
import { join } from "node:path";
import { parseStatements, type Statement } from "./statements.ts";
import { SkillError } from "./cli.ts";
import { replaceableTarget, replaceFile } from "./files.ts";
import { probeForTools, transactionStatus, withSession } from "./database.ts";
import { isPermissionDenied } from "./session.ts";
import { loadSql } from "./sql.ts";
import type { ConnectionTarget } from "./resolve.ts";
import {
  type ClientTools,
  requireRestrictingPsql,
  resolveClientTools,
  runTool,
  toolEnvironment,
  toolForServer,
  ToolInputError,
  ToolInterruptedError,
  toolPath,
} from "./tools.ts";

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
  file: string;
  format: "custom" | "plain";
  bytes: number;
  elapsed_ms: number;
  database: string;
  server_version: string;
}

function sizeNow(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

async function size(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** The client tools, checked against the server, and the tool environment. */
async function prepare(target: ConnectionTarget, tool: "pg_dump" | "pg_restore" | "psql") {
  const probe = await probeForTools(target);
  const tools: ClientTools = await resolveClientTools(target);
  const path = await toolForServer(tools, tool, probe.serverMajor);
  return { probe, path, env: toolEnvironment(target, tools, probe.sslmode) };
}

/** The last meaningful line a tool wrote on stderr. */
function toolError(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|fatal/i.test(l)) ?? lines.at(-1) ?? "no message";
}

/**
 * Dumps to `file` through a temporary file beside it, renamed into place only
 * when pg_dump succeeds: on any failure no file appears and an existing file
 * of that name is left as it was. The target is resolved once, before
 * connecting: a regular file or nothing (a symlink to one is followed), never
 * a folder, FIFO or device node (files.ts's replaceFile says why the rename
 * cannot be redirected).
 */
export async function dumpToFile(
  target: ConnectionTarget,
  kind: DumpKind,
  file: string,
): Promise<DumpReport> {
  const destination = await replaceableTarget(file);
  const { probe, path, env } = await prepare(target, "pg_dump");
  const plain = isPlainSql(file);
  const started = performance.now();
  // The temporary file is made private first: pg_dump writes into it and keeps its mode.
  await replaceFile(destination, async (temp) => {
    let result;
    try {
      result = await runTool(
        path,
        [...DUMP_OPTIONS[kind], plain ? "--format=plain" : "--format=custom", "--file", temp.path],
        env,
        { progress: { label: `${kind} dump`, bytes: () => sizeNow(temp.path) } },
      );
    } catch (error) {
      if (error instanceof SkillError) {
        throw new SkillError(`${error.message}; no file was written`, error.exitCode);
      }
      throw new SkillError(`The dump failed: ${(error as Error).message}; no file was written`);
    }
    if (result.code !== 0) {
      throw new SkillError(`pg_dump failed: ${toolError(result.stderr)}; no file was written`);
    }
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
  options: { comments: boolean } = { comments: true },
): Promise<string> {
  const { path, env } = await prepare(target, "pg_dump");
  const args = [...DUMP_OPTIONS.schema, ...(options.comments ? [] : ["--no-comments"])];
  const result = await runTool(path, [...args, "--format=plain"], env, { captureStdout: true });
  if (result.code !== 0) throw new SkillError(`pg_dump failed: ${toolError(result.stderr)}`);
  return new TextDecoder().decode(result.stdout);
}

/** A value quoted for a libpq connection string: in quotes, \ and ' escaped. */
export function conninfoValue(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** What a restore did. */
export interface RestoreReport {
  file: string;
  database: string;
  tool: "psql" | "pg_restore";
  single_transaction: boolean;
  data_only: boolean;
  triggers: "on" | "off";
  bytes: number;
  elapsed_ms: number;
  result: string;
}

/** A statement or psql meta-command of a plain SQL file, where it starts. */
export interface FileCommand {
  command: string;
  line: number;
}

/** Where a plain SQL dump controls transactions itself. */
export type TransactionControl = FileCommand;

/**
 * What the check of a plain .sql file found, read a line at a time the way
 * psql reads it: SQL (split and classified by PostgreSQL's parser), COPY
 * rows (after a COPY ... FROM stdin that the parser confirms ends its line,
 * up to `\.`), and psql meta-commands (a backslash where psql's lexer is
 * outside quotes and comments). Nothing here is a guard: psql runs the file under
 * `\restrict` and the transaction is checked on the server; this says what
 * is wrong before anything is asked or run.
 */
export interface PlainFileCheck {
  /** psql meta-commands, each with its line (after a statement on a line: the first one). */
  metaCommands: FileCommand[];
  /** BEGIN, COMMIT, ROLLBACK ...: such a file cannot run in the restore's one transaction. */
  transactionControl: TransactionControl[];
  /** Statements that change standard_conforming_strings, which the check reads as on. */
  lexingChanges: FileCommand[];
  /** pg_dump's own `\restrict <key>` line and its `\unrestrict <key>` line, if it has them. */
  ownRestrict?: { key: string; lines: number[] };
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
}

/** A line that may end a COPY ... FROM stdin whose rows follow (confirmed by the parser). */
const COPY_FROM_STDIN_CANDIDATE = /\bstdin\b.*;\s*$/i;

/** psql's meta-command word: a backslash and letters, or one other character (`\!`, `\?`). */
const META_COMMAND = /^\s*(\\(?:[A-Za-z]+|[^A-Za-z\s]?))/;

/** The dump's own `\restrict <key>`, as pg_dump writes it. */
const OWN_RESTRICT = /^\\restrict ([A-Za-z0-9]+)$/;

/**
 * Reads a plain SQL file as psql will and says what it holds that decides
 * whether and how it may be restored; see {@linkcode PlainFileCheck}. The file
 * is read a line at a time (a dump may be larger than memory).
 */
export async function checkPlainFile(file: string): Promise<PlainFileCheck> {
  const check: PlainFileCheck = {
    metaCommands: [],
    transactionControl: [],
    lexingChanges: [],
    escapes: [],
    movesSequences: false,
    entryTypes: [],
  };
  let chunk: string[] = []; // SQL lines since the last COPY rows, meta-commands blanked
  let chunkStart = 1;
  let lineNumber = 0;
  let inCopyRows = false;
  let seenSql = false;
  let unrestrictLine: number | undefined;
  for await (const line of readLines(file)) {
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
        await inspectChunk(check, chunk, chunkStart, statements!);
        chunk = [];
        inCopyRows = true;
      }
    }
  }
  if (unrestrictLine !== undefined) check.ownRestrict!.lines.push(unrestrictLine);
  await inspectChunk(check, chunk, chunkStart);
  return check;
}

function isBlankOrComment(line: string): boolean {
  const text = line.trim();
  return text === "" || text.startsWith("--");
}

/** Whether, after `lines`, psql's lexer is outside quotes and comments (a backslash is a command). */
async function outsideQuotesAndComments(lines: string[]): Promise<boolean> {
  if (lines.every(isBlankOrComment)) return true;
  const { scan } = await loadScanner();
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

type Scanner = Pick<typeof import("libpg-query"), "scan">;
let scanner: Promise<Scanner> | undefined;

/** PostgreSQL's own lexer (the parser's module, loaded on first use). */
function loadScanner(): Promise<Scanner> {
  scanner ??= import("libpg-query").then(async (module) => {
    await module.loadModule();
    return module;
  });
  return scanner;
}

/**
 * Adds what one stretch of SQL (between COPY rows) holds to `check`:
 * `statements` when the stretch ends with a COPY ... FROM stdin already
 * parsed, else it is parsed here (the file's last stretch).
 */
async function inspectChunk(
  check: PlainFileCheck,
  lines: string[],
  firstLine: number,
  parsed?: Statement[],
): Promise<void> {
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
    if (statement.endsTransaction) {
      check.transactionControl.push({ command: statement.command, line });
    }
    // client_encoding is not pinned for a restore: pg_dump sets the dump's own.
    if (statement.pinnedChanges.includes("standard_conforming_strings")) {
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
}

/** Why a stretch of SQL did not parse: a meta-command after a statement, or the parser's error. */
async function explainUnparsed(
  check: PlainFileCheck,
  sql: string,
  firstLine: number,
  error: unknown,
): Promise<void> {
  const { scan } = await loadScanner();
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
  const { scan } = await loadScanner();
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

/** The lines of a text file, read a chunk at a time (a dump may be larger than memory). */
async function* readLines(file: string): AsyncGenerator<string> {
  const input = await Deno.open(file);
  let rest = "";
  for await (const chunk of input.readable.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts.map((line) => line.replace(/\r$/, ""));
  }
  if (rest !== "") yield rest.replace(/\r$/, "");
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
      `"${file}" is not a dump pg_restore can read: ${toolError(result.stderr)}; give a ` +
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

/** Why a data-only restore that kept triggers on may have failed, and what to do. */
function triggersAdvice(target: ConnectionTarget, stderr: string): string {
  if (!/\btrigger\b|PL\/\w+ function|foreign key/i.test(stderr)) return "";
  return `; this data-only restore ran with triggers and foreign-key checks on because role ` +
    `"${target.user}" may not turn them off: restore as a superuser, or have one run ` +
    `GRANT SET ON PARAMETER session_replication_role TO "${target.user}" (PostgreSQL 15+)`;
}

/** How a dump will be restored, settled before asking for confirmation. */
export interface RestorePlan {
  tool: "psql" | "pg_restore";
  /** The dump holds rows only (pg_dump --data-only): the tables exist already. */
  dataOnly: boolean;
  /**
   * Triggers and foreign-key checks are off while it runs: a data-only dump
   * whose role may turn them off. Its rows were consistent where they came
   * from; firing triggers again would run them twice (and pg_dump's empty
   * search_path breaks many), and its tables come in name order, not key order.
   */
  skipTriggers: boolean;
  /** A plain .sql file: what its check found (which lines psql skips, what no rollback undoes). */
  check?: PlainFileCheck;
}

/**
 * Which tool restores `file`, whether it is data only, and whether triggers
 * go off. A plain file is checked (unless `check` is given) and needs a psql
 * with `\restrict`; a refusal comes here, before anything is asked.
 */
export async function planRestore(
  target: ConnectionTarget,
  file: string,
  check?: PlainFileCheck,
): Promise<RestorePlan> {
  const tools = await resolveClientTools(target);
  let types: string[];
  if (isPlainSql(file)) {
    await requireRestrictingPsql(toolPath(tools, "psql"));
    check ??= await checkPlainFile(file);
    types = check.entryTypes;
  } else {
    const pgRestore = await toolForServer(tools, "pg_restore", 0);
    types = await archiveEntryTypes(file, pgRestore, toolEnvironment(target, tools));
  }
  const dataOnly = types.length > 0 && types.every((type) => DATA_ENTRIES.includes(type));
  return {
    tool: check ? "psql" : "pg_restore",
    dataOnly,
    skipTriggers: dataOnly && await maySkipTriggers(target),
    ...(check ? { check } : {}),
  };
}

/**
 * Restores `file` once: plain SQL through psql (stopping at the first
 * error), anything else through pg_restore without owners and privileges
 * (stopping at the first error). By default in one transaction, so a failure
 * leaves the database as it was; a plain file's failure says what the server
 * records, when the file ended that transaction itself. Never started a
 * second time.
 */
export async function restoreFile(
  target: ConnectionTarget,
  file: string,
  options: { singleTransaction: boolean; plan: RestorePlan },
): Promise<RestoreReport> {
  const { tool, dataOnly, skipTriggers } = options.plan;
  const { path, env } = await prepare(target, tool);
  if (skipTriggers) {
    env.PGOPTIONS = [env.PGOPTIONS, "-c session_replication_role=replica"].filter(Boolean)
      .join(" ");
  }
  const single = options.singleTransaction;
  const started = performance.now();
  const run = {
    file,
    path,
    env,
    single,
    advice: (stderr: string) => dataOnly && !skipTriggers ? triggersAdvice(target, stderr) : "",
  };
  if (tool === "psql") {
    const check = options.plan.check ?? await checkPlainFile(file);
    await restorePlain({ ...run, target, check });
  } else {
    await restoreArchive({ ...run, database: target.database });
  }
  return {
    file,
    database: target.database,
    tool,
    single_transaction: single,
    data_only: dataOnly,
    triggers: skipTriggers ? "off" : "on",
    bytes: await size(file),
    elapsed_ms: Math.round(performance.now() - started),
    result: "restored",
  };
}

/** What one restore run needs besides the plan. */
interface RestoreRun {
  file: string;
  path: string;
  env: Record<string, string>;
  single: boolean;
  advice: (stderr: string) => string;
}

/** pg_restore of a custom-format archive, stopping at the first error. */
async function restoreArchive(run: RestoreRun & { database: string }): Promise<void> {
  const args = [
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    ...(run.single ? ["--single-transaction"] : []),
    // pg_restore reads --dbname as a connection string whenever it holds "=":
    // given as one (dbname='...'), a database named "dbname=appdb" is that database.
    "--dbname",
    `dbname=${conninfoValue(run.database)}`,
  ];
  const what = run.single
    ? "the transaction was rolled back, so the database is as it was"
    : "it stopped at the first error; what ran before it stays";
  let result;
  try {
    result = await runTool(run.path, args, run.env, {
      stdinFile: run.file,
      progressLabel: "restore",
    });
  } catch (error) {
    if (error instanceof SkillError) {
      throw new SkillError(`${error.message}; ${what}`, error.exitCode);
    }
    throw error;
  }
  if (result.code !== 0) {
    throw new SkillError(
      `The restore failed: ${toolError(result.stderr)}; ${what}${run.advice(result.stderr)}`,
    );
  }
}

/** The lines psql writes on stderr for the skill (with the run's key, which the file never sees). */
const MARK = {
  xid: "skill_restore_xid",
  same: "skill_restore_same",
  ended: "skill_restore_ended",
  started: "skill_restore_started",
} as const;

/**
 * A plain file through psql, which reads it only after `\restrict <key>`
 * (no meta-command of the file runs; the key is random, so the file's own
 * `\unrestrict` cannot lift it). pg_dump's own `\restrict`/`\unrestrict`
 * lines are handed over blank. In one transaction, psql records the
 * transaction's id before the file (in a variable the file cannot set) and
 * checks after it that the transaction is still that one; a failure is
 * reported by what the server records for it.
 */
async function restorePlain(
  run: RestoreRun & { target: ConnectionTarget; check: PlainFileCheck },
): Promise<void> {
  await requireRestrictingPsql(run.path);
  // Read as the check read it until the file says otherwise, whatever
  // PGCLIENTENCODING or the database and role defaults say.
  run.env.PGCLIENTENCODING = "UTF8";
  const key = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const dir = await Deno.makeTempDir({ prefix: "pgskill-restore-" });
  try {
    const prologue = join(dir, "before.psql");
    const epilogue = join(dir, "after.psql");
    if (run.single) {
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
          // Undo what the file left open; what it committed is reported.
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
      ...(run.single ? ["--single-transaction"] : []),
      "-f",
      prologue,
      "-f",
      "-",
      ...(run.single ? ["-f", epilogue] : []),
    ];
    const blank = new Map(
      (run.check.ownRestrict?.lines ?? []).map((line, i) => [
        line,
        i === 0
          ? `\\restrict ${run.check.ownRestrict!.key}`
          : `\\unrestrict ${run.check.ownRestrict!.key}`,
      ]),
    );
    let stderr: string;
    let code: number | undefined;
    let stopped: SkillError | undefined;
    try {
      const result = await runTool(run.path, args, run.env, {
        stdin: linesBlanked(run.file, blank),
        progressLabel: "restore",
      });
      ({ stderr, code } = result);
    } catch (error) {
      if (!(error instanceof ToolInterruptedError || error instanceof ToolInputError)) throw error;
      ({ stderr } = error);
      stopped = error;
    }
    const marks = markers(stderr, key);
    const failure = stopped?.message ?? `The restore failed: ${toolError(marks.stderr)}`;
    const exitCode = stopped?.exitCode ?? 1;
    if (!run.single) {
      if (code === 0) return;
      throw new SkillError(
        `${failure}; ` + (!marks.started
          ? "nothing of the file ran"
          : stopped
          ? "what ran before it stays"
          : "it stopped at the first error; what ran before it stays") +
          run.advice(marks.stderr),
        exitCode,
      );
    }
    if (marks.ended) {
      const status = await transactionStatus(run.target, marks.xid!);
      throw new SkillError(
        `The restore did not run as one transaction: the file ended the restore's transaction ` +
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
    if (code === 0) return; // the check after the file found the restore's own transaction
    if (marks.xid === undefined) {
      throw new SkillError(`${failure}; nothing of the file ran`, exitCode);
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
        `${failure}; the file committed the restore's transaction itself before that (a COMMIT ` +
          `the check before the restore could not see), so what ran before the error stays; ` +
          `check the database before restoring anything again`,
        exitCode,
      );
    }
    if (status === "aborted") {
      throw new SkillError(
        `${failure}; ${rolledBack(run.check, marks.same)}${run.advice(marks.stderr)}`,
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
function rolledBack(check: PlainFileCheck, ranToTheEnd: boolean): string {
  if (!ranToTheEnd && check.readsDifferently) {
    return `the restore's transaction was rolled back, but whether the file had ended it ` +
      `itself before the error cannot be told: line ${check.readsDifferently.line} holds a ` +
      `string that psql reads differently once standard_conforming_strings or client_encoding ` +
      `change, which a function or DO block of the file can do unseen; check the database ` +
      `before restoring anything again`;
  }
  const kept = [
    ...check.escapes.slice(0, 1).map(({ what, line }) =>
      `${what} at line ${line}` +
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
 * The bytes of `file`, with the lines in `blank` (line number to the text
 * the check saw there) handed over empty, so that line numbers stay true.
 * A line that no longer holds that text means the file changed since it was
 * checked: reading stops with an error (and runTool stops psql).
 */
async function* linesBlanked(
  file: string,
  blank: Map<number, string>,
): AsyncGenerator<Uint8Array> {
  const input = await Deno.open(file, { read: true });
  const last = Math.max(0, ...blank.keys());
  let line = 1;
  let held: Uint8Array[] | undefined = blank.has(1) ? [] : undefined; // a line to blank
  const release = (parts: Uint8Array[]) => {
    if (decoder.decode(concat(parts)).replace(/\r$/, "") !== blank.get(line)) {
      throw new Error(`line ${line} of "${file}" changed since it was checked`);
    }
  };
  try {
    for await (const chunk of input.readable) {
      let from = 0; // bytes of this chunk before it are handed over (or held)
      let at = 0;
      while (held !== undefined || line <= last) {
        const newline = chunk.indexOf(0x0a, at);
        if (held !== undefined) {
          held.push(chunk.slice(at, newline === -1 ? chunk.length : newline));
          if (newline === -1) {
            from = chunk.length;
            break;
          }
          release(held);
          held = undefined;
          from = newline; // the newline itself stays
        } else if (newline === -1) {
          break;
        }
        at = newline + 1;
        line++;
        if (blank.has(line)) {
          if (at > from) yield chunk.slice(from, at);
          from = at;
          held = [];
        }
      }
      if (held === undefined && from < chunk.length) yield chunk.slice(from);
    }
    if (held !== undefined) release(held);
  } finally {
    try {
      input.close();
    } catch {
      // Closed already: reading it to the end (or stopping early) closes it.
    }
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
