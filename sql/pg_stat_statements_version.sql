-- pg_stat_statements_version.sql: is pg_stat_statements installed here, and which version?
-- Answers: the current database, the installed extension version and its schema
-- (version and schema are null when it is not installed in this database), and whether the
-- server loaded its library at start (loaded). The library defines its settings only when
-- shared_preload_libraries loads it, and pg_settings shows defined settings only (not a
-- placeholder set in postgresql.conf), to every role; shared_preload_libraries itself is
-- hidden from roles without pg_read_all_settings.
-- It may run under the role's own search_path (the index advisor's), where a schema listed
-- before pg_catalog could plant an operator of the same name: every one is named in pg_catalog.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select pg_catalog.current_database() as database,
       e.extversion as version,
       pg_catalog.quote_ident(n.nspname) as schema,
       exists (select from pg_catalog.pg_settings where name OPERATOR(pg_catalog.=) 'pg_stat_statements.max')
         as loaded
from (select 1) as one
left join pg_catalog.pg_extension e on e.extname OPERATOR(pg_catalog.=) 'pg_stat_statements'
left join pg_catalog.pg_namespace n on n.oid OPERATOR(pg_catalog.=) e.extnamespace
