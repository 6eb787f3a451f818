/**
 * Opening sessions: TCP or Unix socket, SSL negotiated as libpq's sslmode
 * documents it, the skill's SSL fallback, a connect timeout, and one clear
 * message for every way a connection can fail.
 *
 * The SSL fallback (a TOML profile with `sslmode = false` whose server demands
 * SSL) is decided while connecting: the first attempt is refused by the server
 * before any statement is sent, and only then is a second, SSL attempt made.
 * Nothing is ever executed twice.
 *
 * @module
 */
import { note, shellQuote, SkillError } from "./cli.ts";
import { updateTomlFile } from "./config.ts";
import { loadSql } from "./sql.ts";
import {
  type ByteStream,
  PasswordRequiredError,
  PgProtocolError,
  PgServerError,
  PgSession,
  type QueryResult,
  readSslAnswer,
  sslRequestPacket,
} from "./pg_protocol.ts";
import { type ConnectionTarget, describeServer, describeSource, type SslMode } from "./resolve.ts";

/** An open session and how it was reached. */
export interface OpenedSession {
  session: PgSession;
  /** True when the session runs over SSL. */
  ssl: boolean;
  /** True when the first, non-SSL attempt was refused and SSL succeeded. */
  sslFallbackUsed: boolean;
}

/** How one connection attempt treats SSL. */
type Attempt =
  | "plain"
  | "ssl-unverified"
  | "ssl-verify-ca"
  | "ssl-verify-full"
  | "ssl-if-offered";

class ConnectTimeout extends Error {
  constructor() {
    super("connect timeout");
  }
}

/** The server refused SSL in an attempt that requires it. */
class SslRefused extends Error {
  constructor() {
    super("the server does not accept SSL connections");
  }
}

/** True when the server refused a connection because it was not encrypted. */
export function isSslDemand(error: unknown): boolean {
  if (!(error instanceof PgServerError)) return false;
  return /no encryption|SSL off|SSL (connection )?(is )?required|requires? SSL|must use SSL/i.test(
    error.message,
  );
}

/**
 * Opens a session to `target`, following its sslmode:
 * - `disable`: no SSL; with the skill's fallback, one SSL retry when the server
 *   demands SSL;
 * - `allow`: no SSL first, SSL if the server rejects that;
 * - `prefer`: SSL if the server offers it (unverified), else no SSL;
 * - `require`: SSL, certificate not verified (verified against the root
 *   certificate when `sslrootcert` is given, as libpq does);
 * - `verify-ca` / `verify-full`: SSL with the chain (and host name) verified.
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
    case "disable":
      try {
        return { session: await attempt(target, "plain"), ssl: false, sslFallbackUsed: false };
      } catch (error) {
        if (!target.sslFallback || !isSslDemand(error)) throw error;
      }
      return await sslFallback(target);
    case "allow":
      try {
        return { session: await attempt(target, "plain"), ssl: false, sslFallbackUsed: false };
      } catch (error) {
        if (!(error instanceof PgServerError)) throw error;
      }
      return {
        session: await attempt(target, "ssl-unverified"),
        ssl: true,
        sslFallbackUsed: false,
      };
    case "prefer":
      try {
        const session = await attempt(target, "ssl-if-offered");
        return { session, ssl: sslOf(session), sslFallbackUsed: false };
      } catch (error) {
        // libpq retries without SSL when the SSL attempt fails (handshake or
        // a server that rejects SSL connections for this user).
        if (error instanceof ConnectTimeout || isRefused(error)) throw error;
      }
      return { session: await attempt(target, "plain"), ssl: false, sslFallbackUsed: false };
    case "require":
      return {
        session: await attempt(target, target.sslrootcert ? "ssl-verify-ca" : "ssl-unverified"),
        ssl: true,
        sslFallbackUsed: false,
      };
    case "verify-ca":
      return { session: await attempt(target, "ssl-verify-ca"), ssl: true, sslFallbackUsed: false };
    case "verify-full":
      return {
        session: await attempt(target, "ssl-verify-full"),
        ssl: true,
        sslFallbackUsed: false,
      };
  }
}

async function sslFallback(target: ConnectionTarget): Promise<OpenedSession> {
  try {
    const session = await attempt(target, "ssl-unverified");
    return { session, ssl: true, sslFallbackUsed: true };
  } catch (error) {
    if (error instanceof SslRefused) {
      throw new SkillError(
        `The server at ${describeServer(target)} demands SSL (its pg_hba.conf has no ` +
          `non-SSL entry for this connection) but does not accept SSL connections (ssl = off); ` +
          `enable ssl on the server or allow non-SSL connections in pg_hba.conf`,
      );
    }
    throw error;
  }
}

const sslSessions = new WeakSet<PgSession>();

function sslOf(session: PgSession): boolean {
  return sslSessions.has(session);
}

function isRefused(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused ||
    (error instanceof Error && /ECONNREFUSED|connection refused/i.test(error.message));
}

/**
 * One connection attempt, bounded by the target's connect timeout (which, as
 * in libpq, covers the TCP connect, SSL and authentication).
 */
async function attempt(target: ConnectionTarget, mode: Attempt): Promise<PgSession> {
  const streams: ByteStream[] = [];
  let timedOut = false;
  const track = (s: ByteStream) => {
    streams.push(s);
    if (timedOut) s.close();
    return s;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      for (const s of streams) {
        try {
          s.close();
        } catch {
          // Already closed.
        }
      }
      reject(new ConnectTimeout());
    }, target.connectTimeoutSeconds * 1000);
  });
  const work = (async () => {
    const { stream, ssl } = await openStream(target, mode, track);
    const session = await PgSession.start(stream, {
      user: target.user,
      database: target.database,
      parameters: target.parameters,
      password: target.password,
    });
    if (ssl) sslSessions.add(session);
    return session;
  })();
  work.catch(() => {}); // A failure after the timeout fired is not news.
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openStream(
  target: ConnectionTarget,
  mode: Attempt,
  track: (s: ByteStream) => ByteStream,
): Promise<{ stream: ByteStream; ssl: boolean }> {
  if (target.host.startsWith("/")) {
    const path = `${target.host}/.s.PGSQL.${target.port}`;
    return { stream: track(await Deno.connect({ transport: "unix", path })), ssl: false };
  }
  if (mode === "plain") {
    const conn = await Deno.connect({ hostname: target.host, port: target.port });
    conn.setNoDelay(true);
    return { stream: track(conn), ssl: false };
  }
  if (mode === "ssl-verify-ca" || mode === "ssl-verify-full") {
    const caCerts = await rootCertificates(target);
    const conn = await Deno.connect({ hostname: target.host, port: target.port });
    conn.setNoDelay(true);
    track(conn);
    await writeAll(conn, sslRequestPacket());
    if (await readSslAnswer(conn) !== "S") throw new SslRefused();
    const tls = await Deno.startTls(conn, {
      hostname: target.host,
      caCerts,
      unsafelyDisableHostnameVerification: mode === "ssl-verify-ca",
    });
    return { stream: track(tls), ssl: true };
  }
  // Unverified SSL (require, prefer, allow, the fallback): Deno's own TLS
  // always verifies, so Node's TLS is loaded for these modes only.
  const { connectUnverifiedTls } = await import("./node_tls.ts");
  const result = await connectUnverifiedTls({
    host: target.host,
    port: target.port,
    sslRequest: sslRequestPacket(),
    plainIfRefused: mode === "ssl-if-offered",
    track,
  });
  if (!result) throw new SslRefused();
  return result;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await conn.write(data.subarray(offset));
}

/** The root certificates for verify-ca / verify-full, as libpq finds them. */
async function rootCertificates(target: ConnectionTarget): Promise<string[] | undefined> {
  if (target.sslrootcert === "system") return undefined;
  const home = Deno.env.get("HOME") ?? "";
  const file = target.sslrootcert ?? `${home}/.postgresql/root.crt`;
  try {
    return [await Deno.readTextFile(file)];
  } catch {
    throw new SkillError(
      `Root certificate file "${file}" does not exist; give sslrootcert=<file> ` +
        `(or sslrootcert=system) in the URL, or use sslmode=require to skip verification`,
    );
  }
}

/**
 * Turns any connection failure into one clear line that says what to check,
 * never including the password.
 */
export function explainConnectError(error: unknown, target: ConnectionTarget): SkillError {
  if (error instanceof SkillError) return error;
  const server = describeServer(target);
  const source = describeSource(target);
  if (error instanceof ConnectTimeout) {
    return new SkillError(
      `No answer from ${server} within ${target.connectTimeoutSeconds} s; check the host and ` +
        `port in ${source} and any firewall (PGCONNECT_TIMEOUT sets the limit)`,
    );
  }
  if (isRefused(error)) {
    return new SkillError(
      `Connection refused by ${server}; is the server running and accepting connections there? ` +
        `(settings from ${source})`,
    );
  }
  if (error instanceof Deno.errors.NotFound && target.host.startsWith("/")) {
    return new SkillError(`No server socket at ${server}; is the server running? (${source})`);
  }
  if (
    error instanceof Error && /lookup|resolve|dns|getaddrinfo|Name or service/i.test(error.message)
  ) {
    return new SkillError(`Cannot resolve host "${target.host}"; check the host in ${source}`);
  }
  if (error instanceof PasswordRequiredError) {
    return new SkillError(
      `The server at ${server} asks for a password for user "${target.user}" and none is ` +
        `configured; add one to ${source} or to ~/.pgpass`,
    );
  }
  if (error instanceof SslRefused) {
    const fix = target.source === "toml" && target.profile
      ? `set sslmode = false with: update_sslmode.ts ${target.profile} false`
      : `use sslmode=disable or prefer in ${source}`;
    return new SkillError(
      `The server at ${server} does not accept SSL connections but sslmode is ` +
        `"${target.sslmode}"; ${fix}`,
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
          `Database "${target.database}" does not exist at ${server}; check the database in ${source}`,
        );
      case "28000":
        if (isSslDemand(error) && target.sslmode === "disable") {
          return new SkillError(
            `The server at ${server} demands SSL and ${source} says sslmode=disable; ` +
              `use sslmode=require`,
          );
        }
        return new SkillError(
          `The server at ${server} refused the connection: ${error.message}; ` +
            `its pg_hba.conf must allow user "${target.user}" on database "${target.database}"`,
        );
      default:
        return new SkillError(
          `The server at ${server} refused the connection: ${error.message} (SQLSTATE ${error.code})`,
        );
    }
  }
  if (error instanceof Error && /certificate|tls|ssl|handshake/i.test(error.message)) {
    return new SkillError(
      `SSL with ${server} failed: ${error.message.split("\n")[0]}; check sslrootcert, ` +
        `or use sslmode=require to skip certificate verification (${source})`,
    );
  }
  if (error instanceof PgProtocolError) {
    return new SkillError(`Connection to ${server} failed: ${error.message} (${source})`);
  }
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new SkillError(`Cannot connect to ${server}: ${message} (${source})`);
}

/**
 * After a successful SSL retry on a TOML profile: with
 * `DB_AUTO_UPDATE_SSLMODE=1`, write `sslmode = true` into the profile;
 * otherwise print the exact command that would (on stderr).
 */
export async function rememberSslFallback(target: ConnectionTarget): Promise<void> {
  if (target.source !== "toml" || !target.tomlPath || !target.profile) return;
  if (Deno.env.get("DB_AUTO_UPDATE_SSLMODE") === "1") {
    await updateTomlFile(target.tomlPath, ["database", target.profile], "sslmode", true);
    note(
      `note: the server demands SSL; saved sslmode = true for profile "${target.profile}" ` +
        `in "${target.tomlPath}"`,
    );
    return;
  }
  const script = new URL("../scripts/update_sslmode.ts", import.meta.url).pathname;
  note(
    `note: the server demands SSL, so this connection used SSL; to remember it run: ` +
      `DB_PROJECT_ROOT=${shellQuote(target.projectRoot ?? "")} ${shellQuote(script)} ` +
      `${target.profile} true`,
  );
}

/**
 * Opens a session for a script and reports a used SSL fallback: the usual
 * entry point. Close the session when done.
 */
export async function connect(target: ConnectionTarget): Promise<OpenedSession> {
  const opened = await openSession(target);
  if (opened.sslFallbackUsed) await rememberSslFallback(target);
  return opened;
}

/**
 * The sslmode to hand a client tool (psql, pg_dump ...). For a profile with
 * the SSL fallback, a probe connection (startup and authentication only, no
 * statement) decides it before the tool starts, so the tool runs exactly once.
 */
export async function sslModeForTools(target: ConnectionTarget): Promise<SslMode> {
  return target.sslFallback ? (await probeForTools(target)).sslmode : target.sslmode;
}

/**
 * Connects (as {@linkcode connect}), runs `work` with the session and always
 * closes it: the shape of every script that queries. A server error becomes
 * one line that names the SQLSTATE and, for timeouts and read-only refusals,
 * what to change.
 */
export async function withSession<T>(
  target: ConnectionTarget,
  work: (session: PgSession) => Promise<T>,
): Promise<T> {
  const { session } = await connect(target);
  try {
    return await work(session);
  } catch (error) {
    throw error instanceof PgServerError ? explainQueryError(error, target) : error;
  } finally {
    await session.close();
  }
}

/** Runs the query of `sql/<name>.sql` with bound `params` in a session of its own. */
export async function querySqlFile(
  target: ConnectionTarget,
  name: string,
  params: unknown[] = [],
): Promise<QueryResult> {
  const sql = await loadSql(name);
  return await withSession(target, (session) => session.query(sql, params));
}

/** One clear line for an error the server raised while a statement ran. */
export function explainQueryError(error: PgServerError, target: ConnectionTarget): SkillError {
  const limits = target.parameters;
  switch (error.code) {
    case "57014":
      return new SkillError(
        `The statement was cancelled after the statement timeout (${
          limits.statement_timeout ?? "server setting"
        } ms); raise DB_STATEMENT_TIMEOUT_MS if it must run longer`,
      );
    case "55P03":
      return new SkillError(
        `Gave up waiting for a lock after the lock timeout (${
          limits.lock_timeout ?? "server setting"
        } ms): another session holds it; retry later or raise DB_LOCK_TIMEOUT_MS`,
      );
    case "25006":
      return new SkillError(
        `The server refused a write in this read-only session: ${error.message}`,
      );
    default:
      return new SkillError(
        `The server reported an error: ${error.message} (SQLSTATE ${error.code})` +
          (error.hint ? `; hint: ${error.hint}` : ""),
      );
  }
}

/**
 * Runs `work` inside a transaction that is always rolled back, so that
 * whatever it changes is undone (EXPLAIN ANALYZE of a write).
 */
export async function withRollback<T>(
  session: PgSession,
  work: () => Promise<T>,
): Promise<T> {
  await session.simpleQuery("begin");
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await session.simpleQuery("rollback").catch(() => {});
    throw error;
  }
  await session.simpleQuery("rollback");
  return result;
}

/** What a client tool needs to know before it starts. */
export interface ToolProbe {
  /** The sslmode to give the tool (the SSL fallback already decided). */
  sslmode: SslMode;
  /** The server's major version, from its startup report. */
  serverMajor: number;
  /** The server's version text, e.g. `16.4`. */
  serverVersion: string;
}

/**
 * Connects once before a client tool runs (startup and authentication only,
 * no statement): decides the SSL fallback, learns the server's version, and
 * reports an unreachable server in one clear line before any file is touched.
 */
export async function probeForTools(target: ConnectionTarget): Promise<ToolProbe> {
  const { session, sslFallbackUsed, ssl } = await connect(target);
  const serverVersion = session.parameters.get("server_version") ?? "0";
  await session.close();
  const sslmode: SslMode = !target.sslFallback
    ? target.sslmode
    : sslFallbackUsed || ssl
    ? "require"
    : "disable";
  return { sslmode, serverMajor: Number(serverVersion.match(/^(\d+)/)?.[1] ?? 0), serverVersion };
}
