/**
 * Schemas shaped like real applications' (a partitioned table with foreign
 * keys into and out of it, domains with checks, a composite type, an
 * exclusion constraint, row-level security with policies, comments, and a
 * trigger whose function needs a search_path), shared by the diagnostics and
 * the dump tests.
 */

/** The `app` schema: build it in an empty database as the superuser. */
export const APP_SCHEMA = `
create schema app;
comment on schema app is 'The application';
create domain app.email as text constraint email_has_one_at check (value ~ '^[^@]+@[^@]+$');
comment on domain app.email is 'An address with one @';
create domain app.money as numeric(12, 2) not null default 0
  constraint money_not_negative check (value >= 0);
create type app.address as (street text, city text, zip varchar(10));
comment on type app.address is 'A postal address';
create table app.accounts (id int primary key, email app.email not null, home app.address);
comment on column app.accounts.email is 'Where we write';
create table app.events (
  id bigint not null,
  account_id int not null references app.accounts (id),
  happened date not null,
  amount app.money,
  primary key (id, happened)
) partition by range (happened);
comment on table app.events is 'Everything that happened';
create table app.events_2025 partition of app.events
  for values from ('2025-01-01') to ('2026-01-01');
create table app.events_2026 partition of app.events
  for values from ('2026-01-01') to ('2027-01-01');
create table app.events_other partition of app.events default;
create table app.refunds (
  id int primary key,
  event_id bigint not null,
  happened date not null,
  constraint refunds_event_fk foreign key (event_id, happened) references app.events (id, happened)
);
create table app.bookings (
  id int primary key,
  room int not null,
  during tstzrange not null,
  constraint bookings_no_overlap exclude using gist (during with &&)
);
comment on constraint bookings_no_overlap on app.bookings is 'One booking per slot';
alter table app.accounts enable row level security;
alter table app.accounts force row level security;
create policy own_account on app.accounts for select
  using (email = current_setting('app.email', true));
create policy positive_ids on app.accounts as restrictive for update
  using (true) with check (id > 0);
comment on policy own_account on app.accounts is 'Each sees their own';
create table app.audit (event_id bigint);
create function app.note_event() returns trigger language plpgsql as $$
begin
  insert into audit (event_id) values (new.id); -- unqualified: needs a search_path
  return new;
end $$;
create trigger events_audit after insert on app.events_2025
  for each row execute function app.note_event();
set search_path = app, public;
insert into app.accounts values (1, 'ada@example.com', row('1 Main St', 'Springfield', '12345'));
insert into app.events select g, 1, date '2025-01-01' + (g % 700), g from generate_series(1, 3000) g;
insert into app.refunds values (1, 5, date '2025-01-06');
insert into app.bookings values (1, 7, tstzrange('2026-01-01 10:00+00', '2026-01-01 11:00+00'));
reset search_path;
`;
