-- introspect_columns.sql: which columns do tables, views and materialized views have?
-- Answers: schema, relation, position, name, type, nullable, default, identity,
-- generated expression, comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] relation names (null: all).
-- Server versions: PostgreSQL 12 and later (attgenerated); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       a.attnum as position,
       a.attname as name,
       format_type(a.atttypid, a.atttypmod) as type,
       not a.attnotnull as nullable,
       case when a.attgenerated = '' then pg_get_expr(ad.adbin, ad.adrelid) end as "default",
       case a.attidentity when 'a' then 'always' when 'd' then 'by default' end as identity,
       case when a.attgenerated <> '' then pg_get_expr(ad.adbin, ad.adrelid) end as generated,
       dsc.description as comment
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = a.attnum
where a.attnum > 0 and not a.attisdropped
  and c.relkind in ('r', 'p', 'f', 'v', 'm')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2, 3
