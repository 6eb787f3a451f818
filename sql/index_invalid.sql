-- index_invalid.sql: which indexes are invalid (e.g. a failed CREATE INDEX CONCURRENTLY)?
-- Answers: schema, table, index, size, definition. Such an index is maintained on
-- every write but never used: drop it and build it again.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.relname as "table",
       ic.relname as index,
       pg_relation_size(i.indexrelid) as size_bytes,
       pg_get_indexdef(i.indexrelid) as definition,
       count(*) over () as total
from pg_index i
join pg_class ic on ic.oid = i.indexrelid
join pg_class t on t.oid = i.indrelid
join pg_namespace n on n.oid = t.relnamespace
where not i.indisvalid
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by 1, 2, 3
limit $1
