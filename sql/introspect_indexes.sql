-- introspect_indexes.sql: which indexes exist, and are they usable?
-- Answers: schema, table, index, definition, method, unique, primary, valid,
-- partial predicate. (Index sizes: see index_health and table_sizes.)
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.relname as "table",
       ic.relname as name,
       pg_get_indexdef(i.indexrelid) as definition,
       am.amname as method,
       i.indisunique as "unique",
       i.indisprimary as "primary",
       i.indisvalid as valid,
       pg_get_expr(i.indpred, i.indrelid) as predicate
from pg_index i
join pg_class ic on ic.oid = i.indexrelid
join pg_class t on t.oid = i.indrelid
join pg_namespace n on n.oid = t.relnamespace
join pg_am am on am.oid = ic.relam
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or t.relname = any ($2))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = t.oid and d.deptype = 'e')
order by 1, 2, 3
