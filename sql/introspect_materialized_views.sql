-- introspect_materialized_views.sql: which materialized views exist?
-- Answers: schema, name, owner, whether populated, size, definition (cut to $3 characters).
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] names (null: all),
--   $3 int definition length limit (null: whole).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       pg_get_userbyid(c.relowner) as owner,
       c.relispopulated as populated,
       pg_total_relation_size(c.oid) as total_bytes,
       case when $3::int is null then pg_get_viewdef(c.oid)
            else left(pg_get_viewdef(c.oid), $3::int) end as definition
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'm'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2
