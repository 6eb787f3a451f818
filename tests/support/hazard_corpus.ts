/**
 * The migration hazards' corpus: statements that trigger each rule, safe
 * forms that trigger none, and the tables they run against. Shared by
 * tests/integration/migration_hazards_test.ts and dev/squawk_compare.ts.
 */

/** Set first in every case but the one about it, so that only the rule under test shows. */
export const TIMEOUT = "set lock_timeout = '2s';\n";

/** The column types the fixture has, as format_type writes them. */
export const TYPES: Record<string, string> = {
  "orders.note": "character varying(20)",
  "orders.amount": "numeric(10,2)",
  "orders.status": "text",
};

export const TRIGGERS: [string, string, string][] = [
  ["index-not-concurrent", "create index orders_customer on orders (customer_id)", "orders"],
  ["drop-index-not-concurrent", "drop index orders_note_idx", ""],
  [
    "foreign-key-without-not-valid",
    "alter table orders add constraint orders_fk foreign key (customer_id) references customers (id)",
    "orders",
  ],
  [
    "foreign-key-without-not-valid",
    "alter table orders add column buyer int references customers (id)",
    "orders",
  ],
  ["check-without-not-valid", "alter table orders add constraint c check (amount > 0)", "orders"],
  ["set-not-null-scans", "alter table orders alter column status set not null", "orders"],
  ["column-type-rewrite", "alter table orders alter column amount type bigint", "orders"],
  ["column-type-rewrite", "alter table orders alter column note type varchar(10)", "orders"],
  ["column-type-rewrite", "alter table orders alter column amount type numeric(12,3)", "orders"],
  [
    "add-column-volatile-default",
    "alter table orders add column token uuid default gen_random_uuid()",
    "orders",
  ],
  ["add-column-volatile-default", "alter table orders add column n bigserial", "orders"],
  [
    "add-column-volatile-default",
    "alter table orders add column at timestamptz default clock_timestamp()",
    "orders",
  ],
  [
    "add-column-volatile-default",
    "alter table orders add column g int generated always as identity",
    "orders",
  ],
  ["constraint-builds-index", "alter table events add primary key (id)", "events"],
  ["constraint-builds-index", "alter table events add constraint u unique (code)", "events"],
  ["rename-column", "alter table orders rename column note to memo", "orders"],
  ["rename-table", "alter table orders rename to purchases", "orders"],
  ["drop-column", "alter table orders drop column note", "orders"],
  ["drop-table", "drop table events", "events"],
  ["vacuum-full", "vacuum full orders", "orders"],
  ["cluster", "cluster orders using orders_pkey", "orders"],
  ["reindex-not-concurrent", "reindex table orders", "orders"],
  ["enum-add-value", "alter type mood add value 'meh'", ""],
  ["enum-rename-value", "alter type mood rename value 'ok' to 'fine'", ""],
  ["set-logged-rewrite", "alter table scratchpad set logged", "scratchpad"],
  ["refresh-not-concurrent", "refresh materialized view order_counts", "order_counts"],
  ["truncate", "truncate orders", "orders"],
  ["lock-table", "lock table orders in share mode", "orders"],
  [
    "domain-check-scans",
    "alter domain positive add constraint positive_check check (value > 0)",
    "",
  ],
  [
    "attach-partition-scans",
    "alter table ledger attach partition ledger_new for values from ('2027-01-01') to ('2028-01-01')",
    "ledger",
  ],
  ["detach-partition-not-concurrent", "alter table ledger detach partition ledger_2025", "ledger"],
  [
    "constraint-builds-index",
    "alter table orders add constraint no_twins exclude (id with =)",
    "orders",
  ],
  ["check-without-not-valid", "alter table orders add column qty int check (qty > 0)", "orders"],
  [
    "column-type-rewrite",
    'alter table orders alter column note type varchar(50) collate "C"',
    "orders",
  ],
];

/** Safe forms: none of them raises anything (a lock_timeout is set before each). */
export const SAFE: string[] = [
  "create index concurrently orders_customer on orders (customer_id)",
  "drop index concurrently orders_note_idx",
  "alter table orders add constraint orders_fk foreign key (customer_id) " +
  "references customers (id) not valid",
  "alter table orders validate constraint orders_old_fk",
  "alter table orders add constraint c check (amount > 0) not valid",
  "alter table orders alter column note type varchar(50)",
  "alter table orders alter column note type text",
  "alter table orders alter column amount type numeric(14,2)",
  "alter table orders alter column amount type numeric",
  "alter table orders add column flag boolean not null default false",
  "alter table orders add column seen timestamptz default now()",
  "alter table orders add column seen2 timestamptz default current_timestamp",
  "alter table orders add column label text default 'x'::text",
  "alter table orders add column seen3 timestamp default (now() at time zone 'utc')",
  "alter table orders add column tags int[] default array[]::int[]",
  "alter table orders add column code text default lower('X')",
  "alter table events add constraint events_pk primary key using index events_id_key",
  "vacuum orders",
  "vacuum (analyze) orders",
  "analyze orders",
  "reindex table concurrently orders",
  "refresh materialized view concurrently order_counts",
  "alter domain positive add constraint positive_check check (value > 0) not valid",
  "alter table ledger detach partition ledger_2025 concurrently",
  "lock table orders in access share mode",
  // ON ONLY a partitioned table builds nothing: the safe form's own first step.
  "create index orders_only on only orders (customer_id)",
  // A table made in the same file is new: nothing uses it yet.
  "create table fresh (id int, ref int);\ncreate index on fresh (ref);\n" +
  "alter table fresh add primary key (id);\nalter table fresh alter column ref set not null;\n" +
  "alter table fresh rename column ref to other;\ndrop table fresh",
];

/** The fixture every case runs against. */
export const FIXTURE = `
create type mood as enum ('ok', 'sad');
create table customers (id int primary key);
create table orders (id int primary key, customer_id int, note varchar(20),
  amount numeric(10,2), status text);
create index orders_note_idx on orders (note);
create table events (id int, code text);
create unique index events_id_key on events (id);
alter table orders add constraint orders_old_fk foreign key (customer_id)
  references customers (id) not valid;
create materialized view order_counts as select count(*) as n from orders;
create unique index on order_counts (n);
create unlogged table scratchpad (id int);
create domain positive as int;
create table ledger (id int, at date not null) partition by range (at);
create table ledger_2025 partition of ledger for values from ('2025-01-01') to ('2026-01-01');
create table ledger_new (id int, at date not null);
insert into customers values (1);
insert into orders values (1, 1, 'a', 1, 'new');
`;
