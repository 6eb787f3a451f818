/**
 * The demo: starts a throwaway PostgreSQL (and an SSL-only one, to show the
 * SSL fallback), loads a small shop database, runs the scripts through real
 * profiles in a throwaway project, prints what each shows, stops everything.
 *
 * Usage: deno task demo
 */
import { findToolDir, installHint } from "../lib/tools/client_tools.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import {
  makeProject,
  type Project,
  runSkillScript,
  tomlWithProfiles,
} from "../tests/support/run.ts";

const SHOP = `
create table customers (
  id serial primary key,
  name text not null,
  email text not null unique,
  created_at timestamptz not null default now()
);
create table products (
  id serial primary key,
  name text not null,
  price numeric(10, 2) not null check (price >= 0)
);
create table orders (
  id serial primary key,
  customer_id int not null references customers(id),
  ordered_at timestamptz not null default now()
);
create table order_items (
  order_id int not null references orders(id),
  product_id int not null references products(id),
  quantity int not null check (quantity > 0),
  primary key (order_id, product_id)
);
insert into customers (name, email) values
  ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com'),
  ('Grace Hopper', 'grace@example.com'), ('Edsger Dijkstra', 'edsger@example.com');
insert into products (name, price) values
  ('Keyboard', 49.90), ('Monitor', 189.00), ('Mouse', 19.50), ('Desk lamp', 35.00);
insert into orders (customer_id) select (g % 4) + 1 from generate_series(1, 12) g;
insert into order_items select o.id, p.id, 1 + (o.id + p.id) % 3
  from orders o join products p on (o.id + p.id) % 2 = 0;
grant select, insert, update, delete, references on all tables in schema public to shop_app;
grant create on schema public to shop_app;
`;

const TOP_CUSTOMERS = `select c.name, count(distinct o.id) as orders,
       sum(oi.quantity * p.price) as spent
  from customers c
  join orders o on o.customer_id = c.id
  join order_items oi on oi.order_id = o.id
  join products p on p.id = oi.product_id
 group by c.name order by spent desc`;

async function show(
  project: Project,
  label: string,
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<void> {
  const shown = Object.entries(env).map(([k, v]) => `${k}=${v} `).join("");
  const quoted = args.map((a) => /^[\w.=-]+$/.test(a) ? a : `'${a}'`).join(" ");
  console.log(`\n## ${label}\n$ ${shown}./scripts/${script} ${quoted}`.trimEnd());
  const result = await runSkillScript(script, args, {
    env: { ...project.env, ...env },
    cwd: project.root,
  });
  if (result.stdout) console.log(result.stdout.trimEnd());
  if (result.stderr) console.log(result.stderr.trimEnd().replace(/^/gm, "stderr> "));
  console.log(`(exit ${result.code})`);
}

const clusters: Cluster[] = [];
let project: Project | undefined;

/** Stops the servers and removes every folder made, on every way out. */
async function cleanUp(): Promise<void> {
  await project?.remove().catch(() => {});
  project = undefined;
  await Promise.all(clusters.splice(0).map((c) => c.stop()));
}
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.addSignalListener(signal, async () => {
    console.log(`\n${signal}: stopping the servers and removing their folders ...`);
    await cleanUp();
    Deno.exit(code);
  });
}
try {
  console.log("Starting a throwaway PostgreSQL server and an SSL-only one ...");
  const started = await Promise.allSettled([startCluster(), startCluster({ ssl: "only" })]);
  for (const outcome of started) if (outcome.status === "fulfilled") clusters.push(outcome.value);
  const failed = started.find((o) => o.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  const [plain, sslOnly] = clusters;
  console.log(
    `server: PostgreSQL ${plain.major} on 127.0.0.1:${plain.port} (binaries: ${plain.binDir})`,
  );
  await plain.sql("create role shop_app login password 'shop-secret'");
  await plain.sql("create database shop owner postgres");
  await plain.sql(SHOP, "shop");
  await sslOnly.sql("create role shop_app login password 'shop-secret'");

  project = await makeProject(tomlWithProfiles({
    local: {
      host: plain.host,
      port: plain.port,
      database: "shop",
      user: "shop_app",
      password: "shop-secret",
    },
    secure: {
      host: sslOnly.host,
      port: sslOnly.port,
      database: "postgres",
      user: "shop_app",
      password: "shop-secret",
    },
  }, { comment: "Demo profiles: a plain server and one that demands SSL" }));
  console.log(`project: ${project.root} (profiles "local" and "secure", DB_PROJECT_ROOT set)`);
  console.log(`\n${await project.readToml()}`);

  await show(project, "Which tools are installed?", "check_deps.ts");
  await show(project, "The resolved connection, for eval", "resolve_db_url.ts");
  await show(project, "Does the connection work?", "test_connection.ts");
  await show(project, "Server version", "pg_version.ts", ["--json"]);
  await show(project, "Connection details and key settings", "connection_info.ts");
  await show(project, "Ad-hoc SQL, read-only, a value bound to $1", "run_sql.ts", [
    `${TOP_CUSTOMERS} limit $1`,
    "--param",
    "3",
  ]);
  await show(project, "A write hidden in a CTE is refused before anything is sent", "run_sql.ts", [
    "with gone as (delete from order_items returning *) select count(*) from gone",
  ]);
  await show(
    project,
    "With --write and a confirmation, all or nothing",
    "run_sql.ts",
    ["--write", "update customers set name = upper(name) where id = $1", "--param", "1"],
    { DB_CONFIRM: "YES" },
  );
  if (findToolDir("psql")) {
    await show(
      project,
      "A query through psql (password in the environment, -X added)",
      "psql_with_ssl_fallback.ts",
      [
        "-c",
        TOP_CUSTOMERS,
      ],
    );
    await show(
      project,
      "An SQL error keeps psql's exit status, nothing retried",
      "psql_with_ssl_fallback.ts",
      [
        "-c",
        "select 1/0",
      ],
    );
  } else {
    console.log(`\n## psql_with_ssl_fallback.ts skipped: psql is not installed; ${installHint()}`);
  }
  await show(project, "The schema's foreign keys, from pg_catalog", "schema_introspect.ts", [
    "--section",
    "foreign_keys",
  ]);
  await show(project, "Largest tables", "table_sizes.ts", ["5"]);
  await show(project, "Foreign keys no index supports", "missing_fk_indexes.ts");
  await show(project, "The real plan of a DELETE, rolled back", "explain_analyze.ts", [
    "delete from order_items where quantity = 1",
  ]);
  await show(
    project,
    "Health at a glance (a role without pg_monitor: some checks skipped; the throwaway server runs with fsync off)",
    "doctor.ts",
  );
  await show(project, "Where is everything named like order?", "find_objects.ts", [
    "order",
    "--kind",
    "table,column",
  ]);
  await show(project, "Where pending migrations go, and why", "migration_path.ts");
  await show(
    project,
    "A structure change into the pending migration, with its changelog entry",
    "migration_add.ts",
    [
      "create table reviews (id serial primary key, product_id int not null references products, stars int check (stars between 1 and 5)); create index reviews_product_idx on reviews (product_id)",
      "--message",
      "product reviews",
    ],
  );
  await show(project, "What is pending, and what the changelog says", "migration_status.ts");
  await show(project, "Prove it applies: run, look up, roll back", "migration_apply.ts");
  await show(project, "Apply it for real (confirmed)", "migration_apply.ts", ["--apply"], {
    DB_CONFIRM: "YES",
  });
  await show(
    project,
    "Release it: one dated file, changelog entries gone",
    "migration_release.ts",
    [
      "--name",
      "product reviews",
    ],
    { DB_CONFIRM: "YES" },
  );
  await show(
    project,
    "A server that demands SSL: the profile says sslmode = false",
    "test_connection.ts",
    [],
    {
      DB_PROFILE: "secure",
    },
  );
  await show(project, "Remember it, as the note suggests", "update_sslmode.ts", ["secure", "true"]);
  await show(project, "Now SSL is asked for directly", "test_connection.ts", [], {
    DB_PROFILE: "secure",
  });
  await show(project, "A mistake gets one clear line", "test_connection.ts", [], {
    DB_PROFILE: "staging",
  });
  console.log(`\nThe project's postgres.toml now:\n\n${await project.readToml()}`);
} finally {
  await cleanUp();
  console.log("Servers stopped, temporary folders removed.");
}
Deno.exit(0); // The signal listeners would keep the demo waiting.
