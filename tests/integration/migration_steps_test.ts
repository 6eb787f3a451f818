/**
 * Steps that cannot run in a transaction, in pending migrations, on a real
 * server: the check shows the plan and leaves them out; --apply runs them in
 * file order, each once, a concurrent index build without blocking another
 * session's writes; a failed build is reported with its clean-up and what
 * was applied before it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../support/cluster.ts";
import { startProxy } from "../support/proxy.ts";
import { makeProject, runSkillScript, spawnSkillScript, tomlWithProfiles } from "../support/run.ts";
import { connect } from "../../lib/connection/script_sessions.ts";
import { resolveTarget } from "../../lib/connection/resolve.ts";

const FIXTURE = `
create table orders (id int primary key, customer_id int not null, flag int);
insert into orders select g, g % 10 from generate_series(1, 2000) g;
`;

Deno.test("migration steps outside a transaction: planned, checked around, applied once", async (t) => {
  const cluster = await startCluster();
  const project = await makeProject();
  const folder = join(project.root, "db", "migrations");
  await Deno.mkdir(folder, { recursive: true });
  const env = { ...project.env, DB_URL: cluster.url() };
  const catalog = async () =>
    (await cluster.sql(
      `select c.relname as name, coalesce(x.indisvalid, true) as valid from pg_class c
         left join pg_index x on x.indexrelid = c.oid
        where c.relnamespace = 'public'::regnamespace order by 1`,
    )).map((r) => `${r.name}${r.valid ? "" : " INVALID"}`);
  try {
    await cluster.sql(FIXTURE);
    const file = [
      "create table audit (id int);",
      "create index concurrently orders_flag on orders (flag);",
      "alter table orders add constraint orders_flag_positive check (flag > 0) not valid;",
      "",
    ].join("\n");
    await Deno.writeTextFile(join(folder, "prerelease.sql"), file);
    const initial = await catalog();

    await t.step("the check shows three steps and runs the two transactional ones", async () => {
      const check = await runSkillScript("migration_apply.ts", ["--json"], { env });
      assert.equal(check.code, 0, check.stderr);
      const report = JSON.parse(check.stdout);
      assert.deepEqual(report.steps, [
        "step 1, prerelease.sql line 1 (1 statement in a transaction)",
        "step 2, prerelease.sql line 2 (CREATE INDEX CONCURRENTLY, outside a transaction)",
        "step 3, prerelease.sql line 3 (1 statement in a transaction)",
      ]);
      assert.deepEqual(report.not_checked, [report.steps[1]]);
      assert.match(check.stderr, /not run by the check .*step 2/);
      assert.deepEqual(await catalog(), initial, "a check changes nothing");
    });

    await t.step(
      "what names an index a concurrent build makes is left out too, and said",
      async () => {
        const dependent = [
          "create index concurrently orders_customer on orders (customer_id);",
          "comment on index orders_customer is 'by customer';",
        ].join("\n");
        const only = "create index concurrently orders_customer on orders (customer_id);";
        for (const text of [dependent, only]) {
          await Deno.writeTextFile(join(folder, "1_prerelease.sql"), text);
          try {
            const check = await runSkillScript("migration_apply.ts", ["--json"], { env });
            assert.equal(check.code, 0, check.stderr);
            const report = JSON.parse(check.stdout);
            assert.ok(
              report.not_checked.some((n: string) => n.includes("1_prerelease.sql line 1")),
            );
            if (text === dependent) {
              assert.ok(
                report.not_checked.some((n: string) =>
                  /1_prerelease\.sql line 2 \(COMMENT\): it names orders_customer, which 1_prerelease\.sql line 1/
                    .test(n)
                ),
                report.not_checked.join("; "),
              );
            }
            assert.match(
              check.stderr,
              /^Checked 2 of the [45] statements on /m,
            );
            assert.deepEqual(await catalog(), initial, "a check changes nothing");
          } finally {
            await Deno.remove(join(folder, "1_prerelease.sql"));
          }
        }
      },
    );

    await t.step("--apply builds the index while another session writes", async () => {
      Deno.env.set("DB_URL", cluster.url());
      const target = await resolveTarget({ session: "plain" });
      Deno.env.delete("DB_URL");
      const { session: holder } = await connect(target);
      const { session: writer } = await connect(target);
      try {
        // An open transaction that wrote: the concurrent build waits for it, holding only
        // SHARE UPDATE EXCLUSIVE, so the build is caught in the middle.
        await holder.transaction("begin");
        await holder.query("insert into orders values (100001, 1)");
        const running = await spawnSkillScript("migration_apply.ts", ["--apply", "--json"], {
          env: { ...env, DB_CONFIRM: "YES", DB_LOCK_TIMEOUT_MS: "20000" },
        });
        let waiting = false;
        for (let i = 0; i < 400 && !waiting; i++) {
          const [row] = await cluster.sql(
            `select count(*)::int as n from pg_stat_activity
              where query ilike 'create index concurrently%' and wait_event_type = 'Lock'`,
          );
          waiting = row.n === 1;
          if (!waiting) await new Promise((r) => setTimeout(r, 25));
        }
        assert.ok(waiting, "the concurrent build is waiting for the open transaction");
        const [mode] = await cluster.sql(
          `select l.mode from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where a.query ilike 'create index concurrently%' and l.relation = 'orders'::regclass
              and l.granted`,
        );
        assert.equal(mode.mode, "ShareUpdateExclusiveLock");
        // Meanwhile a write goes through at once (a lock timeout would say otherwise).
        await writer.query("set lock_timeout = '1s'");
        const written = await writer.query("insert into orders values (100002, 2) returning id");
        assert.deepEqual(written.rows, [{ id: 100002 }]);
        await holder.transaction("commit");
        const { code, stdout, stderr } = await running.result;
        assert.equal(code, 0, stderr);
        assert.equal(JSON.parse(stdout).committed, true);
        assert.deepEqual(await catalog(), ["audit", "orders", "orders_flag", "orders_pkey"]);
        const [check] = await cluster.sql(
          "select count(*)::int as n from pg_constraint where conname = 'orders_flag_positive'",
        );
        assert.equal(check.n, 1, "the step after the build ran too, once");
      } finally {
        await holder.transaction("rollback").catch(() => {});
        await holder.close();
        await writer.close();
      }
    });

    await t.step(
      "a failed concurrent build: what ran, the INVALID index, the clean-up",
      async () => {
        await Deno.writeTextFile(
          join(folder, "prerelease.sql"),
          "alter table orders add column note text;\n" +
            "create unique index concurrently orders_customer_unique on orders (customer_id);\n" +
            "alter table orders add column never int;\n",
        );
        const result = await runSkillScript("migration_apply.ts", ["--apply"], {
          env: { ...env, DB_CONFIRM: "YES" },
        });
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /step 2, prerelease\.sql line 2 .* failed: .*23505/);
        assert.match(
          result.stderr,
          /left an INVALID index behind .*DROP INDEX CONCURRENTLY orders_customer_unique;/,
        );
        assert.match(
          result.stderr,
          /Applied and committed before it: step 1, prerelease\.sql line 1 .*They stay in the pending files .*make them safe to run again/,
        );
        const names = await catalog();
        assert.ok(names.includes("orders_customer_unique INVALID"), names.join(", "));
        const [columns] = await cluster.sql(
          `select count(*) filter (where attname = 'note')::int as note,
                count(*) filter (where attname = 'never')::int as never
           from pg_attribute where attrelid = 'orders'::regclass`,
        );
        assert.deepEqual(columns, { note: 1, never: 0 }, "step 1 stays, step 3 never ran");
        // The INVALID index is not the file's index: the file is there in part, and says how on.
        const status = await runSkillScript("migration_status.ts", ["--applied", "--json"], {
          env,
        });
        const [state] = JSON.parse(status.stdout).applied;
        assert.equal(state.state, "partly", status.stdout);
        assert.ok(
          state.not_as_left.some((t: string) =>
            /orders_customer_unique present \(found INVALID: DROP INDEX CONCURRENTLY/.test(t)
          ),
          JSON.stringify(state),
        );
      },
    );

    await t.step(
      "a concurrent build whose answer is lost: asked afterwards, not guessed",
      async () => {
        const proxy = startProxy(cluster);
        try {
          await Deno.writeTextFile(
            join(folder, "prerelease.sql"),
            "alter table orders add column lost_flag int;\n" +
              "create index concurrently orders_lost on orders (lost_flag);\n" +
              "alter table orders add column never2 int;\n",
          );
          proxy.fault("lose-index-build-answer");
          const result = await runSkillScript("migration_apply.ts", ["--apply"], {
            env: { ...project.env, DB_URL: proxy.url(), DB_CONFIRM: "YES" },
          });
          proxy.fault("none");
          assert.equal(proxy.struck(), 1);
          assert.equal(result.code, 1, result.stderr);
          assert.match(
            result.stderr,
            /connection was lost while step 2, .* asked afterwards, the server holds orders_lost, valid: it finished/,
          );
          assert.match(result.stderr, /Applied and committed before it: step 1, .*; step 2, /);
          assert.ok((await catalog()).includes("orders_lost"));
        } finally {
          await proxy.stop();
        }
      },
    );
  } finally {
    await project.remove();
    await cluster.stop();
  }
});

Deno.test("applied, partly, not applied: per database, from its catalog", async () => {
  const cluster = await startCluster();
  const project = await makeProject();
  const folder = join(project.root, "db", "migrations");
  await Deno.mkdir(folder, { recursive: true });
  try {
    for (const db of ["done", "fresh", "half"]) await cluster.sql(`create database ${db}`);
    await Deno.writeTextFile(
      join(folder, "prerelease.sql"),
      "create table customers (id int primary key, email text);\n" +
        "create index customers_email on customers (email);\n",
    );
    await Deno.writeTextFile(
      join(folder, "1_prerelease.sql"),
      "alter table customers add column phone text;\n" +
        "alter table customers rename column email to mail;\n",
    );
    const env = (database: string) => ({ ...project.env, DB_URL: cluster.url({ database }) });
    const apply = await runSkillScript("migration_apply.ts", ["--apply"], {
      env: { ...env("done"), DB_CONFIRM: "YES" },
    });
    assert.equal(apply.code, 0, apply.stderr);
    // Half: the first file by hand, the second's column only.
    await cluster.sql(
      "create table customers (id int primary key, email text);\n" +
        "create index customers_email on customers (email);\n" +
        "alter table customers add column phone text;",
      "half",
    );
    const states = async (database: string) => {
      const status = await runSkillScript("migration_status.ts", ["--applied", "--json"], {
        env: env(database),
      });
      assert.equal(status.code, 0, status.stderr);
      return JSON.parse(status.stdout).applied as {
        file: string;
        state: string;
        not_as_left: string[];
      }[];
    };
    assert.deepEqual((await states("done")).map((s) => s.state), ["applied", "applied"]);
    assert.deepEqual((await states("fresh")).map((s) => s.state), ["not applied", "not applied"]);
    const half = await states("half");
    assert.deepEqual(half.map((s) => s.state), ["applied", "partly"]);
    // What it adds is not there; that email is still there says nothing on its own, as an
    // earlier pending file makes the table.
    assert.deepEqual(half[1].not_as_left, ["column customers.mail present"]);
    // Where a file is there in part, apply says so before running anything.
    const refused = await runSkillScript("migration_apply.ts", [], { env: env("half") });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /already holds "prerelease\.sql" \(applied: .*"1_prerelease\.sql" in part/,
    );
    const fresh = await runSkillScript("migration_apply.ts", [], { env: env("fresh") });
    assert.equal(fresh.code, 0, fresh.stderr);
    // The release reads every profile's database, and warns about its own.
    const profile = (database: string) => ({
      host: cluster.host,
      port: cluster.port,
      user: cluster.superuser,
      password: cluster.password,
      database,
    });
    await project.writeToml(tomlWithProfiles({
      done: profile("done"),
      fresh: profile("fresh"),
      half: profile("half"),
      gone: { ...profile("done"), port: 1 },
    }));
    const release = await runSkillScript("migration_release.ts", ["--profile", "fresh", "--json"], {
      env: { ...project.env, DB_CONFIRM: "YES" },
    });
    assert.equal(release.code, 0, release.stderr);
    const where = Object.fromEntries(
      JSON.parse(release.stdout).applied_on.map((
        p: { profile: string; files?: { state: string }[]; error?: string },
      ) => [p.profile, p.files?.map((f) => f.state) ?? "not read"]),
    );
    assert.deepEqual(where, {
      done: ["applied", "applied"],
      fresh: ["not applied", "not applied"],
      half: ["applied", "partly"],
      gone: "not read",
    });
    assert.match(release.stderr, /warning: profile "fresh" does not hold every pending file/);

    // What cannot tell: temporary objects, IF NOT EXISTS, a recreated view, a scratch table, a
    // file's own search_path, and what a later file renames away.
    await cluster.sql("create table plans (id int); create view totals as select 1 as n", "done");
    const files: [string, string][] = [
      [
        "prerelease.sql",
        "create temp table stage as select 1 as n;\ninsert into plans select n from stage;\n",
      ],
      [
        "1_prerelease.sql",
        "create table if not exists plans (id int);\ninsert into plans values (1);\n",
      ],
      ["2_prerelease.sql", "drop view if exists totals;\ncreate view totals as select 2 as n;\n"],
      ["3_prerelease.sql", "create table scratch (id int);\ndrop table scratch;\n"],
      ["4_prerelease.sql", "set search_path = app, public;\ncreate table settings (id int);\n"],
      ["5_prerelease.sql", "create table tiers_old (id int);\n"],
      ["6_prerelease.sql", "alter table tiers_old rename to tiers;\n"],
      [
        "7_prerelease.sql",
        "create table gadgets (id int constraint gadgets_pos check (id > 0));\n",
      ],
      ["8_prerelease.sql", "alter table gadgets drop constraint gadgets_pos;\n"],
    ];
    for (const [name, text] of files) await Deno.writeTextFile(join(folder, name), text);
    const tricky = await states("done");
    assert.deepEqual(tricky.map((s) => [s.file, s.state]), [
      ["prerelease.sql", "unknown"],
      ["1_prerelease.sql", "unknown"],
      ["2_prerelease.sql", "unknown"],
      ["3_prerelease.sql", "unknown"],
      ["4_prerelease.sql", "unknown"],
      ["5_prerelease.sql", "unknown"],
      ["6_prerelease.sql", "not applied"],
      ["7_prerelease.sql", "not applied"],
      // Its constraint is missing because 7_ has not run: that says nothing of 8_.
      ["8_prerelease.sql", "unknown"],
    ]);
  } finally {
    await project.remove();
    await cluster.stop();
  }
});
