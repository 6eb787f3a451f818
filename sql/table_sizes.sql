-- table_sizes.sql: which tables take the most space?
-- Answers: schema, table, total size (table + indexes + TOAST), table, index and
-- TOAST sizes in bytes and readable, estimated rows; largest first.
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       pg_size_pretty(pg_total_relation_size(c.oid)) as total,
       pg_size_pretty(pg_relation_size(c.oid)) as table_size,
       pg_size_pretty(pg_indexes_size(c.oid)) as index_size,
       pg_total_relation_size(c.oid) as total_bytes,
       pg_relation_size(c.oid) as table_bytes,
       pg_indexes_size(c.oid) as index_bytes,
       coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) as toast_bytes,
       greatest(c.reltuples, 0)::bigint as estimated_rows
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'm')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by pg_total_relation_size(c.oid) desc, 1, 2
limit $1
