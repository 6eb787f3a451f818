-- pg_stat_statements_version.sql: is pg_stat_statements installed here, and which version?
-- Answers: the current database, the installed extension version and its schema
-- (version and schema are null when it is not installed in this database).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select current_database() as database,
       e.extversion as version,
       quote_ident(n.nspname) as schema
from (select 1) as one
left join pg_extension e on e.extname = 'pg_stat_statements'
left join pg_namespace n on n.oid = e.extnamespace
