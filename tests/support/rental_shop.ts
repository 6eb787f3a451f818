/**
 * A film-rental shop shaped like pagila (PostgreSQL's sample database: its
 * tables, keys, row counts, and payment partitioned by month), with data
 * generated here, so that the index advisor's tests have a workload whose
 * missing indexes are known. As pagila is with the indexes on rental, payment
 * and film dropped: only their keys are left; customer's and inventory's
 * indexes stay, so a query they serve must get no advice.
 */
import type { Cluster } from "./cluster.ts";

/** The shop: build it in an empty database as the superuser. */
export const RENTAL_SHOP = `
create table language (language_id serial primary key, name text not null);
insert into language (name) select 'language ' || g from generate_series(1, 6) g;

create table film (
  film_id serial primary key,
  title text not null,
  description text,
  release_year int,
  language_id int not null references language,
  rental_duration int not null default 3,
  rental_rate numeric(4, 2) not null default 4.99,
  length int,
  rating text
);
insert into film (title, description, release_year, language_id, rental_duration, rental_rate,
                  length, rating)
select 'FILM ' || lpad(g::text, 4, '0'), md5(g::text), 2000 + g % 20, 1 + g % 6, 3 + g % 5,
       0.99 + (g % 3) * 2, 46 + g % 140, (array['G', 'PG', 'PG-13', 'R', 'NC-17'])[1 + g % 5]
from generate_series(1, 1000) g;

create table store (store_id serial primary key, name text not null);
insert into store (name) values ('Lethbridge'), ('Woodridge');

create table staff (
  staff_id serial primary key,
  first_name text not null,
  last_name text not null,
  store_id int not null references store
);
insert into staff (first_name, last_name, store_id) values ('Mike', 'Hillyer', 1),
  ('Jon', 'Stephens', 2);

create table customer (
  customer_id serial primary key,
  store_id int not null references store,
  first_name text not null,
  last_name text not null,
  email text,
  active boolean not null default true,
  create_date date not null default '2022-02-14'
);
insert into customer (store_id, first_name, last_name, email, active)
select 1 + g % 2, 'First' || g, 'LAST' || (g % 400), 'customer' || g || '@example.org', g % 40 <> 0
from generate_series(1, 599) g;
create index idx_fk_store_id on customer (store_id);
create index idx_last_name on customer (last_name);

create table inventory (
  inventory_id serial primary key,
  film_id int not null references film,
  store_id int not null references store
);
insert into inventory (film_id, store_id)
select 1 + (g * 7) % 1000, 1 + g % 2 from generate_series(1, 4581) g;
create index idx_store_id_film_id on inventory (store_id, film_id);

create table rental (
  rental_id serial primary key,
  rental_date timestamptz not null,
  inventory_id int not null references inventory,
  customer_id int not null references customer,
  return_date timestamptz,
  staff_id int not null references staff
);
insert into rental (rental_date, inventory_id, customer_id, return_date, staff_id)
select timestamptz '2022-01-24' + g * interval '17 minutes', 1 + (g * 31) % 4581,
       1 + (g * 7919) % 599,
       case when g % 90 = 0 then null
            else timestamptz '2022-01-24' + g * interval '17 minutes' + (g % 9) * interval '1 day'
       end,
       1 + g % 2
from generate_series(1, 16044) g;

create table payment (
  payment_id serial,
  customer_id int not null references customer,
  staff_id int not null references staff,
  rental_id int not null references rental,
  amount numeric(5, 2) not null,
  payment_date timestamptz not null,
  primary key (payment_date, payment_id)
) partition by range (payment_date);
create table payment_p2022_01 partition of payment
  for values from ('2022-01-01') to ('2022-02-01');
create table payment_p2022_02 partition of payment
  for values from ('2022-02-01') to ('2022-03-01');
create table payment_p2022_03 partition of payment
  for values from ('2022-03-01') to ('2022-04-01');
create table payment_p2022_04 partition of payment
  for values from ('2022-04-01') to ('2022-05-01');
create table payment_p2022_05 partition of payment
  for values from ('2022-05-01') to ('2022-06-01');
create table payment_p2022_06 partition of payment
  for values from ('2022-06-01') to ('2022-07-01');
create table payment_p2022_07 partition of payment
  for values from ('2022-07-01') to ('2022-08-01');
insert into payment (customer_id, staff_id, rental_id, amount, payment_date)
select r.customer_id, r.staff_id, r.rental_id, 0.99 + (r.rental_id % 10),
       timestamptz '2022-01-24' + r.rental_id * interval '10 minutes'
from rental r;

-- What pagila lacks, for the advisor's other cases: a view over two tables, a table whose names
-- need quotes, and a column type with an = but no b-tree operator class (box).
create view customer_rentals as
  select r.rental_id, r.rental_date, r.inventory_id, c.customer_id, c.last_name
  from rental r join customer c on c.customer_id = r.customer_id;

create table "Rental Notes" (
  "Note Id" serial primary key,
  "Rental Id" int not null,
  "Note" text not null
);
insert into "Rental Notes" ("Rental Id", "Note")
select 1 + (g * 13) % 16044, 'note ' || g from generate_series(1, 16044) g;

create table shapes (shape_id serial primary key, frame box not null);
insert into shapes (frame)
select box(point(g % 50, g % 70), point(g % 50 + 1 + g % 3, g % 70 + 1)) from generate_series(1, 4000) g;

analyze;
`;

/**
 * Vacuums the shop (built with {@linkcode RENTAL_SHOP} in `database`) until every page is marked
 * all-visible, so that index-only scans, which INCLUDE candidates are for, are costed the same in
 * every run. One VACUUM right after the build often marks none (seen here: all 0, then all
 * marked by the next; the test servers commit without waiting for the WAL, and a commit not yet
 * flushed gives its rows no hint bits), so it is repeated, a little later, while any is left.
 */
export async function settleShop(
  sql: (text: string, database?: string) => Promise<Record<string, unknown>[]>,
  database = "shop",
): Promise<void> {
  for (let pass = 0; pass < 20; pass++) {
    await sql("vacuum analyze", database);
    const [left] = await sql(
      `select count(*)::int as n from pg_class
       where relkind in ('r', 'm') and relnamespace = 'public'::regnamespace
         and relpages > relallvisible`,
      database,
    );
    if (Number(left.n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("The rental shop's pages were never all marked all-visible");
}

/** A query of the workload, and the index it needs (none: no index makes it cheaper). */
export interface WorkloadQuery {
  /** The statement, with `$n` where a value goes (as pg_stat_statements shows it). */
  sql: string;
  /** Values for the `$n`, when it is run to fill pg_stat_statements. */
  params: unknown[];
  /**
   * The table (as SQL names it, quoted where needed) and the leading key column of the index it
   * needs; absent: no index helps, or one serves it already.
   */
  needs?: { table: string; column: string };
  /** True when its one candidate cannot be made (a type without a b-tree operator class). */
  unbuildable?: boolean;
}

/** Queries on the shop whose missing indexes are known (and some that need none). */
export const WORKLOAD: WorkloadQuery[] = [
  {
    sql: "select * from rental where customer_id = $1",
    params: [42],
    needs: { table: "rental", column: "customer_id" },
  },
  {
    sql:
      "select rental_id, rental_date from rental where inventory_id = $1 and return_date is null",
    params: [100],
    needs: { table: "rental", column: "inventory_id" },
  },
  {
    sql: "select film_id, title, rating from film where title = $1",
    params: ["FILM 0042"],
    needs: { table: "film", column: "title" },
  },
  {
    sql: "select payment_id, amount, payment_date from payment where customer_id = $1 " +
      "order by payment_date desc limit 5",
    params: [42],
    needs: { table: "payment", column: "customer_id" },
  },
  {
    sql: "select r.rental_id, r.rental_date from rental r join customer c " +
      "on c.customer_id = r.customer_id where c.last_name = $1",
    params: ["LAST7"],
    needs: { table: "rental", column: "customer_id" },
  },
  {
    sql: "select rental_id, customer_id from rental " +
      "where rental_date >= $1 and rental_date < $2",
    params: ["2022-02-01", "2022-02-02"],
    needs: { table: "rental", column: "rental_date" },
  },
  {
    sql: "select rental_id, last_name from customer_rentals where inventory_id = $1",
    params: [200],
    needs: { table: "rental", column: "inventory_id" },
  },
  {
    sql: "select film_id, title from film where title in ($1, $2)",
    params: ["FILM 0001", "FILM 0002"],
    needs: { table: "film", column: "title" },
  },
  {
    sql: `select "Note" from "Rental Notes" where "Rental Id" = $1`,
    params: [77],
    needs: { table: `"Rental Notes"`, column: "Rental Id" },
  },
  {
    sql: "select shape_id from shapes where frame = $1",
    params: ["((0,0),(1,1))"],
    unbuildable: true,
  },
  // Served already: by film's primary key, inventory's and customer's indexes.
  { sql: "select * from film where film_id = $1", params: [7] },
  { sql: "select * from inventory where store_id = $1 and film_id = $2", params: [1, 8] },
  { sql: "select * from customer where last_name = $1", params: ["LAST9"] },
  // No index helps: every row is read.
  { sql: "select sum(amount) from payment", params: [] },
  { sql: "select count(*) from rental where return_date is not null", params: [] },
];

/** Runs the workload `times` times, so that pg_stat_statements holds it (in `database`). */
export async function runWorkload(
  cluster: Cluster,
  times: number,
  database = "shop",
): Promise<void> {
  const session = await cluster.session(database);
  try {
    for (let run = 0; run < times; run++) {
      for (const query of WORKLOAD) await session.query(query.sql, query.params);
    }
  } finally {
    await session.close();
  }
}
