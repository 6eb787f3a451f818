/**
 * What scripts do with a database (lib/connection/script_sessions.ts, transactions.ts) on real servers: a report
 * read by two sessions sharing one snapshot, and its fallback to one session.
 */
import assert from "node:assert/strict";
import { querySqlFiles } from "../../lib/connection/script_sessions.ts";
import type { ConnectionTarget } from "../../lib/connection/target.ts";
import { type Cluster, startCluster } from "../support/cluster.ts";

function targetFor(cluster: Cluster, user: string, password: string, app: string) {
  return {
    host: cluster.host,
    port: cluster.port,
    user,
    password,
    database: "postgres",
    sslmode: "disable",
    sslFallback: false,
    connectTimeoutSeconds: 5,
    parameters: { application_name: app, default_transaction_read_only: "on" },
    source: "DB_URL",
  } satisfies ConnectionTarget;
}

/** The PIDs whose log lines show `statement` pattern for application `app`. */
function pidsRunning(log: string, app: string, statement: RegExp): Set<string> {
  const pids = new Set<string>();
  for (const line of log.split("\n")) {
    const m = line.match(/\[(\d+)\] (\S+) LOG: {2}(?:statement|execute [^:]*): (.*)$/);
    if (m && m[2] === app && statement.test(m[3])) pids.add(m[1]);
  }
  return pids;
}

/** A report over the tables `oids`: rows per relation (and part) for each query. */
function reportOf(oids: unknown[]) {
  return [
    { name: "introspect_indexes", params: [oids] },
    { name: "introspect_columns", params: [oids] },
    { name: "introspect_relations", params: [null, null] },
    { name: "introspect_constraints", params: [oids] },
    { name: "introspect_extensions", params: [] },
  ];
}

Deno.test("a report read by two sessions that share one snapshot", async (t) => {
  const cluster = await startCluster({ settings: { log_statement: "'all'" } });
  try {
    await cluster.sql(`
      create role reader login password 'reader-pw';
      create role lonely login password 'lonely-pw' connection limit 1;
      create table a (id int primary key, v text check (v <> ''));
      create table b (id int primary key, a_id int references a);
      create index on b (a_id);
      -- Enough catalog that the first session is still busy when the second joins.
      do $$ begin
        for i in 1..400 loop
          execute format('create table t%s (id int primary key, x int, y text)', i);
          execute format('create index on t%s (x, y)', i);
        end loop;
      end $$;`);

    const [{ oids }] = await cluster.sql(
      "select array_agg(oid order by oid) as oids from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace",
    );
    const REPORT = reportOf(oids as unknown[]);

    await t.step("two sessions do the work; results equal one session's", async () => {
      const together = await querySqlFiles(
        targetFor(cluster, "reader", "reader-pw", "report_two"),
        REPORT,
      );
      const alone = await querySqlFiles(
        targetFor(cluster, "reader", "reader-pw", "report_one"),
        REPORT,
        { sessions: 1 },
      );
      assert.deepEqual(together, alone);
      assert.deepEqual(
        together.map((r) => r.rows.length),
        [401, 402, 402, 404, 1],
        "indexes (those no key has), columns, relations, constraints (per kind), extensions",
      );
      const log = await cluster.log();
      assert.doesNotMatch(log, /report_two ERROR/);
      const workers = pidsRunning(log, "report_two", /-- introspect_/);
      assert.equal(workers.size, 2, "two backends ran the report's queries");
      const importer = pidsRunning(log, "report_two", /set transaction snapshot '[0-9A-F-]+'/);
      assert.equal(importer.size, 1, "the second session imported the first one's snapshot");
      assert.equal(pidsRunning(log, "report_one", /-- introspect_/).size, 1);
    });

    await t.step("when no second session can be had, the first does it all", async () => {
      const results = await querySqlFiles(
        targetFor(cluster, "lonely", "lonely-pw", "report_lonely"),
        REPORT,
      );
      assert.deepEqual(results.map((r) => r.rows.length), [401, 402, 402, 404, 1]);
      const log = await cluster.log();
      assert.match(log, /too many connections for role "lonely"/);
      assert.equal(pidsRunning(log, "report_lonely", /-- introspect_/).size, 1);
    });
  } finally {
    await cluster.stop();
  }
});
