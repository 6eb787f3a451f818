/**
 * Benchmarks, printed as ratios against the PostgreSQL tools on the same server.
 * Every figure is a whole process timed from outside; the compared commands
 * alternate run by run; the tools are the real binaries (Debian's
 * `/usr/bin/psql` and `/usr/bin/pg_dump` are Perl wrappers, about 18 ms each,
 * and are never used).
 *
 * - connect: one `test_connection.ts` run end to end (process start, profile
 *   resolution, connect with SCRAM, one query, render) against
 *   `psql -X -c 'select 1'` and against `dev/bare_pg_select.ts`, a bare Deno
 *   script that connects with npm:pg and runs `select 1` (the floor of this
 *   design). Target: at most 1.25x the bare script (median).
 * - introspect: `schema_introspect.ts --json` on a generated catalog of 2,000
 *   tables in 5 schemas (15 columns, a primary key, two secondary indexes, a
 *   check constraint and a foreign key each) plus 300 views and 300 functions,
 *   against `pg_dump --schema-only` of the same database. Target: no slower
 *   than pg_dump; and growth with the catalog measured at half size too, which
 *   must be about linear (ratio of times close to 2 for twice the objects).
 *   Then `doctor.ts --json` on that catalog against psql running the very
 *   queries the checks ran. Budget: at most 1 s (a NOT EXISTS the planner ran
 *   as a nested loop once made it 5.5 s). Then the output's bytes (text and
 *   --json) against pg_dump --schema-only's on dev/fixtures/bookshop.sql and
 *   on pagila when its mirror is here (target: at most 0.6x each), with
 *   describe_table.ts rental against psql's \d+ rental (at most 1.25x); and the
 *   catalog grown to 10,000 tables: time (target: at most 0.6x pg_dump's) and
 *   peak memory (VmHWM; target: at most pg_dump's), alternating.
 *
 * - csv: `run_sql.ts --csv` of 2,000,000 rows of (int, text, timestamptz,
 *   numeric) against `psql --csv -c` of the same query, and at 200,000 rows;
 *   peak memory read from the kernel (VmHWM) while it runs. Targets: at most
 *   1.5x psql, peak at most 128 MiB and within 5% of the peak at 200,000
 *   rows (flat: ten times the rows, no more memory; the peak varies by about
 *   2 MiB from run to run). Then
 *   the peak of both ways to start it at 2,000,000 rows: the task's (with
 *   --v8-flags=--liftoff-only) and a plain `deno run -A scripts/run_sql.ts
 *   --csv`, which restarts itself with the flag (lib/cli/v8_flags.ts; it peaked
 *   at 142 MiB before). Budget: at most 128 MiB each.
 *
 * - diff: `schema_diff.ts` of a generated 200-table catalog (as introspect's)
 *   against an empty database, against `pg_dump --schema-only` of that
 *   catalog; peak memory of the script's process (VmHWM). Target: at most
 *   1 s and 256 MiB, and linear growth: the same at 400 tables, and two
 *   unrelated catalogs (200 and 300 tables) compared, are printed beside it.
 *   Then `deno run -A scripts/schema_diff.ts --sql` writing the DDL of the
 *   200 tables for the empty database, against pg_dump of the 200: the same
 *   target, 1 s and 256 MiB.
 *
 * - restore: restore_dump.ts of a pg_dump archive and of a plain dump against
 *   pg_restore and psql themselves (see benchRestore). Budget: at most 1.8x
 *   and 1.6x.
 *
 * - advisor: `index_advisor.ts --top 20 --json` on the rental shop
 *   (tests/support/rental_shop.ts, pagila's shape) after its workload ran
 *   three times, with hypopg (skipped with the reason where the server has
 *   none), against psql running a plain EXPLAIN of each of the workload's
 *   queries once (the floor: the advisor plans each many times). Budget: at
 *   most 2 s.
 *
 * Usage: deno task bench [--runs N] [--only connect|introspect|csv|diff|restore|advisor]
 */
import { basename, dirname, join } from "node:path";
import { candidateBinDirs } from "../lib/tools/client_tools.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { runChecks } from "../lib/reports/doctor.ts";
import { parseThresholds } from "../lib/reports/doctor/thresholds.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { loadSql } from "../lib/sql/sql_files.ts";
import { RENTAL_SHOP, runWorkload, settleShop, WORKLOAD } from "../tests/support/rental_shop.ts";
import { pagilaSchema } from "../tests/support/pagila.ts";
import {
  baseEnv,
  makeProject,
  SKILL_ROOT,
  skillArgv,
  tomlWithProfiles,
} from "../tests/support/run.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 40;
const onlyFlag = Deno.args.indexOf("--only");
const ONLY = onlyFlag >= 0 ? Deno.args[onlyFlag + 1] : undefined;
const WARMUP = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs a command once, timed from outside; throws when it fails. */
async function timeOnce(command: string, args: string[], env: Record<string, string>) {
  return (await measureOnce(command, args, env)).elapsed;
}

/**
 * Runs a command once, timed from outside, and its peak memory: the kernel's
 * high-water mark of its resident set (VmHWM), read until it exits.
 */
async function measureOnce(
  command: string,
  args: string[],
  env: Record<string, string>,
  okCodes: number[] = [0],
): Promise<{ elapsed: number; peakKiB: number }> {
  const started = performance.now();
  const child = new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peakKiB = 0;
  const watch = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peakKiB = Math.max(peakKiB, Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0));
    } catch {
      // Already gone.
    }
  }, 10);
  const out = await child.output();
  clearInterval(watch);
  const elapsed = performance.now() - started;
  if (!okCodes.includes(out.code)) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { elapsed, peakKiB };
}

/** A command to compare. */
interface Contender {
  label: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Times each contender `runs` times (after `warmup` rounds), alternating them
 * run by run (the order rotates every round, so none always runs first), and
 * returns each one's samples.
 */
async function race(
  contenders: Contender[],
  counts: { warmup: number; runs: number } = { warmup: WARMUP, runs: RUNS },
): Promise<number[][]> {
  const samples = contenders.map(() => [] as number[]);
  for (let round = 0; round < counts.warmup + counts.runs; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (round + k) % contenders.length;
      const { command, args, env } = contenders[i];
      const elapsed = await timeOnce(command, args, env);
      if (round >= counts.warmup) samples[i].push(elapsed);
    }
  }
  return samples;
}

/** True when `path` is a compiled program (ELF or Mach-O), not a script. */
function isBinary(path: string): boolean {
  try {
    const file = Deno.openSync(Deno.realPathSync(path));
    const head = new Uint8Array(4);
    file.readSync(head);
    file.close();
    const magic = Array.from(head).map((b) => b.toString(16).padStart(2, "0")).join("");
    return ["7f454c46", "cffaedfe", "feedfacf", "cafebabe"].includes(magic);
  } catch {
    return false;
  }
}

/** The real binary of a client tool: never a wrapper script such as Debian's /usr/bin/psql. */
function realTool(tool: string): string | undefined {
  for (const dir of candidateBinDirs()) {
    const path = join(dir, tool);
    if (isBinary(path)) return path;
  }
  return undefined;
}

/** SQL that adds tables `from`..`to` (and their views and functions) to the catalog. */
function catalogBatch(from: number, to: number): string {
  return `
do $$
declare
  i int;
  s text;
  cols text;
begin
  for i in ${from}..${to} loop
    s := 'bench_s' || (i % 5);
    execute format('create schema if not exists %I', s);
    cols := '';
    for c in 1..12 loop
      cols := cols || format(', c%s %s', c,
        (array['int', 'text', 'numeric(12,2)', 'timestamptz', 'boolean', 'bigint'])[1 + (c - 1) % 6]);
    end loop;
    execute format(
      'create table %I.t%s (id int primary key, parent_id int%s, note varchar(200),
         constraint t%s_c1_check check (c1 >= 0),
         constraint t%s_parent_fk foreign key (parent_id) references %I.t%s (id))',
      s, i, cols, i, i, s, case when i > 5 then i - 5 else i end);
    execute format('create index on %I.t%s (c2)', s, i);
    execute format('create index on %I.t%s (c3, c4)', s, i);
    if i % 7 = 0 then
      execute format('create view %I.v%s as select id, c1, c2 from %I.t%s where c5', s, i, s, i);
      execute format(
        'create function %I.f%s(p int) returns bigint language sql stable as $f$ select count(*) from %I.t%s where c1 > p $f$',
        s, i, s, i);
    end if;
  end loop;
end $$;`;
}

async function benchConnect(): Promise<void> {
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
    }, { pgBinPath: dirname(psql) }));
    const libpqEnv = {
      ...baseEnv(),
      PGHOST: cluster.host,
      PGPORT: String(cluster.port),
      PGUSER: "bench",
      PGPASSWORD: "bench-secret",
      PGDATABASE: "postgres",
      PGSSLMODE: "disable",
    };
    const [ours, bare, psqlTimes] = await race([
      {
        label: "test_connection.ts",
        command: Deno.execPath(),
        args: (await skillArgv("test_connection.ts")).slice(1),
        env: { ...baseEnv(), ...project.env },
      },
      {
        label: "bare npm:pg",
        command: Deno.execPath(),
        args: [
          "run",
          "--allow-env",
          "--allow-net",
          "--allow-read",
          join(SKILL_ROOT, "dev", "bare_pg_select.ts"),
        ],
        env: libpqEnv,
      },
      { label: "psql", command: psql, args: ["-X", "-c", "select 1"], env: libpqEnv },
    ]);
    const ratio = median(ours) / median(bare);
    console.log(
      `connect: ${RUNS} alternating runs each on PostgreSQL ${cluster.major}, ` +
        `SCRAM-SHA-256 over TCP without SSL`,
    );
    console.log(
      `  psql -X -c 'select 1'        median ${median(psqlTimes).toFixed(1)} ms  (${psql})`,
    );
    console.log(`  bare npm:pg select 1         median ${median(bare).toFixed(1)} ms`);
    console.log(`  test_connection.ts           median ${median(ours).toFixed(1)} ms`);
    console.log(
      `  test_connection.ts / bare npm:pg ${ratio.toFixed(2)}x (target: at most 1.25x) ` +
        `${ratio <= 1.25 ? "MET" : "MISSED"}; / psql ${
          (median(ours) / median(psqlTimes)).toFixed(2)
        }x; bare npm:pg / psql ${(median(bare) / median(psqlTimes)).toFixed(2)}x`,
    );
  } finally {
    await project.remove();
    await cluster.stop();
  }
}

async function benchIntrospect(): Promise<void> {
  const cluster = await startCluster({ settings: { max_locks_per_transaction: "1024" } });
  const project = await makeProject();
  try {
    await cluster.sql("create database catalog");
    await project.writeToml(tomlWithProfiles({
      local: {
        host: cluster.host,
        port: cluster.port,
        user: cluster.superuser,
        password: cluster.password,
        database: "catalog",
      },
    }));
    const env = { ...baseEnv(), ...project.env };
    const introspect = (await skillArgv("schema_introspect.ts", ["--json"])).slice(1);
    const dump = [
      "--schema-only",
      "-h",
      cluster.host,
      "-p",
      String(cluster.port),
      "-U",
      cluster.superuser,
      "-d",
      "catalog",
      "-f",
      "/dev/null",
    ];
    const dumpEnv = { ...baseEnv(), PGPASSWORD: cluster.password };
    const counts = { warmup: 1, runs: 5 };
    const results: { tables: number; ours: number; dump: number }[] = [];
    let built = 0;
    for (const tables of [1000, 2000]) {
      for (let from = built + 1; from <= tables; from += 250) {
        await cluster.sql(catalogBatch(from, Math.min(from + 249, tables)), "catalog");
      }
      built = tables;
      await cluster.sql("analyze", "catalog");
      const [ours, pgDump] = (await race([
        { label: "schema_introspect.ts", command: Deno.execPath(), args: introspect, env },
        { label: "pg_dump", command: pgDumpPath, args: dump, env: dumpEnv },
      ], counts)).map(median);
      results.push({ tables, ours, dump: pgDump });
    }
    const [objects] = await cluster.sql(
      `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname like 'bench_s%' and c.relkind = 'r') as tables,
              (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname like 'bench_s%' and c.relkind = 'v') as views,
              (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname like 'bench_s%') as functions,
              (select count(*) from pg_index i join pg_class c on c.oid = i.indrelid
                join pg_namespace n on n.oid = c.relnamespace where n.nspname like 'bench_s%') as indexes`,
      "catalog",
    );
    console.log(
      `introspect: PostgreSQL ${cluster.major}; catalog of ${objects.tables} tables, ` +
        `${objects.indexes} indexes, ${objects.views} views, ${objects.functions} functions; median of 5`,
    );
    for (const r of results) {
      console.log(
        `  ${String(r.tables).padStart(4)} tables: schema_introspect.ts ${r.ours.toFixed(0)} ms, ` +
          `pg_dump --schema-only ${r.dump.toFixed(0)} ms, ratio ${(r.ours / r.dump).toFixed(2)}x`,
      );
    }
    const [half, full] = results;
    const ratio = full.ours / full.dump;
    console.log(
      `  ratio ${ratio.toFixed(2)}x pg_dump (target: at most 1.00x) ${
        ratio <= 1 ? "MET" : "MISSED"
      }; ` +
        `growth from 1000 to 2000 tables: ${
          (full.ours / half.ours).toFixed(2)
        }x (linear: about 2x)`,
    );
    await benchDoctor(cluster, env);
    await benchIntrospectOutput(cluster, { introspect, env, dumpEnv });
    // The same catalog grown to 10,000 tables: time and peak memory against pg_dump's.
    for (let from = built + 1; from <= 10_000; from += 250) {
      await cluster.sql(catalogBatch(from, Math.min(from + 249, 10_000)), "catalog");
    }
    await cluster.sql("analyze", "catalog");
    // Both formats: the table (the default) and --json, each against pg_dump.
    const text = introspect.filter((arg) => arg !== "--json");
    const runs = {
      json: { args: introspect, samples: [] as number[], peak: 0 },
      text: { args: text, samples: [] as number[], peak: 0 },
    };
    const dumpRun = { samples: [] as number[], peak: 0 };
    const order = ["json", "text", "dump"] as const;
    for (let round = 0; round < 1 + 5; round++) {
      for (const who of round % 2 ? [...order].reverse() : order) {
        const { elapsed, peakKiB } = who === "dump"
          ? await measureOnce(pgDumpPath, dump, dumpEnv)
          : await measureOnce(Deno.execPath(), runs[who].args, env);
        if (round === 0) continue;
        const into = who === "dump" ? dumpRun : runs[who];
        into.samples.push(elapsed);
        into.peak = Math.max(into.peak, peakKiB);
      }
    }
    const theirs = median(dumpRun.samples);
    const theirPeak = dumpRun.peak / 1024;
    console.log(
      `  10000 tables: pg_dump --schema-only ${theirs.toFixed(0)} ms, peak ${
        theirPeak.toFixed(1)
      } MiB`,
    );
    for (const [format, run] of Object.entries(runs)) {
      const ours = median(run.samples);
      const ourPeak = run.peak / 1024;
      console.log(
        `    schema_introspect.ts${format === "json" ? " --json" : " (table)"} ${
          ours.toFixed(0)
        } ms, peak ${ourPeak.toFixed(1)} MiB; time ${(ours / theirs).toFixed(2)}x (target: at ` +
          `most 0.60x) ${ours / theirs <= 0.6 ? "MET" : "MISSED"}; peak ${
            (ourPeak / theirPeak).toFixed(2)
          }x (target: at most 1.00x) ${ourPeak <= theirPeak ? "MET" : "MISSED"}`,
      );
    }
  } finally {
    await project.remove();
    await cluster.stop();
  }
}

/**
 * The bytes of schema_introspect.ts's output (text and --json) against
 * `pg_dump --schema-only` of the same database: dev/fixtures/bookshop.sql
 * (our pagila-shaped schema), and pagila itself (tests/fixtures/pagila/).
 * Target: both at most 0.6x.
 */
async function benchIntrospectOutput(
  cluster: Cluster,
  options: { introspect: string[]; env: Record<string, string>; dumpEnv: Record<string, string> },
): Promise<void> {
  const schemas: [string, string][] = [
    ["bookshop", await Deno.readTextFile(join(SKILL_ROOT, "dev", "fixtures", "bookshop.sql"))],
    ["pagila", await pagilaSchema(cluster.major)],
  ];
  // The password goes in the environment (dumpEnv), never in an argument.
  const where = (database: string) => [
    "-h",
    cluster.host,
    "-p",
    String(cluster.port),
    "-U",
    cluster.superuser,
    "-d",
    database,
  ];
  for (const [database, sql] of schemas) {
    await cluster.sql(`create database ${database}`);
    const file = await Deno.makeTempFile({ suffix: ".sql" });
    try {
      await Deno.writeTextFile(file, sql);
      const load = await new Deno.Command(psql, {
        args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...where(database), "-f", file],
        env: options.dumpEnv,
        clearEnv: true,
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!load.success) {
        console.log(
          `  ${database}: could not load (${new TextDecoder().decode(load.stderr).trim()})`,
        );
        continue;
      }
    } finally {
      await Deno.remove(file);
    }
    const bytesOf = async (command: string, args: string[], env: Record<string, string>) => {
      const out = await new Deno.Command(command, { args, env, clearEnv: true, stdout: "piped" })
        .output();
      if (!out.success) throw new Error(`${command} failed on ${database}`);
      return out.stdout.length;
    };
    const env = { ...options.env, DB_URL: cluster.url({ database }) };
    const dumpBytes = await bytesOf(
      pgDumpPath,
      ["--schema-only", ...where(database)],
      options.dumpEnv,
    );
    const text = await bytesOf(
      Deno.execPath(),
      options.introspect.filter((a) => a !== "--json"),
      env,
    );
    const json = await bytesOf(Deno.execPath(), options.introspect, env);
    const [textRatio, jsonRatio] = [text / dumpBytes, json / dumpBytes];
    console.log(
      `  ${database}: pg_dump --schema-only ${dumpBytes} bytes; schema_introspect.ts ${text} ` +
        `(${textRatio.toFixed(2)}x), --json ${json} (${jsonRatio.toFixed(2)}x) (target: at most ` +
        `0.60x) ${Math.max(textRatio, jsonRatio) <= 0.6 ? "MET" : "MISSED"}`,
    );
    if (database !== "pagila") continue;
    // One table, as psql's \d+ describes it: describe_table.ts's table output against it.
    const described = await bytesOf(
      Deno.execPath(),
      (await skillArgv("describe_table.ts", ["rental"])).slice(1),
      env,
    );
    const psqlDescribed = await bytesOf(
      psql,
      ["-X", ...where(database), "-c", "\\d+ rental"],
      options.dumpEnv,
    );
    const ratio = described / psqlDescribed;
    console.log(
      `  pagila rental: psql -X -c '\\d+ rental' ${psqlDescribed} bytes; describe_table.ts ` +
        `rental ${described} (${ratio.toFixed(2)}x) (target: at most 1.25x) ` +
        `${ratio <= 1.25 ? "MET" : "MISSED"}`,
    );
  }
}

/**
 * doctor.ts on the introspection catalog against psql running the very
 * queries it ran (recorded from lib/reports/doctor.ts's checks, parameters written
 * in), one process each, alternating.
 */
async function benchDoctor(cluster: Cluster, env: Record<string, string>): Promise<void> {
  const url = cluster.url({ database: "catalog" });
  const recorded: { name: string; params: unknown[] }[] = [{ name: "doctor_server", params: [] }];
  Deno.env.set("DB_URL", url);
  const target = await resolveTarget({ session: "diagnostic" });
  Deno.env.delete("DB_URL");
  await withSession(target, async (session) => {
    const [server] = (await session.query(await loadSql("doctor_server"))).rows;
    await runChecks({
      query: async (name, params = []) => {
        recorded.push({ name, params });
        return (await session.query(await loadSql(name), params)).rows;
      },
      versionNum: Number(server.version_num),
      inRecovery: server.in_recovery === true,
      readsAllStats: server.reads_all_stats === true,
      thresholds: parseThresholds({}),
      limit: 10,
    });
  });
  // The checks bind only numbers (thresholds, limits); anything else would need quoting, and a
  // NULL in its place would let psql do less work than doctor.ts did.
  const literal = (value: unknown) => {
    if (typeof value !== "number") throw new Error(`Parameter ${String(value)} is not a number`);
    return String(value);
  };
  const script = (await Promise.all(recorded.map(async ({ name, params }) => {
    const text = (await loadSql(name)).replace(/\$(\d+)/g, (_, n) => literal(params[n - 1]));
    return `${text.trimEnd().replace(/;$/, "")};`;
  }))).join("\n");
  const file = await Deno.makeTempFile({ suffix: ".sql" });
  await Deno.writeTextFile(file, script);
  try {
    const doctor = (await skillArgv("doctor.ts", ["--json"])).slice(1);
    const psqlArgs = [
      "-X",
      "-q",
      ...["-h", cluster.host, "-p", String(cluster.port), "-U", cluster.superuser, "-d", "catalog"],
      ...["-f", file, "-o", "/dev/null"],
    ];
    const [ours, theirs] = (await race([
      { label: "doctor.ts", command: Deno.execPath(), args: doctor, env },
      {
        label: "psql",
        command: psql,
        args: psqlArgs,
        env: { ...baseEnv(), PGPASSWORD: cluster.password },
      },
    ], { warmup: 1, runs: 5 })).map(median);
    console.log(
      `doctor: ${recorded.length} queries on the same catalog; doctor.ts ${ours.toFixed(0)} ms, ` +
        `psql -f of the same queries ${theirs.toFixed(0)} ms, ratio ${
          (ours / theirs).toFixed(2)
        }x (budget: at most 1000 ms) ${ours <= 1000 ? "MET" : "MISSED"}`,
    );
  } finally {
    await Deno.remove(file);
  }
}

/** The rows of the streaming benchmark: (int, text, timestamptz, numeric). */
function rowsQuery(count: number): string {
  return `select g as id, md5(g::text) as note, timestamptz '2026-01-01' + g * interval '1 second' ` +
    `as at, (g * 1.01)::numeric(12,2) as amount from generate_series(1, ${count}) g`;
}

async function benchCsv(): Promise<void> {
  const cluster = await startCluster();
  try {
    const env = { ...baseEnv(), DB_URL: cluster.url() };
    const [deno, ...runSqlArgs] = await skillArgv("run_sql.ts");
    const runSql = (count: number) => ({
      label: "run_sql.ts --csv",
      command: deno,
      args: [
        ...runSqlArgs,
        "--csv",
        rowsQuery(count),
      ],
      env,
    });
    const psqlCsv = (count: number) => ({
      label: "psql --csv",
      command: psql,
      args: ["-X", "--csv", "-c", rowsQuery(count)],
      env: {
        ...baseEnv(),
        PGHOST: cluster.host,
        PGPORT: String(cluster.port),
        PGUSER: "postgres",
        PGPASSWORD: cluster.password,
        PGDATABASE: "postgres",
      },
    });
    const counts = { warmup: 1, runs: 5 };
    const peaks: Record<number, number[]> = { 200000: [], 2000000: [] };
    const times: Record<number, { ours: number[]; psql: number[] }> = {};
    for (const count of [200000, 2000000]) {
      times[count] = { ours: [], psql: [] };
      for (let round = 0; round < counts.warmup + counts.runs; round++) {
        const order = round % 2 ? [psqlCsv(count), runSql(count)] : [runSql(count), psqlCsv(count)];
        for (const contender of order) {
          const { elapsed, peakKiB } = await measureOnce(
            contender.command,
            contender.args,
            contender.env,
          );
          if (round < counts.warmup) continue;
          if (contender.label === "psql --csv") times[count].psql.push(elapsed);
          else {
            times[count].ours.push(elapsed);
            peaks[count].push(peakKiB);
          }
        }
      }
    }
    const mib = (kib: number) => kib / 1024;
    console.log(
      `csv: (int, text, timestamptz, numeric) rows to --csv on PostgreSQL ${cluster.major}, ` +
        `${counts.runs} alternating runs each`,
    );
    for (const count of [200000, 2000000]) {
      const ours = median(times[count].ours);
      const theirs = median(times[count].psql);
      console.log(
        `  ${String(count).padStart(7)} rows: run_sql.ts ${ours.toFixed(0)} ms, peak ` +
          `${mib(Math.max(...peaks[count])).toFixed(1)} MiB; psql --csv ${theirs.toFixed(0)} ms; ` +
          `ratio ${(ours / theirs).toFixed(2)}x`,
      );
    }
    const ratio = median(times[2000000].ours) / median(times[2000000].psql);
    const peakBig = mib(Math.max(...peaks[2000000]));
    const peakSmall = mib(Math.max(...peaks[200000]));
    console.log(
      `  2,000,000 rows: ${ratio.toFixed(2)}x psql (target: at most 1.50x) ` +
        `${ratio <= 1.5 ? "MET" : "MISSED"}; peak ${peakBig.toFixed(1)} MiB (target: at most 128 ` +
        `MiB and no more than the ${
          peakSmall.toFixed(1)
        } MiB at 200,000 rows, plus 5%: flat for 10x the rows) ` +
        `${peakBig <= 128 && peakBig <= peakSmall * 1.05 ? "MET" : "MISSED"}`,
    );
    // The two ways people start it: the task's flags, and plain `deno run -A` without them.
    const forms = [
      { label: "task (--v8-flags=--liftoff-only)", args: runSql(2000000).args },
      {
        label: "deno run -A scripts/run_sql.ts",
        args: ["run", "-A", join(SKILL_ROOT, "scripts", "run_sql.ts"), "--csv", rowsQuery(2000000)],
      },
    ];
    const formPeaks = forms.map(() => [] as number[]);
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < forms.length; k++) {
        const i = (round + k) % forms.length;
        formPeaks[i].push((await measureOnce(deno, forms[i].args, env)).peakKiB);
      }
    }
    forms.forEach((form, i) => {
      const peak = mib(Math.max(...formPeaks[i]));
      console.log(
        `  2,000,000 rows, ${form.label}: peak ${peak.toFixed(1)} MiB (highest of 4; budget: at ` +
          `most 128 MiB) ${peak <= 128 ? "MET" : "MISSED"}`,
      );
    });
  } finally {
    await cluster.stop();
  }
}

/**
 * restore: restore_dump.ts of a custom-format archive and of a plain .sql
 * dump (a 500,000-row table with an index, made by pg_dump) into a fresh
 * database, each run a whole process timed from outside, alternating with
 * pg_restore --single-transaction and psql --single-transaction of the same
 * file (the fresh database is made before each run, untimed). The skill's
 * restore reads the SQL twice (a check before asking, then psql under
 * \restrict with its transaction checked), so it costs more than the tools
 * alone: on this size about 0.4 s of checking (29 MB of SQL, most of it COPY
 * rows), the parser's start and a second pass with its digests. Budget: at
 * most 1.8x for the archive (pg_restore also runs twice) and 1.6x for the
 * plain file.
 */
async function benchRestore(): Promise<void> {
  const cluster = await startCluster();
  const dir = await Deno.makeTempDir({ prefix: "pgskill-bench-restore-" });
  try {
    await cluster.sql("create database source");
    await cluster.sql(
      `create table t (id int primary key, name text, at timestamptz, amount numeric);
       insert into t select g, 'name ' || g, now() - g * interval '1 second', g * 1.25
         from generate_series(1, 500000) as g;
       create index t_name on t (name);`,
      "source",
    );
    const toolEnv = {
      ...baseEnv(),
      PGHOST: cluster.host,
      PGPORT: String(cluster.port),
      PGUSER: "postgres",
      PGPASSWORD: cluster.password,
    };
    const archive = join(dir, "source.dump");
    const plain = join(dir, "source.sql");
    await timeOnce(pgDumpPath, ["-Fc", "-d", "source", "-f", archive], toolEnv);
    await timeOnce(pgDumpPath, ["-Fp", "-d", "source", "-f", plain], toolEnv);
    const pgRestore = realTool("pg_restore") ?? "";
    const [deno, ...restoreArgs] = await skillArgv("restore_dump.ts");
    const skillEnv = {
      ...baseEnv(),
      DB_URL: cluster.url({ database: "target" }),
      DB_CONFIRM: "YES",
    };
    const fresh = async () => {
      await cluster.sql("drop database if exists target");
      await cluster.sql("create database target");
    };
    const runs = { warmup: 1, runs: 5 };
    console.log(
      `restore: a 500,000-row table with an index, dumped by pg_dump, into a fresh database on ` +
        `PostgreSQL ${cluster.major}; ${runs.runs} alternating runs each`,
    );
    for (
      const [what, file, tool, toolArgs, budget] of [
        [
          "custom archive",
          archive,
          pgRestore,
          [
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            "target",
            archive,
          ],
          1.8,
        ],
        [
          "plain .sql",
          plain,
          psql,
          [
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-d",
            "target",
            "-f",
            plain,
          ],
          1.6,
        ],
      ] as [string, string, string, string[], number][]
    ) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let round = 0; round < runs.warmup + runs.runs; round++) {
        const order = round % 2 ? ["tool", "skill"] : ["skill", "tool"];
        for (const who of order) {
          await fresh();
          const elapsed = who === "skill"
            ? await timeOnce(deno, [...restoreArgs, file], skillEnv)
            : await timeOnce(tool, toolArgs, toolEnv);
          if (round < runs.warmup) continue;
          (who === "skill" ? ours : theirs).push(elapsed);
        }
      }
      const ratio = median(ours) / median(theirs);
      console.log(
        `  ${what}: restore_dump.ts ${median(ours).toFixed(0)} ms (${
          Math.min(...ours).toFixed(0)
        }-` +
          `${Math.max(...ours).toFixed(0)}), ${basename(tool)} ${median(theirs).toFixed(0)} ms ` +
          `(${Math.min(...theirs).toFixed(0)}-${Math.max(...theirs).toFixed(0)}); ratio ` +
          `${ratio.toFixed(2)}x (budget: at most ${budget.toFixed(2)}x) ${
            ratio <= budget ? "MET" : "MISSED"
          }`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await cluster.stop();
  }
}

async function benchDiff(): Promise<void> {
  const cluster = await startCluster({ settings: { max_locks_per_transaction: "1024" } });
  try {
    for (const db of ["empty", "c200", "c400", "other300"]) {
      await cluster.sql(`create database ${db}`);
    }
    await cluster.sql(catalogBatch(1, 200), "c200");
    for (const from of [1, 201]) await cluster.sql(catalogBatch(from, from + 199), "c400");
    // Unrelated: every name differs (other schemas), only the shapes of the lines agree.
    for (const from of [1, 151]) await cluster.sql(catalogBatch(from, from + 149), "other300");
    for (let i = 0; i < 5; i++) {
      await cluster.sql(`alter schema bench_s${i} rename to other_s${i}`, "other300");
    }
    const [deno, ...diffArgs] = await skillArgv("schema_diff.ts", ["--json"]);
    // The form the user runs: deno run -A scripts/schema_diff.ts --sql.
    const sqlArgs = ["run", "-A", join(SKILL_ROOT, "scripts/schema_diff.ts"), "--sql"];
    const diffOf = (a: string, b: string, sql = false) => ({
      command: deno,
      args: sql ? sqlArgs : diffArgs,
      env: {
        ...baseEnv(),
        DB_URL_A: cluster.url({ database: a }),
        DB_URL_B: cluster.url({ database: b }),
      },
    });
    const dumpOf = (db: string) => ({
      command: pgDumpPath,
      args: [
        "--schema-only",
        "-h",
        cluster.host,
        "-p",
        String(cluster.port),
        "-U",
        cluster.superuser,
      ]
        .concat(["-d", db, "-f", "/dev/null"]),
      env: { ...baseEnv(), PGPASSWORD: cluster.password },
    });
    const counts = { warmup: 1, runs: 5 };
    const measure = async (a: string, b: string, sql = false) => {
      const ours: number[] = [];
      const dump: number[] = [];
      let peakKiB = 0;
      for (let round = 0; round < counts.warmup + counts.runs; round++) {
        for (const which of round % 2 ? ["dump", "ours"] : ["ours", "dump"]) {
          // --sql's B is the empty side: the dump compared is A's, the one it reads whole.
          const run = which === "ours" ? diffOf(a, b, sql) : dumpOf(sql ? a : b);
          // schema_diff exits 1 when the schemas differ, as diff does.
          const result = await measureOnce(run.command, run.args, run.env, [0, 1]);
          if (round < counts.warmup) continue;
          if (which === "ours") {
            ours.push(result.elapsed);
            peakKiB = Math.max(peakKiB, result.peakKiB);
          } else dump.push(result.elapsed);
        }
      }
      return { ours: median(ours), dump: median(dump), peakMiB: peakKiB / 1024 };
    };
    const small = await measure("empty", "c200");
    const large = await measure("empty", "c400");
    const unrelated = await measure("c200", "other300");
    const migration = await measure("c200", "empty", true);
    console.log(
      `diff: schema_diff.ts --json on PostgreSQL ${cluster.major}, generated catalogs ` +
        `(tables with 15 columns, keys, indexes, checks, views, functions); median of ${counts.runs}`,
    );
    const line = (label: string, r: typeof small, db: string) =>
      console.log(
        `  ${label}: ${r.ours.toFixed(0)} ms, peak ${r.peakMiB.toFixed(1)} MiB; ` +
          `pg_dump --schema-only of ${db} ${r.dump.toFixed(0)} ms; ratio ${
            (r.ours / r.dump).toFixed(2)
          }x`,
      );
    line("200 tables vs empty", small, "c200");
    line("400 tables vs empty", large, "c400");
    line("200 vs 300 unrelated tables", unrelated, "other300");
    line("--sql: the DDL of 200 tables for an empty database", migration, "c200");
    const sqlMet = migration.ours <= 1000 && migration.peakMiB <= 256;
    console.log(
      `  --sql, 200 tables for an empty database: ${migration.ours.toFixed(0)} ms and ` +
        `${migration.peakMiB.toFixed(1)} MiB (target: at most 1000 ms and 256 MiB) ` +
        `${sqlMet ? "MET" : "MISSED"}`,
    );
    const met = small.ours <= 1000 && small.peakMiB <= 256;
    console.log(
      `  200 tables vs empty: ${small.ours.toFixed(0)} ms and ${small.peakMiB.toFixed(1)} MiB ` +
        `(target: at most 1000 ms and 256 MiB) ${met ? "MET" : "MISSED"}; from 200 to 400 ` +
        `tables: time ${(large.ours / small.ours).toFixed(2)}x, peak ${
          (large.peakMiB / small.peakMiB).toFixed(2)
        }x (linear: at most about 2x)`,
    );
  } finally {
    await cluster.stop();
  }
}

/** index_advisor.ts --top 20 on the rental shop's workload (see the module's comment). */
async function benchAdvisor(): Promise<void> {
  // No autovacuum, as in index_advisor_test.ts: the plans must not depend on its timing.
  const cluster = await startCluster({
    preload: ["pg_stat_statements"],
    settings: { autovacuum: "off" },
  });
  const file = await Deno.makeTempFile({ suffix: ".sql" });
  try {
    await cluster.sql("create database shop");
    await cluster.sql(RENTAL_SHOP, "shop");
    await settleShop(cluster.sql);
    const [{ available }] = await cluster.sql(
      "select exists (select from pg_available_extensions where name = 'hypopg') as available",
    );
    if (!available) {
      console.log(`advisor: PostgreSQL ${cluster.major} here has no hypopg; skipped`);
      return;
    }
    await cluster.sql("create extension hypopg; create extension pg_stat_statements", "shop");
    await runWorkload(cluster, 3);
    // The floor: each query planned once, its parameters' values written in.
    const literal = (value: unknown) =>
      typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
    await Deno.writeTextFile(
      file,
      WORKLOAD.map((query) =>
        `explain ${query.sql.replace(/\$(\d+)/g, (_, n) => literal(query.params[n - 1]))};`
      ).join("\n"),
    );
    const [deno, ...advisorArgs] = await skillArgv("index_advisor.ts", ["--top", "20", "--json"]);
    const samples = { ours: [] as number[], floor: [] as number[], peakKiB: 0 };
    for (let round = 0; round < 8; round++) {
      for (const which of round % 2 ? ["floor", "ours"] : ["ours", "floor"]) {
        const result = which === "ours"
          ? await measureOnce(deno, advisorArgs, {
            ...baseEnv(),
            DB_URL: cluster.url({ database: "shop" }),
          })
          : await measureOnce(psql, [
            "-X",
            "-q",
            ...["-h", cluster.host, "-p", String(cluster.port), "-U", cluster.superuser],
            ...["-d", "shop", "-f", file, "-o", "/dev/null"],
          ], { ...baseEnv(), PGPASSWORD: cluster.password });
        if (round < 2) continue;
        if (which === "ours") {
          samples.ours.push(result.elapsed);
          samples.peakKiB = Math.max(samples.peakKiB, result.peakKiB);
        } else samples.floor.push(result.elapsed);
      }
    }
    const ours = median(samples.ours);
    const floor = median(samples.floor);
    console.log(
      `advisor: index_advisor.ts --top 20 --json on the rental shop (${WORKLOAD.length} queries, ` +
        `PostgreSQL ${cluster.major}, hypopg): median ${ours.toFixed(0)} ms (min ` +
        `${Math.min(...samples.ours).toFixed(0)}, max ${Math.max(...samples.ours).toFixed(0)}), ` +
        `peak ${(samples.peakKiB / 1024).toFixed(1)} MiB; psql planning each query once ` +
        `${floor.toFixed(0)} ms, ratio ${(ours / floor).toFixed(2)}x (budget: at most 2000 ms) ` +
        `${ours <= 2000 ? "MET" : "MISSED"}`,
    );
  } finally {
    await Deno.remove(file);
    await cluster.stop();
  }
}

const psql = realTool("psql") ?? "";
const pgDumpPath = realTool("pg_dump") ?? "";
if (!psql || !pgDumpPath) {
  console.error(
    "bench: the psql and pg_dump binaries are the yardsticks and were not found (wrapper " +
      "scripts do not count); install postgresql-client",
  );
  Deno.exit(1);
}
if (!ONLY || ONLY === "connect") await benchConnect();
if (!ONLY || ONLY === "introspect") await benchIntrospect();
if (!ONLY || ONLY === "csv") await benchCsv();
if (!ONLY || ONLY === "diff") await benchDiff();
if (!ONLY || ONLY === "restore") await benchRestore();
if (!ONLY || ONLY === "advisor") await benchAdvisor();
