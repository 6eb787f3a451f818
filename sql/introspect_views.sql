-- introspect_views.sql: which views exist and what do they select?
-- Answers: schema, name, owner, definition (cut to $3 characters when given).
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] view names (null: all),
--   $3 int definition length limit (null: whole).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       pg_get_userbyid(c.relowner) as owner,
       case when $3::int is null then pg_get_viewdef(c.oid)
            else left(pg_get_viewdef(c.oid), $3::int) end as definition
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'v'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
