/**
 * The TLS side of an SSL attempt, as libpq decides it: certificates checked
 * only against `sslrootcert` (or the system's roots with
 * `sslrootcert=system`), host names only for `verify-full`, against `host`
 * even when `hostaddr` says where to connect, and the client certificate
 * (`sslcert`, `sslkey`, else libpq's files in `~/.postgresql/`). node:tls is
 * loaded only when an SSL attempt is made.
 *
 * @module
 */
import type { Environment } from "../core/environment.ts";
import { isIpAddress } from "./url.ts";
import type { ConnectionOptions, PeerCertificate } from "node:tls";
import { SkillError } from "../core/errors.ts";
import type { ConnectionTarget } from "./target.ts";

/** How one connection attempt treats SSL. */
export type Attempt = "plain" | "ssl-unverified" | "ssl-verify-ca" | "ssl-verify-full";

/** True when the attempt should verify: a root certificate is given or in libpq's default place. */
export async function hasRootCertificate(
  target: ConnectionTarget,
  env: Environment,
): Promise<boolean> {
  if (target.sslrootcert) return true;
  return await fileExists(defaultFile(env, "root.crt"));
}

/** libpq's default place for a certificate file: `~/.postgresql/<name>`. */
function defaultFile(env: Environment, name: string): string {
  return `${env.HOME ?? ""}/.postgresql/${name}`;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Node TLS options for an SSL attempt: trust, host-name check, SNI, client certificate. */
export async function tlsOptions(
  target: ConnectionTarget,
  how: { mode: Attempt; env: Environment },
): Promise<ConnectionOptions> {
  const { mode, env } = how;
  const tls = await import("node:tls");
  const options: ConnectionOptions = { rejectUnauthorized: false };
  // SNI names a host; an address is never sent as one (RFC 6066).
  if (!isIpAddress(target.host)) options.servername = target.host;
  Object.assign(options, await clientCertificate(target, env));
  if (mode === "ssl-verify-ca" || mode === "ssl-verify-full") {
    options.ca = await rootCertificates(target, env);
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
async function rootCertificates(target: ConnectionTarget, env: Environment): Promise<string[]> {
  if (target.sslrootcert === "system") return [await systemRootCertificates(env)];
  const file = target.sslrootcert ?? defaultFile(env, "root.crt");
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
async function systemRootCertificates(env: Environment): Promise<string> {
  const file = env.SSL_CERT_FILE;
  const dir = env.SSL_CERT_DIR;
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
  env: Environment,
): Promise<{ cert?: string; key?: string }> {
  const certFile = target.sslcert ?? defaultFile(env, "postgresql.crt");
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
