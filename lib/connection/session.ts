/**
 * A session with a server, on npm:pg: every statement goes alone through the
 * extended protocol (Parse/Bind/Execute), so the server itself refuses a
 * message that hides a second statement; rows streamed with bounded memory
 * (pg-cursor); COPY ... TO STDOUT passed on as it arrives; exact values (see
 * `values.ts`); the server's errors with their SQLSTATE; notices; Ctrl-C
 * that cancels the running statement on the server before the script exits
 * with status 130; and a client-side limit on how long a server may stay
 * silent while a statement runs.
 *
 * The settings that decide how the server reads statement text
 * ({@linkcode PINNED_SETTINGS}) are pinned when connecting, and the server
 * reports every change of them (ParameterStatus): a session whose settings
 * moved (a function the SQL called changed them) refuses to send anything
 * more, since the text it would send was checked by a parser that reads it
 * with the pinned values.
 *
 * Sessions are opened by `connect.ts`, which decides how to reach the server;
 * this module only runs statements on an open one.
 *
 * @module
 */
// @ts-types="@types/pg"
import type pg from "pg";
// @ts-types="@types/pg-cursor"
import type Cursor from "pg-cursor";
import { SkillError } from "../core/errors.ts";
import { loadSql, SESSION_MARK } from "../sql/sql_files.ts";
import { decoderFor } from "./values.ts";

/** An error the server raised, with its SQLSTATE and fields. */
export class PgServerError extends Error {
  /** SQLSTATE code, e.g. `28P01`. */
  readonly code: string;
  /** ERROR, FATAL or PANIC (never translated). */
  readonly severity: string;
  /** The server's DETAIL line, when it gave one. */
  readonly detail?: string;
  /** The server's HINT line, when it gave one. */
  readonly hint?: string;
  /** 1-based character position in the statement, when the server gave one. */
  readonly position?: number;
  /** The error for what npm:pg received from the server; a missing code reads as XX000. */
  constructor(error: pg.DatabaseError) {
    super(error.message);
    this.name = "PgServerError";
    this.code = error.code ?? "XX000";
    this.severity = error.severity ?? "ERROR";
    this.detail = error.detail;
    this.hint = error.hint;
    this.position = error.position ? Number(error.position) : undefined;
  }
}

/** True when the server refused for lack of a privilege (SQLSTATE 42501). */
export function isPermissionDenied(error: unknown): boolean {
  return error instanceof PgServerError && error.code === "42501";
}

/** The connection broke while a statement ran, without a word from the server. */
export class ConnectionLostError extends Error {
  /** The error for a connection that broke with `cause`, whose message it quotes. */
  constructor(cause: unknown) {
    super(`the connection was lost (${cause instanceof Error ? cause.message : String(cause)})`);
    this.name = "ConnectionLostError";
  }
}

/**
 * The server said nothing for longer than the session's answer limit while a
 * statement ran (its statement timeout would have ended the statement long
 * before): the connection was closed. What the statement did is unknown.
 */
export class NoAnswerError extends ConnectionLostError {
  /** The limit that passed, in milliseconds. */
  readonly limitMs: number;
  /** The error for a server silent for `limitMs` milliseconds. */
  constructor(limitMs: number) {
    super(`no answer from the server for ${limitMs / 1000} s`);
    this.name = "NoAnswerError";
    this.limitMs = limitMs;
  }
}

/**
 * How the server must read statement text for the skill's parser and the
 * server to read it alike: with standard_conforming_strings off, `'a\''`
 * ends at a different place, and in a client encoding such as SJIS a
 * multibyte character can swallow a quote. Pinned at connection (see
 * connect.ts); the server reports both whenever they change.
 */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = {
  standard_conforming_strings: "on",
  client_encoding: "UTF8",
};

/** A pinned setting is no longer what the skill's parser assumed: nothing more is sent. */
export class UnpinnedSettingError extends SkillError {
  /** The error for pinned setting `name` now at `value` (undefined: no longer reported). */
  constructor(name: string, value: string | undefined) {
    super(
      `The session's ${name} is ${value === undefined ? "not reported" : `"${value}"`}, not "${
        PINNED_SETTINGS[name]
      }" (something the SQL ran, or the server's own ` +
        `configuration, changed it); nothing more was sent, since the skill checks SQL as the ` +
        `server reads it with ${name} = ${PINNED_SETTINGS[name]}`,
    );
  }
}

/** Transaction control the skill itself sends (never user text). */
export type TransactionCommand =
  | "begin"
  | "begin read only"
  | "begin isolation level repeatable read read only"
  | "commit"
  | "rollback"
  | "savepoint skill_step"
  | "release savepoint skill_step"
  | "rollback to savepoint skill_step"
  | "savepoint skill_run"
  | "rollback to savepoint skill_run";

/** Exit status of a script stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** A column of a result. */
export interface Column {
  /** The name the server gave. */
  name: string;
  /** The key of the column in each row: the name, made unique (`a`, `a_2`) when names repeat. */
  key: string;
  /** The type OID. */
  typeOid: number;
}

/** The whole result of one statement. */
export interface QueryResult {
  /** The result's columns, in the server's order; empty for a statement that returns none. */
  columns: Column[];
  /** The rows, in the order the server sent them, each keyed by {@linkcode Column.key}. */
  rows: Record<string, unknown>[];
  /** The command tag, e.g. `SELECT 3` or `INSERT 0 1`. */
  command: string;
}

/** What a finished streamed statement reports besides its rows. */
export interface QueryOutcome {
  /** The result's columns, in the server's order. */
  columns: Column[];
  /** The command tag, e.g. `SELECT 3`. */
  command: string;
}

/** A notice the server sent while a statement ran (NOTICE, WARNING ...). */
export interface Notice {
  /** The level the server gave it, such as NOTICE or WARNING. */
  severity: string;
  /** The notice's text. */
  message: string;
}

/**
 * What a session behind a pooler in transaction mode must give each
 * transaction itself, since the startup packet could not carry it.
 */
export interface PooledSettings {
  /** Settings (statement_timeout, lock_timeout, DateStyle ...) by name. */
  settings: Record<string, string>;
  /** Transactions start READ ONLY (a diagnostic session). */
  readOnly: boolean;
}

/** One batch of a statement's rows, with the columns. */
export interface RowBatch {
  /** The statement's columns, the same in every batch; empty when it returns none. */
  columns: Column[];
  /** The rows of this batch, each keyed by {@linkcode Column.key}. */
  rows: Record<string, unknown>[];
}

/** Where a cancel request for this session goes: the address the session used. */
export interface CancelAddress {
  /** Host name, IP address or Unix-socket folder. */
  host: string;
  /** The TCP port, or the number in the socket file's name for a Unix socket. */
  port: number;
}

const TYPES = { getTypeParser: decoderFor };
/** Every value as the server's text (CSV keeps what psql --csv shows). */
const SERVER_TEXT = { getTypeParser: () => (text: string) => text };

/**
 * Keys for columns: each name once; a repeated name gets `_2`, `_3` ... (a
 * suffix no other column has), so that two columns of the same name both
 * stay visible.
 */
export function columnKeys(names: string[]): string[] {
  const taken = new Set(names);
  const used = new Set<string>();
  return names.map((name) => {
    let key = name;
    let n = 1;
    while (used.has(key) || (key !== name && taken.has(key))) key = `${name}_${++n}`;
    used.add(key);
    return key;
  });
}

function toColumns(fields: pg.FieldDef[]): Column[] {
  const keys = columnKeys(fields.map((f) => f.name));
  return fields.map((f, i) => ({ name: f.name, key: keys[i], typeOid: f.dataTypeID }));
}

function toRecord(columns: Column[], values: unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const key = columns[i].key;
    if (key === "__proto__") {
      Object.defineProperty(row, key, { value: values[i], enumerable: true, writable: true });
    } else {
      row[key] = values[i];
    }
  }
  return row;
}

/** One open session. Not safe for concurrent statements. */
export class PgSession {
  /** Server parameters reported at startup and since (server_version, TimeZone ...). */
  readonly parameters: Map<string, string>;
  /** Notices received, oldest first. */
  readonly notices: Notice[] = [];
  #client: pg.Client;
  #pg: typeof pg;
  #address: CancelAddress;
  #tags: string[] = [];
  #lost = false;
  #closed = false;
  #pooled?: PooledSettings;
  #answerLimitMs?: number;
  #noAnswer = false;
  #lastHeard = 0;

  /**
   * Wraps a connected client; `parameters` are those reported while
   * connecting. `pooled`: the connection goes through a pooler that took no
   * settings at startup, so every transaction gets them itself.
   * `answerLimitMs`: how long the server may stay silent while a statement
   * runs before the connection is given up (none: as long as it takes).
   */
  constructor(
    options: {
      client: pg.Client;
      pg: typeof pg;
      address: CancelAddress;
      parameters: Map<string, string>;
      pooled?: PooledSettings;
      answerLimitMs?: number;
    },
  ) {
    this.#client = options.client;
    this.#pg = options.pg;
    this.#address = options.address;
    this.parameters = options.parameters;
    this.#pooled = options.pooled;
    this.#answerLimitMs = options.answerLimitMs;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    connection.stream.on("data", () => this.#lastHeard = performance.now());
    connection.on("commandComplete", (msg: { text: string }) => this.#tags.push(msg.text));
    connection.on("end", () => this.#lost = true);
    connection.on("error", () => this.#lost = true);
    this.#client.on("error", () => this.#lost = true);
    this.#client.on("notice", (msg: { severity?: string; message?: string }) => {
      this.notices.push({ severity: msg.severity ?? "NOTICE", message: msg.message ?? "" });
    });
  }

  /** True behind a pooler in transaction mode: each transaction may get another server connection. */
  get pooled(): boolean {
    return this.#pooled !== undefined;
  }

  /** The backend's process id. */
  get backendPid(): number {
    return (this.#client as unknown as { processID: number }).processID;
  }

  /**
   * Runs one statement with bound parameters and returns all of its rows.
   * Text with more than one statement is refused by the server.
   * `prepared`: a name for the statement, prepared once in this session and
   * then only executed, so the server plans it once (for the skill's own SQL
   * run many times over; ignored behind a pooler in transaction mode, where
   * the next transaction may reach a server that never saw it).
   */
  async query(
    sql: string,
    params: unknown[] = [],
    options: { standalone?: boolean; prepared?: string } = {},
  ): Promise<QueryResult> {
    return await this.#pooledTransaction(options.standalone, () => {
      this.#assertPinned();
      return this.#query(sql, params, this.#pooled ? undefined : options.prepared);
    });
  }

  /** Refuses to send anything while a pinned setting is not what the parser assumed. */
  #assertPinned(): void {
    for (const [name, value] of Object.entries(PINNED_SETTINGS)) {
      const reported = this.parameters.get(name);
      if (reported !== value) throw new UnpinnedSettingError(name, reported);
    }
  }

  async #query(sql: string, params: unknown[], name?: string): Promise<QueryResult> {
    return await this.#guard(async () => {
      this.#tags = [];
      const result = await this.#client.query({
        ...(name === undefined ? {} : { name }),
        text: sql,
        values: params,
        rowMode: "array",
        types: TYPES,
        queryMode: "extended",
      } as pg.QueryArrayConfig);
      const columns = toColumns(result.fields);
      return {
        columns,
        rows: result.rows.map((values) => toRecord(columns, values)),
        command: this.#tags.at(-1) ?? result.command ?? "",
      };
    });
  }

  /**
   * Runs one statement with bound parameters and yields its rows as they
   * arrive, `batchRows` (default 1000) at a time from a cursor, so a large
   * result is never held whole, each batch with the columns (known before the
   * first row, so a header can be written for an empty result); `serverText`
   * keeps every value as the server's text.
   * A statement that returns no rows yields one empty batch without columns.
   */
  async *batches(
    sql: string,
    params: unknown[] = [],
    options: { batchRows?: number; serverText?: boolean; standalone?: boolean } = {},
  ): AsyncGenerator<RowBatch, QueryOutcome> {
    const wrap = this.#wrapsInTransaction(options.standalone);
    if (wrap) await this.#beginPooled();
    let failed = false;
    try {
      this.#assertPinned();
      return yield* this.#batches(sql, params, options);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (wrap) await this.#endPooled(failed);
    }
  }

  async *#batches(
    sql: string,
    params: unknown[],
    options: { batchRows?: number; serverText?: boolean },
  ): AsyncGenerator<RowBatch, QueryOutcome> {
    const batchRows = options.batchRows ?? 1000;
    const { default: CursorClass } = await import("pg-cursor") as { default: typeof Cursor };
    this.#tags = [];
    const cursor = this.#client.query(
      new CursorClass(sql, params, {
        rowMode: "array",
        types: options.serverText ? SERVER_TEXT : TYPES,
      }),
    );
    let columns: Column[] | undefined;
    let failed = false;
    let total = 0;
    try {
      for (let first = true;; first = false) {
        const rows = await this.#guard(() =>
          new Promise<unknown[][]>((resolve, reject) =>
            cursor.read(batchRows, (error, rows, result) => {
              if (error) {
                failed = true;
                return reject(error);
              }
              columns ??= toColumns(result.fields);
              resolve(rows as unknown[][]);
            })
          )
        );
        if (rows.length === 0 && !first) break;
        total += rows.length;
        yield { columns: columns!, rows: rows.map((values) => toRecord(columns!, values)) };
        if (rows.length < batchRows) break;
      }
    } finally {
      // After an error the server has dropped the portal and pg-cursor has
      // synced; closing it again would wait for an answer that never comes.
      if (!this.#lost && !failed) await cursor.close().catch(() => {});
    }
    // A portal read a batch at a time ends with the count of its last batch only.
    const tag = (this.#tags.at(-1) ?? "").replace(/^(SELECT|FETCH|MOVE) \d+$/, `$1 ${total}`);
    return { columns: columns ?? [], command: tag };
  }

  /**
   * Runs one `COPY ... TO STDOUT` statement (extended protocol, so nothing
   * can ride along) and hands each piece of the server's output to `onData`
   * as it arrives, in order: the rows never become JavaScript values.
   * `onData` writing synchronously is the backpressure (nothing more is read
   * from the server meanwhile), so memory stays flat.
   */
  async copyOut(sql: string, onData: (bytes: Uint8Array) => void): Promise<QueryOutcome> {
    return await this.#pooledTransaction(false, () => {
      this.#assertPinned();
      return this.#guard(async () => {
        this.#tags = [];
        const copy = new CopyOut(sql, onData);
        this.#client.query(copy as unknown as pg.QueryConfig);
        return { columns: [], command: await copy.done };
      });
    });
  }

  /**
   * Sends the skill's own transaction control (BEGIN, COMMIT, ROLLBACK,
   * SAVEPOINT): fixed text, never a user's. Behind a pooler, a BEGIN also
   * gives the new transaction the session's settings, and in a read-only
   * session it begins READ ONLY: default_transaction_read_only cannot travel
   * in the startup packet there, and a setting made after BEGIN does not make
   * that transaction read-only.
   */
  async transaction(command: TransactionCommand): Promise<void> {
    const text = command === "begin" && this.#pooled?.readOnly ? "begin read only" : command;
    await this.simpleQuery(`${text} ${SESSION_MARK}`);
  }

  /**
   * Runs text that may hold several statements (simple protocol), as psql -c
   * does; returns the result of each statement. For fixed text of the
   * skill's and its tests' own only: user SQL goes through
   * {@linkcode query}, {@linkcode batches} or {@linkcode copyOut}, one
   * statement per message. Stops at the first error; statements not in an
   * explicit transaction ran in one implicit transaction, which the server
   * then rolls back.
   */
  async simpleQuery(sql: string): Promise<QueryResult[]> {
    const wasInTransaction = this.#inTransaction();
    const results = await this.#simple(sql);
    if (this.#pooled && !wasInTransaction && this.#inTransaction()) await this.#applySettings();
    return results;
  }

  /** True while the session is inside a transaction block (or a failed one). */
  #inTransaction(): boolean {
    const status = (this.#client as unknown as { _txStatus?: string })._txStatus;
    return status === "T" || status === "E";
  }

  /** Behind a pooler, a statement outside a transaction gets one of its own. */
  #wrapsInTransaction(standalone: boolean | undefined): boolean {
    return this.#pooled !== undefined && !standalone && !this.#inTransaction();
  }

  async #pooledTransaction<T>(standalone: boolean | undefined, run: () => Promise<T>): Promise<T> {
    if (!this.#wrapsInTransaction(standalone)) return await run();
    await this.#beginPooled();
    let result: T;
    try {
      result = await run();
    } catch (error) {
      await this.#endPooled(true);
      throw error;
    }
    await this.#endPooled(false);
    return result;
  }

  async #beginPooled(): Promise<void> {
    await this.#simple(`${this.#pooled!.readOnly ? "begin read only" : "begin"} ${SESSION_MARK}`);
    await this.#applySettings();
  }

  async #endPooled(failed: boolean): Promise<void> {
    if (this.#lost) return;
    await this.#simple(
      `${failed || this.#pooled!.readOnly ? "rollback" : "commit"} ${SESSION_MARK}`,
    );
  }

  /** The session's settings, for the current transaction only. */
  async #applySettings(): Promise<void> {
    const settings = Object.entries(this.#pooled!.settings);
    if (settings.length === 0) return;
    await this.#query(await loadSql("apply_session_settings"), [
      settings.map(([name]) => name),
      settings.map(([, value]) => value),
    ]);
  }

  async #simple(sql: string): Promise<QueryResult[]> {
    return await this.#guard(async () => {
      this.#tags = [];
      const outcome = await this.#client.query({
        text: sql,
        rowMode: "array",
        types: TYPES,
      } as pg.QueryArrayConfig);
      const results = (Array.isArray(outcome) ? outcome : [outcome]) as pg.QueryArrayResult[];
      const tags = this.#tags;
      return results.map((result, i) => {
        const columns = toColumns(result.fields ?? []);
        return {
          columns,
          rows: result.rows.map((values) => toRecord(columns, values)),
          command: tags[i] ?? result.command ?? "",
        };
      });
    });
  }

  /**
   * Asks the server to cancel whatever this session is running, over a
   * connection of its own (a cancel request, as libpq's PQcancel sends it).
   */
  async cancel(): Promise<void> {
    const client = this.#client as unknown as { processID: number; secretKey: number };
    const connection = new this.#pg.Connection() as unknown as PgConnection;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 5000);
      function done() {
        clearTimeout(timer);
        connection.stream.destroy();
        resolve();
      }
      connection.on("error", done);
      connection.on("end", done);
      connection.on("connect", () => connection.cancel(client.processID, client.secretKey));
      const { host, port } = this.#address;
      if (host.startsWith("/")) connection.connect(`${host}/.s.PGSQL.${port}`);
      else connection.connect(port, host);
    });
  }

  /**
   * Runs a statement so that Ctrl-C cancels it on the server (a second Ctrl-C
   * leaves at once), and turns the driver's errors into this module's.
   */
  async #guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new SkillError("The session is already closed");
    let interrupted = false;
    let abandoned = false;
    const onInterrupt = () => {
      if (interrupted) {
        // A second Ctrl-C stops waiting for the server: the connection is closed, so the
        // statement's promise ends now and the script exits through its own error path.
        abandoned = true;
        this.#lost = true;
        (this.#client as unknown as { connection: PgConnection }).connection.stream.destroy();
        return;
      }
      interrupted = true;
      this.cancel().catch(() => {});
    };
    Deno.addSignalListener("SIGINT", onInterrupt);
    const silence = this.#watchSilence();
    try {
      const result = await run();
      if (interrupted) {
        throw new SkillError(
          "Interrupted; the statement had already finished when the cancel reached the server",
          EXIT_INTERRUPTED,
        );
      }
      return result;
    } catch (error) {
      if (abandoned) {
        throw new SkillError(
          "Interrupted twice: the connection was closed without waiting for the server, " +
            "so whether the statement took effect is unknown; check before running it again",
          EXIT_INTERRUPTED,
        );
      }
      if (interrupted && !(error instanceof SkillError)) {
        throw new SkillError(
          "Interrupted; the statement was cancelled on the server",
          EXIT_INTERRUPTED,
        );
      }
      // The answer limit passed: whatever came after (the cancel's own error) is its doing.
      if (this.#noAnswer) throw new NoAnswerError(this.#answerLimitMs!);
      if (error instanceof this.#pg.DatabaseError) throw new PgServerError(error);
      if (this.#lost) throw new ConnectionLostError(error);
      throw error;
    } finally {
      silence.stop();
      Deno.removeSignalListener("SIGINT", onInterrupt);
    }
  }

  /**
   * While a statement runs: when the server has sent nothing for the answer
   * limit, ask it to cancel and close the connection, so that a server (or a
   * proxy) that stopped answering ends the script instead of hanging it.
   * Every byte received counts, so a long result that keeps arriving is
   * never cut off.
   */
  #watchSilence(): { stop(): void } {
    const limit = this.#answerLimitMs;
    if (limit === undefined) return { stop() {} };
    this.#lastHeard = performance.now();
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      const silent = performance.now() - this.#lastHeard;
      if (silent < limit) {
        timer = setTimeout(check, limit - silent);
        return;
      }
      this.#noAnswer = true;
      this.#lost = true;
      // The cancel request first (the statement must not go on without us), then the close.
      const connection = (this.#client as unknown as { connection: PgConnection }).connection;
      this.cancel().catch(() => {}).finally(() => connection.stream.destroy());
    };
    timer = setTimeout(check, limit);
    return { stop: () => clearTimeout(timer) };
  }

  /**
   * The session as a one-connection pool, for a library that runs its own
   * catalog reads in one transaction of its own (pg-delta's extract, which
   * begins READ ONLY and ends what it began): `connect` lends this session's
   * client, `release` gives it back and never ends it. Its queries use pg's
   * own value parsing, as such a library expects, not {@linkcode query}'s.
   */
  lentPool(): LentPool {
    const client = this.#client;
    const lent = {
      query: (text: string, values?: unknown[]) => client.query(text, values),
      release: () => {},
    };
    return { connect: () => Promise.resolve(lent), end: () => Promise.resolve() };
  }

  /** Ends the session politely and closes the socket; never hangs on a dead server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    if (this.#lost) {
      connection.stream.destroy();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#client.end().catch(() => {}),
      new Promise<void>((resolve) => timer = setTimeout(resolve, 2000)),
    ]);
    clearTimeout(timer);
    connection.stream.destroy();
  }
}

/**
 * `COPY ... TO STDOUT` as pg's client runs a query of its own kind (a
 * "submittable"): pg parses the protocol and hands over each CopyData
 * message. (npm:pg-copy-streams takes the socket over instead, and under
 * Deno's Node layer a socket paused that way after sitting idle is never
 * read again: the COPY hangs.)
 */
class CopyOut {
  readonly done: Promise<string>;
  #command = "";
  #resolve!: (command: string) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  constructor(readonly text: string, readonly onData: (bytes: Uint8Array) => void) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
  /** Parse, Bind, Describe, Execute, Sync: the server takes exactly one statement. */
  submit(connection: ExtendedConnection): void {
    connection.stream.cork?.();
    try {
      connection.parse({ text: this.text });
      connection.bind({});
      connection.describe({ type: "P" });
      connection.execute({});
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
  }
  handleCopyData(message: { chunk: Uint8Array }): void {
    if (this.#settled) return;
    try {
      this.onData(message.chunk);
    } catch (error) {
      this.#fail(error);
    }
  }
  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail("COPY FROM STDIN is not supported here");
  }
  handleCommandComplete(message: { text: string }): void {
    this.#command = message.text;
  }
  handleReadyForQuery(): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve(this.#command);
    }
  }
  handleError(error: unknown): void {
    this.#fail(error);
  }
  #fail(error: unknown): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(error);
    }
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/** The extended-protocol messages of pg's Connection. */
interface ExtendedConnection {
  stream: { cork?(): void; uncork?(): void };
  parse(message: { text: string }): void;
  bind(message: Record<string, never>): void;
  describe(message: { type: "P" }): void;
  execute(message: Record<string, never>): void;
  sync(): void;
}

/** The parts of pg's (untyped) Connection this module uses. */
export interface PgConnection {
  /** The socket the protocol runs on. */
  stream: {
    destroy(): void;
    on(event: string, listener: (data: Uint8Array) => void): void;
    once(event: string, listener: (data: Uint8Array) => void): void;
  };
  /** Calls `listener` for each protocol message named `event` (`parameterStatus` ...). */
  on(event: string, listener: (...args: never[]) => void): void;
  /** Opens the socket: a TCP port and host, or the path of a Unix socket file. */
  connect(port: number | string, host?: string): void;
  /** Sends a cancel request for the backend with this process id and secret key. */
  cancel(processID: number, secretKey: number): void;
}

/** What {@linkcode PgSession.lentPool} returns: the part of pg.Pool a catalog reader uses. */
export interface LentPool {
  /** Lends the session's client; its `release` gives it back. */
  connect(): Promise<{
    /** pg's own query: its result (rows as objects, pg's value parsing). */
    query(text: string, values?: unknown[]): Promise<unknown>;
    /** Gives the client back; the session stays open. */
    release(): void;
  }>;
  /** Nothing to end: the session is closed by its owner. */
  end(): Promise<void>;
}
