/**
 * Opening sessions: the one place that decides how to reach a server, on
 * npm:pg, with libpq's semantics where pg has its own:
 *
 * - sslmode exactly as libpq documents it (pg's own connection strings treat
 *   `prefer` and `require` as `verify-full` and never fall back to plain);
 * - certificates checked only against `sslrootcert` (or the system's roots
 *   with `sslrootcert=system`), host names only for `verify-full`, against
 *   `host` even when `hostaddr` says where to connect;
 * - client certificates (`sslcert`, `sslkey`), `channel_binding`
 *   (SCRAM-SHA-256-PLUS), `target_session_attrs`, `sslnegotiation`;
 * - SCRAM passwords prepared with SASLprep as libpq prepares them;
 * - the skill's SSL fallback: a TOML profile with `sslmode = false` whose
 *   server refuses the plain connection is tried once more with SSL.
 *
 * Every decision is taken while connecting, before any statement is sent, so
 * nothing ever runs twice. This module writes no file: it returns what it
 * decided ({@linkcode OpenedSession}) and the caller persists `sslmode`.
 * npm:pg is loaded only here, and only when a connection is made.
 *
 * @module
 */
// @ts-types="@types/pg"
import type pg from "pg";
import type { ConnectionOptions, PeerCertificate } from "node:tls";
import { SkillError } from "../core/errors.ts";
import {
  NoAnswerError,
  type PgConnection,
  PgServerError,
  PgSession,
  PINNED_SETTINGS,
  type PooledSettings,
} from "./session.ts";
import { checkUserOptions } from "./resolve.ts";
import { type ConnectionTarget, describeServer, describeSource, type SslMode } from "./target.ts";
import { loadSql } from "../sql/sql_files.ts";
import { loadDecoders } from "./values.ts";

/** An open session and what was decided to open it. */
export interface OpenedSession {
  /** The session, connected and ready for queries. */
  session: PgSession;
  /** True when the session runs over SSL. */
  ssl: boolean;
  /** True when the plain attempt was refused and the skill's SSL fallback succeeded. */
  sslFallbackUsed: boolean;
  /** True when authentication used SCRAM-SHA-256-PLUS (channel binding). */
  channelBinding: boolean;
  /**
   * True when the session gives each transaction its settings itself: the
   * server (a pooler in transaction mode) refused the startup settings, or
   * accepted and dropped them. A client tool's PGOPTIONS would not hold there.
   */
  pooled: boolean;
}

/** How one connection attempt treats SSL. */
type Attempt = "plain" | "ssl-unverified" | "ssl-verify-ca" | "ssl-verify-full";

class ConnectTimeout extends Error {
  constructor() {
    super("connect timeout");
  }
}

/** The server answered "no SSL here" to the SSL request. */
class SslRefused extends Error {
  constructor() {
    super("the server does not accept SSL connections");
  }
}

/** The server wants a password and none is configured. */
class PasswordRequired extends Error {
  constructor() {
    super("the server asks for a password and none is configured");
  }
}

/** channel_binding=require cannot be met; raised before any password is sent. */
class ChannelBindingRefused extends Error {}

let pgModule: Promise<typeof pg> | undefined;

/** npm:pg, imported on the first connection only. */
function loadPg(): Promise<typeof pg> {
  // @ts-types="@types/pg"
  pgModule ??= import("pg").then((m) => m.default);
  return pgModule;
}

/**
 * Opens a session to `target`, following its sslmode:
 * - `disable`: no SSL; with the skill's fallback, one SSL attempt when the
 *   server refuses the plain one (SQLSTATE 28000: no pg_hba.conf line for it);
 * - `allow`: no SSL first, SSL if the server refuses that;
 * - `prefer`: SSL if the server offers it (unverified), else no SSL;
 * - `require`: SSL, unverified unless a root certificate is given (or
 *   `~/.postgresql/root.crt` exists), then verified as `verify-ca`;
 * - `verify-ca` / `verify-full`: SSL with the chain (and the host name) verified.
 * Every failure becomes a {@linkcode SkillError} with one clear line.
 */
export async function openSession(target: ConnectionTarget): Promise<OpenedSession> {
  try {
    return await negotiate(target);
  } catch (error) {
    throw explainConnectError(error, target);
  }
}

async function negotiate(target: ConnectionTarget): Promise<OpenedSession> {
  switch (target.sslmode) {
    case "disable": {
      let refusal: unknown;
      try {
        return await attempt(target, "plain");
      } catch (error) {
        if (!target.sslFallback || !isHbaRefusal(error)) throw error;
        refusal = error;
      }
      try {
        return { ...await attempt(target, "ssl-unverified"), sslFallbackUsed: true };
      } catch (error) {
        throw error instanceof SslRefused ? new HbaRefusalWithoutSsl(refusal) : error;
      }
    }
    case "allow": {
      let first: unknown;
      try {
        return await attempt(target, "plain");
      } catch (error) {
        if (!(error instanceof PgServerError)) throw error;
        first = error;
      }
      try {
        return await attempt(target, "ssl-unverified");
      } catch (error) {
        throw error instanceof SslRefused ? first : moreTelling(first, error);
      }
    }
    case "prefer": {
      let first: unknown;
      try {
        return await attempt(target, "ssl-unverified");
      } catch (error) {
        // libpq goes on without SSL when the server has none, when the
        // handshake fails, or when the server refuses the SSL session; a
        // local mistake (an unreadable key) is reported, not worked around.
        if (isUnreachable(error) || error instanceof SkillError) throw error;
        first = error;
      }
      try {
        return await attempt(target, "plain");
      } catch (error) {
        throw first instanceof SslRefused ? error : moreTelling(first, error);
      }
    }
    case "require":
      return await attempt(
        target,
        await hasRootCertificate(target) ? "ssl-verify-ca" : "ssl-unverified",
      );
    case "verify-ca":
      return await attempt(target, "ssl-verify-ca");
    case "verify-full":
      return await attempt(target, "ssl-verify-full");
  }
}

/** The plain attempt was refused by pg_hba.conf and SSL is not available either. */
class HbaRefusalWithoutSsl extends Error {
  constructor(readonly refusal: unknown) {
    super("refused without SSL; SSL not available");
  }
}

/** SQLSTATE 28000: pg_hba.conf has no line for this connection (or rejects it). */
function isHbaRefusal(error: unknown): boolean {
  return error instanceof PgServerError && error.code === "28000";
}

/** Of two failed attempts, the error that says more: an hba refusal says least. */
function moreTelling(first: unknown, second: unknown): unknown {
  if (isHbaRefusal(first) && second instanceof PgServerError) return second;
  return first;
}

/** Failures that another attempt at the same address cannot cure. */
function isUnreachable(error: unknown): boolean {
  return error instanceof ConnectTimeout || NETWORK_CODES.has(errorCode(error) ?? "");
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What the authentication exchange looked like, seen from the side. */
interface AuthSeen {
  method?: "password" | "md5" | "sasl";
  mechanisms: string[];
  mechanism?: string;
  tls: boolean;
}

/**
 * One connection attempt. A pooler in transaction mode (PgBouncer) refuses
 * the session settings in the startup packet (SQLSTATE 08P01), or accepts
 * and drops them (which one read of pg_settings shows); then the attempt is
 * made once more without them, and the session gives each transaction its
 * settings itself. Nothing but that read was sent before.
 */
async function attempt(target: ConnectionTarget, mode: Attempt): Promise<OpenedSession> {
  try {
    return await connectOnce(target, mode, false);
  } catch (error) {
    const refused = error instanceof PgServerError && error.code === "08P01";
    if (!refused && !(error instanceof StartupSettingsDropped)) throw error;
    return await connectOnce(target, mode, true);
  }
}

/** The startup settings were accepted but did not take effect (see {@linkcode settingsHeld}). */
class StartupSettingsDropped extends Error {
  constructor() {
    super("the startup settings did not take effect");
  }
}

/**
 * The settings whose loss would break a promise (read-only, the timeouts,
 * names resolving in pg_catalog, the lexer's view of strings), by the name
 * pg_settings gives them.
 */
const GUARDED_SETTINGS = [
  "default_transaction_read_only",
  "statement_timeout",
  "lock_timeout",
  "search_path",
  "standard_conforming_strings",
];

/**
 * True when the guarded settings sent in the startup packet are the
 * session's: a pooler may accept the options and drop them (PgBouncer's
 * ignore_startup_parameters = options), leaving a read-write session without
 * timeouts that looks like any other.
 */
async function settingsHeld(session: PgSession, target: ConnectionTarget): Promise<boolean> {
  const wanted = new Map(
    Object.entries(sessionSettings(target)).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const names = GUARDED_SETTINGS.filter((name) => wanted.has(name));
  if (names.length === 0) return true;
  const { rows } = await session.query(await loadSql("settings_named"), [names]);
  const actual = new Map(rows.map((r) => [String(r.name), String(r.setting)]));
  const same = (a: string, b: string) =>
    /^\d+$/.test(a) && /^\d+$/.test(b)
      ? Number(a) === Number(b)
      : a.replace(/\s+/g, "").toLowerCase() === b.replace(/\s+/g, "").toLowerCase();
  return names.every((name) => actual.has(name) && same(actual.get(name)!, wanted.get(name)!));
}

/**
 * One connection, bounded by the target's connect timeout (which, as in
 * libpq, covers the TCP connect, SSL and authentication).
 */
async function connectOnce(
  target: ConnectionTarget,
  mode: Attempt,
  pooled: boolean,
): Promise<OpenedSession> {
  const [pg] = await Promise.all([loadPg(), loadDecoders()]);
  const useSsl = mode !== "plain";
  const auth: AuthSeen = { mechanisms: [], tls: false };
  const address = { host: target.hostaddr ?? target.host, port: target.port };
  const ssl = useSsl ? await tlsOptions(target, mode) : false;
  // Read before the driver's variables are hidden: PGOPTIONS is the user's own options.
  const options = pooled ? undefined : startupOptions(target);
  const client = withoutDriverEnvironment(() =>
    new pg.Client({
      host: address.host,
      port: address.port,
      user: target.user,
      database: target.database,
      password: () => passwordFor(target, auth),
      ssl,
      sslnegotiation: useSsl ? target.sslNegotiation ?? "postgres" : "postgres",
      application_name: target.parameters.application_name,
      options,
      client_encoding: "UTF8",
      enableChannelBinding: useSsl && target.channelBinding !== "disable",
    } as pg.ClientConfig)
  );
  client.on("error", () => {}); // Failures arrive through the promises below.
  const connection = (client as unknown as { connection: PgConnection }).connection;
  let sslAnswer: number | undefined;
  if (useSsl && target.sslNegotiation !== "direct") {
    connection.stream.once("data", (chunk: Uint8Array) => sslAnswer ??= chunk[0]);
  }
  connection.on("sslconnect", () => auth.tls = true);
  connection.on("authenticationCleartextPassword", () => auth.method = "password");
  connection.on("authenticationMD5Password", () => auth.method = "md5");
  connection.on("authenticationSASL", (msg: { mechanisms: string[] }) => {
    auth.method = "sasl";
    auth.mechanisms = msg.mechanisms;
  });
  connection.on("authenticationSASLContinue", () => {
    auth.mechanism = (client as unknown as { saslSession?: { mechanism: string } }).saslSession
      ?.mechanism;
  });
  const parameters = new Map<string, string>();
  connection.on("parameterStatus", (msg: { parameterName: string; parameterValue: string }) => {
    parameters.set(msg.parameterName, msg.parameterValue);
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (target.connectTimeoutSeconds === 0) return; // libpq: 0 waits as long as it takes
    timer = setTimeout(() => reject(new ConnectTimeout()), target.connectTimeoutSeconds * 1000);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (error) {
    connection.stream.destroy();
    if (error instanceof ConnectTimeout) throw error;
    if (sslAnswer === 0x4e) throw new SslRefused(); // "N"
    if (error instanceof pg.DatabaseError) throw new PgServerError(error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const session = new PgSession({
    client,
    pg,
    address,
    parameters,
    pooled: pooled ? pooledSettings(target) : undefined,
    answerLimitMs: answerLimitMs(target),
  });
  const channelBinding = auth.mechanism === "SCRAM-SHA-256-PLUS";
  try {
    if (target.channelBinding === "require" && !channelBinding) {
      throw new ChannelBindingRefused(
        "the server authenticated this client without channel binding",
      );
    }
    await checkSessionAttributes(session, target);
    if (!pooled && !await settingsHeld(session, target)) throw new StartupSettingsDropped();
  } catch (error) {
    await session.close();
    throw error;
  }
  return { session, ssl: auth.tls, sslFallbackUsed: false, channelBinding, pooled };
}

/**
 * The libpq-style variables node-postgres reads for any setting it is given
 * empty: PGOPTIONS would ride along behind a pooler that refuses options,
 * PGBINARY would change how values arrive, PGREPLICATION would open a
 * replication connection. The skill has read what it uses of them already.
 */
const DRIVER_VARIABLES = ["PGOPTIONS", "PGBINARY", "PGREPLICATION", "PGCLIENT_ENCODING"];

/** Runs `make` (which builds a pg.Client, reading the environment) with those variables unset. */
function withoutDriverEnvironment<T>(make: () => T): T {
  const saved = DRIVER_VARIABLES.map((name) => [name, Deno.env.get(name)] as const);
  for (const [name, value] of saved) if (value !== undefined) Deno.env.delete(name);
  try {
    return make();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) Deno.env.set(name, value);
  }
}

/**
 * The password for the exchange the server asked for: raw for cleartext and
 * MD5, SASLprep-ed for SCRAM (libpq's rule). With channel_binding=require no
 * password leaves unless SCRAM-SHA-256-PLUS over SSL is on offer.
 */
async function passwordFor(target: ConnectionTarget, auth: AuthSeen): Promise<string> {
  if (target.channelBinding === "require") {
    if (!auth.tls) {
      throw new ChannelBindingRefused("channel binding needs SSL and this connection has none");
    }
    if (auth.method !== "sasl" || !auth.mechanisms.includes("SCRAM-SHA-256-PLUS")) {
      throw new ChannelBindingRefused(
        `the server asked for ${
          auth.method === "sasl"
            ? `SASL (${auth.mechanisms.join(", ")})`
            : `a ${auth.method} password`
        }, which has no channel binding`,
      );
    }
  }
  if (target.password === undefined) throw new PasswordRequired();
  return auth.method === "sasl" ? await scramPassword(target.password) : target.password;
}

/**
 * The password as SCRAM must see it, as libpq computes it: ASCII unchanged;
 * otherwise SASLprep (RFC 4013), or the raw text when SASLprep refuses it
 * (prohibited or unassigned characters). npm:pg applies the mapping half of
 * SASLprep itself, which leaves prepared text unchanged; raw text it would
 * change cannot be sent as libpq sends it, and is refused plainly.
 */
async function scramPassword(password: string): Promise<string> {
  if (isAscii(password)) return password;
  const { default: saslprep } = await import("@mongodb-js/saslprep");
  try {
    return saslprep(password);
  } catch {
    const pgWouldSend = password
      .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ")
      .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, "")
      .normalize("NFKC");
    if (pgWouldSend === password) return password;
    throw new SkillError(
      "The password contains characters that SASLprep prohibits together with characters it " +
        "maps; libpq then uses it unprepared, which npm:pg cannot; change the password",
    );
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * How long a server may stay silent while a statement runs: its statement
 * timeout (after which the server itself ends the statement and says so)
 * plus the connect timeout, for the answer to travel. Without a statement
 * timeout a statement may run as long as it needs, and only Ctrl-C ends the
 * wait.
 */
function answerLimitMs(target: ConnectionTarget): number | undefined {
  const statementTimeout = Number(target.parameters.statement_timeout ?? 0);
  if (!(statementTimeout > 0)) return undefined;
  const travel = (target.connectTimeoutSeconds || DEFAULT_ANSWER_TRAVEL_SECONDS) * 1000;
  return statementTimeout + travel;
}

/** Seconds an answer may take to arrive when PGCONNECT_TIMEOUT says wait forever. */
const DEFAULT_ANSWER_TRAVEL_SECONDS = 10;

/**
 * The settings every session carries besides application_name, by name; the
 * pinned ones last, so that they win over the same names from anywhere else.
 * (client_encoding travels as a startup parameter of its own, which the
 * server applies after the options.)
 */
function sessionSettings(target: ConnectionTarget): Record<string, string> {
  const { application_name: _, options: _options, ...settings } = target.parameters;
  const { client_encoding: _encoding, ...pinned } = PINNED_SETTINGS;
  return { DateStyle: "ISO", ...settings, ...pinned };
}

/** The user's own startup options: the URL's, else PGOPTIONS (as libpq). */
function userOptions(target: ConnectionTarget): string {
  const options = target.parameters.options ?? Deno.env.get("PGOPTIONS") ?? "";
  checkUserOptions(options);
  return options;
}

/**
 * The startup `options`: the user's, then each session setting as
 * `-c name=value` with spaces and backslashes escaped.
 */
function startupOptions(target: ConnectionTarget): string {
  const parts = [userOptions(target)];
  for (const [name, value] of Object.entries(sessionSettings(target))) {
    parts.push(`-c ${name}=${value.replace(/[\\ ]/g, "\\$&")}`);
  }
  return parts.filter(Boolean).join(" ");
}

/**
 * Behind a pooler: the settings each transaction gives itself, the user's
 * `-c name=value` options among them (other options cannot be applied).
 */
function pooledSettings(target: ConnectionTarget): PooledSettings {
  const { default_transaction_read_only: readOnly, ...own } = sessionSettings(target);
  const settings: Record<string, string> = {};
  const words = (userOptions(target).match(/(?:\\.|\S)+/g) ?? []).map((w) =>
    w.replace(/\\(.)/g, "$1")
  );
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const setting = word === "-c" ? words[++i] : /^(-c|--)/.test(word) ? word.slice(2) : undefined;
    const m = setting?.match(/^([A-Za-z_][\w.]*)=(.*)$/s);
    if (!m) {
      throw new SkillError(
        `The options "${word}" cannot be applied behind a connection pooler in transaction ` +
          `mode; only -c name=value settings can (${describeSource(target)})`,
      );
    }
    settings[m[1].toLowerCase()] = m[2];
  }
  // The user's first, the skill's after them, so that the skill's win as they do at startup
  // (where they come last in the options); read-only is the BEGIN's own.
  for (const [name, value] of Object.entries(own)) {
    delete settings[name.toLowerCase()];
    settings[name] = value;
  }
  if (readOnly === "on") delete settings.default_transaction_read_only;
  return { settings, readOnly: readOnly === "on" };
}

/** True when the attempt should verify: a root certificate is given or in libpq's default place. */
async function hasRootCertificate(target: ConnectionTarget): Promise<boolean> {
  if (target.sslrootcert) return true;
  return await fileExists(defaultFile("root.crt"));
}

function defaultFile(name: string): string {
  return `${Deno.env.get("HOME") ?? ""}/.postgresql/${name}`;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

/** Node TLS options for an SSL attempt: trust, host-name check, SNI, client certificate. */
async function tlsOptions(target: ConnectionTarget, mode: Attempt): Promise<ConnectionOptions> {
  const tls = await import("node:tls");
  const options: ConnectionOptions = { rejectUnauthorized: false };
  if (!IP_ADDRESS.test(target.host)) options.servername = target.host;
  Object.assign(options, await clientCertificate(target));
  if (mode === "ssl-verify-ca" || mode === "ssl-verify-full") {
    options.ca = await rootCertificates(target);
    options.rejectUnauthorized = true;
    const host = target.host;
    options.checkServerIdentity = mode === "ssl-verify-full"
      ? (_name: string, cert: PeerCertificate) => tls.checkServerIdentity(host, cert)
      : () => undefined;
  }
  return options;
}

/**
 * The roots to trust, and only those: the `sslrootcert` file, the system's
 * store for `sslrootcert=system`, else libpq's `~/.postgresql/root.crt`.
 */
async function rootCertificates(target: ConnectionTarget): Promise<string[]> {
  if (target.sslrootcert === "system") return [await systemRootCertificates()];
  const file = target.sslrootcert ?? defaultFile("root.crt");
  try {
    return [await Deno.readTextFile(file)];
  } catch {
    throw new SkillError(
      `Root certificate file "${file}" does not exist; give sslrootcert=<file> ` +
        `(or sslrootcert=system) in the URL, or use sslmode=require to skip verification`,
    );
  }
}

/** Where OpenSSL (and so libpq) finds the system's roots, by platform. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/ssl/cert.pem", // Alpine, macOS
  "/opt/homebrew/etc/openssl@3/cert.pem", // Homebrew (Apple silicon)
  "/usr/local/etc/openssl@3/cert.pem", // Homebrew (Intel)
];

/**
 * The system's trusted roots as libpq's `sslrootcert=system` reads them
 * (OpenSSL's default paths): `SSL_CERT_FILE`, else the certificates in
 * `SSL_CERT_DIR`, else the platform's bundle. Read as files, so scripts need
 * no permission beyond reading.
 */
async function systemRootCertificates(): Promise<string> {
  const file = Deno.env.get("SSL_CERT_FILE");
  const dir = Deno.env.get("SSL_CERT_DIR");
  const candidates = file ? [file] : dir ? [] : SYSTEM_BUNDLES;
  for (const path of candidates) {
    try {
      return await Deno.readTextFile(path);
    } catch {
      // Not on this platform; try the next place.
    }
  }
  if (dir && !file) {
    const pems: string[] = [];
    for (const folder of dir.split(":")) {
      try {
        for await (const entry of Deno.readDir(folder)) {
          const text = await Deno.readTextFile(`${folder}/${entry.name}`).catch(() => "");
          if (text.includes("-----BEGIN CERTIFICATE-----")) pems.push(text);
        }
      } catch {
        // A folder that is not there holds no roots.
      }
    }
    if (pems.length) return pems.join("\n");
  }
  throw new SkillError(
    `No system root certificates found (${file ?? dir ?? SYSTEM_BUNDLES.join(", ")}) for ` +
      `sslrootcert=system; set SSL_CERT_FILE, or give sslrootcert=<file>`,
  );
}

/**
 * The client certificate and key, as libpq finds them: `sslcert`/`sslkey`,
 * else `~/.postgresql/postgresql.crt` and `.key` when present. A key readable
 * by others is refused, as libpq refuses it.
 */
async function clientCertificate(
  target: ConnectionTarget,
): Promise<{ cert?: string; key?: string }> {
  const certFile = target.sslcert ?? defaultFile("postgresql.crt");
  if (!target.sslcert && !(await fileExists(certFile))) return {};
  const keyFile = target.sslkey ?? certFile.replace(/\.crt$/, "") + ".key";
  let cert: string;
  try {
    cert = await Deno.readTextFile(certFile);
  } catch {
    throw new SkillError(`Cannot read the client certificate "${certFile}" (sslcert)`);
  }
  let key: string;
  try {
    const info = await Deno.stat(keyFile);
    const mode = (info.mode ?? 0) & 0o777;
    const limit = info.uid === 0 ? 0o640 : 0o600;
    if (mode & ~limit) {
      throw new SkillError(
        `The private key "${keyFile}" is readable by others (mode ${mode.toString(8)}); ` +
          `run chmod 600 on it`,
      );
    }
    key = await Deno.readTextFile(keyFile);
  } catch (error) {
    if (error instanceof SkillError) throw error;
    throw new SkillError(`Cannot read the private key "${keyFile}" (sslkey) for "${certFile}"`);
  }
  return { cert, key };
}

/**
 * Checks `target_session_attrs` on the open session, as libpq does with one
 * host: primary/standby by recovery state, read-write/read-only also by the
 * server's default_transaction_read_only (not counting the read-only mode
 * the skill's own diagnostic sessions ask for).
 */
async function checkSessionAttributes(session: PgSession, target: ConnectionTarget) {
  const wanted = target.targetSessionAttrs ?? "any";
  if (wanted === "any" || wanted === "prefer-standby") return;
  const { rows } = await session.query(await loadSql("session_state"));
  const inRecovery = rows[0].in_recovery === true;
  const ownReadOnly = target.parameters.default_transaction_read_only === "on";
  const readOnly = inRecovery || (rows[0].read_only_default === true && !ownReadOnly);
  const fails = {
    "read-write": readOnly,
    "read-only": !readOnly,
    primary: inRecovery,
    standby: !inRecovery,
  }[wanted];
  if (fails) {
    const state = wanted === "primary" || wanted === "standby"
      ? inRecovery ? "a standby (in recovery)" : "a primary (not in recovery)"
      : readOnly
      ? "read-only"
      : "read-write";
    throw new SkillError(
      `The server at ${describeServer(target)} is ${state}, but target_session_attrs is ` +
        `"${wanted}" (${describeSource(target)}); connect to another server or change it`,
    );
  }
}

const CERTIFICATE_PROBLEMS: Record<string, string> = {
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate is not for this host name",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its certificate is not signed by a trusted root",
  UNABLE_TO_GET_ISSUER_CERT: "its certificate is not signed by a trusted root",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its certificate is not signed by a trusted root",
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate chain ends in an untrusted root",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its certificate is self-signed and not trusted",
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet",
  CERT_SIGNATURE_FAILURE: "its certificate's signature is invalid",
};

/**
 * Turns any connection failure into one clear line that says what to check,
 * never including the password.
 */
export function explainConnectError(error: unknown, target: ConnectionTarget): SkillError {
  if (error instanceof SkillError) return error;
  const server = describeServer(target);
  const source = describeSource(target);
  const code = errorCode(error);
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  if (error instanceof NoAnswerError) {
    return new SkillError(
      `${server} accepted the login, then gave no answer for ${error.limitMs / 1000} s to the ` +
        `first statement (the read of the session's settings), so the connection was closed; ` +
        `the server or something between stopped answering: check, then run it again`,
    );
  }
  if (error instanceof ConnectTimeout) {
    return new SkillError(
      `No answer from ${server} within ${target.connectTimeoutSeconds} s; check the host and ` +
        `port in ${source} and any firewall (PGCONNECT_TIMEOUT sets the limit)`,
    );
  }
  if (code === "ECONNREFUSED") {
    return new SkillError(
      `Connection refused by ${server}; is the server running and accepting connections there? ` +
        `(settings from ${source})`,
    );
  }
  if (code === "ENOENT" && target.host.startsWith("/")) {
    return new SkillError(`No server socket at ${server}; is the server running? (${source})`);
  }
  if (code && /^(ENOTFOUND|EAI_)/.test(code)) {
    return new SkillError(`Cannot resolve host "${target.host}"; check the host in ${source}`);
  }
  if (error instanceof PasswordRequired) {
    return new SkillError(
      `The server at ${server} asks for a password for user "${target.user}" and none is ` +
        `configured; add one to ${source} or to ~/.pgpass`,
    );
  }
  if (error instanceof ChannelBindingRefused) {
    return new SkillError(
      `channel_binding=require cannot be met at ${server}: ${error.message}; no password was ` +
        `sent (use SCRAM-SHA-256 over SSL on the server, or change channel_binding in ${source})`,
    );
  }
  if (error instanceof SslRefused) {
    const fix = target.source === "toml" && target.profile && !target.sslFallback
      ? `set sslmode = false with: update_sslmode.ts ${target.profile} false`
      : `use sslmode=disable or prefer in ${source}`;
    return new SkillError(
      `The server at ${server} does not accept SSL connections but sslmode is ` +
        `"${target.sslmode}"; ${fix}`,
    );
  }
  if (error instanceof HbaRefusalWithoutSsl) {
    const refusal = error.refusal as PgServerError;
    return new SkillError(
      `The server at ${server} refused the connection without SSL (${refusal.message}, ` +
        `SQLSTATE ${refusal.code}) and does not accept SSL connections; its pg_hba.conf must ` +
        `allow user "${target.user}" on database "${target.database}" from here`,
    );
  }
  if (error instanceof PgServerError) {
    switch (error.code) {
      case "28P01":
        return new SkillError(
          `Password authentication failed for user "${target.user}" at ${server}; ` +
            `check the password in ${source}`,
        );
      case "3D000":
        return new SkillError(
          `Database "${target.database}" does not exist at ${server}; ` +
            (target.databaseOverridden
              ? `check the name given to --database (run_sql.ts "select datname from ` +
                `pg_database" lists them)`
              : `check the database in ${source}`),
        );
      case "28000": {
        const fix = target.sslmode === "disable" && !target.sslFallback
          ? `; if it demands SSL, use sslmode=require in ${source}`
          : "";
        return new SkillError(
          `The server at ${server} refused the connection: ${error.message} (SQLSTATE 28000); ` +
            `its pg_hba.conf must allow user "${target.user}" on database "${target.database}"` +
            fix,
        );
      }
      default:
        return new SkillError(
          `The server at ${server} refused the connection: ${error.message} (SQLSTATE ${error.code})`,
        );
    }
  }
  if (code && CERTIFICATE_PROBLEMS[code]) {
    const fix = code === "ERR_TLS_CERT_ALTNAME_INVALID"
      ? `connect by a name the certificate lists (hostaddr=<ip> keeps the address), ` +
        `or use sslmode=verify-ca to skip the name check`
      : `check sslrootcert, or use sslmode=require to skip certificate verification`;
    return new SkillError(
      `SSL with ${server} failed: ${CERTIFICATE_PROBLEMS[code]} (${message}); ${fix} (${source})`,
    );
  }
  if (code && /CERT|TLS|SSL/.test(code)) {
    return new SkillError(
      `SSL with ${server} failed: ${message} (${code}); check sslrootcert, sslcert and sslkey ` +
        `in ${source}`,
    );
  }
  return new SkillError(`Cannot connect to ${server}: ${message} (${source})`);
}

/** What a client tool needs to know before it starts. */
export interface ServerProbe {
  /** The sslmode to give the tool (the SSL fallback already decided). */
  sslmode: SslMode;
  /** The server's major version, from its startup report. */
  serverMajor: number;
  /** The server's version text, e.g. `16.4`. */
  serverVersion: string;
  /** True when the skill's SSL fallback was needed. */
  sslFallbackUsed: boolean;
  /**
   * False behind a pooler that refuses or drops the startup settings: there
   * a tool's PGOPTIONS (read-only, the timeouts) does not reach the server.
   */
  startupSettingsHold: boolean;
}

/**
 * Connects once before a client tool runs (startup, authentication and the
 * read of the session's settings, nothing else): decides the SSL fallback,
 * learns the server's version and whether a tool's startup settings would
 * hold, and reports an unreachable server in one clear line before any file
 * is touched.
 */
export async function probeServer(target: ConnectionTarget): Promise<ServerProbe> {
  const { session, sslFallbackUsed, ssl, pooled } = await openSession(target);
  const serverVersion = session.parameters.get("server_version") ?? "0";
  await session.close();
  const sslmode: SslMode = !target.sslFallback
    ? target.sslmode
    : sslFallbackUsed || ssl
    ? "require"
    : "disable";
  return {
    sslmode,
    serverMajor: Number(serverVersion.match(/^(\d+)/)?.[1] ?? 0),
    serverVersion,
    sslFallbackUsed,
    startupSettingsHold: !pooled,
  };
}
