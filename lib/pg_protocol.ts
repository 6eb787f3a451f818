/**
 * A small PostgreSQL wire-protocol (v3) client: startup, password / MD5 /
 * SCRAM-SHA-256 authentication, the extended query protocol with bound
 * parameters, row streaming, and the simple protocol for multi-statement text.
 *
 * Why not npm:pg: importing it pulls in Node's net, tls, dns and crypto
 * layers, about 40 ms before anything happens, which alone doubles the cost of
 * a `psql -c 'select 1'`. This client uses Deno's own sockets and WebCrypto and
 * loads Node's TLS only when an unverified SSL connection is asked for.
 *
 * Transport and SSL negotiation live in `connect.ts`; this module speaks the
 * protocol over any {@linkcode ByteStream}.
 *
 * @module
 */

/** The byte stream a session runs over: a Deno socket or an adapted TLS socket. */
export interface ByteStream {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
}

/** An error the server sent (ErrorResponse), with its SQLSTATE and fields. */
export class PgServerError extends Error {
  /** SQLSTATE code, e.g. `28P01`. */
  readonly code: string;
  /** ERROR, FATAL or PANIC. */
  readonly severity: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement, when the server gave one. */
  readonly position?: number;
  constructor(fields: Map<string, string>) {
    super(fields.get("M") ?? "unknown server error");
    this.name = "PgServerError";
    this.code = fields.get("C") ?? "XX000";
    this.severity = fields.get("V") ?? fields.get("S") ?? "ERROR";
    this.detail = fields.get("D");
    this.hint = fields.get("H");
    const position = fields.get("P");
    this.position = position ? Number(position) : undefined;
  }
}

/** The connection broke or the server spoke out of turn. */
export class PgProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PgProtocolError";
  }
}

/** A column of a result. */
export interface Column {
  name: string;
  /** The type OID, used to turn text values into JavaScript values. */
  typeOid: number;
}

/** The whole result of one statement. */
export interface QueryResult {
  columns: Column[];
  rows: Record<string, unknown>[];
  /** The command tag, e.g. `SELECT 3` or `INSERT 0 1`. */
  command: string;
}

/** A notice the server sent while a statement ran (NOTICE, WARNING ...). */
export interface Notice {
  severity: string;
  message: string;
}

/** What a session needs to start. */
export interface StartupParams {
  user: string;
  database: string;
  /** Run-time parameters sent in the startup packet (application_name, GUCs). */
  parameters: Record<string, string>;
  /** The password, if one is configured; asked for only when the server wants one. */
  password?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds one protocol message: a type byte, an Int32 length, a body. */
class MessageWriter {
  #parts: Uint8Array[] = [];
  #size = 0;
  #push(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#size += bytes.length;
    return this;
  }
  int16(value: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setInt16(0, value);
    return this.#push(b);
  }
  int32(value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value);
    return this.#push(b);
  }
  cstring(text: string): this {
    this.#push(encoder.encode(text));
    return this.#push(new Uint8Array(1));
  }
  bytes(bytes: Uint8Array): this {
    return this.#push(bytes);
  }
  /** The finished message; `type` is omitted for startup-phase packets. */
  build(type?: string): Uint8Array {
    const header = type ? 5 : 4;
    const out = new Uint8Array(header + this.#size);
    const view = new DataView(out.buffer);
    if (type) out[0] = type.charCodeAt(0);
    view.setInt32(type ? 1 : 0, this.#size + 4);
    let offset = header;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** Reads a message body field by field. */
class BodyReader {
  #view: DataView;
  offset = 0;
  constructor(readonly body: Uint8Array) {
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }
  int16(): number {
    const v = this.#view.getInt16(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.#view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }
  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    const text = decoder.decode(this.body.subarray(this.offset, end));
    this.offset = end + 1;
    return text;
  }
  bytes(length: number): Uint8Array {
    const b = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return b;
  }
  rest(): Uint8Array {
    return this.body.subarray(this.offset);
  }
}

interface Message {
  type: string;
  body: Uint8Array;
}

/** Buffers reads from a stream and cuts them into protocol messages. */
class MessageReader {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  constructor(private stream: ByteStream) {}

  async #fill(need: number): Promise<void> {
    while (this.#end - this.#start < need) {
      if (this.#start > 0 && this.#buffer.length - this.#start < need) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#buffer.length - this.#start < need) {
        const bigger = new Uint8Array(Math.max(need, this.#buffer.length * 2));
        bigger.set(this.#buffer.subarray(this.#start, this.#end));
        this.#end -= this.#start;
        this.#start = 0;
        this.#buffer = bigger;
      }
      const n = await this.stream.read(this.#buffer.subarray(this.#end));
      if (n === null) throw new PgProtocolError("the server closed the connection");
      this.#end += n;
    }
  }

  async next(): Promise<Message> {
    await this.#fill(5);
    const type = String.fromCharCode(this.#buffer[this.#start]);
    const length = new DataView(this.#buffer.buffer, this.#start + 1, 4).getInt32(0);
    if (length < 4) throw new PgProtocolError(`invalid message length ${length}`);
    await this.#fill(1 + length);
    // Copy: the buffer is reused by the next read.
    const body = this.#buffer.slice(this.#start + 5, this.#start + 1 + length);
    this.#start += 1 + length;
    return { type, body };
  }
}

function parseFields(body: Uint8Array): Map<string, string> {
  const reader = new BodyReader(body);
  const fields = new Map<string, string>();
  while (reader.offset < body.length && body[reader.offset] !== 0) {
    const code = String.fromCharCode(body[reader.offset++]);
    fields.set(code, reader.cstring());
  }
  return fields;
}

/** Sends the 8-byte SSLRequest on a fresh connection. */
export function sslRequestPacket(): Uint8Array {
  return new MessageWriter().int32(80877103).build();
}

/**
 * Reads the server's one-byte answer to an SSLRequest: `S` (go ahead with
 * TLS), `N` (no SSL here), or an error from a server too old to understand.
 */
export async function readSslAnswer(stream: ByteStream): Promise<"S" | "N"> {
  const one = new Uint8Array(1);
  const n = await stream.read(one);
  if (n === null || n === 0) throw new PgProtocolError("the server closed the connection");
  const answer = String.fromCharCode(one[0]);
  if (answer === "S" || answer === "N") return answer;
  throw new PgProtocolError(`unexpected answer "${answer}" to the SSL request`);
}

/** Turns a column's text value into a JavaScript value according to its type. */
export function decodeValue(text: string | null, typeOid: number): unknown {
  if (text === null) return null;
  switch (typeOid) {
    case 16: // bool
      return text === "t";
    case 21: // int2
    case 23: // int4
    case 26: // oid
    case 28: // xid
    case 700: // float4
    case 701: // float8
      return Number(text);
    case 20: { // int8: a number when exact, else the text
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 1700: { // numeric: a number when a double holds it exactly enough, else the text
      if (!/^-?\d+(\.\d+)?$/.test(text)) return text; // NaN, Infinity
      const digits = text.replace(/[-.]/g, "").replace(/^0+/, "");
      return digits.length <= 15 ? Number(text) : text;
    }
    case 114: // json
    case 3802: // jsonb
      return JSON.parse(text);
    case 1000: // bool[]
      return mapArray(text, (v) => v === "t");
    case 1005: // int2[]
    case 1007: // int4[]
    case 1016: // int8[]
    case 1028: // oid[]
    case 1021: // float4[]
    case 1022: // float8[]
      return mapArray(text, Number);
    case 1009: // text[]
    case 1003: // name[]
    case 1015: // varchar[]
    case 1014: // char[]
    case 1002: // "char"[]
      return parseArray(text);
    case 22: // int2vector
    case 30: // oidvector
      return text === "" ? [] : text.split(" ").map(Number);
    default:
      return text;
  }
}

function mapArray(text: string, convert: (item: string) => unknown): unknown {
  const items = parseArray(text);
  return typeof items === "string" ? items : items.map((v) => v === null ? null : convert(v));
}

/** Parses a one-dimensional array literal such as `{a,"b c",NULL}`. */
export function parseArray(text: string): (string | null)[] | string {
  if (!text.startsWith("{") || !text.endsWith("}")) return text;
  const inner = text.slice(1, -1);
  const out: (string | null)[] = [];
  if (inner === "") return out;
  let i = 0;
  while (i <= inner.length) {
    if (inner[i] === '"') {
      let value = "";
      i++;
      while (i < inner.length && inner[i] !== '"') {
        if (inner[i] === "\\") i++;
        value += inner[i++];
      }
      i++; // closing quote
      out.push(value);
    } else {
      let end = inner.indexOf(",", i);
      if (end === -1) end = inner.length;
      const raw = inner.slice(i, end);
      if (raw.startsWith("{")) return text; // multi-dimensional: leave as text
      out.push(raw === "NULL" ? null : raw);
      i = end;
    }
    i++; // the comma
  }
  return out;
}

/** Encodes a bound parameter as text; `null`/`undefined` become SQL NULL. */
function encodeParam(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return encoder.encode(value);
  if (typeof value === "boolean") return encoder.encode(value ? "t" : "f");
  if (typeof value === "number" || typeof value === "bigint") return encoder.encode(String(value));
  if (value instanceof Date) return encoder.encode(value.toISOString());
  if (Array.isArray(value)) return encoder.encode(arrayLiteral(value));
  return encoder.encode(JSON.stringify(value));
}

/** A one-dimensional array literal with every element quoted and escaped. */
function arrayLiteral(items: unknown[]): string {
  const quoted = items.map((item) =>
    item === null || item === undefined
      ? "NULL"
      : `"${String(item).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
  );
  return `{${quoted.join(",")}}`;
}

function utf8Bytes(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(encoder.encode(text));
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, utf8Bytes(data)));
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function md5Hex(text: string | Uint8Array): Promise<string> {
  // WebCrypto has no MD5; Node's crypto is loaded only for this rare method.
  const { createHash } = await import("node:crypto");
  return createHash("md5").update(text).digest("hex");
}

/** One open session with a server. Not safe for concurrent statements. */
export class PgSession {
  /** Server parameters reported at startup (server_version, TimeZone ...). */
  readonly parameters = new Map<string, string>();
  /** The backend's process id. */
  backendPid = 0;
  #secretKey = 0;
  /** Notices received, oldest first. */
  readonly notices: Notice[] = [];
  #io: ByteStream;
  #reader: MessageReader;
  #closed = false;
  #busy = false;

  private constructor(io: ByteStream) {
    this.#io = io;
    this.#reader = new MessageReader(io);
  }

  /**
   * Runs the startup handshake and authentication on `stream` and returns the
   * ready session. Nothing but the startup packet and the password exchange is
   * sent before this resolves, so a failure here never ran a statement.
   */
  static async start(stream: ByteStream, params: StartupParams): Promise<PgSession> {
    const session = new PgSession(stream);
    try {
      await session.#startup(params);
    } catch (error) {
      session.#closeQuietly();
      throw error;
    }
    return session;
  }

  async #send(message: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < message.length) {
      offset += await this.#io.write(message.subarray(offset));
    }
  }

  async #startup(params: StartupParams): Promise<void> {
    const packet = new MessageWriter().int32(196608); // protocol 3.0
    const all: Record<string, string> = {
      user: params.user,
      database: params.database,
      client_encoding: "UTF8",
      DateStyle: "ISO",
      ...params.parameters,
    };
    for (const [key, value] of Object.entries(all)) packet.cstring(key).cstring(value);
    packet.bytes(new Uint8Array(1));
    await this.#send(packet.build());

    let scram: ScramClient | undefined;
    while (true) {
      const message = await this.#reader.next();
      switch (message.type) {
        case "R": {
          const reader = new BodyReader(message.body);
          const code = reader.int32();
          if (code === 0) break; // AuthenticationOk
          const password = params.password;
          if (code === 3 || code === 5 || code === 10) {
            if (password === undefined) throw new PasswordRequiredError();
          }
          if (code === 3) {
            await this.#send(new MessageWriter().cstring(password!).build("p"));
          } else if (code === 5) {
            const salt = reader.bytes(4);
            const inner = await md5Hex(password! + params.user);
            const salted = new Uint8Array([...encoder.encode(inner), ...salt]);
            await this.#send(new MessageWriter().cstring("md5" + await md5Hex(salted)).build("p"));
          } else if (code === 10) {
            const mechanisms: string[] = [];
            for (let m = reader.cstring(); m !== ""; m = reader.cstring()) mechanisms.push(m);
            if (!mechanisms.includes("SCRAM-SHA-256")) {
              throw new PgProtocolError(
                `the server offers only ${
                  mechanisms.join(", ")
                }, which this client does not support`,
              );
            }
            scram = new ScramClient(password!);
            const first = utf8Bytes(scram.clientFirst());
            await this.#send(
              new MessageWriter().cstring("SCRAM-SHA-256").int32(first.length).bytes(first).build(
                "p",
              ),
            );
          } else if (code === 11) {
            if (!scram) throw new PgProtocolError("SASL continue without SASL start");
            const final = utf8Bytes(await scram.clientFinal(decoder.decode(reader.rest())));
            await this.#send(new MessageWriter().bytes(final).build("p"));
          } else if (code === 12) {
            if (!scram) throw new PgProtocolError("SASL final without SASL start");
            await scram.verifyServer(decoder.decode(reader.rest()));
          } else {
            const names: Record<number, string> = { 2: "Kerberos", 7: "GSSAPI", 9: "SSPI" };
            throw new PgProtocolError(
              `the server asks for ${
                names[code] ?? `authentication method ${code}`
              }, which this client does not support`,
            );
          }
          break;
        }
        case "K": {
          const reader = new BodyReader(message.body);
          this.backendPid = reader.int32();
          this.#secretKey = reader.int32();
          break;
        }
        case "E":
          throw new PgServerError(parseFields(message.body));
        case "Z":
          return;
        case "v": // NegotiateProtocolVersion: we asked for 3.0 with no extras.
          break;
        default:
          this.#handleAsync(message);
      }
    }
  }

  /**
   * Messages the server may send at any time: notices, parameter changes and
   * notifications. Anything else out of turn is a protocol error.
   */
  #handleAsync(message: Message): void {
    switch (message.type) {
      case "N": {
        const fields = parseFields(message.body);
        this.notices.push({
          severity: fields.get("V") ?? fields.get("S") ?? "NOTICE",
          message: fields.get("M") ?? "",
        });
        return;
      }
      case "S": {
        const reader = new BodyReader(message.body);
        this.parameters.set(reader.cstring(), reader.cstring());
        return;
      }
      case "A": // NotificationResponse: LISTEN is not used.
        return;
      default:
        throw new PgProtocolError(`unexpected message "${message.type}"`);
    }
  }

  /** The secret key of this backend, for a cancel request from another socket. */
  get cancelKey(): { pid: number; secret: number } {
    return { pid: this.backendPid, secret: this.#secretKey };
  }

  /**
   * Runs one statement with bound parameters (extended protocol) and yields
   * its rows as they arrive, so a large result is never held whole. Text with
   * more than one statement is refused by the server.
   */
  async *stream(
    sql: string,
    params: unknown[] = [],
  ): AsyncGenerator<Record<string, unknown>, QueryOutcome> {
    this.#enter();
    try {
      const bind = new MessageWriter().cstring("").cstring("").int16(0).int16(params.length);
      for (const param of params) {
        const bytes = encodeParam(param);
        if (bytes === null) bind.int32(-1);
        else bind.int32(bytes.length).bytes(bytes);
      }
      bind.int16(0);
      const parse = new MessageWriter().cstring("").cstring(sql).int16(0).build("P");
      const describe = new MessageWriter().bytes(new Uint8Array([0x50, 0])).build("D");
      const execute = new MessageWriter().cstring("").int32(0).build("E");
      const sync = new MessageWriter().build("S");
      await this.#send(concat([parse, bind.build("B"), describe, execute, sync]));

      let columns: Column[] = [];
      let command = "";
      let failure: PgServerError | undefined;
      while (true) {
        const message = await this.#reader.next();
        switch (message.type) {
          case "1": // ParseComplete
          case "2": // BindComplete
          case "n": // NoData
          case "s": // PortalSuspended
          case "I": // EmptyQueryResponse
            break;
          case "T":
            columns = parseRowDescription(message.body);
            break;
          case "D":
            if (!failure) yield decodeRow(message.body, columns);
            break;
          case "C":
            command = new BodyReader(message.body).cstring();
            break;
          case "E":
            failure = new PgServerError(parseFields(message.body));
            break;
          case "Z":
            if (failure) throw failure;
            return { columns, command };
          default:
            this.#handleAsync(message);
        }
      }
    } catch (error) {
      if (!(error instanceof PgServerError)) this.#closeQuietly();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  /** Runs one statement with bound parameters and returns all of its rows. */
  async query(sql: string, params: unknown[] = []): Promise<QueryResult> {
    const rows: Record<string, unknown>[] = [];
    const iterator = this.stream(sql, params);
    while (true) {
      const step = await iterator.next();
      if (step.done) return { ...step.value, rows };
      rows.push(step.value);
    }
  }

  /**
   * Runs text that may hold several statements (simple protocol), as psql -c
   * does; returns the result of each statement. Stops at the first error,
   * which the server has already rolled back if the text ran in one implicit
   * transaction.
   */
  async simpleQuery(sql: string): Promise<QueryResult[]> {
    this.#enter();
    try {
      await this.#send(new MessageWriter().cstring(sql).build("Q"));
      const results: QueryResult[] = [];
      let current: QueryResult = { columns: [], rows: [], command: "" };
      let failure: PgServerError | undefined;
      while (true) {
        const message = await this.#reader.next();
        switch (message.type) {
          case "T":
            current = { columns: parseRowDescription(message.body), rows: [], command: "" };
            break;
          case "D":
            current.rows.push(decodeRow(message.body, current.columns));
            break;
          case "C":
            current.command = new BodyReader(message.body).cstring();
            results.push(current);
            current = { columns: [], rows: [], command: "" };
            break;
          case "I":
            break;
          case "E":
            failure = new PgServerError(parseFields(message.body));
            break;
          case "Z":
            if (failure) throw failure;
            return results;
          default:
            this.#handleAsync(message);
        }
      }
    } catch (error) {
      if (!(error instanceof PgServerError)) this.#closeQuietly();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  #enter(): void {
    if (this.#closed) throw new PgProtocolError("the session is closed");
    if (this.#busy) throw new PgProtocolError("the session is already running a statement");
    this.#busy = true;
  }

  /** Ends the session politely (Terminate) and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send(new MessageWriter().build("X"));
    } catch {
      // The server may already be gone; closing is all that is left to do.
    }
    this.#closeQuietly();
  }

  #closeQuietly(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#io.close();
    } catch {
      // Already closed.
    }
  }
}

/** What a finished statement reports besides its rows. */
export interface QueryOutcome {
  columns: Column[];
  command: string;
}

/** The server wants a password and none is configured. */
export class PasswordRequiredError extends Error {
  constructor() {
    super("the server asks for a password and none is configured");
    this.name = "PasswordRequiredError";
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function parseRowDescription(body: Uint8Array): Column[] {
  const reader = new BodyReader(body);
  const count = reader.int16();
  const columns: Column[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.cstring();
    reader.int32(); // table oid
    reader.int16(); // column number
    const typeOid = reader.int32();
    reader.int16(); // type size
    reader.int32(); // type modifier
    reader.int16(); // format
    columns.push({ name, typeOid });
  }
  return columns;
}

/** UTF-8 text of a field; short ASCII values (most catalog text) skip the decoder's overhead. */
function decodeText(bytes: Uint8Array): string {
  if (bytes.length < 64) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return decoder.decode(bytes);
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return decoder.decode(bytes);
}

function decodeRow(body: Uint8Array, columns: Column[]): Record<string, unknown> {
  const reader = new BodyReader(body);
  const count = reader.int16();
  const row: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const length = reader.int32();
    const text = length === -1 ? null : decodeText(reader.bytes(length));
    const column = columns[i];
    row[column?.name ?? `column${i + 1}`] = decodeValue(text, column?.typeOid ?? 25);
  }
  return row;
}

/** The client side of SCRAM-SHA-256 (RFC 5802 / 7677) without channel binding. */
class ScramClient {
  #nonce: string;
  #clientFirstBare: string;
  #serverSignature?: Uint8Array;
  constructor(private password: string) {
    this.#nonce = base64(crypto.getRandomValues(new Uint8Array(18)));
    this.#clientFirstBare = `n=*,r=${this.#nonce}`;
  }

  clientFirst(): string {
    return `n,,${this.#clientFirstBare}`;
  }

  async clientFinal(serverFirst: string): Promise<string> {
    const attrs = new Map(
      serverFirst.split(",").map((kv) => [kv.slice(0, 1), kv.slice(2)] as [string, string]),
    );
    const nonce = attrs.get("r") ?? "";
    const salt = attrs.get("s");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.#nonce) || !salt || !Number.isInteger(iterations)) {
      throw new PgProtocolError("invalid SCRAM challenge from the server");
    }
    const key = await crypto.subtle.importKey(
      "raw",
      utf8Bytes(this.password.normalize("NFKC")),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt), iterations },
        key,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ clientSignature[i]);
    this.#serverSignature = await hmac(await hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${base64(proof)}`;
  }

  verifyServer(serverFinal: string): Promise<void> {
    const signature = serverFinal.startsWith("v=") ? serverFinal.slice(2) : "";
    if (!this.#serverSignature || signature !== base64(this.#serverSignature)) {
      return Promise.reject(new PgProtocolError("the server's SCRAM signature does not match"));
    }
    return Promise.resolve();
  }
}
