/**
 * Dumps and restores through pg_dump, pg_restore and psql: the SSL fallback
 * and the server version settled before a tool starts, dump files that appear
 * whole or not at all, restores in one transaction by default, progress on a
 * terminal, and a report of what happened.
 *
 * @module
 */
import { parseStatements } from "./statements.ts";
import { SkillError } from "./cli.ts";
import { replaceableTarget, replaceFile } from "./files.ts";
import { probeForTools, withSession } from "./database.ts";
import { isPermissionDenied } from "./session.ts";
import { loadSql } from "./sql.ts";
import type { ConnectionTarget } from "./resolve.ts";
import {
  type ClientTools,
  resolveClientTools,
  runTool,
  toolEnvironment,
  toolForServer,
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

/** Where a plain SQL dump controls transactions itself. */
export interface TransactionControl {
  command: string;
  line: number;
}

/**
 * The transaction control (BEGIN, COMMIT, ROLLBACK ...) a plain SQL file
 * holds, found by PostgreSQL's parser: such a file cannot be restored all or
 * nothing, since its COMMIT would keep what came before an error. psql
 * meta-commands and COPY data are not SQL and are set aside (their lines
 * kept, empty, so line numbers stay true); the file is read a line at a time.
 */
export async function transactionControlIn(file: string): Promise<TransactionControl[]> {
  const sql: string[] = [];
  let inCopyData = false;
  for await (const line of readLines(file)) {
    if (inCopyData) {
      if (line === "\\.") inCopyData = false;
      sql.push("");
    } else if (line.startsWith("\\")) {
      sql.push(""); // a psql meta-command (\connect, \restrict ...)
    } else {
      sql.push(line);
      if (COPY_FROM_STDIN.test(line)) inCopyData = true;
    }
  }
  let statements;
  try {
    statements = await parseStatements(sql.join("\n"));
  } catch (error) {
    throw new SkillError(
      `The file "${file}" cannot be checked for transaction control ` +
        `(${(error as Error).message}); fix it, or restore with --no-single-transaction`,
    );
  }
  return statements
    .filter((s) => s.refusals.some((reason) => reason.startsWith("transaction control")))
    .map((s) => ({ command: s.command, line: s.line }));
}

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

/** The line that starts a COPY whose data follows in the file, as pg_dump writes it. */
const COPY_FROM_STDIN = /^\s*COPY\b.*\bFROM\s+stdin\b.*;\s*$/i;

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

/** The entry types of a plain dump, from pg_dump's "-- Name: ...; Type: ...;" headers. */
async function plainEntryTypes(file: string): Promise<string[]> {
  const types: string[] = [];
  for await (const line of readLines(file)) {
    const header = line.match(/^-- (?:Data for )?Name: .*; Type: ([A-Z ]+); Schema: /);
    if (header) types.push(header[1]);
  }
  return types;
}

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
}

/** Which tool restores `file`, whether it is data only, and whether triggers go off. */
export async function planRestore(target: ConnectionTarget, file: string): Promise<RestorePlan> {
  const plain = isPlainSql(file);
  const tool = plain ? "psql" : "pg_restore";
  let types: string[];
  if (plain) {
    types = await plainEntryTypes(file);
  } else {
    const tools = await resolveClientTools(target);
    const pgRestore = await toolForServer(tools, "pg_restore", 0);
    types = await archiveEntryTypes(file, pgRestore, toolEnvironment(target, tools));
  }
  const dataOnly = types.length > 0 && types.every((type) => DATA_ENTRIES.includes(type));
  return { tool, dataOnly, skipTriggers: dataOnly && await maySkipTriggers(target) };
}

/** Why a data-only restore that kept triggers on may have failed, and what to do. */
function triggersAdvice(target: ConnectionTarget, stderr: string): string {
  if (!/\btrigger\b|PL\/\w+ function|foreign key/i.test(stderr)) return "";
  return `; this data-only restore ran with triggers and foreign-key checks on because role ` +
    `"${target.user}" may not turn them off: restore as a superuser, or have one run ` +
    `GRANT SET ON PARAMETER session_replication_role TO "${target.user}" (PostgreSQL 15+)`;
}

/**
 * Restores `file` once: plain SQL through psql (stopping at the first
 * error), anything else through pg_restore without owners and privileges
 * (stopping at the first error). By default in one transaction, so a failure
 * leaves the database as it was. Never started a second time.
 */
export async function restoreFile(
  target: ConnectionTarget,
  file: string,
  options: { singleTransaction: boolean; plan: RestorePlan },
): Promise<RestoreReport> {
  const { tool, dataOnly, skipTriggers } = options.plan;
  const plain = tool === "psql";
  const { path, env } = await prepare(target, tool);
  if (skipTriggers) {
    env.PGOPTIONS = [env.PGOPTIONS, "-c session_replication_role=replica"].filter(Boolean)
      .join(" ");
  }
  const single = options.singleTransaction;
  const args = plain
    ? ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...(single ? ["--single-transaction"] : []), "-f", "-"]
    : [
      "--no-owner",
      "--no-privileges",
      "--exit-on-error",
      ...(single ? ["--single-transaction"] : []),
      // pg_restore reads --dbname as a connection string whenever it holds "=":
      // given as one (dbname='...'), a database named "dbname=appdb" is that database.
      "--dbname",
      `dbname=${conninfoValue(target.database)}`,
    ];
  const started = performance.now();
  const what = single
    ? "the transaction was rolled back, so the database is as it was"
    : "what ran before it stays";
  let result;
  try {
    result = await runTool(path, args, env, { stdinFile: file, progressLabel: "restore" });
  } catch (error) {
    if (error instanceof SkillError) {
      throw new SkillError(`${error.message}; ${what}`, error.exitCode);
    }
    throw error;
  }
  const bytes = await size(file);
  const report: RestoreReport = {
    file,
    database: target.database,
    tool,
    single_transaction: single,
    data_only: dataOnly,
    triggers: skipTriggers ? "off" : "on",
    bytes,
    elapsed_ms: Math.round(performance.now() - started),
    result: "restored",
  };
  if (result.code !== 0) {
    throw new SkillError(
      `The restore failed: ${toolError(result.stderr)}; ` +
        (single ? what : `it stopped at the first error; ${what}`) +
        (dataOnly && !skipTriggers ? triggersAdvice(target, result.stderr) : ""),
    );
  }
  return report;
}
