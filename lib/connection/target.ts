/**
 * The connection target: where a script connects and how (host, port,
 * database, user, SSL, timeouts, the session's settings), as resolution makes
 * it and connecting reads it, and how a target is named in messages.
 *
 * @module
 */

/** libpq's sslmode values. */
export const SSL_MODES = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
] as const;

/** One of libpq's sslmode values. */
export type SslMode = typeof SSL_MODES[number];

/** libpq's channel_binding values. */
export const CHANNEL_BINDINGS = ["disable", "prefer", "require"] as const;
/** One of libpq's channel_binding values. */
export type ChannelBinding = typeof CHANNEL_BINDINGS[number];

/** libpq's target_session_attrs values. */
export const TARGET_SESSION_ATTRS = [
  "any",
  "read-write",
  "read-only",
  "primary",
  "standby",
  "prefer-standby",
] as const;
/** One of libpq's target_session_attrs values. */
export type TargetSessionAttrs = typeof TARGET_SESSION_ATTRS[number];

/** The application_name sessions carry unless `DB_APPLICATION_NAME` says otherwise. */
export const DEFAULT_APPLICATION_NAME = "codex-postgres-skill";

/** Seconds a connection attempt may take when nothing else is set. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/** Everything needed to open a session and to explain a failure. */
export interface ConnectionTarget {
  /** Host name, IP address, or a Unix-socket folder (starts with `/`). */
  host: string;
  /** The server's TCP port (5432 unless the settings name another). */
  port: number;
  /** The role the session connects as. */
  user: string;
  /**
   * The role's password: the settings', else `PGPASSWORD`, else a matching
   * line of the passfile; absent when none of them has one.
   */
  password?: string;
  /** The database the session connects to. */
  database: string;
  /** The SSL mode the connection uses; always `disable` over a Unix socket. */
  sslmode: SslMode;
  /**
   * True for a TOML profile with `sslmode = false`: if the server demands SSL,
   * the connection is retried once with SSL before anything is sent.
   */
  sslFallback: boolean;
  /** Root certificate file for verify-ca / verify-full, or `system`. */
  sslrootcert?: string;
  /** The IP address to connect to; `host` still names the server (certificate, messages). */
  hostaddr?: string;
  /** Client certificate file (PEM) and its private key file. */
  sslcert?: string;
  /** The private key file of `sslcert`. */
  sslkey?: string;
  /** libpq's channel_binding (default `prefer`). */
  channelBinding?: ChannelBinding;
  /** libpq's target_session_attrs (default `any`). */
  targetSessionAttrs?: TargetSessionAttrs;
  /** libpq's sslnegotiation (default `postgres`; `direct` needs PostgreSQL 17). */
  sslNegotiation?: "postgres" | "direct";
  /** Seconds a connection attempt may take; 0 waits as long as it takes. */
  connectTimeoutSeconds: number;
  /** Run-time parameters for the startup packet (application_name, timeouts ...). */
  parameters: Record<string, string>;
  /** Where the settings came from. */
  source: "DB_URL" | "toml";
  /** The environment variable a URL came from (DB_URL, DB_URL_A ...). */
  urlVariable?: string;
  /** The name of the profile the settings came from; absent for a URL. */
  profile?: string;
  /** The path of the `postgres.toml` that holds the profile; absent for a URL. */
  tomlPath?: string;
  /** The project root the profile was found under; absent for a URL. */
  projectRoot?: string;
  /**
   * Set when the session connects as the profile's reader role instead of its
   * user (a diagnostic session of a profile that names one).
   */
  reader?: ReaderUse;
  /** Set when `database` is another than the settings name (`--database`). */
  databaseOverridden?: boolean;
}

/** How a session came to connect as a profile's reader role, for messages. */
export interface ReaderUse {
  /** The key that named the role. */
  key: "readonly_user" | "readonly_url";
  /** The profile's own user, which --write, --ddl and every action connect as. */
  profileUser: string;
}

/**
 * Says where a target's settings came from, for error messages; a session
 * as the profile's reader role says so, naming the key.
 */
export function describeSource(target: ConnectionTarget): string {
  if (target.source !== "toml") return target.urlVariable ?? "DB_URL";
  const profile = `profile "${target.profile}" in "${target.tomlPath}"`;
  return target.reader ? `${profile} (reader role from ${target.reader.key})` : profile;
}

/**
 * For a session as the profile's reader role, what an error should add: the
 * role was the reader, which may only read, and where the profile's own user
 * is used instead. Undefined for any other session.
 */
export function describeReaderSession(target: ConnectionTarget): string | undefined {
  if (!target.reader) return undefined;
  return `this read-only session ran as the reader role "${target.user}" (${target.reader.key} ` +
    `of profile "${target.profile}"), which may only read; --write and --ddl run as the ` +
    `profile's user "${target.reader.profileUser}"`;
}

/** `host:port`, or the socket folder, for messages. */
export function describeServer(target: ConnectionTarget): string {
  return target.host.startsWith("/")
    ? `socket "${target.host}/.s.PGSQL.${target.port}"`
    : `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
}
