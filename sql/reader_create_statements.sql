-- reader_create_statements.sql: the statements that make a reader role, built by the server.
-- Answers, in the order to run them, one statement per row, with its step and what it is
-- about:
--   1 CREATE ROLE $1 with LOGIN and no other power (NOSUPERUSER, NOCREATEDB, NOCREATEROLE,
--     NOREPLICATION, NOBYPASSRLS), the SCRAM verifier $2 as its password;
--   2 CONNECT on the database, only when PUBLIC lacks it;
--   3 the predefined roles that let it read: pg_read_all_data (14+) and pg_monitor
--     (statistics, settings, every session's activity); detail: the roles;
--   on 13, which has no pg_read_all_data, for each schema the current user may grant USAGE on
--   (detail: the schema):
--   4 USAGE on the schema;
--   5 SELECT on its tables, views and sequences that the current user may grant;
--   6 default privileges, so that what the current user creates later is readable too
--     (detail: the current user).
-- Names and the verifier are quoted by format() (%I, %L): nothing is spliced into SQL by the
-- client, and the plain password never reaches the server.
-- Parameters: $1 text role name, $2 text SCRAM-SHA-256 verifier.
-- Server versions: PostgreSQL 13 to 18 (branches on server_version_num); tested on 13-18.
with version as (
  select current_setting('server_version_num')::int >= 140000 as has_read_all_data
), schemas as (
  select n.oid, n.nspname
  from pg_namespace n
  where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
    and has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION')
), statements (step, detail, statement) as (
  select 1, '', format('create role %I with login nosuperuser nocreatedb nocreaterole '
                       'noreplication nobypassrls inherit password %L', $1::text, $2::text)
  union all
  select 2, '', format('grant connect on database %I to %I', current_database(), $1::text)
  where not has_database_privilege('public', current_database(), 'CONNECT')
    and has_database_privilege(current_database(), 'CONNECT WITH GRANT OPTION')
  union all
  select 3, 'pg_read_all_data, pg_monitor',
         format('grant pg_read_all_data, pg_monitor to %I', $1::text)
  from version where has_read_all_data
  union all
  select 3, 'pg_monitor', format('grant pg_monitor to %I', $1::text)
  from version where not has_read_all_data
  union all
  select 4, s.nspname, format('grant usage on schema %I to %I', s.nspname, $1::text)
  from schemas s, version where not has_read_all_data
  union all
  select 5, s.nspname,
         format('grant select on table %s to %I',
                string_agg(format('%I.%I', s.nspname, c.relname), ', ' order by c.relname),
                $1::text)
  from schemas s
  join pg_class c on c.relnamespace = s.oid
  cross join version
  where not has_read_all_data
    and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    and has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
  group by s.nspname
  union all
  select 6, current_user::text, format('alter default privileges for role %I grant %s to %I',
                                       current_user, kind, $1::text)
  from version, unnest(array['select on tables', 'select on sequences',
                             'usage on schemas']) as kind
  where not has_read_all_data
)
select step, detail, statement from statements order by step, detail, statement
