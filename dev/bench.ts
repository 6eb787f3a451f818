/**
 * Benchmarks, printed as ratios against the PostgreSQL tools on the same server.
 *
 * - connect: one `test_connection.ts` run end to end (process start, profile
 *   resolution, connect with SCRAM, one query, render) against
 *   `psql -X -c 'select 1'`. Target: at most 2x psql (median).
 *
 * Usage: deno task bench [--runs N]
 */
import { join } from "node:path";
import { findToolDir } from "../lib/tools.ts";
import { startCluster } from "../tests/support/cluster.ts";
import {
  baseEnv,
  makeProject,
  shebangFlags,
  SKILL_ROOT,
  tomlWithProfiles,
} from "../tests/support/run.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 40;
const WARMUP = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function time(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const started = performance.now();
    const out = await new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    const elapsed = performance.now() - started;
    if (!out.success) {
      throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    if (i >= WARMUP) samples.push(elapsed);
  }
  return samples;
}

const psqlDir = findToolDir("psql");
if (!psqlDir) {
  console.error("bench: psql is needed as the yardstick; install postgresql-client");
  Deno.exit(1);
}
const cluster = await startCluster();
const project = await makeProject();
try {
  await cluster.sql("create role bench login password 'bench-secret'");
  await project.writeToml(tomlWithProfiles({
    local: {
      host: cluster.host,
      port: cluster.port,
      user: "bench",
      password: "bench-secret",
      database: "postgres",
    },
  }, { pgBinPath: psqlDir }));
  const env = { ...baseEnv(), ...project.env };
  const script = join(SKILL_ROOT, "scripts", "test_connection.ts");
  const ours = await time(
    Deno.execPath(),
    ["run", ...await shebangFlags("test_connection.ts"), script],
    env,
  );
  const psql = await time(
    join(psqlDir, "psql"),
    [
      "-X",
      "-h",
      cluster.host,
      "-p",
      String(cluster.port),
      "-U",
      "bench",
      "-d",
      "postgres",
      "-c",
      "select 1",
    ],
    { ...baseEnv(), PGPASSWORD: "bench-secret" },
  );
  const ratio = median(ours) / median(psql);
  console.log(`connect: ${RUNS} runs each on PostgreSQL ${cluster.major}, SCRAM-SHA-256 over TCP`);
  console.log(`  test_connection.ts          median ${median(ours).toFixed(1)} ms`);
  console.log(`  psql -X -c 'select 1'       median ${median(psql).toFixed(1)} ms`);
  console.log(
    `  ratio ${ratio.toFixed(2)}x psql (target: at most 2.00x) ${ratio <= 2 ? "MET" : "MISSED"}`,
  );
} finally {
  await project.remove();
  await cluster.stop();
}
