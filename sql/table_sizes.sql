-- table_sizes.sql: which tables take the most space?
-- Answers: schema, table, total size and its parts (table with its free-space and
-- visibility maps, indexes, TOAST), readable and in bytes, estimated rows; largest
-- first. total_bytes = table_bytes + index_bytes + toast_bytes.
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
with sizes as (
  select c.oid, n.nspname, c.relname, c.reltuples,
         pg_total_relation_size(c.oid) as total_bytes,
         pg_indexes_size(c.oid) as index_bytes,
         coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) as toast_bytes,
         pg_table_size(c.oid) as table_and_toast_bytes
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'm')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
)
select nspname as schema,
       relname as "table",
       pg_size_pretty(total_bytes) as total,
       pg_size_pretty(table_and_toast_bytes - toast_bytes) as table_size,
       pg_size_pretty(index_bytes) as index_size,
       pg_size_pretty(toast_bytes) as toast_size,
       total_bytes,
       table_and_toast_bytes - toast_bytes as table_bytes,
       index_bytes,
       toast_bytes,
       greatest(reltuples, 0)::bigint as estimated_rows
from sizes
order by total_bytes desc, 1, 2
limit $1
