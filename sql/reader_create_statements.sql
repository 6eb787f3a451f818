-- reader_create_statements.sql: the statements that make a reader role, built by the server.
-- Answers, in the order to run them, one statement per row, with its step and what it is
-- about:
--   1 CREATE ROLE $1 with LOGIN and no other power (NOSUPERUSER, NOCREATEDB, NOCREATEROLE,
--     NOREPLICATION, NOBYPASSRLS), the SCRAM verifier $2 as its password;
--   2 CONNECT on the database, only when PUBLIC lacks it;
--   3 pg_read_all_stats (every session's activity and statistics) and pg_stat_scan_tables,
--     for the diagnostic scripts; not pg_monitor, whose pg_read_all_settings shows the
--     settings only superusers see (primary_conninfo holds a replication password);
--   4 USAGE on each schema the current user may grant it on (detail: the schema); schemas
--     whose USAGE is PUBLIC's (public, on most databases) the reader has already;
--   5 SELECT on each schema's tables, views and sequences that the current user may grant
--     (detail: the schema), but not on the relations $3, whose read runs a program on the
--     server (sql/program_reads.sql: file_fdw's program option, views reading such a table);
--   6 default privileges, so that what the current user creates later is readable too
--     (detail: the current user); they cover foreign tables too, one made later with a
--     program option included (PostgreSQL has no default privilege that leaves them out).
-- Not pg_read_all_data, on any version: it reads the system catalogs whole, pg_authid's
-- password hashes (an md5 hash logs in over md5 authentication), user mappings' and
-- subscriptions' connection passwords among them; a reader must not be able to become
-- someone else.
-- Names and the verifier are quoted by format() (%I, %L): nothing is spliced into SQL by the
-- client, and the plain password never reaches the server.
-- Parameters: $1 text role name, $2 text SCRAM-SHA-256 verifier, $3 oid[] relations left out.
-- Server versions: PostgreSQL 13 to 18; tested on 13-18.
with schemas as (
  select n.oid, n.nspname, has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION') as grantable
  from pg_namespace n
  where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
), statements (step, detail, statement) as (
  select 1, '', format('create role %I with login nosuperuser nocreatedb nocreaterole '
                       'noreplication nobypassrls inherit password %L', $1::text, $2::text)
  union all
  select 2, '', format('grant connect on database %I to %I', current_database(), $1::text)
  where not has_database_privilege('public', current_database(), 'CONNECT')
    and has_database_privilege(current_database(), 'CONNECT WITH GRANT OPTION')
  union all
  select 3, 'pg_read_all_stats, pg_stat_scan_tables',
         format('grant pg_read_all_stats, pg_stat_scan_tables to %I', $1::text)
  union all
  select 4, s.nspname, format('grant usage on schema %I to %I', s.nspname, $1::text)
  from schemas s
  where s.grantable
  union all
  select 5, s.nspname,
         format('grant select on table %s to %I',
                string_agg(format('%I.%I', s.nspname, c.relname), ', ' order by c.relname),
                $1::text)
  from schemas s
  join pg_class c on c.relnamespace = s.oid
  where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    and has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
    and c.oid <> all ($3::oid[])
  group by s.nspname
  union all
  select 6, current_user::text, format('alter default privileges for role %I grant %s to %I',
                                       current_user, kind, $1::text)
  from unnest(array['select on tables', 'select on sequences', 'usage on schemas']) as kind
)
select step, detail, statement from statements order by step, detail, statement
