/**
 * Connection URLs as libpq reads them (`postgresql://user:password@host:port/db?...`):
 * parsed and checked (one host, known parameters, valid values), and written
 * back from a target.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import type { ConnectionTarget, SslMode } from "./target.ts";
import { CHANNEL_BINDINGS, SSL_MODES, TARGET_SESSION_ATTRS } from "./target.ts";

/** The parts of a `postgresql://` URL. */
export interface ParsedUrl {
  /** The host, from the authority or `?host=`; absent when the URL names none. */
  host?: string;
  /** The port, from the authority or `?port=`; absent when the URL names none. */
  port?: number;
  /** The user, from the userinfo or `?user=`; absent when the URL names none. */
  user?: string;
  /** The password, from the userinfo or `?password=`; absent when the URL gives none. */
  password?: string;
  /** The database, from the path or `?dbname=`; absent when the URL names none. */
  database?: string;
  /** The query parameters by libpq name, percent-decoded. */
  params: Record<string, string>;
}

/**
 * URL query parameters this skill implements (libpq names). Any other libpq
 * parameter is refused by name rather than silently ignored.
 */
export const URL_PARAMS = [
  "host",
  "hostaddr",
  "port",
  "user",
  "password",
  "passfile",
  "dbname",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslnegotiation",
  "channel_binding",
  "gssencmode",
  "target_session_attrs",
  "connect_timeout",
  "application_name",
  "options",
] as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a numeric IPv4 or IPv6 address (what hostaddr must be). */
export function isIpAddress(text: string): boolean {
  return IPV4.test(text) || (/^[0-9a-fA-F:.]+$/.test(text) && text.includes(":"));
}

function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  name: string,
  where: string,
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${where} has ${name} "${value}"; use one of ${allowed.join(", ")}`);
}

/**
 * Checks the parameters that take a fixed set of values, and refuses the
 * combinations libpq refuses, naming the parameter.
 */
function checkParams(params: Record<string, string>, where: string): void {
  if (params.sslmode !== undefined) parseSslMode(params.sslmode, where);
  if (params.channel_binding !== undefined) {
    oneOf(params.channel_binding, CHANNEL_BINDINGS, "channel_binding", where);
  }
  if (params.target_session_attrs !== undefined) {
    oneOf(params.target_session_attrs, TARGET_SESSION_ATTRS, "target_session_attrs", where);
  }
  if (params.gssencmode !== undefined) {
    const mode = oneOf(params.gssencmode, ["disable", "prefer", "require"], "gssencmode", where);
    if (mode === "require") {
      throw new UsageError(
        `${where} has gssencmode "require", but GSSAPI encryption is not supported here; ` +
          `use sslmode=verify-full for an encrypted, verified connection`,
      );
    }
  }
  const strong = ["require", "verify-ca", "verify-full"];
  if (params.sslnegotiation !== undefined) {
    oneOf(params.sslnegotiation, ["postgres", "direct"], "sslnegotiation", where);
    if (params.sslnegotiation === "direct" && !strong.includes(params.sslmode ?? "prefer")) {
      throw new UsageError(
        `${where} has sslnegotiation "direct" with sslmode "${params.sslmode ?? "prefer"}"; ` +
          `direct SSL needs sslmode=require, verify-ca or verify-full`,
      );
    }
  }
  if (params.sslrootcert === "system" && (params.sslmode ?? "verify-full") !== "verify-full") {
    throw new UsageError(
      `${where} has sslrootcert "system" with sslmode "${params.sslmode}"; ` +
        `the system's roots are used only with sslmode=verify-full`,
    );
  }
  if (params.hostaddr !== undefined && !isIpAddress(params.hostaddr)) {
    throw new UsageError(
      `${where} has hostaddr "${params.hostaddr}"; hostaddr must be a numeric IP address ` +
        `(put names in host)`,
    );
  }
  if (params.connect_timeout !== undefined) {
    parseConnectTimeout(params.connect_timeout, `${where} connect_timeout`);
  }
}

/** Seconds for a connect timeout: 0 (no limit) to 2147483, else a usage error. */
export function parseConnectTimeout(text: string, what: string): number {
  if (!/^\d{1,7}$/.test(text) || Number(text) > 2_147_483) {
    throw new UsageError(
      `${what} must be a whole number of seconds from 0 to 2147483, got "${text}"`,
    );
  }
  return Number(text);
}

/**
 * Parses a `postgresql://` (or `postgres://`) URL as libpq does: userinfo,
 * one host (a Unix-socket folder may be given percent-encoded or as `?host=`),
 * port, database, and query parameters, all percent-decoded.
 */
export function parseConnectionUrl(text: string, variable = "DB_URL"): ParsedUrl {
  const m = text.match(
    // The userinfo runs to the authority's last "@": a password with an unencoded "@" stays whole.
    /^postgres(?:ql)?:\/\/(?:([^/?#]*)@)?([^@/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/,
  );
  if (!m) {
    throw new UsageError(
      `${variable} must be a URL like postgresql://user:password@host:5432/database`,
    );
  }
  const [, userinfo, hostport, path, query] = m;
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new UsageError(`${variable} has a badly percent-encoded ${what}`);
    }
  };
  const parsed: ParsedUrl = { params: {} };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    if (user) parsed.user = decode(user, "user");
    if (colon !== -1) parsed.password = decode(userinfo.slice(colon + 1), "password");
  }
  if (hostport.includes(",")) {
    throw new UsageError(`${variable} lists several hosts; give exactly one host`);
  }
  const hp = hostport.match(/^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/);
  if (!hp) throw new UsageError(`${variable} has an invalid host or port`);
  if (hp[1]) parsed.host = decode(hp[1].replace(/^\[(.*)\]$/, "$1"), "host");
  if (hp[2]) parsed.port = parsePort(hp[2], variable);
  if (path) parsed.database = decode(path, "database");
  for (const pair of (query ?? "").split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const key = decode(eq === -1 ? pair : pair.slice(0, eq), "parameter");
    const value = decode(eq === -1 ? "" : pair.slice(eq + 1).replaceAll("+", " "), "parameter");
    if (!(URL_PARAMS as readonly string[]).includes(key)) {
      throw new UsageError(
        `${variable} has unsupported parameter "${key}"; remove it (supported: ` +
          `${URL_PARAMS.join(", ")})`,
      );
    }
    parsed.params[key] = value;
  }
  const p = parsed.params;
  if (p.host) parsed.host = p.host;
  if (p.port) parsed.port = parsePort(p.port, variable);
  if (p.user) parsed.user = p.user;
  if (p.password !== undefined) parsed.password = p.password;
  if (p.dbname) parsed.database = p.dbname;
  checkParams(p, variable);
  return parsed;
}

/**
 * A TCP port as typed (a URL's, an option's, an answer's): digits only, 1 to
 * 65535, else a usage error naming where it came from.
 */
export function parsePort(text: string, where: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError(`${where} has an invalid port "${text}"; give a number from 1 to 65535`);
  }
  return port;
}

/** Checks an sslmode value against libpq's list. */
export function parseSslMode(text: string, where = "DB_URL"): SslMode {
  if ((SSL_MODES as readonly string[]).includes(text)) return text as SslMode;
  throw new UsageError(`${where} has sslmode "${text}"; use one of ${SSL_MODES.join(", ")}`);
}

/** Builds a URL from a target; the password is left out unless asked for. */
export function targetUrl(
  target: ConnectionTarget,
  options: { withPassword?: boolean } = {},
): string {
  const enc = encodeURIComponent;
  let auth = enc(target.user);
  if (options.withPassword && target.password) auth += `:${enc(target.password)}`;
  const params = new URLSearchParams();
  let host = target.host;
  if (host.startsWith("/")) {
    params.set("host", host);
    host = "";
  } else if (host.includes(":")) {
    host = `[${host}]`;
  }
  if (target.hostaddr) params.set("hostaddr", target.hostaddr);
  params.set("sslmode", target.sslmode);
  if (target.sslrootcert) params.set("sslrootcert", target.sslrootcert);
  if (target.sslcert) params.set("sslcert", target.sslcert);
  if (target.sslkey) params.set("sslkey", target.sslkey);
  if (target.sslNegotiation === "direct") params.set("sslnegotiation", "direct");
  if (target.channelBinding && target.channelBinding !== "prefer") {
    params.set("channel_binding", target.channelBinding);
  }
  if (target.targetSessionAttrs && target.targetSessionAttrs !== "any") {
    params.set("target_session_attrs", target.targetSessionAttrs);
  }
  if (target.parameters.options) params.set("options", target.parameters.options);
  return `postgresql://${auth}@${host}:${target.port}/${enc(target.database)}?${params}`;
}
