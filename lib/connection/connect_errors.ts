/**
 * Why a connection failed: the failures the connect flow raises of its own
 * (no answer in time, SSL refused, no password, channel binding unmet), how
 * the flow tells one failure from another (by SQLSTATE and system error code,
 * never by message text), and the one line each becomes for the user.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import { NoAnswerError, PgServerError } from "./session.ts";
import { type ConnectionTarget, describeServer, describeSource } from "./target.ts";

/** The server did not finish the connection within the connect timeout. */
export class ConnectTimeout extends Error {
  constructor() {
    super("connect timeout");
  }
}

/** The server answered "no SSL here" to the SSL request. */
export class SslRefused extends Error {
  constructor() {
    super("the server does not accept SSL connections");
  }
}

/** The server wants a password and none is configured. */
export class PasswordRequired extends Error {
  constructor() {
    super("the server asks for a password and none is configured");
  }
}

/** channel_binding=require cannot be met; raised before any password is sent. */
export class ChannelBindingRefused extends Error {}

/** The plain attempt was refused by pg_hba.conf and SSL is not available either. */
export class HbaRefusalWithoutSsl extends Error {
  /** `refusal`: the server's refusal of the plain attempt (a {@linkcode PgServerError}). */
  constructor(readonly refusal: unknown) {
    super("refused without SSL; SSL not available");
  }
}

/** SQLSTATE 28000: pg_hba.conf has no line for this connection (or rejects it). */
export function isHbaRefusal(error: unknown): boolean {
  return error instanceof PgServerError && error.code === "28000";
}

/** Of two failed attempts, the error that says more: an hba refusal says least. */
export function moreTelling(first: unknown, second: unknown): unknown {
  if (isHbaRefusal(first) && second instanceof PgServerError) return second;
  return first;
}

/** Failures that another attempt at the same address cannot cure. */
export function isUnreachable(error: unknown): boolean {
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
