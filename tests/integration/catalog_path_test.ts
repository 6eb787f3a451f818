/**
 * The skill's own SQL never calls what another role planted on the search
 * path (CVE-2018-1058): operators in `public` whose argument types match the
 * skill's expressions more exactly than pg_catalog's own would otherwise win
 * over them. Each planted operator raises, so a script that called one fails.
 */
import assert from "node:assert/strict";
import { startCluster } from "../support/cluster.ts";
import { runSkillScript } from "../support/run.ts";

const PLANTED = `
create role mallory login;
grant create on schema public to mallory;
set role mallory;
create function public.planted(a anyelement, b anyelement) returns boolean
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create function public.planted_oid_int(a oid, b integer) returns boolean
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create function public.planted_name_name(a name, b name) returns boolean
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create function public.planted_real_int(a real, b integer) returns boolean
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create function public.planted_num_big(a numeric, b bigint) returns numeric
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create function public.planted_oid_regclass(a oid, b regclass) returns boolean
  language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create operator public.= (leftarg = oid, rightarg = integer, function = public.planted_oid_int);
create operator public.!~ (leftarg = name, rightarg = name, function = public.planted_name_name);
create operator public.>= (leftarg = real, rightarg = integer, function = public.planted_real_int);
create operator public.* (leftarg = numeric, rightarg = bigint, function = public.planted_num_big);
create operator public.= (leftarg = oid, rightarg = regclass,
  function = public.planted_oid_regclass);
reset role;
create table public.orders (id int primary key, customer_id int);
create table public.customers (id int primary key);
alter table public.orders add foreign key (customer_id) references public.customers (id);
insert into public.customers select g from generate_series(1, 100) g;
insert into public.orders select g, 1 + g % 100 from generate_series(1, 1000) g;
analyze;
`;

Deno.test("diagnostic scripts never call an operator planted in public", async (t) => {
  const cluster = await startCluster({ preload: ["pg_stat_statements"] });
  try {
    await cluster.sql("create database app");
    await cluster.sql(PLANTED, "app");
    // In public, where it lands by default: the scripts must look in that schema for the
    // view, and still call nothing else from it.
    await cluster.sql("create extension pg_stat_statements schema public", "app");
    await cluster.sql(
      "select count(*) from public.orders o join public.customers c on c.id = o.customer_id",
      "app",
    );
    const env = { DB_URL: cluster.url({ database: "app" }) };
    const runs: [string, string[]][] = [
      ["describe_table.ts", ["orders"]],
      ["describe_table.ts", ["public.customers", "--json"]],
      ["table_sizes.ts", ["--json"]],
      ["find_objects.ts", ["order", "--json"]],
      ["roles_overview.ts", ["--json"]],
      ["index_health.ts", ["--json"]],
      ["missing_fk_indexes.ts", ["--json"]],
      ["vacuum_analyze_status.ts", ["--json"]],
      ["activity_overview.ts", ["--json"]],
      ["locks_overview.ts", ["--json"]],
      ["settings_overview.ts", ["--json"]],
      ["schema_introspect.ts", ["--json"]],
      ["doctor.ts", ["--json"]],
      ["slow_queries.ts", ["--json"]],
      ["pg_stat_statements_top.ts", ["--json"]],
      ["pg_stat_statements_top.ts", ["--all-databases"]],
    ];
    for (const [script, args] of runs) {
      await t.step(`${script} ${args.join(" ")}`, async () => {
        const result = await runSkillScript(script, args, { env });
        assert.equal(result.code, 0, result.stderr);
        assert.ok(!result.stderr.includes("planted"), result.stderr);
      });
    }
    await t.step("describe_table.ts's close matches too", async () => {
      const result = await runSkillScript("describe_table.ts", ["ordres"], { env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /orders/);
      assert.ok(!result.stderr.includes("planted"), result.stderr);
    });
  } finally {
    await cluster.stop();
  }
});
