-- describe_table_candidates.sql: which tables, views and foreign tables are there to suggest?
-- Answers: every table (plain, partitioned, foreign), view and materialized view outside the
-- system schemas: schema, name and the name to type (quoted where it needs quotes), for the close
-- matches of a name that matched nothing. Partitions are left out (their parent is suggested).
-- Parameters: none.
-- Server versions: PostgreSQL 10 and later (relispartition); tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) as qualified
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'f', 'v', 'm')
  and not c.relispartition
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by 1, 2
