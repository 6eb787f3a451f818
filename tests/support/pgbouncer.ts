/**
 * PgBouncer (the Debian package) in front of a test cluster, in transaction
 * pooling mode, with the cluster's own SCRAM secrets: how many production
 * servers are reached. Run as an unprivileged user when we are root.
 */
import { join } from "node:path";
import { type Cluster, freePort } from "./cluster.ts";

/** A running PgBouncer. */
export interface Bouncer {
  port: number;
  /** A URL through the pooler for the cluster's superuser, to `database` (default postgres). */
  url(database?: string): string;
  /** PgBouncer's own log. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** The pgbouncer program, if installed. */
export function pgbouncerPath(): string | undefined {
  for (const dir of ["/usr/sbin", "/usr/bin", ...(Deno.env.get("PATH") ?? "").split(":")]) {
    try {
      if (Deno.statSync(join(dir, "pgbouncer")).isFile) return join(dir, "pgbouncer");
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Starts PgBouncer in transaction mode for the cluster's databases.
 * `ignoreOptions`: accept the startup packet's `options` and drop them
 * (`ignore_startup_parameters = options`, a common setting) instead of
 * refusing the connection.
 */
export async function startPgBouncer(
  cluster: Cluster,
  { ignoreOptions = false }: { ignoreOptions?: boolean } = {},
): Promise<Bouncer> {
  const program = pgbouncerPath();
  if (!program) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
  const dir = join(cluster.dir, ignoreOptions ? "pgbouncer-ignoring" : "pgbouncer");
  await Deno.mkdir(dir);
  const secrets = await cluster.sql(
    "select rolname, rolpassword from pg_authid where rolpassword is not null",
  );
  await Deno.writeTextFile(
    join(dir, "userlist.txt"),
    secrets.map((r) => `"${r.rolname}" "${r.rolpassword}"`).join("\n") + "\n",
  );
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `postgres = host=${cluster.host} port=${cluster.port} dbname=postgres`,
      // Any other database of the cluster, by its own name.
      `* = host=${cluster.host} port=${cluster.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "default_pool_size = 2",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      ...(ignoreOptions ? ["ignore_startup_parameters = options"] : []),
    ].join("\n") + "\n",
  );
  const asRoot = Deno.uid() === 0;
  if (asRoot) {
    for (const name of ["", "userlist.txt", "pgbouncer.ini"]) {
      await Deno.chown(join(dir, name), 65534, 65534);
    }
  }
  const child = new Deno.Command(program, {
    args: [join(dir, "pgbouncer.ini")],
    stdout: "null",
    stderr: "null",
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    url: (database = "postgres") =>
      `postgresql://postgres:${encodeURIComponent(cluster.password)}@127.0.0.1:${port}/` +
      encodeURIComponent(database),
    log: () => Deno.readTextFile(join(dir, "pgbouncer.log")).catch(() => ""),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
    },
  };
}
