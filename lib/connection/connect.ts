/**
 * Opening sessions: the one place that decides how to reach a server, on
 * npm:pg, with libpq's semantics where pg has its own. This module is the
 * connect flow:
 *
 * - sslmode exactly as libpq documents it (pg's own connection strings treat
 *   `prefer` and `require` as `verify-full` and never fall back to plain);
 * - the skill's SSL fallback: a TOML profile with `sslmode = false` whose
 *   server refuses the plain connection is tried once more with SSL;
 * - behind a pooler that refuses or drops the startup settings, the attempt
 *   made once more without them;
 * - each attempt's one connection (`sslnegotiation` among its options).
 *
 * What an attempt relies on has a module of its own: `tls.ts` (trusted roots,
 * host names, client certificates), `authentication.ts` (SASLprep,
 * `channel_binding`), `startup_settings.ts` (the settings a session carries,
 * and whether they held), `timeouts.ts`, `session_attributes.ts`
 * (`target_session_attrs`) and `connect_errors.ts` (the failures, and the
 * line each becomes).
 *
 * Every decision is taken while connecting, before any statement is sent, so
 * nothing ever runs twice. This module writes no file: it returns what it
 * decided ({@linkcode OpenedSession}) and the caller persists `sslmode`.
 * npm:pg is loaded only here, and only when a connection is made.
 *
 * @module
 */
import { type Environment, processEnvironment, withoutVariables } from "../core/environment.ts";
// @ts-types="@types/pg"
import type pg from "pg";
import { SkillError } from "../core/errors.ts";
import { type PgConnection, PgServerError, PgSession } from "./session.ts";
import type { ConnectionTarget, SslMode } from "./target.ts";
import { loadDecoders } from "./values.ts";
import {
  ChannelBindingRefused,
  ConnectTimeout,
  explainConnectError,
  HbaRefusalWithoutSsl,
  isHbaRefusal,
  isUnreachable,
  moreTelling,
  SslRefused,
} from "./connect_errors.ts";
import { type Attempt, hasRootCertificate, tlsOptions } from "./tls.ts";
import {
  type AuthenticatingClient,
  type AuthSeen,
  passwordFor,
  watchAuthentication,
} from "./authentication.ts";
import {
  pooledSettings,
  settingsHeld,
  startupOptions,
  StartupSettingsDropped,
  startupSettingsRefused,
} from "./startup_settings.ts";
import { answerLimitMs, connectWithin } from "./timeouts.ts";
import { checkSessionAttributes } from "./session_attributes.ts";

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
export async function openSession(
  target: ConnectionTarget,
  options: { env?: Environment } = {},
): Promise<OpenedSession> {
  try {
    return await negotiate(target, options.env ?? processEnvironment());
  } catch (error) {
    throw explainConnectError(error, target);
  }
}

async function negotiate(target: ConnectionTarget, env: Environment): Promise<OpenedSession> {
  const attempt = (mode: Attempt) => attemptOnce(target, { mode, env });
  switch (target.sslmode) {
    case "disable": {
      let refusal: unknown;
      try {
        return await attempt("plain");
      } catch (error) {
        if (!target.sslFallback || !isHbaRefusal(error)) throw error;
        refusal = error;
      }
      try {
        return { ...await attempt("ssl-unverified"), sslFallbackUsed: true };
      } catch (error) {
        throw error instanceof SslRefused ? new HbaRefusalWithoutSsl(refusal) : error;
      }
    }
    case "allow": {
      let first: unknown;
      try {
        return await attempt("plain");
      } catch (error) {
        if (!(error instanceof PgServerError)) throw error;
        first = error;
      }
      try {
        return await attempt("ssl-unverified");
      } catch (error) {
        throw error instanceof SslRefused ? first : moreTelling(first, error);
      }
    }
    case "prefer": {
      let first: unknown;
      try {
        return await attempt("ssl-unverified");
      } catch (error) {
        // libpq goes on without SSL when the server has none, when the
        // handshake fails, or when the server refuses the SSL session; a
        // local mistake (an unreadable key) is reported, not worked around.
        if (isUnreachable(error) || error instanceof SkillError) throw error;
        first = error;
      }
      try {
        return await attempt("plain");
      } catch (error) {
        throw first instanceof SslRefused ? error : moreTelling(first, error);
      }
    }
    case "require":
      return await attempt(
        await hasRootCertificate(target, env) ? "ssl-verify-ca" : "ssl-unverified",
      );
    case "verify-ca":
      return await attempt("ssl-verify-ca");
    case "verify-full":
      return await attempt("ssl-verify-full");
  }
}

/**
 * One connection attempt. A pooler in transaction mode (PgBouncer) refuses
 * the session settings in the startup packet (SQLSTATE 08P01), or accepts
 * and drops them (which one read of pg_settings shows); then the attempt is
 * made once more without them, and the session gives each transaction its
 * settings itself. Nothing but that read was sent before.
 */
async function attemptOnce(
  target: ConnectionTarget,
  how: { mode: Attempt; env: Environment },
): Promise<OpenedSession> {
  try {
    return await connectOnce(target, { ...how, pooled: false });
  } catch (error) {
    if (!startupSettingsRefused(error)) throw error;
    return await connectOnce(target, { ...how, pooled: true });
  }
}

/**
 * One connection, bounded by the target's connect timeout (which, as in
 * libpq, covers the TCP connect, SSL and authentication).
 */
async function connectOnce(
  target: ConnectionTarget,
  how: { mode: Attempt; env: Environment; pooled: boolean },
): Promise<OpenedSession> {
  const { mode, env, pooled } = how;
  const [pg] = await Promise.all([loadPg(), loadDecoders()]);
  const useSsl = mode !== "plain";
  const auth: AuthSeen = { mechanisms: [], tls: false };
  const address = { host: target.hostaddr ?? target.host, port: target.port };
  const ssl = useSsl ? await tlsOptions(target, { mode, env }) : false;
  // Read before the driver's variables are hidden: PGOPTIONS is the user's own options.
  const options = pooled ? undefined : startupOptions(target, env);
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
  watchAuthentication(client as unknown as AuthenticatingClient, auth);
  const parameters = new Map<string, string>();
  connection.on("parameterStatus", (msg: { parameterName: string; parameterValue: string }) => {
    parameters.set(msg.parameterName, msg.parameterValue);
  });

  try {
    await connectWithin(client.connect(), target.connectTimeoutSeconds);
  } catch (error) {
    connection.stream.destroy();
    if (error instanceof ConnectTimeout) throw error;
    if (sslAnswer === 0x4e) throw new SslRefused(); // "N"
    if (error instanceof pg.DatabaseError) throw new PgServerError(error);
    throw error;
  }
  const session = new PgSession({
    client,
    pg,
    address,
    parameters,
    pooled: pooled ? pooledSettings(target, env) : undefined,
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
  return withoutVariables(DRIVER_VARIABLES, make);
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
